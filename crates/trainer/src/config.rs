//! The resolved run configuration: everything that determines a run, written to
//! `runs/NAME/config.toml` so that `diffmem train --config runs/NAME/config.toml` repeats it.

use anyhow::{Context, Result, bail};
use diffmem_model::denoiser::{LinearConfig, MlpConfig, UnetConfig};
use diffmem_model::{
    DdpmVariance, DeviceChoice, ModelSpec, Objective, SamplerConfig, ScheduleKind,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which data and which subset of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Data spec (DESIGN.md grammar), e.g. `mnist-5k` or `gaussian:d=100,spectrum=power:1`.
    pub spec: String,
    /// Training set size N.
    pub n: usize,
    /// Subset seed.
    pub seed: u64,
    /// Class-balanced subset.
    pub balanced: bool,
    /// Half `a` or `b` of two disjoint subsets of size N (two-model tests).
    pub split: Option<String>,
    /// Held-out samples for the test loss.
    pub heldout: usize,
}

/// Noise schedule and objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffusionSection {
    /// Number of timesteps T.
    pub timesteps: usize,
    /// Beta schedule.
    pub schedule: ScheduleKind,
    /// What the network predicts; None: the model's default ([`RunConfig::objective`]).
    #[serde(default)]
    pub objective: Option<Objective>,
    /// Min-SNR gamma (None: unweighted loss).
    pub min_snr_gamma: Option<f64>,
}

/// Optimiser and learning-rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimSection {
    /// `adam` or `adamw`.
    pub kind: String,
    /// Peak learning rate.
    pub lr: f64,
    /// Adam beta_1.
    pub beta1: f64,
    /// Adam beta_2.
    pub beta2: f64,
    /// Adam epsilon (1e-8 as in PyTorch).
    pub eps: f64,
    /// Weight decay (decoupled for adamw, L2 for adam).
    pub weight_decay: f64,
    /// Linear warm-up steps.
    pub warmup: usize,
    /// `cosine` (decay to 0 at the last step) or `constant` after warm-up.
    pub lr_schedule: String,
    /// Clip gradients to this GLOBAL norm (None: no clipping).
    pub clip: Option<f64>,
}

/// Length of training, batching, EMA, logging and checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Optimisation steps (ignored when `epochs` is set).
    pub steps: usize,
    /// Epochs over the training set (overrides `steps`).
    pub epochs: Option<usize>,
    /// Batch size.
    pub batch_size: usize,
    /// EMA decay (0 disables the EMA).
    pub ema_decay: f64,
    /// Seed of batches, timesteps and noise.
    pub seed: u64,
    /// Log (and check for non-finite losses) every K steps.
    pub log_every: usize,
    /// Checkpoint every K steps (rounded up to a multiple of `log_every`).
    pub checkpoint_every: usize,
    /// Checkpoints kept (the newest M, plus `best` with early stopping).
    pub keep_last: usize,
    /// Early stopping: stop after this many logging intervals without a better held-out loss.
    pub patience: Option<usize>,
    /// Compute device.
    pub device: DeviceChoice,
}

/// The sample grid drawn at the end of training and by `diffmem sample` by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSection {
    /// Number of samples.
    pub num: usize,
    /// Sampler.
    pub sampler: SamplerConfig,
    /// Seed of the sampler noise.
    pub seed: u64,
    /// Batch size while sampling.
    pub batch: usize,
    /// Clamp the predicted x0 to [-c, c] while sampling (images live in [-1, 1]); None for
    /// unbounded (synthetic) data.
    #[serde(default)]
    pub clip_x0: Option<f64>,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Data and subset.
    pub data: DataSection,
    /// Denoiser.
    pub model: ModelSpec,
    /// Schedule and objective.
    pub diffusion: DiffusionSection,
    /// Optimiser.
    pub optim: OptimSection,
    /// Training loop.
    pub train: TrainSection,
    /// End-of-training samples.
    pub sample: SampleSection,
}

impl Default for RunConfig {
    /// The quickstart: an MLP on N = 1000 bundled MNIST digits, on the CPU.
    fn default() -> Self {
        Self {
            data: DataSection {
                spec: "mnist-5k".into(),
                n: 1000,
                seed: 0,
                balanced: false,
                split: None,
                heldout: 500,
            },
            model: ModelSpec::Mlp(MlpConfig {
                width: 1024,
                depth: 3,
                temb: 128,
            }),
            diffusion: DiffusionSection {
                timesteps: 1000,
                schedule: ScheduleKind::default(),
                objective: None,
                min_snr_gamma: None,
            },
            optim: OptimSection {
                kind: "adam".into(),
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                warmup: 200,
                lr_schedule: "cosine".into(),
                clip: Some(1.0),
            },
            train: TrainSection {
                steps: 6000,
                epochs: None,
                batch_size: 128,
                ema_decay: 0.999,
                seed: 0,
                log_every: 100,
                checkpoint_every: 1000,
                keep_last: 2,
                patience: None,
                device: DeviceChoice::Flex,
            },
            sample: SampleSection {
                num: 64,
                sampler: SamplerConfig::Ddpm {
                    variance: DdpmVariance::Posterior,
                    last_noise: false,
                },
                seed: 0,
                batch: 256,
                clip_x0: None,
            },
        }
    }
}

impl RunConfig {
    /// Reads a TOML config, naming the file in errors.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("config {} is not a valid run config", path.display()))
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// The objective: the configured one, else x0-prediction for the networks `mlp` and `unet`
    /// (on the quickstart's CPU budget the MLP samples clean digits with it and blobs with
    /// eps-prediction) and eps-prediction for `linear` (the theory's model, THEORY.md §1) and
    /// the exact denoisers (which are eps-predictors).
    pub fn objective(&self) -> Objective {
        self.diffusion.objective.unwrap_or(match self.model {
            ModelSpec::Mlp(_) | ModelSpec::Unet(_) => Objective::X0,
            _ => Objective::Eps,
        })
    }

    /// Total optimisation steps: `epochs` x ceil(N / batch) when epochs are set.
    pub fn total_steps(&self) -> usize {
        match self.train.epochs {
            Some(e) => e * self.data.n.div_ceil(self.train.batch_size.max(1)),
            None => self.train.steps,
        }
    }

    /// Rejects impossible settings with a message naming the flag.
    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        let o = &self.optim;
        if self.data.n == 0 {
            bail!("--n must be at least 1");
        }
        if t.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            bail!("--lr must be a positive number (got {})", o.lr);
        }
        if !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) || o.eps <= 0.0 {
            bail!("Adam needs 0 <= beta1, beta2 < 1 and eps > 0");
        }
        if !matches!(o.kind.as_str(), "adam" | "adamw") {
            bail!("--optimizer must be adam or adamw (got {})", o.kind);
        }
        if !matches!(o.lr_schedule.as_str(), "cosine" | "constant") {
            bail!(
                "--lr-schedule must be cosine or constant (got {})",
                o.lr_schedule
            );
        }
        if o.clip.is_some_and(|c| c <= 0.0) {
            bail!("--clip must be positive");
        }
        if !(0.0..1.0).contains(&t.ema_decay) {
            bail!("--ema must be in [0, 1) (got {})", t.ema_decay);
        }
        if t.log_every == 0 || t.checkpoint_every == 0 || t.keep_last == 0 {
            bail!("--log-every, --checkpoint-every and --keep-last must be at least 1");
        }
        if self.sample.num == 0 || self.sample.batch == 0 {
            bail!("--num and the sample batch must be at least 1");
        }
        if let Some(s) = &self.data.split {
            if s != "a" && s != "b" {
                bail!("--split must be a or b (got {s})");
            }
        }
        Ok(())
    }

    /// Applies `--model NAME` keeping settings when the name is unchanged.
    pub fn set_model(&mut self, name: &str) -> Result<()> {
        if self.model.name() != name {
            self.model = ModelSpec::from_name(name)?;
        }
        Ok(())
    }

    /// Mutable MLP settings, if the model is an MLP.
    pub fn mlp(&mut self) -> Option<&mut MlpConfig> {
        match &mut self.model {
            ModelSpec::Mlp(c) => Some(c),
            _ => None,
        }
    }

    /// Mutable UNet settings, if the model is a UNet.
    pub fn unet(&mut self) -> Option<&mut UnetConfig> {
        match &mut self.model {
            ModelSpec::Unet(c) => Some(c),
            _ => None,
        }
    }

    /// Mutable linear settings, if the model is `linear`.
    pub fn linear(&mut self) -> Option<&mut LinearConfig> {
        match &mut self.model {
            ModelSpec::Linear(c) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_is_exact() {
        let mut c = RunConfig::default();
        c.data.split = Some("b".into());
        c.diffusion.min_snr_gamma = Some(5.0);
        c.model = ModelSpec::LinearExact { lambda: 0.25 };
        let text = c.to_toml().unwrap();
        let back: RunConfig = toml::from_str(&text).unwrap();
        assert_eq!(back, c, "{text}");
        c.validate().unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected() {
        let text = RunConfig::default()
            .to_toml()
            .unwrap()
            .replace("batch_size", "batchsize");
        assert!(toml::from_str::<RunConfig>(&text).is_err());
        let mut c = RunConfig::default();
        c.optim.lr = -1.0;
        assert!(c.validate().unwrap_err().to_string().contains("--lr"));
    }
}
