//! The sampling stage: drawing samples from a loaded run and writing them.

mod draw;
pub mod files;
pub mod flags;

/// DDIM steps of `diffmem sample --sampler ddim` and `diffmem eval` unless given: one number
/// for both, so that a grid and the metrics of a run come from the same sampler.
pub const DDIM_STEPS: usize = 100;
/// DDIM eta of `sample` and `eval` unless given (1: as stochastic as DDPM, Song et al.,
/// arXiv 2010.02502; 0 is the deterministic DDIM).
pub const DDIM_ETA: f64 = 1.0;

pub use draw::{draw, draw_unchecked, write, write_named, write_png};

use crate::io::progress::Verbosity;
use crate::run::{self, Weights};
use anyhow::Result;
use diffmem_model::DeviceChoice;
use std::path::Path;

/// The end-of-training grid: loads the run just trained (EMA weights when it has them) and
/// draws `sample.num` samples with its own sampler into `samples.png` and `samples.npy`.
pub fn grid(run_dir: &Path, device: DeviceChoice, progress: Verbosity) -> Result<()> {
    let r = run::load(run_dir, Some(device), Weights::Ema)?;
    let s = &r.cfg.sample;
    let samples = draw(r.ctx(), s, r.train.dim(), progress, None)?;
    write(run_dir, &samples, r.train.shape)
}
