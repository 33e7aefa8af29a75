//! `diffmem train`: resolves the config (defaults < --config file < flags), prepares the
//! run directory, trains (or fits an exact denoiser), draws the sample grid and summarises.

use crate::checkpoint;
use crate::config::RunConfig;
use crate::fsutil::write_atomic;
use crate::run::{self, Weights};
use crate::rundata;
use crate::sampling;
use crate::train_loop::{self, Finish, LoopInputs};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffmem_model::burn::module::Module;
use diffmem_model::{
    DdpmVariance, DeviceChoice, Objective, SamplerConfig, ScheduleKind, select_device,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Arguments of `diffmem train` (every flag overrides the config file).
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// Run config (TOML), e.g. a previous run's runs/NAME/config.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data spec: mnist-5k, mnist:PATH, cifar10:PATH, gaussian:d=100,spectrum=power:1, manifold:paper...
    #[arg(long)]
    pub data: Option<String>,
    /// Training set size N.
    #[arg(long)]
    pub n: Option<usize>,
    /// Seed of the subset and of the training randomness.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Class-balanced subset.
    #[arg(long)]
    pub balanced: bool,
    /// Half a or b of two disjoint subsets of size N.
    #[arg(long)]
    pub split: Option<String>,
    /// Held-out samples for the test loss.
    #[arg(long)]
    pub heldout: Option<usize>,
    /// Model: linear, mlp, unet, linear-exact, empirical.
    #[arg(long)]
    pub model: Option<String>,
    /// MLP width.
    #[arg(long)]
    pub width: Option<usize>,
    /// MLP residual blocks.
    #[arg(long)]
    pub depth: Option<usize>,
    /// Time-embedding width (MLP).
    #[arg(long)]
    pub temb: Option<usize>,
    /// UNet base channels.
    #[arg(long)]
    pub base: Option<usize>,
    /// UNet channel multipliers, e.g. 1,2,2.
    #[arg(long, value_delimiter = ',')]
    pub mults: Option<Vec<usize>>,
    /// UNet self-attention resolutions, e.g. 8.
    #[arg(long, value_delimiter = ',')]
    pub attn: Option<Vec<usize>>,
    /// `linear`: number of timestep bins (default: one per timestep).
    #[arg(long)]
    pub bins: Option<usize>,
    /// `linear-exact`: ridge lambda.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Number of diffusion timesteps T.
    #[arg(long)]
    pub timesteps: Option<usize>,
    /// Beta schedule: linear or cosine.
    #[arg(long, value_parser = ["linear", "cosine"])]
    pub schedule: Option<String>,
    /// Linear schedule: first beta.
    #[arg(long)]
    pub beta_1: Option<f64>,
    /// Linear schedule: last beta.
    #[arg(long = "beta-T")]
    pub beta_t: Option<f64>,
    /// Objective: eps, x0 or v.
    #[arg(long, value_parser = ["eps", "x0", "v"])]
    pub objective: Option<String>,
    /// Min-SNR-gamma loss weighting.
    #[arg(long)]
    pub min_snr: Option<f64>,
    /// Optimiser: adam or adamw.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight decay.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Adam epsilon.
    #[arg(long)]
    pub adam_eps: Option<f64>,
    /// Warm-up steps.
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Learning-rate schedule: cosine or constant.
    #[arg(long)]
    pub lr_schedule: Option<String>,
    /// Clip gradients to this global norm.
    #[arg(long)]
    pub clip: Option<f64>,
    /// No gradient clipping.
    #[arg(long, conflicts_with = "clip")]
    pub no_clip: bool,
    /// Optimisation steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Epochs (overrides --steps).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// EMA decay (0 disables).
    #[arg(long)]
    pub ema: Option<f64>,
    /// Log every K steps.
    #[arg(long)]
    pub log_every: Option<usize>,
    /// Checkpoint every K steps.
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Checkpoints to keep.
    #[arg(long)]
    pub keep_last: Option<usize>,
    /// Early stopping patience (logging intervals without a better held-out loss).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Device: auto, wgpu, flex, ndarray.
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// Samples drawn at the end.
    #[arg(long)]
    pub num: Option<usize>,
    /// Clamp predicted x0 to [-C, C] while sampling (off by default; 1 suits well-trained image models).
    #[arg(long)]
    pub clip_x0: Option<f64>,
    /// Never clamp predicted x0 while sampling.
    #[arg(long, conflicts_with = "clip_x0")]
    pub no_clip_x0: bool,
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

/// Raised when Ctrl-C stopped training (exit code 130).
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted at step {step}; checkpoint written. Resume with: diffmem train --resume {run}"
)]
pub struct Interrupted {
    /// Last completed step.
    pub step: usize,
    /// Run directory.
    pub run: String,
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

/// Applies the flags to `cfg`.
pub fn apply_flags(cfg: &mut RunConfig, a: &TrainArgs) -> Result<()> {
    set(&mut cfg.data.spec, a.data.clone());
    set(&mut cfg.data.n, a.n);
    if let Some(s) = a.seed {
        cfg.data.seed = s;
        cfg.train.seed = s;
    }
    cfg.data.balanced |= a.balanced;
    if a.split.is_some() {
        cfg.data.split = a.split.clone();
    }
    set(&mut cfg.data.heldout, a.heldout);
    if let Some(m) = &a.model {
        cfg.set_model(m)?;
    }
    let model_name = cfg.model.name();
    let wrong = |flag: &str, kind: &str| {
        anyhow::anyhow!("{flag} applies to --model {kind}, not {model_name}")
    };
    if a.width.is_some() || a.depth.is_some() || a.temb.is_some() {
        let m = cfg
            .mlp()
            .ok_or_else(|| wrong("--width/--depth/--temb", "mlp"))?;
        set(&mut m.width, a.width);
        set(&mut m.depth, a.depth);
        set(&mut m.temb, a.temb);
    }
    if a.base.is_some() || a.mults.is_some() || a.attn.is_some() {
        let u = cfg
            .unet()
            .ok_or_else(|| wrong("--base/--mults/--attn", "unet"))?;
        set(&mut u.base, a.base);
        set(&mut u.mults, a.mults.clone());
        set(&mut u.attn_res, a.attn.clone());
    }
    if let Some(b) = a.bins {
        cfg.linear().ok_or_else(|| wrong("--bins", "linear"))?.bins = Some(b);
    }
    if let Some(l) = a.lambda {
        match &mut cfg.model {
            diffmem_model::ModelSpec::LinearExact { lambda } => *lambda = l,
            _ => return Err(wrong("--lambda", "linear-exact")),
        }
    }
    set(&mut cfg.diffusion.timesteps, a.timesteps);
    match a.schedule.as_deref() {
        Some("cosine") => {
            cfg.diffusion.schedule = ScheduleKind::Cosine {
                s: 0.008,
                max_beta: 0.999,
            }
        }
        Some("linear") if !matches!(cfg.diffusion.schedule, ScheduleKind::Linear { .. }) => {
            cfg.diffusion.schedule = ScheduleKind::default()
        }
        _ => {}
    }
    if a.beta_1.is_some() || a.beta_t.is_some() {
        match &mut cfg.diffusion.schedule {
            ScheduleKind::Linear { beta_1, beta_t } => {
                set(beta_1, a.beta_1);
                set(beta_t, a.beta_t);
            }
            _ => bail!("--beta-1/--beta-T apply to the linear schedule"),
        }
    }
    if let Some(o) = a.objective.as_deref() {
        cfg.diffusion.objective = Some(match o {
            "x0" => Objective::X0,
            "v" => Objective::V,
            _ => Objective::Eps,
        });
    }
    if a.min_snr.is_some() {
        cfg.diffusion.min_snr_gamma = a.min_snr;
    }
    set(&mut cfg.optim.kind, a.optimizer.clone());
    set(&mut cfg.optim.lr, a.lr);
    set(&mut cfg.optim.weight_decay, a.weight_decay);
    set(&mut cfg.optim.eps, a.adam_eps);
    set(&mut cfg.optim.warmup, a.warmup);
    set(&mut cfg.optim.lr_schedule, a.lr_schedule.clone());
    if a.clip.is_some() {
        cfg.optim.clip = a.clip;
    }
    if a.no_clip {
        cfg.optim.clip = None;
    }
    if let Some(s) = a.steps {
        cfg.train.steps = s;
        cfg.train.epochs = None;
    }
    if a.epochs.is_some() {
        cfg.train.epochs = a.epochs;
    }
    set(&mut cfg.train.batch_size, a.batch_size);
    set(&mut cfg.train.ema_decay, a.ema);
    set(&mut cfg.train.log_every, a.log_every);
    set(&mut cfg.train.checkpoint_every, a.checkpoint_every);
    set(&mut cfg.train.keep_last, a.keep_last);
    if a.patience.is_some() {
        cfg.train.patience = a.patience;
    }
    set(&mut cfg.train.device, a.device);
    set(&mut cfg.sample.num, a.num);
    if a.data.is_some() {
        // Images sample best with the posterior variance; synthetic data use the theory's
        // sampler, sigma_t^2 = beta_t at every step (Merger & Goldt), so that `diffmem theory`
        // predicts their sampled covariance. x0 clipping is opt-in (--clip-x0 1 for images).
        let synthetic =
            diffmem_data::DataSpec::parse(&cfg.data.spec).is_ok_and(|s| s.is_synthetic());
        cfg.sample.sampler = SamplerConfig::Ddpm {
            variance: if synthetic {
                DdpmVariance::Beta
            } else {
                DdpmVariance::Posterior
            },
            last_noise: synthetic,
        };
    }
    if a.clip_x0.is_some() {
        cfg.sample.clip_x0 = a.clip_x0;
    }
    if a.no_clip_x0 {
        cfg.sample.clip_x0 = None;
    }
    cfg.validate()
}

/// `runs/MODEL-DATA-nN-sSEED`, with a numeric suffix if that directory holds a run.
fn default_out(cfg: &RunConfig) -> PathBuf {
    let data: String = cfg
        .data
        .spec
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let split = cfg
        .data
        .split
        .as_deref()
        .map_or(String::new(), |s| format!("-{s}"));
    let base = format!(
        "runs/{}-{data}-n{}{split}-s{}",
        cfg.model.name(),
        cfg.data.n,
        cfg.data.seed
    );
    let mut p = PathBuf::from(&base);
    let mut k = 2;
    while p.join("config.toml").exists() {
        p = PathBuf::from(format!("{base}-{k}"));
        k += 1;
    }
    p
}

/// Runs `diffmem train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    // Resuming: the run's own config, with only --steps and --device applicable.
    let (cfg, run_dir, resume) = if let Some(r) = &a.resume {
        let ckpt = checkpoint::resolve(r, a.out.as_deref())?;
        let run_dir = ckpt
            .parent()
            .and_then(Path::parent)
            .context("checkpoint is not inside RUN/checkpoints/")?
            .to_path_buf();
        let mut cfg = RunConfig::load(&run_dir.join("config.toml"))?;
        if let Some(s) = a.steps {
            cfg.train.steps = s;
            cfg.train.epochs = None;
        }
        set(&mut cfg.train.device, a.device);
        (cfg, run_dir, Some(ckpt))
    } else {
        let mut cfg = match &a.config {
            Some(p) => RunConfig::load(p)?,
            None => RunConfig::default(),
        };
        apply_flags(&mut cfg, a)?;
        let run_dir = match &a.out {
            Some(o) if o.join("config.toml").exists() => bail!(
                "{} already holds a run: continue it with --resume {} or choose another --out",
                o.display(),
                o.display()
            ),
            Some(o) => o.clone(),
            None => default_out(&cfg),
        };
        (cfg, run_dir, None)
    };
    let device = select_device(cfg.train.device)?;
    eprintln!("device: {}", device.description);
    let (train, heldout) = rundata::load(&cfg.data)?;
    cfg.model
        .validate(train.shape, cfg.diffusion.timesteps, cfg.objective())?;
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    if resume.is_none() {
        write_atomic(&run_dir.join("config.toml"), cfg.to_toml()?.as_bytes())?;
        write_atomic(
            &run_dir.join("train_indices.txt"),
            rundata::indices_text(&train).as_bytes(),
        )?;
    } else {
        write_atomic(&run_dir.join("config.toml"), cfg.to_toml()?.as_bytes())?;
    }
    eprintln!(
        "run {}: {} on {} (N = {}, D = {}, held-out {})",
        run_dir.display(),
        cfg.model.name(),
        train.provenance.source,
        train.len(),
        train.dim(),
        heldout.len()
    );
    let started = std::time::Instant::now();
    let summary = if cfg.model.is_exact() {
        serde_json::json!({"model": cfg.model.name(), "trained": "closed form (fitted from the training set)"})
    } else {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).ok();
        let out = train_loop::train(LoopInputs {
            cfg: &cfg,
            run_dir: &run_dir,
            device: &device.device,
            train: &train,
            heldout: &heldout,
            resume,
            quiet: a.quiet,
            stop: &stop,
            stop_after: a.stop_after,
        })?;
        if let Finish::Interrupted { step } = out.finish {
            return Err(Interrupted {
                step,
                run: run_dir.display().to_string(),
            }
            .into());
        }
        let wdir = run::weights_dir(&run_dir);
        std::fs::create_dir_all(&wdir)?;
        let save = |net: &diffmem_model::Net, name: &str| -> Result<()> {
            net.clone()
                .into_record()
                .save(wdir.join(name))
                .map_err(|e| anyhow::anyhow!("cannot write {}/{name}.bpk: {e:?}", wdir.display()))
        };
        save(&out.net, "model")?;
        if let Some(e) = &out.ema {
            save(e, "ema")?;
        }
        serde_json::json!({
            "model": cfg.model.name(), "steps": out.steps, "finish": format!("{:?}", out.finish),
            "final_train_loss": out.last_loss, "train_fixed_loss": out.last_eval.0,
            "heldout_loss": out.last_eval.1, "gap": out.last_eval.1 - out.last_eval.0,
            "train_seconds": out.seconds,
        })
    };
    let loaded = run::load(&run_dir, Some(device.kind), Weights::Ema)?;
    let sample_started = std::time::Instant::now();
    let samples = sampling::draw(
        loaded.model.as_ref(),
        &loaded.diffusion,
        &cfg.sample,
        train.dim(),
        &loaded.device.device,
        a.quiet,
        None,
    )?;
    sampling::write(&run_dir, &samples, train.shape)?;
    let mut summary = summary;
    summary["sample_seconds"] = sample_started.elapsed().as_secs_f64().into();
    summary["total_seconds"] = started.elapsed().as_secs_f64().into();
    summary["run"] = run_dir.display().to_string().into();
    summary["samples"] = run_dir.join("samples.png").display().to_string().into();
    write_atomic(
        &run_dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

fn print_summary(s: &serde_json::Value) {
    println!("done: {}", s["run"].as_str().unwrap_or(""));
    for key in [
        "model",
        "trained",
        "steps",
        "finish",
        "final_train_loss",
        "train_fixed_loss",
        "heldout_loss",
        "gap",
        "train_seconds",
        "sample_seconds",
    ] {
        if let Some(v) = s.get(key) {
            println!("  {key:<18} {v}");
        }
    }
    println!(
        "  samples            {}",
        s["samples"].as_str().unwrap_or("")
    );
    println!(
        "  config, log, checkpoints and weights are in {}",
        s["run"].as_str().unwrap_or("")
    );
}
