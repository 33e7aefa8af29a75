//! Forking a run: `train --resume CKPT --out NEW` copies the run's config, indices, log and
//! the chosen checkpoint into NEW and trains on there, leaving the original untouched.

use crate::io::atomic::write_atomic;
use crate::run::layout::{LATEST, RunDir};
use crate::run::lock;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

impl RunDir {
    /// The run that holds checkpoint `ckpt` (`RUN/checkpoints/step-NNNNNNN`).
    pub fn of_checkpoint(ckpt: &Path) -> Result<RunDir> {
        let root = ckpt
            .parent()
            .and_then(Path::parent)
            .context("checkpoint is not inside RUN/checkpoints/")?;
        Ok(RunDir::at(root))
    }

    /// Copies this run into `dst` (which must not hold a run) with only checkpoint `ckpt`;
    /// returns the copy of the checkpoint. The config is copied last: a directory holds a run
    /// once its config is there.
    pub fn fork(&self, ckpt: &Path, dst: &RunDir) -> Result<PathBuf> {
        if dst.holds_run() {
            bail!(
                "--out {} already holds a run: fork into a new directory",
                dst.root().display()
            );
        }
        let _src_lock = lock::acquire(self.root())?;
        let copy = |from: PathBuf, to: PathBuf, required: bool| -> Result<()> {
            if from.exists() || required {
                std::fs::copy(&from, &to).with_context(|| {
                    format!("cannot copy {} to {}", from.display(), to.display())
                })?;
            }
            Ok(())
        };
        copy(self.train_indices(), dst.train_indices(), true)?;
        copy(self.log(), dst.log(), false)?;
        let name = ckpt.file_name().context("checkpoint has no name")?;
        let to = dst.checkpoints().join(name);
        std::fs::create_dir_all(&to).with_context(|| format!("cannot create {}", to.display()))?;
        for e in std::fs::read_dir(ckpt)? {
            let e = e?;
            std::fs::copy(e.path(), to.join(e.file_name()))
                .with_context(|| format!("cannot copy {}", e.path().display()))?;
        }
        write_atomic(
            &dst.checkpoints().join(LATEST),
            name.to_string_lossy().as_bytes(),
        )?;
        copy(self.config(), dst.config(), true)?;
        eprintln!(
            "forked {} at {} into {}",
            self.root().display(),
            ckpt.display(),
            dst.root().display()
        );
        Ok(to)
    }
}
