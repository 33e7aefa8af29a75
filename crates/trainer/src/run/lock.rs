//! One writer per run directory: an advisory lock on `RUN/.lock` (`flock(2)` through the
//! standard library's `File::try_lock`, stable since Rust 1.89, so no crate is needed), with the
//! holder's pid written inside for the error message. The kernel releases the lock when its
//! holder exits, even by SIGKILL, so a lock file left by a dead process never blocks: it is
//! stale by construction and the next writer takes it over.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Name of the lock file inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// A held lock; released when dropped or when the process exits.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Opens (or creates) `RUN/.lock` without following a symbolic link: writing the pid into a
/// link would truncate the file at its target.
fn open(run_dir: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = run_dir.join(LOCK_FILE);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot open the run lock {} (a symbolic link is never followed: remove it)",
                path.display()
            )
        })
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Whether process `pid` is alive (signal 0 probes without sending anything).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Takes the lock of `run_dir` (created if missing), or fails naming the process that holds it.
/// A directory with a symbolic link inside is refused first: every writer takes this lock, so
/// no write, rotation or removal of diffmem's follows a link out of its directory.
pub fn acquire(run_dir: &Path) -> Result<RunLock> {
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    crate::run::dir::refuse_symlinks(run_dir)?;
    let mut file = open(run_dir)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let who = read_pid(&mut file).map_or("another process".to_string(), |p| {
                format!("another diffmem (pid {p})")
            });
            bail!(
                "{} is in use by {who}: two writers would corrupt the run. Wait for it to \
                 finish, stop it, or choose another --out",
                run_dir.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e)
                .with_context(|| format!("cannot lock {}", run_dir.join(LOCK_FILE).display()));
        }
    }
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(RunLock { _file: file })
}

/// The pid of the live process that holds the lock of `run_dir`, if any (a directory without a
/// lock file, or whose lock is free, has none).
pub fn holder(run_dir: &Path) -> Option<u32> {
    let path = run_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new().read(true).open(path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(_) => Some(read_pid(&mut file).filter(|&p| pid_alive(p)).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_and_the_lock_frees_on_drop() {
        let dir = std::env::temp_dir().join(format!("diffmem-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(holder(&dir), None);
        let first = acquire(&dir).unwrap();
        assert_eq!(holder(&dir), Some(std::process::id()));
        let err = format!("{:#}", acquire(&dir).unwrap_err());
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        assert_eq!(holder(&dir), None);
        // A lock file left behind (as by a killed process) does not block.
        assert!(dir.join(LOCK_FILE).exists());
        let again = acquire(&dir);
        assert!(again.is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_lock_symlink_is_refused_and_its_target_left_intact() {
        let dir = std::env::temp_dir().join(format!("diffmem-locklink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.with_extension("target");
        std::fs::write(&target, "precious").unwrap();
        std::os::unix::fs::symlink(&target, dir.join(LOCK_FILE)).unwrap();
        assert!(open(&dir).is_err(), "O_NOFOLLOW refuses the link");
        let err = format!("{:#}", acquire(&dir).unwrap_err());
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&target);
    }

    #[test]
    fn liveness_of_pids() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(u32::MAX));
    }
}
