//! The training loop of trainable denoisers, top to bottom: deterministic batches, Adam/AdamW
//! with warm-up and cosine decay, global-norm clipping, EMA with warm-up, and at each logging
//! step the logged losses, divergence check, checkpoint policy, early stopping and SIGINT/SIGTERM.

use crate::run::WeightFile;
use crate::run::checkpoint::{self, LoopState};
use crate::run::config::RunConfig;
use crate::run::snapshots::Snapshots;
use crate::train::batches::Batches;
use crate::train::figures::Figures;
use crate::train::monitor::{Logged, Monitor, diverged};
use crate::train::{FitInputs, optim};
use anyhow::Result;
use diffmem_data::Dataset;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::optim::ModuleOptimizer;
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::{matrix, timesteps};
use diffmem_model::step::{TrainJob, train_step};
use diffmem_model::{Diffusion, Net, Schedule, ema};
use std::path::Path;
use std::time::Instant;

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
    /// Last logged fixed-noise losses.
    pub last_eval: Logged,
    /// Steps completed.
    pub steps: usize,
    /// Wall-clock seconds spent training (all sessions).
    pub seconds: f64,
}

/// The network, optimiser, EMA and loop state being trained.
struct Model {
    net: Net,
    optim: ModuleOptimizer,
    ema: Option<Net>,
    state: LoopState,
}

/// Trains the configured network.
pub fn train(inp: &FitInputs<'_>) -> Result<Trained> {
    let (cfg, tc) = (inp.cfg, &inp.cfg.train);
    let ad = inp.device.clone().autodiff();
    // Initial weights come from the device RNG (lazily, at first use): seed it.
    ad.seed(tc.seed);
    let (diffusion, eval_diffusion) = diffusions(cfg, &ad, inp.device)?;
    let ckpt_root = crate::run::RunDir::at(inp.run_dir).checkpoints();
    let mut m = start(inp, &ad)?;
    let mut snaps = Snapshots::plan(inp.run_dir, cfg, m.state.step, m.net.num_params())?;
    let total = cfg.total_steps();
    let mut batches = Batches::new(tc.seed, inp.train.len(), tc.batch_size);
    let train_x = matrix(&inp.train.samples, inp.train.len(), inp.train.dim(), &ad);
    let mut monitor = Monitor::open(inp.run_dir, total, m.state.step, inp.progress)?;
    let mut figures = Figures::new(cfg, inp.run_dir, inp.train.shape, inp.device);
    let (started, base_elapsed) = (Instant::now(), m.state.elapsed_secs);
    let mut last = Logged::none();
    let mut finish = Finish::Completed;
    let (t_max, dim) = (cfg.diffusion.timesteps, inp.train.dim());
    let mut ahead = None;
    while m.state.step < total {
        let step = m.state.step;
        let lr = lr_at(cfg, step);
        let drawn = batches.drawn(ahead.take(), step, t_max, dim);
        let batch = batch(&mut batches, &train_x, step, drawn, cfg, &ad);
        // The step, with the next step's timesteps and noise drawn beside it.
        let next = (step + 1 < total).then_some(step + 1);
        let loss;
        ((m, loss), ahead) =
            batches.draw_beside(next, t_max, dim, || m.step(&diffusion, batch, lr, cfg));
        monitor.push(loss);
        if let Some(s) = snaps.as_mut().filter(|s| s.due(m.state.step)) {
            s.save(&m.net, m.ema.as_ref(), &m.state)?;
        }
        let stopping = crate::run::signals::received().is_some()
            || inp.stop_after.is_some_and(|k| m.state.step >= k);
        if m.state.step % tc.log_every != 0 && m.state.step != total && !stopping {
            continue;
        }
        // Logging point: read back the window, measure, log, then the checkpoint policy.
        let (loss, rate) = monitor
            .window_loss(m.state.step)
            .map_err(|nf| diverged(cfg, &ckpt_root, nf))?;
        let sets = [inp.train, inp.heldout];
        last = Logged::measure(loss, &m.net, &eval_diffusion, sets, tc.log_rows, inp.device);
        m.state.elapsed_secs = base_elapsed + started.elapsed().as_secs_f64();
        monitor.write(m.state.step, lr, m.state.elapsed_secs, rate, &last)?;
        figures.after_log(m.state.step, &m.net, m.ema.as_ref(), &eval_diffusion);
        let policy = Policy::after(&mut m.state, last.heldout, cfg, total, stopping);
        m.checkpoint(&ckpt_root, &policy, tc.keep_last)?;
        if let Some(f) = policy.finish {
            finish = f;
            break;
        }
    }
    monitor.finish();
    if let Some(s) = &snaps {
        eprintln!("{}", s.describe());
    }
    if let Finish::EarlyStopped { .. } = finish {
        // Continue with the best weights, as the run's result.
        let best = restore(inp, &ad, &ckpt_root.join("best"))?;
        (m.net, m.ema) = (best.net, best.ema);
    }
    checkpoint::write_state(inp.run_dir, &m.state)?;
    Ok(Trained {
        finish,
        net: m.net.valid(),
        ema: m.ema,
        last_loss: last.loss,
        last_eval: last,
        steps: m.state.step,
        seconds: base_elapsed + started.elapsed().as_secs_f64(),
    })
}

/// The training diffusion (autodiff device, with the loss weighting) and the one of the logged
/// losses (plain device, unweighted).
fn diffusions(cfg: &RunConfig, ad: &Device, device: &Device) -> Result<(Diffusion, Diffusion)> {
    let d = &cfg.diffusion;
    let schedule = Schedule::new(d.schedule.clone(), d.timesteps)?;
    let train = Diffusion::new(schedule.clone(), d.objective, *d.min_snr_gamma, ad);
    Ok((train, Diffusion::new(schedule, d.objective, None, device)))
}

impl Model {
    /// One optimisation step on `batch` at learning rate `lr`, then the EMA update. Returns
    /// the model after the step and the (device) loss. (The network moves through the step
    /// by value: a second handle on its parameters would stop the optimiser updating in place.)
    fn step(
        mut self,
        diffusion: &Diffusion,
        batch: Batch,
        lr: f64,
        cfg: &RunConfig,
    ) -> (Self, Tensor<1>) {
        let (x0, t, eps) = batch;
        let job = TrainJob {
            x0,
            t,
            eps,
            lr,
            clip: *cfg.optim.clip,
        };
        let (net, loss) = train_step(self.net, &mut self.optim, diffusion, job);
        self.net = net;
        let tc = &cfg.train;
        let decay = diffmem_model::ema::ema_decay(tc.ema_decay, tc.ema_warmup, self.state.step);
        self.ema = update_ema(self.ema.take(), &self.net, decay);
        self.state.step += 1;
        self.state.has_ema = self.ema.is_some();
        (self, loss)
    }

    /// Writes a checkpoint when the policy asks for one (and marks it best).
    fn checkpoint(&self, root: &Path, policy: &Policy, keep: usize) -> Result<()> {
        if !policy.checkpoint {
            return Ok(());
        }
        let dir = checkpoint::save(
            root,
            &self.net,
            self.ema.as_ref(),
            &self.optim,
            &self.state,
            keep,
        )?;
        if policy.best {
            checkpoint::mark_best(root, &dir)?;
        }
        Ok(())
    }
}

/// A fresh (seeded) network of the run's model on the autodiff device `ad`.
fn fresh(cfg: &RunConfig, train: &Dataset, ad: &Device) -> Result<Net> {
    cfg.model
        .init_net(train.shape, cfg.diffusion.timesteps, ad)?
        .ok_or_else(|| anyhow::anyhow!("`{}` is not a trainable model", cfg.model.name()))
}

/// The starting point: fresh weights, or those of the checkpoint being resumed.
fn start(inp: &FitInputs<'_>, ad: &Device) -> Result<Model> {
    let Some(dir) = &inp.resume else {
        return Ok(Model {
            net: fresh(inp.cfg, inp.train, ad)?,
            optim: optim::build(&inp.cfg.optim),
            ema: None,
            state: LoopState::default(),
        });
    };
    let m = restore(inp, ad, dir)?;
    eprintln!("resuming from {} (step {})", dir.display(), m.state.step);
    Ok(m)
}

/// The weights, optimiser, EMA and state of checkpoint `dir`.
fn restore(inp: &FitInputs<'_>, ad: &Device, dir: &Path) -> Result<Model> {
    let state = checkpoint::load_state(dir)?;
    let net = checkpoint::load_net(fresh(inp.cfg, inp.train, ad)?, dir, WeightFile::Model)?;
    let optim = checkpoint::load_optim(optim::build(&inp.cfg.optim), dir)?;
    let ema = match state.has_ema {
        true => Some(checkpoint::load_net(
            fresh(inp.cfg, inp.train, ad)?.valid(),
            dir,
            WeightFile::Ema,
        )?),
        false => None,
    };
    Ok(Model {
        net,
        optim,
        ema,
        state,
    })
}

/// A batch: clean rows x0, timesteps t and noise eps.
type Batch = (Tensor<2>, Tensor<1, Int>, Tensor<2>);

/// Step `step`'s batch, with its timesteps and noise `drawn` ([`Batches::drawn`]): pure
/// functions of (seed, step).
fn batch(
    b: &mut Batches,
    x: &Tensor<2>,
    step: usize,
    (t, eps): (Vec<usize>, Vec<f32>),
    cfg: &RunConfig,
    ad: &Device,
) -> Batch {
    let dim = x.dims()[1];
    let x0 = x.clone().select(0, timesteps(&b.indices(step), ad));
    let eps = matrix(&eps, cfg.train.batch_size, dim, ad);
    (x0, timesteps(&t, ad), eps)
}

/// The learning rate of 0-based step `step`.
fn lr_at(cfg: &RunConfig, step: usize) -> f64 {
    crate::train::lr::rate_at(cfg, step)
}

/// The EMA after one more step (none when the decay is 0; the first one is the network).
fn update_ema(ema: Option<Net>, net: &Net, decay: f64) -> Option<Net> {
    if decay <= 0.0 {
        return None;
    }
    Some(match ema {
        None => net.valid(),
        Some(e) => ema::update(e, net, decay).0,
    })
}

/// What to do at a logging step: checkpoint (and mark it best), or stop.
struct Policy {
    checkpoint: bool,
    best: bool,
    finish: Option<Finish>,
}

/// The step of the first checkpoint: the first logging step at or after
/// min(--checkpoint-every, total / 20), so that a run killed before it loses at most 5% of its
/// steps (or one checkpoint interval, when that is shorter) rather than up to a whole interval.
pub fn first_checkpoint(cfg: &RunConfig, total: usize) -> usize {
    let every = cfg.train.log_every.max(1);
    let early = cfg.train.checkpoint_every.min((total / 20).max(1));
    early.div_ceil(every) * every
}

impl Policy {
    /// Updates the early-stopping record in `state` with the held-out loss and decides.
    /// Checkpoints fall every `checkpoint_every` steps, at the end, when stopping, and (with
    /// early stopping) at every new best held-out loss.
    fn after(
        state: &mut LoopState,
        heldout: f64,
        cfg: &RunConfig,
        total: usize,
        stopping: bool,
    ) -> Self {
        let tc = &cfg.train;
        let improved = state.best_heldout.is_none_or(|b| heldout < b);
        if improved {
            state.best_heldout = Some(heldout);
            state.best_step = Some(state.step);
            state.bad_intervals = 0;
        } else {
            state.bad_intervals += 1;
        }
        let early = tc.patience.is_some();
        let patience_out = tc.patience.is_some_and(|p| state.bad_intervals >= p);
        let finish = if stopping {
            Some(Finish::Interrupted { step: state.step })
        } else if patience_out {
            Some(Finish::EarlyStopped {
                best_step: state.best_step.unwrap_or(state.step),
            })
        } else {
            None
        };
        Policy {
            checkpoint: state.step.is_multiple_of(tc.checkpoint_every)
                || state.step == first_checkpoint(cfg, total)
                || state.step == total
                || finish.is_some()
                || (early && improved),
            best: early && improved,
            finish,
        }
    }
}
