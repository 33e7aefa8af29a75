//! Samplers behind one per-step interface, as diffusers' schedulers: a sampler is a
//! [`SamplerStep`] (the timesteps it visits and one update x_t -> x_prev from the model's eps
//! prediction), and one driver ([`driver`]) runs any of them. A new sampler is a new file.
//!
//! - [`ddpm`]: DDPM ancestral sampling (Ho et al., arXiv 2006.11239).
//! - [`ddim`]: DDIM (Song et al., arXiv 2010.02502).
//!
//! All coefficients of a step are shared by the batch, so they come from the float64 host
//! table: nothing is read back from the device while sampling.
//!
//! Optional x0 clipping (Ho et al.'s sampler for images, as in their reference code): the
//! predicted x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) is clamped to [-c, c]; each
//! sampler documents how it uses the clamped prediction. Never clip for synthetic data whose
//! range is unbounded (the theory of docs/theory.md §1 assumes no clipping).

pub mod ddim;
pub mod ddpm;
pub mod driver;
pub mod fused;

use crate::error::Result;
use crate::noise::NoiseSource;
use crate::schedule::Schedule;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use ddim::{Ddim, ddim_timesteps};
pub use ddpm::Ddpm;
pub use driver::{SampleJob, run_batch, sample, sample_batch, sample_with};

/// Variance of the DDPM ancestral step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DdpmVariance {
    /// sigma_t^2 = beta_t (Merger & Goldt's choice).
    #[default]
    Beta,
    /// sigma_t^2 = beta_t (1 - abar_{t-1}) / (1 - abar_t).
    Posterior,
}

/// Which sampler and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SamplerConfig {
    /// DDPM ancestral sampling over all T steps.
    Ddpm {
        /// Step variance.
        variance: DdpmVariance,
        /// Add noise at the last step (t = 1).
        last_noise: bool,
    },
    /// DDIM with `steps` evaluations and stochasticity `eta`.
    Ddim {
        /// Number of model evaluations S (1..=T).
        steps: usize,
        /// eta = 0 deterministic; eta = 1 the DDPM posterior variance.
        eta: f64,
    },
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            last_noise: true,
        }
    }
}

impl SamplerConfig {
    /// The step rule of this configuration over `schedule`, with the predicted x0 clamped to
    /// [-c, c] when `clip_x0 = Some(c)`; an error names a bad setting.
    pub fn build<'a>(
        &self,
        schedule: &'a Schedule,
        clip_x0: Option<f64>,
    ) -> Result<Box<dyn SamplerStep + 'a>> {
        let sampler: Box<dyn SamplerStep + 'a> = match *self {
            SamplerConfig::Ddpm {
                variance,
                last_noise,
            } => Box::new(Ddpm {
                schedule,
                variance,
                last_noise,
                clip_x0,
            }),
            SamplerConfig::Ddim { steps, eta } => {
                Box::new(Ddim::new(schedule, steps, eta, clip_x0)?)
            }
        };
        Ok(sampler)
    }
}

/// Human-readable: `ddim (50 steps, eta 1)`, `ddpm (beta variance, noise at the last step)`.
impl std::fmt::Display for SamplerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SamplerConfig::Ddim { steps, eta } => write!(f, "ddim ({steps} steps, eta {eta})"),
            SamplerConfig::Ddpm {
                variance,
                last_noise,
            } => {
                let v = match variance {
                    DdpmVariance::Beta => "beta",
                    DdpmVariance::Posterior => "posterior",
                };
                let last = if *last_noise { "noise" } else { "no noise" };
                write!(f, "ddpm ({v} variance, {last} at the last step)")
            }
        }
    }
}

/// The Gaussian draws of one batch: each call gives a fresh standard normal `[batch, D]`
/// draw from the caller's [`NoiseSource`], as a tensor ([`StepNoise::draw`]) or in a host
/// buffer allocated once per batch ([`StepNoise::host_draw`], for [`fused::update`]).
/// Samplers draw only when they add noise, so a deterministic sampler consumes only the
/// initial draw. Sampling runs on the plain device: no autodiff graph is recorded (checked).
pub struct StepNoise<'a> {
    source: &'a mut dyn NoiseSource,
    shape: [usize; 2],
    device: &'a Device,
    buffer: Vec<f32>,
}

impl<'a> StepNoise<'a> {
    /// Draws of `shape` from `source` on `device`, which must not be an autodiff device
    /// (sampling needs no gradients; use `device.clone().inner()`).
    pub fn new(source: &'a mut dyn NoiseSource, shape: [usize; 2], device: &'a Device) -> Self {
        assert!(
            !device.is_autodiff(),
            "sampling runs on the plain device, not an autodiff one"
        );
        Self {
            source,
            shape,
            device,
            buffer: Vec::new(),
        }
    }

    /// The next draw.
    pub fn draw(&mut self) -> Tensor<2> {
        self.source.next(self.shape, self.device)
    }

    /// The next draw as host values: written into the reused buffer when the source draws
    /// on the host, otherwise read back from the device draw.
    pub fn host_draw(&mut self) -> std::borrow::Cow<'_, [f32]> {
        self.buffer.resize(self.shape[0] * self.shape[1], 0.0);
        if self.source.fill_host(&mut self.buffer) {
            return std::borrow::Cow::Borrowed(&self.buffer);
        }
        std::borrow::Cow::Owned(crate::tensor::to_vec(self.draw()))
    }
}

/// One sampler: the timestep indices it visits and its update rule.
pub trait SamplerStep {
    /// Timestep indices (in `0..T`) at which the model is evaluated, in visiting order
    /// (descending, ending at 0).
    fn timesteps(&self) -> Vec<usize>;

    /// One update: from `x` = x_t at index `t`, with the model's eps prediction `eps` there,
    /// to x at index `t_prev` (the next visited index; `None` after the last one, where the
    /// result is the sample, abar_prev = 1). Draws any fresh noise from `noise`.
    fn step(
        &self,
        x: Tensor<2>,
        eps: Tensor<2>,
        t: usize,
        t_prev: Option<usize>,
        noise: &mut StepNoise,
    ) -> Tensor<2>;
}

/// x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t): the clean sample implied by an eps
/// prediction (Ho et al., arXiv 2006.11239, eq. 4 solved for x_0).
pub fn predict_x0(x: Tensor<2>, eps: Tensor<2>, abar: f64) -> Tensor<2> {
    (x - eps * (1.0 - abar).sqrt()) / abar.sqrt()
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn sampler_names_read_as_words() {
        let ddim = SamplerConfig::Ddim {
            steps: 50,
            eta: 1.0,
        };
        assert_eq!(ddim.to_string(), "ddim (50 steps, eta 1)");
        let ddim0 = SamplerConfig::Ddim {
            steps: 100,
            eta: 0.5,
        };
        assert_eq!(ddim0.to_string(), "ddim (100 steps, eta 0.5)");
        let ddpm = SamplerConfig::Ddpm {
            variance: DdpmVariance::Posterior,
            last_noise: false,
        };
        assert_eq!(
            ddpm.to_string(),
            "ddpm (posterior variance, no noise at the last step)"
        );
        assert_eq!(
            SamplerConfig::default().to_string(),
            "ddpm (beta variance, noise at the last step)"
        );
    }
}
