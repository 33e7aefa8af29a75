//! What the training loop draws at a logging step: `loss.png` (see [`super::curves`]) and,
//! with `--sample-every K`, a grid of samples `samples/step-NNNNNNN.png` every K steps, so
//! that the samples can be watched turning into copies of training images.
//!
//! The grids use the run's own sampler on host noise of the sampling seed: every grid starts
//! from the same noise (so grids of different steps compare), and the device RNG, which the
//! training loop seeds, is left alone. A figure that cannot be written is a warning, not the
//! end of the run.

use crate::run::RunDir;
use crate::run::config::RunConfig;
use crate::run::layout::step_dir_name;
use crate::sample;
use crate::train::curves::write_loss_plot;
use anyhow::Result;
use diffmem_data::SampleShape;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::prelude::Device;
use diffmem_model::noise::HostNoise;
use diffmem_model::{Denoiser, Diffusion, ModelContext, Net};
use std::path::{Path, PathBuf};

/// Most samples in one grid during training.
pub const MAX_GRID_SAMPLES: usize = 64;

/// The figures of one run's training loop.
pub struct Figures<'a> {
    cfg: &'a RunConfig,
    run_dir: &'a Path,
    shape: SampleShape,
    device: &'a Device,
    /// Set once a figure failed, so that a full disk warns once.
    warned: bool,
}

/// Path of the grid of `step` in `run_dir`.
pub fn grid_path(run_dir: &Path, step: usize) -> PathBuf {
    RunDir::at(run_dir)
        .samples()
        .join(format!("{}.png", step_dir_name(step)))
}

impl<'a> Figures<'a> {
    /// Figures of the run `cfg` in `run_dir` whose samples have `shape`, sampled on the plain
    /// `device`.
    pub fn new(
        cfg: &'a RunConfig,
        run_dir: &'a Path,
        shape: SampleShape,
        device: &'a Device,
    ) -> Self {
        Self {
            cfg,
            run_dir,
            shape,
            device,
            warned: false,
        }
    }

    /// At the logging step `step`: redraw `loss.png`; at a multiple of `--sample-every`, draw
    /// the grid of the EMA weights (or of `net` without an EMA) with `diffusion` (unweighted,
    /// on the plain device).
    pub fn after_log(&mut self, step: usize, net: &Net, ema: Option<&Net>, diffusion: &Diffusion) {
        let mut result = write_loss_plot(self.run_dir);
        if self
            .cfg
            .train
            .sample_every
            .is_some_and(|k| step.is_multiple_of(k))
        {
            let plain;
            let model = match ema {
                Some(e) => e,
                None => {
                    plain = net.valid();
                    &plain
                }
            };
            result = result.and(self.grid(step, model, diffusion));
        }
        if let Err(e) = result
            && !self.warned
        {
            self.warned = true;
            eprintln!("warning: a training figure was not written ({e:#}); training goes on");
        }
    }

    /// Draws `samples/step-NNNNNNN.png` from `model`.
    fn grid(&self, step: usize, model: &dyn Denoiser, diffusion: &Diffusion) -> Result<()> {
        if diffmem_data::grid::tile_shape(self.shape).is_err() {
            return Ok(()); // vectors that are not images have no picture
        }
        let mut s = self.cfg.sample.clone();
        s.num = s.num.min(MAX_GRID_SAMPLES);
        let mut noise = HostNoise::seeded(s.seed);
        let dim = self.shape.dim();
        let x = sample::draw(
            ModelContext::new(model, diffusion, self.device),
            &s,
            dim,
            crate::io::progress::Verbosity::Silent,
            Some(&mut noise),
        )?;
        let path = grid_path(self.run_dir, step);
        std::fs::create_dir_all(path.parent().unwrap_or(self.run_dir))?;
        sample::write_png(&path, &x, self.shape)?.map_err(crate::run::data::with_hint)
    }
}
