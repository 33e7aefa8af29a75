//! glibc allocator settings for a tensor workload.
//!
//! By default glibc serves every block above its mmap threshold (128 KiB, growing up to
//! 32 MiB only after frees of mmapped blocks) with a fresh `mmap`, and trims the heap top
//! eagerly: each training step then page-faults its large tensors in again (15-25% of the MLP
//! and `linear` profiles). Raising `M_MMAP_THRESHOLD` to 32 MiB keeps such blocks on the heap
//! and reusable; `M_TOP_PAD` = 512 MiB grows the heap in large steps and keeps that much
//! free at its top instead of returning it after each step. Setting the trim threshold alone
//! measured 40% slower, so only these two are set. The benchmark row that justifies them is
//! in `docs/performance-log.md`. Shared with `benches/speed.rs` (`#[path]` module) so that the
//! benchmark measures what the binary runs.

/// Applies the settings (gnu/linux only; elsewhere a no-op). Call first thing in `main`,
/// before any thread allocates. `DIFFMEM_MALLOC=default` leaves glibc's defaults (for A/B
/// benchmarks).
pub fn tune() {
    if std::env::var("DIFFMEM_MALLOC").is_ok_and(|v| v == "default") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MIB: libc::c_int = 1 << 20;
        // SAFETY: mallopt only changes allocator parameters; it is called before other threads
        // start and takes plain integers.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * MIB);
            libc::mallopt(libc::M_TOP_PAD, 512 * MIB);
        }
    }
}
