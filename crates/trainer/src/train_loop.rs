//! The training loop of trainable denoisers: deterministic batches, Adam/AdamW with warm-up
//! and cosine decay, global-norm clipping, EMA, periodic logging with held-out losses,
//! non-finite-loss detection, early stopping, checkpoints and Ctrl-C handling.

use crate::batches::Batches;
use crate::checkpoint::{self, LoopState};
use crate::config::RunConfig;
use crate::fsutil::write_atomic;
use crate::progress::Progress;
use crate::schedule_lr::learning_rate;
use anyhow::{Result, bail};
use diffmem_data::Dataset;
use diffmem_metrics::denoising_loss::{per_timestep_loss, timestep_grid};
use diffmem_model::burn::module::Module;
use diffmem_model::burn::optim::{
    AdamConfig, AdamWConfig, ModuleOptimizer, decay::WeightDecayConfig,
};
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::step::train_step;
use diffmem_model::{Diffusion, Net, Schedule, ema};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Held-out samples (and as many training samples) used for the logged losses.
const EVAL_SAMPLES: usize = 128;
/// Timesteps of the logged losses.
const EVAL_TIMESTEPS: usize = 8;
/// Seed of the fixed noise draws of the logged losses.
const EVAL_NOISE_SEED: u64 = 0x5eed;

/// How training ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// All steps done.
    Completed,
    /// Early stopping: no better held-out loss for `patience` intervals.
    EarlyStopped {
        /// Step of the best checkpoint.
        best_step: usize,
    },
    /// Ctrl-C: a checkpoint was written at `step`.
    Interrupted {
        /// Last completed step.
        step: usize,
    },
}

/// Result of a training run.
pub struct Trained {
    /// How it ended.
    pub finish: Finish,
    /// Final raw weights (plain device).
    pub net: Net,
    /// Final EMA weights, if the EMA is on.
    pub ema: Option<Net>,
    /// Last logged training loss.
    pub last_loss: f64,
    /// Last logged (train-set, held-out) fixed-noise losses.
    pub last_eval: (f64, f64),
    /// Steps completed.
    pub steps: usize,
    /// Wall-clock seconds spent training (all sessions).
    pub seconds: f64,
}

fn build_optim(cfg: &RunConfig) -> ModuleOptimizer {
    let o = &cfg.optim;
    if o.kind == "adamw" {
        AdamWConfig::new()
            .with_beta_1(o.beta1 as f32)
            .with_beta_2(o.beta2 as f32)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(o.weight_decay as f32)
            .init()
    } else {
        AdamConfig::new()
            .with_beta_1(o.beta1 as f32)
            .with_beta_2(o.beta2 as f32)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(
                (o.weight_decay > 0.0).then(|| WeightDecayConfig::new(o.weight_decay as f32)),
            )
            .init()
    }
}

/// Fixed-noise losses on up to EVAL_SAMPLES rows of `data`, averaged over the grid.
fn fixed_loss(net: &Net, diffusion: &Diffusion, data: &Dataset, device: &Device) -> f64 {
    let d = data.dim();
    let m = data.len().min(EVAL_SAMPLES);
    let grid = timestep_grid(diffusion.steps(), EVAL_TIMESTEPS);
    let losses = per_timestep_loss(
        net,
        diffusion,
        &data.samples[..m * d],
        d,
        &grid,
        EVAL_NOISE_SEED,
        512,
        device,
    );
    losses.iter().sum::<f64>() / losses.len().max(1) as f64
}

/// Everything the loop needs about the run.
pub struct LoopInputs<'a> {
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
    /// Plain log lines instead of a bar.
    pub quiet: bool,
    /// Set by the Ctrl-C handler.
    pub stop: &'a AtomicBool,
    /// Stop as if interrupted once this many steps are done.
    pub stop_after: Option<usize>,
}

/// Trains the configured network.
pub fn train(inp: LoopInputs<'_>) -> Result<Trained> {
    let cfg = inp.cfg;
    let ad = inp.device.clone().autodiff();
    // Initial weights come from the device RNG (lazily, at first use): seed it.
    ad.seed(cfg.train.seed);
    let t_max = cfg.diffusion.timesteps;
    let schedule = Schedule::new(cfg.diffusion.schedule.clone(), t_max)?;
    let diffusion = Diffusion::new(
        schedule.clone(),
        cfg.objective(),
        cfg.diffusion.min_snr_gamma,
        &ad,
    );
    let eval_diffusion = Diffusion::new(schedule, cfg.objective(), None, inp.device);
    let shape = inp.train.shape;
    let dim = shape.dim();
    let fresh = || -> Result<Net> {
        cfg.model
            .init_net(shape, t_max, &ad)?
            .ok_or_else(|| anyhow::anyhow!("`{}` is not a trainable model", cfg.model.name()))
    };
    let mut net = fresh()?;
    let mut optim = build_optim(cfg);
    let mut ema: Option<Net> = None;
    let mut state = LoopState::default();
    let ckpt_root = inp.run_dir.join("checkpoints");
    if let Some(dir) = &inp.resume {
        state = checkpoint::load_state(dir)?;
        net = checkpoint::load_net(net, dir, "model")?;
        optim = checkpoint::load_optim(optim, dir)?;
        if state.has_ema {
            ema = Some(checkpoint::load_net(fresh()?.valid(), dir, "ema")?);
        }
        eprintln!("resuming from {} (step {})", dir.display(), state.step);
    }
    let total = cfg.total_steps();
    let tc = &cfg.train;
    let ckpt_every = tc.checkpoint_every.div_ceil(tc.log_every) * tc.log_every;
    let train_x = matrix(&inp.train.samples, inp.train.len(), dim, &ad);
    let mut batches = Batches::new(tc.seed, inp.train.len(), tc.batch_size);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(inp.run_dir.join("log.jsonl"))?;
    let progress = Progress::new("train", total, state.step, inp.quiet);
    let mut window: Vec<Tensor<1>> = Vec::new();
    let (mut last_loss, mut last_eval) = (f64::NAN, (f64::NAN, f64::NAN));
    let started = Instant::now();
    let base_elapsed = state.elapsed_secs;
    let mut interval_start = (Instant::now(), state.step);
    let mut finish = Finish::Completed;
    while state.step < total {
        let step = state.step;
        let idx: Vec<usize> = batches.indices(step);
        let x0 = train_x.clone().select(0, timesteps(&idx, &ad));
        let (t, eps) = batches.timesteps_and_noise(step, t_max, dim);
        let t = timesteps(&t, &ad);
        let eps = matrix(&eps, tc.batch_size, dim, &ad);
        let lr = learning_rate(
            cfg.optim.lr,
            step,
            cfg.optim.warmup,
            total,
            cfg.optim.lr_schedule == "cosine",
        );
        let (n, loss) = train_step(net, &mut optim, &diffusion, x0, &t, eps, lr, cfg.optim.clip);
        net = n;
        window.push(loss);
        if tc.ema_decay > 0.0 {
            ema = Some(match ema.take() {
                None => net.valid(),
                Some(e) => ema::update(e, &net, tc.ema_decay).0,
            });
        }
        state.step += 1;
        progress.tick();
        let stopping =
            inp.stop.load(Ordering::SeqCst) || inp.stop_after.is_some_and(|k| state.step >= k);
        if state.step % tc.log_every != 0 && state.step != total && !stopping {
            continue;
        }
        // Logging point: one read-back for the whole window.
        let losses = to_vec(Tensor::cat(std::mem::take(&mut window), 0));
        let first = state.step - losses.len();
        if let Some(k) = losses.iter().position(|l| !l.is_finite()) {
            progress.finish();
            let last_good = std::fs::read_to_string(ckpt_root.join("latest")).ok();
            bail!(
                "training diverged: non-finite loss ({}) at step {} (learning rate {:.3e}).\n\
                 The last good checkpoint is {} .\n\
                 hint: lower the learning rate (e.g. --lr {:.1e}) or clip gradients (--clip 1.0)",
                losses[k],
                first + k + 1,
                learning_rate(
                    cfg.optim.lr,
                    first + k,
                    cfg.optim.warmup,
                    total,
                    cfg.optim.lr_schedule == "cosine"
                ),
                last_good.map_or(
                    "none (no checkpoint was written before the divergence)".into(),
                    |n| ckpt_root.join(n.trim()).display().to_string()
                ),
                cfg.optim.lr / 10.0
            );
        }
        last_loss = losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len().max(1) as f64;
        // Training rate of this interval, before the (untimed) held-out evaluation.
        let rate = (state.step - interval_start.1) as f64
            / interval_start.0.elapsed().as_secs_f64().max(1e-9);
        let eval_net = net.valid();
        last_eval = (
            fixed_loss(&eval_net, &eval_diffusion, inp.train, inp.device),
            fixed_loss(&eval_net, &eval_diffusion, inp.heldout, inp.device),
        );
        interval_start = (Instant::now(), state.step);
        state.elapsed_secs = base_elapsed + started.elapsed().as_secs_f64();
        let line = serde_json::json!({
            "step": state.step, "loss": last_loss, "lr": lr,
            "train_fixed_loss": last_eval.0, "heldout_loss": last_eval.1,
            "steps_per_sec": rate, "time": state.elapsed_secs,
        });
        writeln!(log, "{line}")?;
        progress.report(
            state.step,
            &format!(
                "loss {last_loss:.4} held-out {:.4} lr {lr:.2e} {rate:.1} steps/s",
                last_eval.1
            ),
        );
        let improved = state.best_heldout.is_none_or(|b| last_eval.1 < b);
        if improved {
            state.best_heldout = Some(last_eval.1);
            state.best_step = Some(state.step);
            state.bad_intervals = 0;
        } else {
            state.bad_intervals += 1;
        }
        state.has_ema = ema.is_some();
        let patience_out = tc.patience.is_some_and(|p| state.bad_intervals >= p);
        if state.step % ckpt_every == 0
            || state.step == total
            || stopping
            || (tc.patience.is_some() && improved)
            || patience_out
        {
            let dir =
                checkpoint::save(&ckpt_root, &net, ema.as_ref(), &optim, &state, tc.keep_last)?;
            if tc.patience.is_some() && improved {
                checkpoint::mark_best(&ckpt_root, &dir)?;
            }
        }
        if stopping {
            finish = Finish::Interrupted { step: state.step };
            break;
        }
        if patience_out {
            finish = Finish::EarlyStopped {
                best_step: state.best_step.unwrap_or(state.step),
            };
            break;
        }
    }
    progress.finish();
    if let Finish::EarlyStopped { .. } = finish {
        // Continue with the best weights, as the run's result.
        let best = ckpt_root.join("best");
        net = checkpoint::load_net(fresh()?, &best, "model")?;
        if state.has_ema {
            ema = Some(checkpoint::load_net(fresh()?.valid(), &best, "ema")?);
        }
    }
    write_atomic(
        &inp.run_dir.join("train_state.json"),
        serde_json::to_string_pretty(&state)?.as_bytes(),
    )?;
    Ok(Trained {
        finish,
        net: net.valid(),
        ema,
        last_loss,
        last_eval,
        steps: state.step,
        seconds: base_elapsed + started.elapsed().as_secs_f64(),
    })
}
