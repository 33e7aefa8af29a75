//! Keeps GPU driver noise away from the user: Mesa's Vulkan drivers (lavapipe included) probe
//! the Wayland socket through libwayland-client, which prints
//! `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` for every probe when the
//! variable is unset or not an absolute path (as under cron, Slurm, `docker run` and CI).
//! Pointing it at a private, empty directory makes the probe fail silently instead.

use std::path::{Path, PathBuf};
use std::sync::Once;

/// Sets `XDG_RUNTIME_DIR` to a private temporary directory when it is unset or not absolute.
/// Idempotent; call it before any Vulkan/wgpu call, ideally first thing in `main` while the
/// process is still single-threaded ([`select_device`](super::select_device) calls it too).
pub fn quiet_driver_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let current = std::env::var_os("XDG_RUNTIME_DIR");
        if current
            .as_deref()
            .is_some_and(|d| Path::new(d).is_absolute())
        {
            return;
        }
        if let Some(dir) = private_runtime_dir() {
            // SAFETY: called before any GPU runtime starts its threads (diffmem's `main` calls
            // this first, while single-threaded); Rust's own env access is serialised by std.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir) };
        }
    });
}

/// `$TMPDIR/diffmem-runtime-<uid>`, created with mode 0700, or a per-process directory when
/// that one exists but is not ours alone. `None` if neither can be created.
fn private_runtime_dir() -> Option<PathBuf> {
    let tmp = std::env::temp_dir();
    let shared = tmp.join(format!("diffmem-runtime-{}", user_tag()));
    if make_private(&shared) {
        return Some(shared);
    }
    let own = tmp.join(format!("diffmem-runtime-pid{}", std::process::id()));
    make_private(&own).then_some(own)
}

/// Creates `dir` (mode 0700 on unix) or accepts an existing one that only we can use.
fn make_private(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return false;
        };
        let mine = std::fs::metadata("/proc/self").map_or(true, |me| me.uid() == meta.uid());
        meta.is_dir() && mine && meta.permissions().mode() & 0o077 == 0
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).is_ok()
    }
}

/// The user id on Linux (owner of `/proc/self`), else the user name, to keep users apart.
fn user_tag() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(me) = std::fs::metadata("/proc/self") {
            return me.uid().to_string();
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "user".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dir_is_created_once_and_reused() {
        let base = std::env::temp_dir().join(format!("diffmem-xdg-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let dir = base.join("rt");
        assert!(make_private(&dir));
        assert!(dir.is_dir());
        assert!(make_private(&dir), "an existing private dir is accepted");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert!(
                !make_private(&dir),
                "a directory others can read is refused"
            );
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn after_the_call_the_variable_is_absolute() {
        quiet_driver_env();
        let v = std::env::var_os("XDG_RUNTIME_DIR").expect("set after the call");
        assert!(Path::new(&v).is_absolute(), "{v:?}");
    }
}
