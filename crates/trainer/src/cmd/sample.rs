//! `diffmem sample RUN`: draws samples from a trained (or exact) run.

use crate::run::{self, Weights};
use crate::sample;
use anyhow::Result;
use clap::Args;
use diffmem_model::{DdpmVariance, DeviceChoice, SamplerConfig};
use std::path::PathBuf;

/// Arguments of `diffmem sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Run directory (runs/NAME).
    pub run: PathBuf,
    /// Number of samples (default: the run's `sample.num`).
    #[arg(long, value_parser = crate::io::range::positive_usize)]
    pub num: Option<usize>,
    /// Sampler: ddpm or ddim.
    #[arg(long, value_parser = ["ddpm", "ddim"])]
    pub sampler: Option<String>,
    /// DDIM steps (default 100).
    #[arg(long, value_parser = crate::io::range::positive_usize)]
    pub steps: Option<usize>,
    /// DDIM eta.
    #[arg(long, default_value_t = 0.0, value_parser = crate::io::range::non_negative_f64)]
    pub eta: f64,
    /// DDPM variance: beta or posterior.
    #[arg(long, value_parser = ["beta", "posterior"], default_value = "beta")]
    pub variance: String,
    /// DDPM: add noise at the last step.
    #[arg(long)]
    pub last_noise: bool,
    /// Noise seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use the EMA weights (default) ...
    #[arg(long, conflicts_with = "raw")]
    pub ema: bool,
    /// ... or the raw weights.
    #[arg(long)]
    pub raw: bool,
    /// Batch size while sampling.
    #[arg(long, value_parser = crate::io::range::positive_usize)]
    pub batch: Option<usize>,
    /// Clamp predicted x0 to [-C, C] (default: the run's setting).
    #[arg(long, value_parser = crate::io::range::positive_f64)]
    pub clip_x0: Option<f64>,
    /// Never clamp predicted x0.
    #[arg(long, conflicts_with = "clip_x0")]
    pub no_clip_x0: bool,
    /// Device: auto, wgpu, flex, ndarray (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// Output directory (default: the run directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Plain progress lines.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `diffmem sample`.
pub fn run(a: &SampleArgs) -> Result<()> {
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let r = run::load(&a.run, a.device, weights)?;
    eprintln!("device: {}", r.device.description);
    let mut s = r.cfg.sample.clone();
    if let Some(n) = a.num {
        s.num = n;
    }
    if let Some(seed) = a.seed {
        s.seed = seed;
    }
    if let Some(b) = a.batch {
        s.batch = b;
    }
    if a.clip_x0.is_some() {
        s.clip_x0 = a.clip_x0.into();
    }
    if a.no_clip_x0 {
        s.clip_x0 = None.into();
    }
    match a.sampler.as_deref() {
        Some("ddim") => {
            s.sampler = SamplerConfig::Ddim {
                steps: a.steps.unwrap_or(100),
                eta: a.eta,
            }
        }
        Some("ddpm") => {
            s.sampler = SamplerConfig::Ddpm {
                variance: if a.variance == "posterior" {
                    DdpmVariance::Posterior
                } else {
                    DdpmVariance::Beta
                },
                last_noise: a.last_noise,
            }
        }
        _ => {}
    }
    if s.num == 0 || s.batch == 0 {
        anyhow::bail!("--num and --batch must be at least 1");
    }
    let started = std::time::Instant::now();
    let samples = sample::draw(
        r.model.as_ref(),
        &r.diffusion,
        &s,
        r.train.dim(),
        &r.device.device,
        a.quiet,
        None,
    )?;
    let out = a.out.clone().unwrap_or_else(|| r.dir.clone());
    sample::write(&out, &samples, r.train.shape)?;
    println!(
        "{} samples ({:?}, seed {}) from {} in {:.1}s -> {} and {}",
        s.num,
        s.sampler,
        s.seed,
        r.weights,
        started.elapsed().as_secs_f64(),
        out.join("samples.png").display(),
        out.join("samples.npy").display()
    );
    Ok(())
}
