//! diffmem's own kernels for burn's CPU backend (flex), used where flex's generic ops are slow:
//! SiLU with a vectorised `exp` ([`silu`]) and a convolution whose backward is two large
//! gemms per image ([`conv2d`]), GroupNorm with its SiLU in one pass ([`group_norm`]) and Adam's
//! update in one pass ([`FusedAdam`]). Each public function takes and returns ordinary
//! `Tensor`s: on a flex tensor, with or without autodiff, it runs the kernel (and registers
//! its own backward with burn-autodiff); on any other backend it runs burn's composite op, so
//! GPU code paths are unchanged. `DIFFMEM_FLEX_KERNELS` (`off`, or a list such as `conv,adam`)
//! chooses which run, for benchmarks ([`enabled`]).
//!
//! The downcast goes through burn's `extension` feature (`Tensor::try_into_primitive`), the
//! backward through burn-autodiff's `Backward` trait, as burn's own ops do.

pub mod adam;
pub mod clip;
mod conv;
mod group_norm;
pub mod linear;
mod node;
pub mod normal;
mod silu;
pub mod simd;
#[cfg(test)]
pub(crate) mod testing;

pub use adam::{FusedAdam, FusedAdamConfig};
pub use conv::{conv2d, conv2d_module};
pub use group_norm::group_norm;
pub use linear::linear_module;
pub use silu::silu;

use burn::backend::tensor::FloatTensor;
use burn::tensor::{Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_flex::{Flex, FlexTensor};
use std::sync::OnceLock;

/// diffmem's flex kernels, each of which can be switched off for benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// [`silu`].
    Silu,
    /// [`conv2d`].
    Conv,
    /// [`group_norm`].
    GroupNorm,
    /// [`FusedAdam`].
    Adam,
    /// The sampler's noise from [`normal::NormalStream`] and its update in one pass
    /// (`crate::sampler::fused`); off, flex sampling repeats the stream of `Tensor::random`.
    Sample,
    /// Gradient clipping by the global norm in place ([`clip::clip_global_norm_flex`]).
    Clip,
    /// Fully connected layers ([`linear_module`]).
    Linear,
}

impl Kernel {
    const ALL: [Kernel; 7] = [
        Kernel::Silu,
        Kernel::Conv,
        Kernel::GroupNorm,
        Kernel::Adam,
        Kernel::Sample,
        Kernel::Clip,
        Kernel::Linear,
    ];

    /// The kernel's name in `DIFFMEM_FLEX_KERNELS`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Silu => "silu",
            Kernel::Conv => "conv",
            Kernel::GroupNorm => "groupnorm",
            Kernel::Adam => "adam",
            Kernel::Sample => "sample",
            Kernel::Clip => "clip",
            Kernel::Linear => "linear",
        }
    }
}

/// The kernels switched on by `DIFFMEM_FLEX_KERNELS`: unset, `on` or `all` for all of them,
/// `off`, `0` or `none` for none, or a comma list of names (`conv,adam`); read once.
fn switched_on(setting: Option<&str>) -> Vec<Kernel> {
    match setting.map(str::trim) {
        None | Some("on" | "all" | "") => Kernel::ALL.to_vec(),
        Some("off" | "0" | "none") => Vec::new(),
        Some(list) => {
            let names: Vec<&str> = list.split(',').map(str::trim).collect();
            for unknown in names
                .iter()
                .filter(|n| !Kernel::ALL.iter().any(|k| k.name() == **n))
            {
                eprintln!(
                    "warning: DIFFMEM_FLEX_KERNELS names no kernel '{unknown}' (known: silu, conv, \
                     groupnorm, adam, sample, clip, linear; or on, off): ignored"
                );
            }
            Kernel::ALL
                .into_iter()
                .filter(|k| names.contains(&k.name()))
                .collect()
        }
    }
}

/// Whether `kernel` runs (see [`Kernel`] and `DIFFMEM_FLEX_KERNELS`).
pub fn enabled(kernel: Kernel) -> bool {
    static ON: OnceLock<Vec<Kernel>> = OnceLock::new();
    ON.get_or_init(|| switched_on(std::env::var("DIFFMEM_FLEX_KERNELS").ok().as_deref()))
        .contains(&kernel)
}

/// A flex tensor of `x`, in either of the two forms the kernels handle.
pub(crate) enum OnFlex {
    /// Tracked by autodiff (training).
    Autodiff(FloatTensor<Autodiff<Flex>>),
    /// Plain (sampling, evaluation).
    Plain(FlexTensor),
}

impl OnFlex {
    /// The autodiff primitive, if this is one.
    pub(crate) fn autodiff(self) -> Option<FloatTensor<Autodiff<Flex>>> {
        match self {
            OnFlex::Autodiff(t) => Some(t),
            OnFlex::Plain(_) => None,
        }
    }

    /// The plain primitive, if this is one.
    pub(crate) fn plain(self) -> Option<FlexTensor> {
        match self {
            OnFlex::Plain(t) => Some(t),
            OnFlex::Autodiff(_) => None,
        }
    }
}

/// `x` as a flex f32 primitive when it lives on flex; otherwise `x` back unchanged.
// The Err is the caller's tensor handed back, not an error; boxing it would allocate per op.
#[allow(clippy::result_large_err)]
pub(crate) fn downcast<const D: usize>(x: Tensor<D>) -> Result<OnFlex, Tensor<D>> {
    if x.dtype() != burn::tensor::DType::F32 {
        return Err(x);
    }
    if let Ok(t) = x.clone().try_into_primitive::<Autodiff<Flex>>() {
        return Ok(OnFlex::Autodiff(t));
    }
    match x.clone().try_into_primitive::<Flex>() {
        Ok(t) => Ok(OnFlex::Plain(t)),
        Err(_) => Err(x),
    }
}

/// dst [m, n] := (if `accumulate`) dst + lhs [m, k] rhs [k, n], where dst(r, c) =
/// dst[r rs + c cs] for `dst_strides` (rs, cs) and likewise lhs and rhs; split across rayon by
/// gemm itself when `parallel` (the convolution keeps it off: its parallelism is over images).
/// Row-major dst is (n, 1). Column-major, (1, m), changes what gemm packs: its microkernel
/// runs down the columns of its dst, reading its left operand down columns too (a left
/// operand with rows contiguous is first packed) and its right one as scalars, so where the
/// row-major order would pack a large operand, the column-major one packs only lhs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    (dst_rs, dst_cs): (usize, usize),
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
    parallel: bool,
) {
    assert!(m == 0 || n == 0 || dst.len() > (m - 1) * dst_rs + (n - 1) * dst_cs);
    // SAFETY: the assert keeps every entry of dst inside its initialised values.
    unsafe {
        gemm_into(
            (m, n, k),
            (dst.as_mut_ptr(), dst_rs, dst_cs),
            accumulate,
            lhs,
            lhs_strides,
            rhs,
            rhs_strides,
            parallel,
        )
    }
}

/// A new row-major `[m, n]` = lhs [m, k] rhs [k, n] (strides as in [`gemm`]), written by the
/// gemm straight into fresh memory: no zero-fill of the output first (a `memset` of every
/// output on the calling thread, 4 % of an MLP step at 2 threads).
pub(crate) fn gemm_new(
    (m, n, k): (usize, usize, usize),
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
    parallel: bool,
) -> Vec<f32> {
    let mut dst = Vec::<f32>::with_capacity(m * n);
    // SAFETY: the capacity holds m n values; with `accumulate` false gemm never reads dst and
    // writes every one of its m n entries (gemm-common's `alpha = 0` path, which for k = 0
    // writes zeros), so all of them are initialised when the length is set.
    unsafe {
        gemm_into(
            (m, n, k),
            (dst.as_mut_ptr(), n, 1),
            false,
            lhs,
            lhs_strides,
            rhs,
            rhs_strides,
            parallel,
        );
        dst.set_len(m * n);
    }
    dst
}

/// [`gemm_new`] split across rayon by blocks of output columns when `parallel`, each block
/// one single-threaded gemm. gemm's own split first packs a row-major left operand of its
/// (transposed) problem whole on the calling thread when it has up to 2 mc rows (gemm-common's
/// `do_prepack_lhs`): W in dx = dOut W^T, 5 % of the MLP step's thread at 2 threads. Here
/// each task packs the rows its block needs. Each entry is the same k-ordered sum either way.
pub(crate) fn gemm_new_by_columns(
    (m, n, k): (usize, usize, usize),
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
    parallel: bool,
) -> Vec<f32> {
    use rayon::prelude::*;
    /// The output's base pointer, shared by the tasks (each writes only its own columns).
    struct Out(*mut f32);
    // SAFETY: the tasks write disjoint column blocks of the buffer behind the pointer.
    unsafe impl Sync for Out {}
    impl Out {
        fn at(&self, col: usize) -> *mut f32 {
            self.0.wrapping_add(col)
        }
    }
    if !parallel || m == 0 || n == 0 || k == 0 {
        return gemm_new((m, n, k), lhs, lhs_strides, rhs, rhs_strides, parallel);
    }
    // Blocks of whole 16-column groups (an AVX-512 register of f32), one per thread.
    let width = n
        .div_ceil(rayon::current_num_threads())
        .next_multiple_of(16);
    let mut dst = Vec::<f32>::with_capacity(m * n);
    let out = Out(dst.as_mut_ptr());
    (0..n.div_ceil(width)).into_par_iter().for_each(|block| {
        let (c0, cols) = (block * width, width.min(n - block * width));
        // SAFETY: rows of stride n, columns c0..c0 + cols: inside the m n capacity and
        // written by this task only; gemm writes every entry without reading (see gemm_new).
        unsafe {
            gemm_into(
                (m, cols, k),
                (out.at(c0), n, 1),
                false,
                lhs,
                lhs_strides,
                &rhs[c0 * rhs_strides.1..],
                rhs_strides,
                false,
            )
        }
    });
    // SAFETY: the blocks cover the n columns of all m rows, each entry written once.
    unsafe { dst.set_len(m * n) };
    dst
}

/// [`gemm`] into `dst`, entry (r, c) at `dst[r dst_rs + c dst_cs]`, which must be valid for
/// writes of those m n entries (and initialised when `accumulate`, since it is then read).
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs, dst_cs): (*mut f32, usize, usize),
    accumulate: bool,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    parallel: bool,
) {
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(n == 0 || k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index gemm reads inside the slices; the caller
    // vouches for dst.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            if parallel {
                gemm::Parallelism::Rayon(0)
            } else {
                gemm::Parallelism::None
            },
        );
    }
}

/// The contiguous f32 values of a flex tensor (copies only when it is a strided view).
pub(crate) fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        // to_contiguous's fresh buffer becomes the Vec without a second copy.
        None => std::borrow::Cow::Owned(
            t.to_contiguous()
                .into_data()
                .try_into_vec::<f32>()
                .expect("flex kernels only take f32 tensors"),
        ),
    }
}

/// The most tasks a batch reduction is cut into (see [`batch_runs`]).
const REDUCE_TASKS: usize = 8;

/// The least work (multiply-adds or element updates) a kernel splits across rayon's pool:
/// below it the kernel runs on the calling thread, since waking the pool's workers costs
/// tens of microseconds, as much as ~2^18 multiply-adds (a 64 x 64 x 64 gemm) take on one core.
#[cfg(not(test))]
pub(crate) const PARALLEL_WORK: usize = 1 << 18;
/// Tests split every kernel at any size (their shapes are small), so the tests run at 3
/// threads cover the parallel path and those at 1 thread the calling-thread path.
#[cfg(test)]
pub(crate) const PARALLEL_WORK: usize = 1;

/// Runs `f` on one of rayon's worker threads and returns its result (the calling thread
/// waits). Every parallel op inside (flex's and gemm's splits, diffmem's kernels) then forks
/// from a worker, which pushes its halves onto its own deque where an idle worker steals
/// them, instead of injecting them from outside the pool and sleeping on a latch until they
/// finish: that cold path costs the caller a futex sleep and wake-up per parallel op,
/// thousands of times a second in MLP training and sampling. The global pool is built here
/// (if nothing built it yet) with 8 MiB stacks, the main thread's size, so deep call chains
/// that ran on the main thread run the same on a worker; `RAYON_NUM_THREADS` still sets its
/// size.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    // An error only means the global pool exists already (a test harness, an earlier call).
    let _ = rayon::ThreadPoolBuilder::new()
        .stack_size(8 << 20)
        .build_global();
    let mut out = None;
    rayon::scope(|_| out = Some(f()));
    out.expect("rayon::scope ran its closure")
}

/// Runs `main` on this thread and `side` beside it, and returns both results: `side` waits on
/// this thread's deque, where another rayon worker takes it as soon as it is idle (while
/// `main` runs its serial ops); if none does, this thread runs it after `main`. For work off
/// the critical path whose result is needed later, as the next training step's noise: its
/// values do not depend on where it runs. Unlike `rayon::join`, `main` need not be `Send`.
pub fn beside<R, S: Send>(main: impl FnOnce() -> R, side: impl FnOnce() -> S + Send) -> (R, S) {
    let mut out = None;
    let r = rayon::in_place_scope(|scope| {
        scope.spawn(|_| out = Some(side()));
        main()
    });
    (r, out.expect("the scope waited for `side`"))
}

/// Whether `work` (in the units of [`PARALLEL_WORK`]) is worth splitting across the pool.
pub(crate) fn worth_splitting(work: usize) -> bool {
    work >= PARALLEL_WORK && rayon::current_num_threads() > 1
}

/// Calls `f(i, chunk)` for each `len`-element chunk of `out`, across rayon's pool when
/// `work` is [`worth_splitting`], else in order on the calling thread. Each task (or the
/// calling thread) gets one scratch value from `init`.
pub(crate) fn for_each_chunk<T: Send, S>(
    out: &mut [T],
    len: usize,
    work: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize, &mut [T]) + Sync + Send,
) {
    use rayon::prelude::*;
    let len = len.max(1);
    if worth_splitting(work) {
        out.par_chunks_mut(len)
            .enumerate()
            .for_each_init(&init, |s, (i, c)| f(s, i, c));
    } else {
        let mut s = init();
        out.chunks_mut(len)
            .enumerate()
            .for_each(|(i, c)| f(&mut s, i, c));
    }
}

/// Runs `f` over fixed runs of consecutive images (at most [`REDUCE_TASKS`] of them, whatever
/// the thread count) in parallel, handing each its slice of `out` (`per_image` values per
/// image) if there is one, and returns the runs' results in batch order. A gradient summed
/// over the batch as the in-order sum of these partials ([`add_in_order`]) is the same bit
/// for bit at any thread count (rayon's own fold would split by work stealing). The runs
/// stay on the calling thread, in order and with the same cuts, when `work` (the whole
/// batch's) is not [`worth_splitting`].
pub(crate) fn batch_runs<T: Send, P: Send>(
    batch: usize,
    per_image: usize,
    work: usize,
    out: Option<&mut [T]>,
    f: impl Fn(std::ops::Range<usize>, Option<&mut [T]>) -> P + Sync,
) -> Vec<P> {
    use rayon::prelude::*;
    let per = batch.div_ceil(REDUCE_TASKS).max(1);
    let run = |i: usize| i * per..((i + 1) * per).min(batch);
    let runs: Vec<_> = match out {
        Some(o) => o
            .chunks_mut((per * per_image).max(1))
            .enumerate()
            .map(|(i, c)| (run(i), Some(c)))
            .collect(),
        None => (0..batch.div_ceil(per)).map(|i| (run(i), None)).collect(),
    };
    if worth_splitting(work) {
        runs.into_par_iter().map(|(r, o)| f(r, o)).collect()
    } else {
        runs.into_iter().map(|(r, o)| f(r, o)).collect()
    }
}

/// The element-wise sum of equal-length vectors, added in the order given.
pub(crate) fn add_in_order(parts: impl IntoIterator<Item = Vec<f32>>, len: usize) -> Vec<f32> {
    parts.into_iter().fold(vec![0.0f32; len], |mut acc, v| {
        acc.iter_mut().zip(&v).for_each(|(a, b)| *a += b);
        acc
    })
}

/// A new contiguous flex tensor of `shape` filled by `fill` (which writes every element).
pub(crate) fn build(shape: burn::tensor::Shape, fill: impl FnOnce(&mut [f32])) -> FlexTensor {
    #[cfg(test)]
    testing::note_built();
    let mut out = vec![0.0f32; shape.num_elements()];
    fill(&mut out);
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// `chunk` as initialised values: zeroes it first.
fn zeroed(chunk: &mut [std::mem::MaybeUninit<f32>]) -> &mut [f32] {
    chunk.fill(std::mem::MaybeUninit::new(0.0));
    // SAFETY: every element was just written, and MaybeUninit<f32> has f32's layout.
    unsafe { &mut *(chunk as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) }
}

/// A new contiguous flex tensor of `shape` whose `len`-element chunks `f` fills, as
/// [`for_each_chunk`] hands them out (`f` must write every element). Each chunk is zeroed by
/// the task that fills it, on its thread and while the chunk is in its cache, instead of the
/// whole output by one `memset` on the calling thread before the split (8 % of the UNet
/// step's thread at 2 threads).
pub(crate) fn build_chunks<S>(
    shape: burn::tensor::Shape,
    len: usize,
    work: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize, &mut [f32]) + Sync + Send,
) -> FlexTensor {
    #[cfg(test)]
    testing::note_built();
    let n = shape.num_elements();
    let mut out = Vec::<f32>::with_capacity(n);
    for_each_chunk(
        &mut out.spare_capacity_mut()[..n],
        len,
        work,
        init,
        |s, i, c| f(s, i, zeroed(c)),
    );
    // SAFETY: for_each_chunk hands out every chunk of the n elements, and `zeroed` wrote each.
    unsafe { out.set_len(n) };
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// [`batch_runs`] with a fresh output of `batch * per_image` values, each run's slice zeroed
/// by the task that then fills it (see [`build_chunks`]); returns the output and the runs'
/// results.
pub(crate) fn batch_runs_zeroed<P: Send>(
    batch: usize,
    per_image: usize,
    work: usize,
    f: impl Fn(std::ops::Range<usize>, Option<&mut [f32]>) -> P + Sync,
) -> (Vec<f32>, Vec<P>) {
    let n = batch * per_image;
    let mut out = Vec::<f32>::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    let parts = batch_runs(batch, per_image, work, Some(spare), |r, o| {
        f(r, o.map(zeroed))
    });
    // SAFETY: batch_runs hands every element of the n to one run, and `zeroed` wrote each.
    unsafe { out.set_len(n) };
    (out, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One thread never splits; more threads split work of at least PARALLEL_WORK only.
    #[test]
    fn splitting_needs_threads_and_work() {
        assert!(!testing::with_threads(1, || worth_splitting(usize::MAX)));
        assert!(testing::with_threads(2, || worth_splitting(PARALLEL_WORK)));
        assert!(!testing::with_threads(2, || worth_splitting(
            PARALLEL_WORK - 1
        )));
    }

    /// `on_pool` runs its closure on a worker of the global pool and hands back the result.
    #[test]
    fn on_pool_runs_on_a_worker() {
        assert_eq!(rayon::current_thread_index(), None);
        let (index, sum) = on_pool(|| (rayon::current_thread_index(), 2 + 2));
        assert!(index.is_some());
        assert_eq!(sum, 4);
    }

    /// `beside` returns both results at any thread count, `side` run exactly once (on this
    /// thread when the pool has one, where it cannot wait for an idle worker).
    #[test]
    fn beside_returns_both_results() {
        for threads in [1, 3] {
            let (main, (side, on)) = testing::with_threads(threads, || {
                let here = std::thread::current().id();
                beside(
                    || (0..100u64).sum::<u64>(),
                    || {
                        (
                            (0..10u64).product::<u64>(),
                            std::thread::current().id() == here,
                        )
                    },
                )
            });
            assert_eq!((main, side), (4950, 0));
            if threads == 1 {
                assert!(on, "one thread: side runs on the calling thread");
            }
        }
    }

    /// `gemm_new` writes every entry of a fresh product: equal to an f64 product for plain
    /// and transposed operands, split or not, and all zeros when k = 0.
    #[test]
    fn gemm_new_equals_the_f64_product() {
        let (m, n, k) = (37, 29, 53);
        let val = |i: usize| ((i * 7919) % 101) as f32 / 50.0 - 1.0;
        let lhs: Vec<f32> = (0..m * k).map(val).collect();
        let rhs: Vec<f32> = (0..k * n).map(|i| val(i + 13)).collect();
        let want: Vec<f64> = (0..m * n)
            .map(|e| {
                let (r, c) = (e / n, e % n);
                (0..k)
                    .map(|p| lhs[r * k + p] as f64 * rhs[p * n + c] as f64)
                    .sum()
            })
            .collect();
        for parallel in [false, true] {
            let got = testing::with_threads(3, || {
                gemm_new((m, n, k), &lhs, (k, 1), &rhs, (n, 1), parallel)
            });
            // The same product with rhs read through transposed strides: rhs^T stored [n, k].
            let rhs_t: Vec<f32> = (0..n * k).map(|e| rhs[(e % k) * n + e / k]).collect();
            let got_t = gemm_new((m, n, k), &lhs, (k, 1), &rhs_t, (1, k), parallel);
            for g in [got, got_t] {
                assert_eq!(g.len(), m * n);
                for (a, b) in g.iter().zip(&want) {
                    assert!((*a as f64 - b).abs() < 1e-4, "{a} vs {b}");
                }
            }
        }
        assert_eq!(
            gemm_new((4, 5, 0), &[], (0, 1), &[], (5, 1), false),
            vec![0.0; 20]
        );
        // By column blocks (2 and 3 threads: blocks of 16 columns and a narrower last one),
        // the same entries bit for bit.
        let single = gemm_new((m, n, k), &lhs, (k, 1), &rhs, (n, 1), false);
        for threads in [2, 3] {
            let blocks = testing::with_threads(threads, || {
                gemm_new_by_columns((m, n, k), &lhs, (k, 1), &rhs, (n, 1), true)
            });
            assert_eq!(blocks, single, "{threads} threads");
        }
        // Column-major into a dst that already holds ones: ones + the product, (r, c) at c m + r.
        let mut cm = vec![1.0f32; m * n];
        gemm(
            (m, n, k),
            &mut cm,
            (1, m),
            true,
            &lhs,
            (k, 1),
            &rhs,
            (n, 1),
            false,
        );
        for (e, b) in want.iter().enumerate() {
            let (r, c) = (e / n, e % n);
            assert!((cm[c * m + r] as f64 - 1.0 - b).abs() < 1e-4, "({r}, {c})");
        }
    }

    /// `batch_runs_zeroed` hands each run its own zeroed slice, in batch order, at 1 and 3
    /// threads; a run that writes nothing leaves zeros.
    #[test]
    fn batch_runs_zeroed_hands_out_zeroed_slices() {
        for threads in [1, 3] {
            let (out, starts) = testing::with_threads(threads, || {
                batch_runs_zeroed(13, 5, usize::MAX, |images, out| {
                    let out = out.expect("an output slice");
                    assert!(out.iter().all(|v| *v == 0.0));
                    assert_eq!(out.len(), images.len() * 5);
                    if images.start.is_multiple_of(2) {
                        out.iter_mut().for_each(|v| *v = images.start as f32 + 1.0);
                    }
                    images.start
                })
            });
            assert_eq!(out.len(), 65);
            let per = 13usize.div_ceil(REDUCE_TASKS);
            assert_eq!(starts, (0..13).step_by(per).collect::<Vec<_>>());
            for (i, v) in out.iter().enumerate() {
                let start = (i / 5) / per * per;
                let want = if start.is_multiple_of(2) {
                    start as f32 + 1.0
                } else {
                    0.0
                };
                assert_eq!(*v, want, "value {i}");
            }
        }
    }

    /// DIFFMEM_FLEX_KERNELS: default all, `off` none, a list exactly its (known) names.
    #[test]
    fn kernel_switches() {
        assert_eq!(switched_on(None), Kernel::ALL.to_vec());
        assert_eq!(switched_on(Some("on")), Kernel::ALL.to_vec());
        assert!(switched_on(Some("off")).is_empty());
        assert_eq!(
            switched_on(Some("conv, adam,bogus")),
            vec![Kernel::Conv, Kernel::Adam]
        );
    }
}
