//! The training stage: fit the run's denoiser (train a network, or note that an exact one is
//! a closed form of the training set), save the final weights, and summarise.

pub mod batches;
pub mod curves;
pub mod figures;
pub mod log_file;
pub mod lr;
pub mod monitor;
pub mod optim;
pub mod train_loop;

use crate::io::progress::Verbosity;
use crate::run::config::RunConfig;
use crate::run::{RunDir, WeightFile, signals};
use anyhow::{Result, anyhow};
use diffmem_data::Dataset;
use diffmem_model::Net;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::prelude::Device;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use train_loop::Finish;

/// Raised when SIGINT or SIGTERM stopped training (exit code 130 or 143).
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted ({}) at step {step}; checkpoint written. Resume with: diffmem train --resume {run}",
    signals::name(*signal)
)]
pub struct Interrupted {
    /// Last completed step.
    pub step: usize,
    /// Run directory.
    pub run: String,
    /// The signal (SIGINT also for --stop-after).
    pub signal: i32,
}

/// What fitting a run needs.
pub struct FitInputs<'a> {
    /// Resolved config.
    pub cfg: &'a RunConfig,
    /// Run directory.
    pub run_dir: &'a Path,
    /// Plain (non-autodiff) device.
    pub device: &'a Device,
    /// Training subset.
    pub train: &'a Dataset,
    /// Held-out set.
    pub heldout: &'a Dataset,
    /// Checkpoint to resume from.
    pub resume: Option<PathBuf>,
    /// How progress shows (`--quiet`, `--plain`).
    pub progress: Verbosity,
    /// Stop as if interrupted once this many steps are done.
    pub stop_after: Option<usize>,
}

/// Trains the run's network (SIGINT/SIGTERM checkpoint and returns [`Interrupted`]) and saves
/// `weights/model.bpk` (and `ema.bpk`); an exact model needs nothing. Returns the summary.
pub fn fit(inp: &FitInputs<'_>) -> Result<Value> {
    let cfg = inp.cfg;
    if cfg.model.is_exact() {
        return Ok(
            json!({"model": cfg.model.name(), "trained": "closed form (fitted from the training set)"}),
        );
    }
    signals::deferred(true);
    let out = train_loop::train(inp)?;
    if let Finish::Interrupted { step } = out.finish {
        let run = inp.run_dir.display().to_string();
        let signal = signals::received().unwrap_or(signal_hook::consts::SIGINT);
        return Err(Interrupted { step, run, signal }.into());
    }
    save_weights(inp.run_dir, &out.net, out.ema.as_ref())?;
    let l = &out.last_eval;
    // Each gap names its units: the objective's (as the training loss) and eps (as eval).
    Ok(json!({
        "model": cfg.model.name(), "steps": out.steps, "finish": format!("{:?}", out.finish),
        "final_train_loss": out.last_loss, "train_fixed_loss": l.train_fixed,
        "heldout_loss": l.heldout, "gap_objective": l.heldout - l.train_fixed,
        "loss_units": cfg.diffusion.objective, "train_fixed_loss_eps": l.train_fixed_eps,
        "heldout_loss_eps": l.heldout_eps, "gap_eps": l.heldout_eps - l.train_fixed_eps,
        "train_fixed_loss_eps_median": l.train_fixed_eps_median,
        "normalised_gap": l.normalised_gap, "train_seconds": out.seconds,
    }))
}

/// Writes the final weights to `RUN/weights/`.
fn save_weights(run_dir: &Path, net: &Net, ema: Option<&Net>) -> Result<()> {
    let wdir = RunDir::at(run_dir).weights();
    std::fs::create_dir_all(&wdir)?;
    let save = |net: &Net, file: WeightFile| -> Result<()> {
        net.clone()
            .into_record()
            .save(file.stem_path(&wdir))
            .map_err(|e| anyhow!("cannot write {}: {e:?}", file.path(&wdir).display()))
    };
    save(net, WeightFile::Model)?;
    if let Some(e) = ema {
        save(e, WeightFile::Ema)?;
    }
    crate::run::checksum::write_sums(&wdir)
}
