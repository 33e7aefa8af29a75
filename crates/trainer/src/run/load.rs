//! A run directory and the denoiser it holds: the trained weights (`weights/`, or the latest
//! checkpoint of an interrupted run) or, for `linear-exact` and `empirical`, the closed form
//! refitted from the run's training set (a pure function of it).

use crate::run::checkpoint;
use crate::run::config::RunConfig;
use crate::run::data as run_data;
use crate::run::{RunDir, WeightFile};
use anyhow::{Context, Result, bail};
use diffmem_data::Dataset;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::prelude::*;
use diffmem_model::{
    Denoiser, DeviceChoice, Diffusion, ModelContext, Net, Schedule, SelectedDevice,
};
use std::path::{Path, PathBuf};

/// Which weights of a trained run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weights {
    /// The EMA weights when the run has them, else the raw ones.
    Ema,
    /// The raw (last optimiser step) weights.
    Raw,
}

/// A run loaded for sampling or evaluation.
pub struct LoadedRun {
    /// The run directory.
    pub dir: PathBuf,
    /// Its config.
    pub cfg: RunConfig,
    /// The device in use.
    pub device: SelectedDevice,
    /// Training subset (same indices as when trained).
    pub train: Dataset,
    /// Held-out set.
    pub heldout: Dataset,
    /// Schedule and objective on the device.
    pub diffusion: Diffusion,
    /// The denoiser.
    pub model: Box<dyn Denoiser>,
    /// Which weights were loaded (a description for reports).
    pub weights: String,
}

impl LoadedRun {
    /// The loaded denoiser with its diffusion and device: the context of library calls.
    pub fn ctx(&self) -> ModelContext<'_> {
        ModelContext::new(self.model.as_ref(), &self.diffusion, &self.device.device)
    }
}

/// Loads the run in `dir` on `device` (None: the run's own device setting).
pub fn load(dir: &Path, device: Option<DeviceChoice>, weights: Weights) -> Result<LoadedRun> {
    let cfg_path = RunDir::at(dir).config();
    if !cfg_path.exists() {
        bail!(
            "{} is not a run directory: {} is missing",
            dir.display(),
            cfg_path.display()
        );
    }
    let cfg = RunConfig::load(&cfg_path)?;
    let device = crate::run::device::open(device.unwrap_or(cfg.train.device))?;
    let (train, heldout) = run_data::load(&cfg.data)?;
    let schedule = Schedule::new(cfg.diffusion.schedule.clone(), cfg.diffusion.timesteps)?;
    let diffusion = Diffusion::new(
        schedule,
        cfg.objective(),
        *cfg.diffusion.min_snr_gamma,
        &device.device,
    );
    let (model, desc): (Box<dyn Denoiser>, String) =
        match cfg
            .model
            .fit_exact(&train.samples, train.shape, &diffusion, &device.device)?
        {
            Some(m) => (
                m,
                format!(
                    "{} fitted on the run's {} training samples",
                    cfg.model.name(),
                    train.len()
                ),
            ),
            None => {
                let (net, desc) = load_net(dir, &cfg, &train, &device.device, weights)?;
                (Box::new(net), desc)
            }
        };
    Ok(LoadedRun {
        dir: dir.to_path_buf(),
        cfg,
        device,
        train,
        heldout,
        diffusion,
        model,
        weights: desc,
    })
}

/// The trained weights of the run in `dir` (final weights, else the latest checkpoint; EMA or
/// raw), checksums verified, with a description of the file.
pub fn load_net(
    dir: &Path,
    cfg: &RunConfig,
    train: &Dataset,
    device: &Device,
    weights: Weights,
) -> Result<(Net, String)> {
    let fresh = cfg
        .model
        .init_net(train.shape, cfg.diffusion.timesteps, device)?
        .context("not a trainable model")?;
    let final_dir = RunDir::at(dir).weights();
    let src = if WeightFile::Model.path(&final_dir).exists() {
        final_dir
    } else {
        checkpoint::resolve(crate::run::layout::LATEST, Some(dir)).with_context(|| {
            format!(
                "{} has no trained weights yet: train it (or resume it) first",
                dir.display()
            )
        })?
    };
    crate::run::checksum::verify(&src).with_context(|| {
        format!(
            "the weights in {} are corrupt: resume from a checkpoint (diffmem train --resume {}) \
             to write them again",
            src.display(),
            dir.display()
        )
    })?;
    let file = WeightFile::of(weights == Weights::Ema && WeightFile::Ema.path(&src).exists());
    let net = checkpoint::load_net(fresh.valid(), &src, file)?;
    Ok((net, file.path(&src).display().to_string()))
}
