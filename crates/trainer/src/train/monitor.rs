//! What the training loop reports at each logging step: the mean training loss of the window
//! (one device read-back), fixed-noise losses on training and held-out rows, the rate, a line
//! of `log.jsonl`, the progress bar, and the divergence error.

use crate::io::progress::{Progress, Verbosity};
use crate::run::RunDir;
use crate::run::config::RunConfig;
use anyhow::{Result, anyhow};
use diffmem_data::Dataset;
use diffmem_metrics::denoising_loss::{LossJob, LossUnits, per_timestep_loss, timestep_grid};
use diffmem_model::burn::module::Module;
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::to_vec;
use diffmem_model::{Diffusion, ModelContext, Net, Objective};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Timesteps of the logged losses.
const EVAL_TIMESTEPS: usize = 8;
/// Seed of the fixed noise draws of the logged losses.
const EVAL_NOISE_SEED: u64 = 0x5eed;

/// A non-finite training loss found when the window was read back.
#[derive(Clone, Copy, Debug)]
pub struct NonFinite {
    /// The loss.
    pub loss: f32,
    /// 0-based step that produced it.
    pub step: usize,
}

/// The loop's log: loss window, `log.jsonl` and the progress bar.
pub struct Monitor {
    window: Vec<Tensor<1>>,
    log: File,
    progress: Progress,
    interval: (Instant, usize),
}

impl Monitor {
    /// Opens `run_dir/log.jsonl` for appending, cut back to the records of steps up to `step`
    /// (the checkpoint the loop starts from; `log_file`), and starts the bar at `step` of
    /// `total`.
    pub fn open(run_dir: &Path, total: usize, step: usize, verbosity: Verbosity) -> Result<Self> {
        super::log_file::cut_to(&RunDir::at(run_dir).log(), step)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(RunDir::at(run_dir).log())?;
        Ok(Self {
            window: Vec::new(),
            log,
            progress: Progress::new("train", total, step, verbosity),
            interval: (Instant::now(), step),
        })
    }

    /// Keeps a step's (device) loss until the next logging step.
    pub fn push(&mut self, loss: Tensor<1>) {
        self.window.push(loss);
        self.progress.tick();
    }

    /// The mean loss of the window ending at `step` (one device read-back), and the training
    /// rate of the interval; the first non-finite loss is an error.
    pub fn window_loss(&mut self, step: usize) -> Result<(f64, f64), NonFinite> {
        let losses = to_vec(Tensor::cat(std::mem::take(&mut self.window), 0));
        if let Some(k) = losses.iter().position(|l| !l.is_finite()) {
            self.progress.finish();
            let step = step - losses.len() + k;
            return Err(NonFinite {
                loss: losses[k],
                step,
            });
        }
        let mean = losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len().max(1) as f64;
        let seconds = self.interval.0.elapsed().as_secs_f64().max(1e-9);
        Ok((mean, (step - self.interval.1) as f64 / seconds))
    }

    /// Writes the log line of `step` and updates the bar; the next interval starts now.
    pub fn write(
        &mut self,
        step: usize,
        lr: f64,
        elapsed: f64,
        rate: f64,
        l: &Logged,
    ) -> Result<()> {
        self.interval = (Instant::now(), step);
        let line = serde_json::json!({
            "step": step, "loss": l.loss, "lr": lr, "train_fixed_loss": l.train_fixed,
            "heldout_loss": l.heldout, "loss_units": l.units,
            "train_fixed_loss_eps": l.train_fixed_eps, "heldout_loss_eps": l.heldout_eps,
            "train_fixed_loss_eps_median": l.train_fixed_eps_median,
            "normalised_gap": l.normalised_gap, "steps_per_sec": rate, "time": elapsed,
        });
        writeln!(self.log, "{line}")?;
        // A bar shows its own rate; plain lines carry it (lr and rate are also in log.jsonl).
        let mut text = format!("loss {:.4} held-out {:.4}", l.loss, l.heldout);
        if !self.progress.is_bar() {
            text.push_str(&format!(" {} steps/s", crate::io::show::num(rate)));
        }
        self.progress.report(step, &text);
        Ok(())
    }

    /// Ends the progress bar.
    pub fn finish(&self) {
        self.progress.finish();
    }
}

/// Losses measured at one logging step.
#[derive(Clone, Copy, Debug)]
pub struct Logged {
    /// Mean training loss of the window (objective units).
    pub loss: f64,
    /// Fixed-noise loss on training rows, in the objective's units.
    pub train_fixed: f64,
    /// Fixed-noise loss on held-out rows, in the objective's units.
    pub heldout: f64,
    /// The same training-row loss in eps units (as `eval --metrics loss`).
    pub train_fixed_eps: f64,
    /// The same held-out loss in eps units.
    pub heldout_eps: f64,
    /// The median over the timesteps of the eps-unit training-row loss.
    pub train_fixed_eps_median: f64,
    /// Mean over the timesteps of (held-out(t) - train(t)) / held-out(t): the same in every
    /// unit (`diffmem_metrics::denoising_loss::normalised_gap`).
    pub normalised_gap: f64,
    /// The objective whose units `loss`, `train_fixed` and `heldout` are in (eps, x0, v).
    pub units: &'static str,
}

impl Logged {
    /// Nothing logged yet.
    pub fn none() -> Self {
        Self {
            loss: f64::NAN,
            train_fixed: f64::NAN,
            heldout: f64::NAN,
            train_fixed_eps: f64::NAN,
            heldout_eps: f64::NAN,
            train_fixed_eps_median: f64::NAN,
            normalised_gap: f64::NAN,
            units: "",
        }
    }

    /// The window's mean `loss` and the fixed-noise losses of `net` on up to `rows` rows of
    /// the training and the held-out set, in the objective's units and in eps units.
    pub fn measure(
        loss: f64,
        net: &Net,
        diffusion: &Diffusion,
        [train, heldout]: [&Dataset; 2],
        rows: usize,
        device: &Device,
    ) -> Self {
        let net = net.valid();
        let per_t = |set: &Dataset, units| fixed_loss(&net, diffusion, set, rows, device, units);
        let (tr, he) = (
            per_t(train, LossUnits::Objective),
            per_t(heldout, LossUnits::Objective),
        );
        // Unweighted eps objective: the eps losses are these; otherwise measure them.
        let same = diffusion.objective == Objective::Eps && diffusion.min_snr_gamma.is_none();
        let (tr_eps, he_eps) = if same {
            (tr.clone(), he.clone())
        } else {
            (per_t(train, LossUnits::Eps), per_t(heldout, LossUnits::Eps))
        };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        Self {
            loss,
            train_fixed: mean(&tr),
            heldout: mean(&he),
            train_fixed_eps: mean(&tr_eps),
            heldout_eps: mean(&he_eps),
            train_fixed_eps_median: diffmem_metrics::summary::median(&tr_eps).unwrap_or(f64::NAN),
            normalised_gap: diffmem_metrics::denoising_loss::normalised_gap(&tr, &he)
                .unwrap_or(f64::NAN),
            units: objective_name(diffusion.objective),
        }
    }
}

/// The name of an objective as `--objective` spells it.
pub fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::Eps => "eps",
        Objective::X0 => "x0",
        Objective::V => "v",
    }
}

/// Fixed-noise loss of `net` on up to `rows` rows of `data` at each of `EVAL_TIMESTEPS`
/// timesteps: the same rows, timesteps and noise at every logging step. In `units`: the
/// training objective's (like the logged training loss beside it) or eps (as `eval --metrics
/// loss`, comparable across objectives).
fn fixed_loss(
    net: &Net,
    diffusion: &Diffusion,
    data: &Dataset,
    rows: usize,
    device: &Device,
    units: LossUnits,
) -> Vec<f64> {
    let (d, m) = (data.dim(), data.len().min(rows));
    let grid = timestep_grid(diffusion.steps(), EVAL_TIMESTEPS);
    let job = LossJob {
        rows: &data.samples[..m * d],
        dim: d,
        grid: &grid,
        noise_seed: EVAL_NOISE_SEED,
        batch: 512,
        units,
    };
    per_timestep_loss(ModelContext::new(net, diffusion, device), &job)
}

/// The divergence error: which step, at which learning rate, the last good checkpoint.
pub fn diverged(cfg: &RunConfig, ckpt_root: &Path, nf: NonFinite) -> anyhow::Error {
    let o = &cfg.optim;
    let lr = crate::train::lr::rate_at(cfg, nf.step);
    let last_good = std::fs::read_to_string(ckpt_root.join(crate::run::layout::LATEST)).map_or(
        "none (no checkpoint was written before the divergence)".into(),
        |n| ckpt_root.join(n.trim()).display().to_string(),
    );
    anyhow!(
        "training diverged: non-finite loss ({}) at step {} (learning rate {lr:.3e}).\n\
         The last good checkpoint is {last_good} .\n\
         hint: lower the learning rate (e.g. --lr {:.1e}) or clip gradients (--clip 1.0)",
        nf.loss,
        nf.step + 1,
        o.lr / 10.0
    )
}
