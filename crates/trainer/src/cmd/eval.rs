//! `diffmem eval RUN`: memorisation and generalisation metrics of a run, written to
//! `metrics.json` (schema: docs/metrics.md), CSVs and PNG plots in the run directory.

use crate::eval::along::{DynamicsArgs, DynamicsInputs};
use crate::eval::spectrum::SpectrumArgs;
use crate::eval::{EvalContext, Metric, default_metrics, draw_samples, summary};
use crate::io::atomic::write_atomic;
use crate::io::npy::encode_f32;
use crate::run::RunDir;
use crate::run::config::SampleSection;
use crate::run::{self, LoadedRun, Weights};
use crate::sample::flags::{SamplerFlags, SamplerKind};
use anyhow::{Result, bail};
use clap::Args;
use diffmem_metrics::memorization::DEFAULT_THRESHOLD;
use diffmem_model::DeviceChoice;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `diffmem eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run directory.
    pub run: PathBuf,
    /// Metrics: mem, loss, gaussian, agree, spectrum, quality (FWD, KID against held-out),
    /// mia (membership inference), ref (r^2 with reference denoisers), calibrate-local,
    /// points (memorisation per training point), sima (SimA membership inference) (comma
    /// separated).
    /// Default: mem,loss, plus gaussian for synthetic data and agree with --against.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<Metric>>,
    /// A second run (disjoint split of the same size) for the two-model agreement.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Number of generated samples M.
    #[arg(long = "num", default_value_t = 1000, value_parser = crate::io::range::positive_usize)]
    pub num_samples: usize,
    /// Seed of the sampler noise (drawn on the host: the same on every device).
    #[arg(long = "seed", default_value_t = 0)]
    pub sample_seed: u64,
    /// The sampler of the evaluation samples (DDIM with 100 steps unless given).
    #[command(flatten)]
    pub sampler: SamplerFlags,
    /// Memorisation threshold tau on d1/d2, in (0, 1).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD, value_parser = crate::io::range::open_unit_f64)]
    pub threshold: f64,
    /// Enlargement of each image in nn_grid.png / nn_grid_random.png (and their SVGs).
    #[arg(long, default_value_t = crate::eval::nn_figures::DEFAULT_SCALE, value_parser = crate::io::range::positive_usize)]
    pub nn_scale: usize,
    /// Timesteps of the loss-gap curve (and of mia, ref).
    #[arg(long, default_value_t = 20, value_parser = crate::io::range::positive_usize)]
    pub loss_points: usize,
    /// Rows per set for the loss gap (and mia, ref).
    #[arg(long, default_value_t = 500, value_parser = crate::io::range::positive_usize)]
    pub loss_rows: usize,
    /// Also fit the `local` machine's patch size per timestep to this run (metric
    /// `calibrate-local`; prints the --patch list).
    #[arg(long)]
    pub calibrate_local: bool,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Device (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// Output directory (default: the run directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Leave divergent samples (non-finite, or beyond 10x the data range) out of every metric;
    /// without it they are counted and warned about but measured.
    #[arg(long)]
    pub exclude_nonfinite: bool,
    /// Print metrics.json to stdout.
    #[arg(long)]
    pub json: bool,
    /// Progress: `--quiet` (none) or `--plain` (lines instead of a bar).
    #[command(flatten)]
    pub progress: crate::io::progress::ProgressArgs,
    /// Spectrum settings.
    #[command(flatten)]
    pub spectrum: SpectrumArgs,
    /// Evaluation along training (snapshots).
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
}

/// The evaluation samples' settings: the flags' sampler (DDIM by default) and the run's batch
/// size and x0 clamp.
fn sample_section(a: &EvalArgs, r: &LoadedRun) -> SampleSection {
    let sampler = a
        .sampler
        .resolve(&r.cfg, r.diffusion.steps(), Some(SamplerKind::Ddim));
    SampleSection {
        num: a.num_samples,
        sampler,
        seed: a.sample_seed,
        batch: r.cfg.sample.batch.max(1),
        clip_x0: r.cfg.sample.clip_x0,
    }
}

/// The metrics asked for, checked against the other flags.
fn metrics(a: &EvalArgs, r: &LoadedRun) -> Result<Vec<Metric>> {
    let mut metrics = a
        .metrics
        .clone()
        .unwrap_or_else(|| default_metrics(r, a.against.is_some()));
    if a.calibrate_local && !metrics.contains(&Metric::CalibrateLocal) {
        metrics.push(Metric::CalibrateLocal);
    }
    if metrics.contains(&Metric::Agree) && a.against.is_none() {
        bail!(
            "--metrics agree needs --against RUN2 (a run on the disjoint split of the same size)"
        );
    }
    if let Some(w) = a
        .against
        .as_deref()
        .and_then(|b| crate::eval::overlap::against_warning(&a.run, b))
    {
        eprintln!("warning: {w}");
    }
    Ok(metrics)
}

/// `diffmem eval --along-training`: every snapshot, into dynamics.csv/png and metrics.json.
fn along_training(a: &EvalArgs) -> Result<()> {
    let mut r = run::load(&a.run, a.device, Weights::Raw)?;
    let out = a.out.clone().unwrap_or_else(|| r.dir.clone());
    crate::eval::outputs::check_out(&r.dir, &out)?;
    std::fs::create_dir_all(&out)?;
    let tidy = crate::eval::outputs::Tidy::start(&out, "/metrics/dynamics/files");
    let mut metrics = metrics(a, &r)?;
    if a.metrics.is_none() {
        // The defaults (mem, loss, gaussian on synthetic data, agree with --against) minus
        // those that are not measured per snapshot.
        metrics.retain(|m| crate::eval::along::ALONG_TRAINING.contains(m));
    }
    let section = sample_section(a, &r);
    let inp = DynamicsInputs {
        metrics: &metrics,
        section: &section,
        out: &out,
        threshold: a.threshold,
        loss_points: a.loss_points,
        loss_rows: a.loss_rows,
        against: a.against.as_deref(),
        args: &a.dynamics,
        progress: a.progress.verbosity(),
    };
    let mut value = crate::eval::along::run(&mut r, &inp)?;
    let files = tidy.written();
    value["files"] = files.clone().into();
    crate::eval::along::record(&out, &r, value, a.json)?;
    tidy.finish(&files, &serde_json::Value::Null);
    Ok(())
}

/// Runs `diffmem eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    if a.dynamics.along_training {
        return along_training(a);
    }
    let started = Instant::now();
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let r = run::load(&a.run, a.device, weights)?;
    let out = a.out.clone().unwrap_or_else(|| r.dir.clone());
    crate::eval::outputs::check_out(&r.dir, &out)?;
    // One writer per directory: not while the run trains, nor beside another eval into `out`.
    let _lock = crate::run::lock::acquire(&out)?;
    let tidy = crate::eval::outputs::Tidy::start(&out, "/files");
    let metrics = metrics(a, &r)?;
    let jacobian = metrics.contains(&Metric::Spectrum);
    let rows_per_pass = jacobian.then_some(a.spectrum.rows_per_pass);
    crate::run::memory::check_eval(&r.cfg, a.num_samples, rows_per_pass)?;
    let section = sample_section(a, &r);
    let mut health = None;
    let samples = match metrics.iter().any(|m| m.needs_samples()) {
        true => {
            let s = draw_samples(&r, &section, a.progress.verbosity())?;
            let shape = [a.num_samples, r.train.dim()];
            write_atomic(&RunDir::at(&out).eval_samples(), &encode_f32(&s, &shape))?;
            let (s, h) = crate::eval::health::screen_samples(s, &r.train, a.exclude_nonfinite)?;
            health = Some(h);
            Some(s)
        }
        false => None,
    };
    let ctx = EvalContext {
        run: &r,
        samples: samples.as_deref(),
        section: &section,
        out: &out,
        threshold: a.threshold,
        nn_scale: a.nn_scale,
        loss_points: a.loss_points,
        loss_rows: a.loss_rows,
        against: a.against.clone(),
        raw: a.raw,
        progress: a.progress.verbosity(),
        spectrum: &a.spectrum,
    };
    let mut results = serde_json::Map::new();
    let mut nn1 = None;
    for m in metrics {
        let t0 = Instant::now();
        let value = m.compute(&ctx, &mut nn1)?;
        eprintln!("{}: {:.1}s", m.name(), t0.elapsed().as_secs_f64());
        results.insert(m.name().to_string(), value);
    }
    crate::eval::along::carry_over(&out, &mut results);
    let (files, carried) = tidy.written_with(&results);
    let mut doc = serde_json::json!({
        "schema": "diffmem.metrics/1 (docs/metrics.md)",
        "run": r.dir.display().to_string(),
        "run_config_sha256": crate::run::checksum::sha256_file(&RunDir::at(&r.dir).config()).ok(),
        "checkpoint": r.weights,
        "weights": crate::eval::weights::describe(&r),
        "data": r.cfg.data.spec,
        "n_train": r.train.len(),
        "n_heldout": r.heldout.len(),
        "dim": r.train.dim(),
        "model": r.cfg.model.name(),
        "samples": { "num": a.num_samples, "seed": a.sample_seed, "noise": "host ChaCha8 (HostNoise)", "sampler": section.sampler, "clip_x0": *section.clip_x0 },
        "sample_health": health,
        "metrics": results,
        "seconds": started.elapsed().as_secs_f64(),
        "files": files,
    });
    doc["verdict"] = crate::verdict::of_run(&r.dir, Some(&doc), &out.display().to_string()).json();
    let text = serde_json::to_string_pretty(&doc)?;
    write_atomic(&RunDir::at(&out).metrics(), text.as_bytes())?;
    tidy.finish(&files, &carried);
    match a.json {
        true => println!("{text}"),
        false => summary::print(&doc, &out),
    }
    Ok(())
}
