//! `diffmem sample RUN`: draws samples from a trained (or exact) run.

use crate::run::config::SampleSection;
use crate::run::{self, LoadedRun, Weights};
use crate::sample::flags::SamplerFlags;
use crate::sample::{self, files};
use anyhow::Result;
use clap::Args;
use diffmem_model::DeviceChoice;
use std::path::PathBuf;

/// Arguments of `diffmem sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Run directory (runs/NAME).
    pub run: PathBuf,
    /// Number of samples (default: the run's `sample.num`).
    #[arg(long, value_parser = crate::io::range::positive_usize)]
    pub num: Option<usize>,
    /// The sampler (the run's own unless given).
    #[command(flatten)]
    pub sampler: SamplerFlags,
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
    /// Device: auto, wgpu, cuda, flex, ndarray (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// Output folder (default: RUN/samples). Files are named by sampler, steps and seed
    /// (ddim-50-s0.png/.npy/.json); the training-time samples.png/.npy are never replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Progress: `--quiet` (none) or `--plain` (lines instead of a bar).
    #[command(flatten)]
    pub progress: crate::io::progress::ProgressArgs,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The run's sample settings with the flags applied.
fn section(a: &SampleArgs, r: &LoadedRun) -> Result<SampleSection> {
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
    s.sampler = a.sampler.resolve(&r.cfg, r.diffusion.steps(), None);
    if s.num == 0 || s.batch == 0 {
        anyhow::bail!("--num and --batch must be at least 1");
    }
    Ok(s)
}

/// Runs `diffmem sample`.
pub fn run(a: &SampleArgs) -> Result<()> {
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let r = run::load(&a.run, a.device, weights)?;
    let s = section(a, &r)?;
    let out = match &a.out {
        Some(o) => {
            files::check_out(&r.dir, o)?;
            o.clone()
        }
        None => crate::run::RunDir::at(&r.dir).samples(),
    };
    // One writer per directory: not while the run trains, nor beside another `sample` into it.
    let in_run = out.starts_with(&r.dir) || crate::run::dir::same_dir(&out, &r.dir);
    let _lock = crate::run::lock::acquire(if in_run { &r.dir } else { &out })?;
    std::fs::create_dir_all(&out)?;
    let settings = serde_json::json!({
        "run": r.dir.display().to_string(), "weights": r.weights, "num": s.num,
        "sampler": s.sampler, "seed": s.seed, "batch": s.batch, "clip_x0": *s.clip_x0,
    });
    let base = files::base_name(&s.sampler, r.diffusion.steps(), s.seed);
    let stem = files::choose_stem(&out, &base, &settings)?;
    let started = std::time::Instant::now();
    let samples = sample::draw(r.ctx(), &s, r.train.dim(), a.progress.verbosity(), None)?;
    let png = sample::write_named(&out, &stem, &samples, r.train.shape)?;
    let npy = out.join(format!("{stem}.npy"));
    let doc = serde_json::json!({
        "num": s.num, "sampler": s.sampler, "description": s.sampler.to_string(),
        "seed": s.seed, "weights": r.weights,
        "seconds": started.elapsed().as_secs_f64(), "png": png, "npy": npy,
        "settings": settings,
    });
    let json = out.join(format!("{stem}.json"));
    crate::io::atomic::write_atomic(&json, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    if a.json {
        crate::io::print_json(&doc);
        return Ok(());
    }
    let pictures = png.map_or(String::new(), |p| format!("{} and ", p.display()));
    println!(
        "{} samples ({}, seed {}) from {} in {:.1}s -> {pictures}{}",
        s.num,
        s.sampler,
        s.seed,
        r.weights,
        started.elapsed().as_secs_f64(),
        npy.display()
    );
    Ok(())
}
