//! No dead end for a run stopped before its first checkpoint: it cannot be resumed (nothing to
//! resume from) and a fresh start into it is refused (the directory holds a run), so every
//! message that meets one names the command that starts it over in place, and
//! `train --restart` does so, removing only the files a run writes before its first
//! checkpoint. A run with a checkpoint or finished weights is never removed: resume it.
//!
//! The first checkpoint comes early (`train::train_loop`: at the first logging step at or
//! after min(--checkpoint-every, total steps / 20)), so such a run has lost little.

use crate::run::RunDir;
use crate::run::lock;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Files and folders a run writes before its first checkpoint (and `--restart` removes).
fn early_files(run: &RunDir) -> [PathBuf; 5] {
    [
        run.config(),
        run.train_indices(),
        run.log(),
        run.train_state(),
        run.checkpoints(),
    ]
}

/// Whether the run in `dir` has something to resume from or keep: a checkpoint (a `latest`
/// pointer or a step folder with its state) or finished weights.
pub fn has_progress(dir: &Path) -> bool {
    let run = RunDir::at(dir);
    let step_dir = std::fs::read_dir(run.checkpoints())
        .is_ok_and(|mut it| it.any(|e| e.is_ok_and(|e| e.path().join("state.json").exists())));
    run.latest_marker().exists() || step_dir || run.weights().exists()
}

/// The exact command that starts the run in `dir` over in place.
pub fn command(dir: &Path) -> String {
    let d = dir.display();
    let config = RunDir::at(dir).config();
    format!(
        "diffmem train --config {} --out {d} --restart",
        config.display()
    )
}

/// What to tell a user whose `dir` holds a run: resume it, or (without a checkpoint) start it
/// over with [`command`].
pub fn already_holds(dir: &Path) -> String {
    let d = dir.display();
    if has_progress(dir) {
        format!("{d} already holds a run: continue it with --resume {d} or choose another --out")
    } else {
        format!(
            "{d} already holds a run that stopped before its first checkpoint (nothing to \
             resume): start it over in place with: {}, or choose another --out",
            command(dir)
        )
    }
}

/// The hint for a `--resume` that found no checkpoint in `dir`: empty unless `dir` holds a
/// run without one.
pub fn resume_hint(dir: &Path) -> String {
    if RunDir::at(dir).holds_run() && !has_progress(dir) {
        format!(
            "; the run in {} stopped before its first checkpoint: start it over in place \
             with: {}",
            dir.display(),
            command(dir)
        )
    } else {
        String::new()
    }
}

/// `train --restart --out DIR`: removes the files of a run in `dir` that stopped before its
/// first checkpoint (under its lock, so never those of a running process), leaving any other
/// file there alone. Nothing to do when `dir` holds no run; an error when the run has a
/// checkpoint or weights.
pub fn clear(dir: &Path) -> Result<()> {
    if !RunDir::at(dir).holds_run() {
        return Ok(());
    }
    if has_progress(dir) {
        bail!(
            "--restart: {} has checkpoints or weights; resume it with --resume {} (--restart \
             only starts over a run stopped before its first checkpoint)",
            dir.display(),
            dir.display()
        );
    }
    let _lock = lock::acquire(dir)?;
    for p in early_files(&RunDir::at(dir)) {
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let removed = if meta.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        removed.with_context(|| format!("--restart: cannot remove {}", p.display()))?;
    }
    eprintln!(
        "restarting {}: removed the run stopped before its first checkpoint",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_checkpoint_is_cleared_and_one_with_is_kept() {
        let dir = std::env::temp_dir().join(format!("diffmem-restart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("checkpoints/step-0000010")).unwrap();
        for f in ["config.toml", "log.jsonl", "mine.txt"] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        assert!(already_holds(&dir).contains(&command(&dir)));
        assert!(resume_hint(&dir).contains("--restart"));
        clear(&dir).unwrap();
        assert!(
            !crate::run::RunDir::at(&dir).config().exists()
                && !crate::run::RunDir::at(&dir).checkpoints().exists()
        );
        assert!(
            dir.join("mine.txt").exists(),
            "a file the user made is kept"
        );
        // With a checkpoint: refused, nothing removed.
        std::fs::create_dir_all(dir.join("checkpoints/step-0000010")).unwrap();
        std::fs::write(dir.join("checkpoints/step-0000010/state.json"), "{}").unwrap();
        std::fs::write(crate::run::RunDir::at(&dir).config(), "x").unwrap();
        let e = clear(&dir).unwrap_err().to_string();
        assert!(e.contains("--resume"), "{e}");
        assert!(crate::run::RunDir::at(&dir).config().exists());
        assert!(already_holds(&dir).contains("continue it with --resume"));
        assert_eq!(resume_hint(&dir), "");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
