//! `diffmem train`: resolve the run (defaults < --config file < flags, or the run being
//! resumed), prepare its directory, train (or fit an exact denoiser), draw the sample grid and
//! print a summary.

use crate::io::summary;
use crate::run::config::{RunConfig, RunFlags, RunLayer};
use crate::run::{checkpoint, dir};
use crate::{sample, train};
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `diffmem train` (every flag overrides the config file).
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// Run config (TOML), e.g. a previous run's runs/NAME/config.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run's settings, one group per config section.
    #[command(flatten)]
    pub run: RunFlags,
    /// Run directory (default runs/MODEL-DATA-nN-sSEED).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Resume: `latest` (with --out), a run directory or a checkpoint directory.
    #[arg(long)]
    pub resume: Option<String>,
    /// Plain log lines instead of a progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Behave as if Ctrl-C were pressed after this many steps (for tests and scripts).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

/// What `train` will do: the resolved run, where, and from which checkpoint.
struct Plan {
    cfg: RunConfig,
    run_dir: PathBuf,
    resume: Option<PathBuf>,
}

/// A resumed run keeps its own config; only --steps and --device apply.
fn plan_resume(a: &TrainArgs, r: &str) -> Result<Plan> {
    let ckpt = checkpoint::resolve(r, a.out.as_deref())?;
    let run_dir = ckpt
        .parent()
        .and_then(Path::parent)
        .context("checkpoint is not inside RUN/checkpoints/")?
        .to_path_buf();
    let mut cfg = RunConfig::load(&run_dir.join("config.toml"))?;
    if let Some(s) = a.run.train.steps {
        cfg.train.steps = s;
        cfg.train.epochs = None.into();
    }
    if let Some(d) = a.run.train.device {
        cfg.train.device = d;
    }
    Ok(Plan {
        cfg,
        run_dir,
        resume: Some(ckpt),
    })
}

fn plan(a: &TrainArgs) -> Result<Plan> {
    if let Some(r) = &a.resume {
        return plan_resume(a, r);
    }
    let file = match &a.config {
        Some(p) => RunLayer::load(p)?,
        None => RunLayer::default(),
    };
    let cfg = RunConfig::resolve(file, &a.run)?;
    let run_dir = dir::new_run_dir(&cfg, a.out.as_deref())?;
    Ok(Plan {
        cfg,
        run_dir,
        resume: None,
    })
}

/// Runs `diffmem train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let Plan {
        cfg,
        run_dir,
        resume,
    } = plan(a)?;
    let device = crate::run::device::open(cfg.train.device)?;
    let (train_set, heldout) = crate::run::data::load(&cfg.data)?;
    cfg.model
        .validate(train_set.shape, cfg.diffusion.timesteps, cfg.objective())?;
    dir::prepare(&run_dir, &cfg, &train_set, resume.is_some())?;
    eprintln!(
        "run {}: {} on {} (N = {}, D = {}, held-out {})",
        run_dir.display(),
        cfg.model.name(),
        train_set.provenance.source,
        train_set.len(),
        train_set.dim(),
        heldout.len()
    );
    let started = std::time::Instant::now();
    let mut summary = train::fit(&train::FitInputs {
        cfg: &cfg,
        run_dir: &run_dir,
        device: &device.device,
        train: &train_set,
        heldout: &heldout,
        resume,
        quiet: a.quiet,
        stop_after: a.stop_after,
    })?;
    let sample_started = std::time::Instant::now();
    sample::grid(&run_dir, device.kind, a.quiet)?;
    summary["device"] = device.description.clone().into();
    summary["matmul_precision"] = device.matmul.to_string().into();
    summary["sample_seconds"] = sample_started.elapsed().as_secs_f64().into();
    summary["total_seconds"] = started.elapsed().as_secs_f64().into();
    summary["run"] = run_dir.display().to_string().into();
    summary["samples"] = run_dir.join("samples.png").display().to_string().into();
    summary::finish(&run_dir, &summary, a.json)
}
