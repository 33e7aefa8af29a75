//! `diffmem eval RUN`: memorisation and generalisation metrics of a run, written to
//! `metrics.json` (schema: docs/metrics.md), CSVs and PNG plots in the run directory.

use crate::config::SampleSection;
use crate::eval_spectrum::{SpectrumArgs, run_spectrum};
use crate::fsutil::write_atomic;
use crate::npy::encode_f32;
use crate::run::{self, LoadedRun, Weights};
use crate::sampling;
use crate::{eval_gaussian, eval_loss, eval_memorization};
use anyhow::{Result, bail};
use clap::Args;
use diffmem_metrics::agreement::{Centering, nn_cosine, paired_cosine, summarize};
use diffmem_metrics::memorization::DEFAULT_THRESHOLD;
use diffmem_metrics::nn::{NnConfig, nearest_neighbours};
use diffmem_model::noise::HostNoise;
use diffmem_model::{DdpmVariance, DeviceChoice, SamplerConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `diffmem eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run directory.
    pub run: PathBuf,
    /// Metrics: mem, loss, gaussian, agree, spectrum (comma separated). Default: mem,loss, plus
    /// gaussian for synthetic data and agree with --against.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// A second run (disjoint split of the same size) for the two-model agreement.
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// Number of generated samples M.
    #[arg(long = "num", default_value_t = 1000)]
    pub num_samples: usize,
    /// Seed of the sampler noise (drawn on the host: the same on every device).
    #[arg(long = "seed", default_value_t = 0)]
    pub sample_seed: u64,
    /// Sampler for the evaluation samples: ddim (default, 100 steps, eta 1) or ddpm (all T steps,
    /// the run's settings).
    #[arg(long, default_value = "ddim", value_parser = ["ddpm", "ddim"])]
    pub sampler: String,
    /// DDIM steps.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// DDIM eta.
    #[arg(long, default_value_t = 1.0)]
    pub eta: f64,
    /// Memorisation threshold tau on d1/d2.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Timesteps of the loss-gap curve.
    #[arg(long, default_value_t = 20)]
    pub loss_points: usize,
    /// Rows per set for the loss gap.
    #[arg(long, default_value_t = 500)]
    pub loss_rows: usize,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Device (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// Output directory (default: the run directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print metrics.json to stdout.
    #[arg(long)]
    pub json: bool,
    /// Plain progress lines.
    #[arg(long)]
    pub quiet: bool,
    /// Spectrum settings.
    #[command(flatten)]
    pub spectrum: SpectrumArgs,
}

fn sample_section(a: &EvalArgs, r: &LoadedRun) -> SampleSection {
    let sampler = if a.sampler == "ddpm" {
        match &r.cfg.sample.sampler {
            s @ SamplerConfig::Ddpm { .. } => s.clone(),
            SamplerConfig::Ddim { .. } => SamplerConfig::Ddpm {
                variance: DdpmVariance::Beta,
                last_noise: false,
            },
        }
    } else {
        SamplerConfig::Ddim {
            steps: a.steps.min(r.diffusion.steps()),
            eta: a.eta,
        }
    };
    SampleSection {
        num: a.num_samples,
        sampler,
        seed: a.sample_seed,
        batch: r.cfg.sample.batch.max(1),
        clip_x0: r.cfg.sample.clip_x0,
    }
}

fn draw(a: &EvalArgs, r: &LoadedRun, s: &SampleSection) -> Result<Vec<f32>> {
    sampling::draw(
        r.model.as_ref(),
        &r.diffusion,
        s,
        r.train.dim(),
        &r.device.device,
        a.quiet,
        Some(&mut HostNoise::seeded(s.seed)),
    )
}

/// Runs `diffmem eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    let started = Instant::now();
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let r = run::load(&a.run, a.device, weights)?;
    eprintln!("device: {}", r.device.description);
    let out = a.out.clone().unwrap_or_else(|| r.dir.clone());
    std::fs::create_dir_all(&out)?;
    let metrics: Vec<String> = match &a.metrics {
        Some(m) => m.iter().map(|s| s.trim().to_string()).collect(),
        None => {
            let mut m = vec!["mem".to_string(), "loss".to_string()];
            if r.train.truth.is_some() {
                m.push("gaussian".into());
            }
            if a.against.is_some() {
                m.push("agree".into());
            }
            m
        }
    };
    for m in &metrics {
        if !["mem", "loss", "gaussian", "agree", "spectrum"].contains(&m.as_str()) {
            bail!("unknown metric `{m}` in --metrics: use mem, loss, gaussian, agree, spectrum");
        }
    }
    if metrics.iter().any(|m| m == "agree") && a.against.is_none() {
        bail!(
            "--metrics agree needs --against RUN2 (a run on the disjoint split of the same size)"
        );
    }
    if a.num_samples == 0 {
        bail!("--num must be at least 1");
    }
    let needs_samples = metrics.iter().any(|m| m != "loss");
    let section = sample_section(a, &r);
    let samples = if needs_samples {
        let s = draw(a, &r, &section)?;
        write_atomic(
            &out.join("eval_samples.npy"),
            &encode_f32(&s, &[a.num_samples, r.train.dim()]),
        )?;
        Some(s)
    } else {
        None
    };
    let mut results = serde_json::Map::new();
    let mut nn1 = None;
    for m in &metrics {
        let t0 = Instant::now();
        let value = match m.as_str() {
            "mem" => {
                let res = eval_memorization::run(
                    samples.as_deref().unwrap_or_default(),
                    &r.train,
                    &r.heldout,
                    a.threshold,
                    &r.device.device,
                    &out,
                )?;
                nn1 = Some(res.nn1);
                res.json
            }
            "loss" => eval_loss::run(
                r.model.as_ref(),
                &r.diffusion,
                &r.train,
                &r.heldout,
                a.loss_points,
                a.loss_rows,
                &r.device.device,
                &out,
            )?,
            "gaussian" => eval_gaussian::run(samples.as_deref().unwrap_or_default(), &r.train)?,
            "agree" => agreement(
                a,
                &r,
                &section,
                samples.as_deref().unwrap_or_default(),
                nn1.as_deref(),
            )?,
            _ => run_spectrum(
                r.model.as_ref(),
                &r.diffusion,
                &r.train,
                &r.heldout,
                samples.as_deref(),
                &r.device.device,
                &a.spectrum,
                &out,
            )?,
        };
        eprintln!("{m}: {:.1}s", t0.elapsed().as_secs_f64());
        results.insert(m.clone(), value);
    }
    let doc = serde_json::json!({
        "schema": "diffmem.metrics/1 (docs/metrics.md)",
        "run": r.dir.display().to_string(),
        "checkpoint": r.weights,
        "data": r.cfg.data.spec,
        "n_train": r.train.len(),
        "n_heldout": r.heldout.len(),
        "dim": r.train.dim(),
        "model": r.cfg.model.name(),
        "samples": { "num": a.num_samples, "seed": a.sample_seed, "noise": "host ChaCha8 (HostNoise)", "sampler": section.sampler, "clip_x0": section.clip_x0 },
        "metrics": results,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let text = serde_json::to_string_pretty(&doc)?;
    write_atomic(&out.join("metrics.json"), text.as_bytes())?;
    if a.json {
        println!("{text}");
    } else {
        print_summary(&doc, &out);
    }
    Ok(())
}

/// Two-model agreement: both runs sample from the same host noise stream.
fn agreement(
    a: &EvalArgs,
    r: &LoadedRun,
    s: &SampleSection,
    samples: &[f32],
    nn1: Option<&[usize]>,
) -> Result<serde_json::Value> {
    let other_dir = a.against.as_deref().unwrap_or(Path::new(""));
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let other = run::load(other_dir, Some(r.device.kind), weights)?;
    if other.train.dim() != r.train.dim() {
        bail!(
            "--against {}: dimension {} differs from {}",
            other_dir.display(),
            other.train.dim(),
            r.train.dim()
        );
    }
    let d = r.train.dim();
    let theirs = draw(a, &other, s)?;
    let paired = paired_cosine(samples, &theirs, d, Centering::PerSample)?;
    let own_nn = match nn1 {
        Some(n) => n.to_vec(),
        None => nearest_neighbours(
            samples,
            &r.train.samples,
            d,
            &NnConfig::new(1, d),
            &r.device.device,
        )?
        .indices_at(0)?,
    };
    let other_nn = nearest_neighbours(
        &theirs,
        &other.train.samples,
        d,
        &NnConfig::new(1, d),
        &r.device.device,
    )?
    .indices_at(0)?;
    let nn_a = nn_cosine(samples, &r.train.samples, d, &own_nn, Centering::PerSample)?;
    let nn_b = nn_cosine(
        &theirs,
        &other.train.samples,
        d,
        &other_nn,
        Centering::PerSample,
    )?;
    let summary = summarize(&paired, Some(&nn_a), Some(&nn_b), Centering::PerSample);
    let mut v = serde_json::to_value(&summary)?;
    v["against"] = other.dir.display().to_string().into();
    let shared = r
        .train
        .provenance
        .indices
        .iter()
        .filter(|i| other.train.provenance.indices.contains(i))
        .count();
    v["shared_training_indices"] = shared.into();
    Ok(v)
}

fn print_summary(doc: &serde_json::Value, out: &Path) {
    let m = &doc["metrics"];
    println!(
        "eval of {} ({} samples, seed {})",
        doc["run"].as_str().unwrap_or(""),
        doc["samples"]["num"],
        doc["samples"]["seed"]
    );
    if let Some(mem) = m.get("mem") {
        println!(
            "  R_mem (d1/d2 < {:.3})      {}",
            mem["threshold"].as_f64().unwrap_or(f64::NAN),
            mem["r_mem"]
        );
        println!("  median d1 train           {}", mem["d1"]["median"]);
        if let Some(h) = mem.get("heldout").filter(|h| !h.is_null()) {
            println!("  median d1 held-out        {}", h["d1"]["median"]);
            println!(
                "  closer to held-out        {}",
                h["frac_closer_to_heldout"]
            );
        }
    }
    if let Some(l) = m.get("loss") {
        println!(
            "  loss train / held-out     {} / {} (gap {})",
            l["mean_train_loss"], l["mean_heldout_loss"], l["mean_gap"]
        );
    }
    if let Some(g) = m.get("gaussian") {
        println!(
            "  KL(samples || truth)      {}",
            g["kl_samples_fit_to_truth"]
        );
        println!(
            "  KL(train Gaussian || truth) {}",
            g["kl_train_gaussian_to_truth"]
        );
    }
    if let Some(g) = m.get("agree") {
        println!("  agreement cosine (mean)   {}", g["cosine"]["mean"]);
    }
    if m.get("spectrum").is_some() {
        println!("  spectrum                  spectra.csv, dims.csv");
    }
    println!(
        "  written to {} (metrics.json, *.csv, *.png) in {:.1}s",
        out.display(),
        doc["seconds"].as_f64().unwrap_or(0.0)
    );
}
