//! The forward process and the training objectives.
//!
//! q-sample: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (Ho et al., arXiv 2006.11239).
//! Objectives: the network predicts eps, x_0, or v = sqrt(abar) eps - sqrt(1 - abar) x_0
//! (Salimans & Ho, arXiv 2202.00512). Min-SNR-gamma weighting (Hang et al., arXiv 2303.09556):
//! with SNR = abar / (1 - abar), the per-sample weight is min(SNR, gamma) / SNR for eps,
//! min(SNR, gamma) for x_0 and min(SNR, gamma) / (SNR + 1) for v, so that every objective
//! weights the implied x_0 error by min(SNR, gamma).

use crate::denoiser::Denoiser;
use crate::schedule::{DeviceSchedule, Schedule, ScheduleTables};
pub use crate::tensor::{matrix, timesteps, to_vec};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What the network predicts (`--objective`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The noise eps (DDPM).
    #[default]
    Eps,
    /// The clean sample x_0.
    X0,
    /// The velocity v = sqrt(abar) eps - sqrt(1 - abar) x_0.
    V,
}

/// A schedule on a device plus the objective: everything needed to noise data, compute the
/// training loss and turn a network output into an eps prediction.
#[derive(Clone, Debug)]
pub struct Diffusion {
    /// Host tables in float64.
    pub schedule: Schedule,
    /// Device tables.
    pub dev: DeviceSchedule,
    /// What the network predicts.
    pub objective: Objective,
    /// Min-SNR gamma, if weighting is on.
    pub min_snr_gamma: Option<f64>,
}

impl Diffusion {
    /// Puts `schedule` on `device`.
    pub fn new(
        schedule: Schedule,
        objective: Objective,
        min_snr_gamma: Option<f64>,
        device: &Device,
    ) -> Self {
        let dev = schedule.to_device(device);
        Self {
            schedule,
            dev,
            objective,
            min_snr_gamma,
        }
    }

    /// Number of timesteps T.
    pub fn steps(&self) -> usize {
        self.schedule.len()
    }

    /// (sqrt(abar_t), sqrt(1 - abar_t)) gathered per sample, each `[batch, 1]`.
    pub fn coefficients(&self, t: &Tensor<1, Int>) -> (Tensor<2>, Tensor<2>) {
        (
            DeviceSchedule::gather(&self.dev.sqrt_abar, t.clone()),
            DeviceSchedule::gather(&self.dev.sqrt_one_minus_abar, t.clone()),
        )
    }

    /// x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.
    pub fn q_sample(&self, x0: Tensor<2>, t: &Tensor<1, Int>, eps: Tensor<2>) -> Tensor<2> {
        let (a, s) = self.coefficients(t);
        x0 * a + eps * s
    }

    /// The regression target of the objective for (x_0, eps) at t.
    pub fn target(&self, x0: Tensor<2>, t: &Tensor<1, Int>, eps: Tensor<2>) -> Tensor<2> {
        match self.objective {
            Objective::Eps => eps,
            Objective::X0 => x0,
            Objective::V => {
                let (a, s) = self.coefficients(t);
                eps * a - x0 * s
            }
        }
    }

    /// Converts a network output at (x_t, t) into the implied eps prediction:
    /// eps = (x_t - sqrt(abar) x0_hat) / sqrt(1 - abar) for x_0 and
    /// eps = sqrt(1 - abar) x_t + sqrt(abar) v_hat for v.
    pub fn eps_from_output(&self, out: Tensor<2>, xt: Tensor<2>, t: &Tensor<1, Int>) -> Tensor<2> {
        match self.objective {
            Objective::Eps => out,
            Objective::X0 => {
                let (a, s) = self.coefficients(t);
                (xt - out * a) / s
            }
            Objective::V => {
                let (a, s) = self.coefficients(t);
                xt * s + out * a
            }
        }
    }

    /// The model's eps prediction at (x_t, t), whatever its objective.
    pub fn predict_eps(
        &self,
        model: &dyn Denoiser,
        xt: Tensor<2>,
        t: &Tensor<1, Int>,
    ) -> Tensor<2> {
        let out = model.forward(xt.clone(), t.clone());
        self.eps_from_output(out, xt, t)
    }

    /// Per-sample squared error of the objective, mean over the D coordinates, `[batch]`,
    /// with min-SNR weights when enabled.
    pub fn per_sample_loss(
        &self,
        model: &dyn Denoiser,
        x0: Tensor<2>,
        t: &Tensor<1, Int>,
        eps: Tensor<2>,
    ) -> Tensor<1> {
        let xt = self.q_sample(x0.clone(), t, eps.clone());
        let target = self.target(x0, t, eps);
        let out = model.forward(xt, t.clone());
        let [b, _] = out.dims();
        let err = (out - target).powi_scalar(2).mean_dim(1).reshape([b]);
        match self.min_snr_gamma {
            None => err,
            Some(gamma) => {
                let snr = DeviceSchedule::gather(&self.dev.snr, t.clone()).reshape([b]);
                let clipped = snr.clone().clamp_max(gamma);
                let w = match self.objective {
                    Objective::Eps => clipped / snr,
                    Objective::X0 => clipped,
                    Objective::V => clipped / (snr + 1.0),
                };
                err * w
            }
        }
    }

    /// Mean training loss over the batch (a scalar tensor, differentiable).
    pub fn loss(
        &self,
        model: &dyn Denoiser,
        x0: Tensor<2>,
        t: &Tensor<1, Int>,
        eps: Tensor<2>,
    ) -> Tensor<1> {
        self.per_sample_loss(model, x0, t, eps).mean()
    }
}

impl ScheduleTables for Diffusion {
    fn host(&self) -> &Schedule {
        &self.schedule
    }

    fn device(&self) -> &DeviceSchedule {
        &self.dev
    }
}
