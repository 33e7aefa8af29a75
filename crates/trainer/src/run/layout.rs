//! The layout of a run directory in one place: every file and folder a run holds is named
//! here, and every other module asks [`RunDir`] for its path.
//!
//! ```text
//! RUN/
//!   config.toml            the resolved settings (a directory holds a run once this is there)
//!   train_indices.txt      the original index of each training row
//!   log.jsonl              one record per logging step
//!   summary.json           what `train` printed at the end
//!   train_state.json       where training stopped
//!   metrics.json           what `eval` measured (eval_samples.npy: its samples)
//!   loss.png, samples.png, samples.npy
//!   checkpoints/step-NNNNNNN/{model,ema,optim}.bpk, state.json, SHA256SUMS; checkpoints/latest
//!   snapshots/step-NNNNNNN/{model,ema}.bpk (train --snapshots K), snapshots/schedule.json
//!   weights/{model,ema}.bpk, SHA256SUMS   the final weights
//!   samples/               named draws of `diffmem sample`
//! ```

use std::path::{Path, PathBuf};

/// A run directory: the paths of its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

/// The name of the file that makes a directory a run.
pub const CONFIG_FILE: &str = "config.toml";
/// The resolved config of a sweep's grid point, written into its run directory before the run
/// starts (so `train --out` accepts that directory as a new run).
pub const POINT_CONFIG: &str = "point.toml";

impl RunDir {
    /// The run directory at `root` (which may not exist yet).
    pub fn at(root: impl AsRef<Path>) -> RunDir {
        RunDir {
            root: root.as_ref().to_path_buf(),
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`: the resolved settings.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Whether a run started here (its `config.toml` exists).
    pub fn holds_run(&self) -> bool {
        self.config().exists()
    }

    /// `train_indices.txt`: the original index of each training row, one per line.
    pub fn train_indices(&self) -> PathBuf {
        self.root.join("train_indices.txt")
    }

    /// `log.jsonl`: one JSON record per logging step.
    pub fn log(&self) -> PathBuf {
        self.root.join("log.jsonl")
    }

    /// `train_state.json`: where training stopped (the best step after early stopping).
    pub fn train_state(&self) -> PathBuf {
        self.root.join("train_state.json")
    }

    /// `summary.json`: the end-of-training summary.
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }

    /// `metrics.json`: the results of `eval`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.json")
    }

    /// `samples.png`: the training-time sample grid (`samples.npy` beside it).
    pub fn samples_png(&self) -> PathBuf {
        self.root.join("samples.png")
    }

    /// `loss.png`: the loss curves, redrawn at each logging step.
    pub fn loss_png(&self) -> PathBuf {
        self.root.join("loss.png")
    }

    /// `eval_samples.npy`: the samples `eval` measured (in the run or in eval's `--out`).
    pub fn eval_samples(&self) -> PathBuf {
        self.root.join("eval_samples.npy")
    }

    /// `checkpoints/`: `step-NNNNNNN/` folders and the `latest` marker.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `checkpoints/latest`: the name of the newest checkpoint.
    pub fn latest_marker(&self) -> PathBuf {
        self.checkpoints().join(LATEST)
    }

    /// `snapshots/`: the weights kept along training (`train --snapshots K`).
    pub fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// `snapshots/step-NNNNNNN`: the snapshot of one step.
    pub fn snapshot(&self, step: usize) -> PathBuf {
        self.snapshots().join(step_dir_name(step))
    }

    /// `weights/`: the final weights.
    pub fn weights(&self) -> PathBuf {
        self.root.join("weights")
    }

    /// `samples/`: the named draws of `diffmem sample`.
    pub fn samples(&self) -> PathBuf {
        self.root.join("samples")
    }
}

/// The marker file in `checkpoints/` that names the newest checkpoint.
pub const LATEST: &str = "latest";

/// `step-NNNNNNN`: the folder of the checkpoint or snapshot of `step`.
pub fn step_dir_name(step: usize) -> String {
    format!("step-{step:07}")
}

/// A weight file of a checkpoint, snapshot or `weights/` folder (burnpack records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFile {
    /// The raw model weights (`model.bpk`).
    Model,
    /// The EMA of the weights (`ema.bpk`).
    Ema,
    /// The optimiser state (`optim.bpk`, checkpoints only).
    Optim,
}

impl WeightFile {
    /// The file name without its extension, as burn's recorder takes it.
    pub fn stem(self) -> &'static str {
        match self {
            WeightFile::Model => "model",
            WeightFile::Ema => "ema",
            WeightFile::Optim => "optim",
        }
    }

    /// The record's path in `dir` (with the `.bpk` extension).
    pub fn path(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.bpk", self.stem()))
    }

    /// The record's path in `dir` without the extension (what burn's recorder is given).
    pub fn stem_path(self, dir: &Path) -> PathBuf {
        dir.join(self.stem())
    }

    /// [`WeightFile::Ema`] when `ema`, else [`WeightFile::Model`].
    pub fn of(ema: bool) -> WeightFile {
        if ema {
            WeightFile::Ema
        } else {
            WeightFile::Model
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_names_each_file_once() {
        let r = RunDir::at("/r");
        assert_eq!(r.config(), Path::new("/r/config.toml"));
        assert_eq!(r.latest_marker(), Path::new("/r/checkpoints/latest"));
        assert_eq!(r.snapshot(40), Path::new("/r/snapshots/step-0000040"));
        assert_eq!(
            WeightFile::of(true).path(&r.weights()),
            Path::new("/r/weights/ema.bpk")
        );
        assert_eq!(
            WeightFile::Optim.stem_path(Path::new("/c")),
            Path::new("/c/optim")
        );
    }
}
