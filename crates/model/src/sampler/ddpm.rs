//! DDPM ancestral sampling (Ho et al., arXiv 2006.11239) over all T steps, index
//! i = T-1..0 (paper t = i+1):
//!
//!   x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sigma_t z,
//!
//! sigma_t^2 = beta_t or the posterior variance; optionally no noise at the last step.
//! With x0 clipping the step uses the posterior mean of the clamped x0_hat,
//!
//!   mu = beta_t sqrt(abar_{t-1}) / (1 - abar_t) x0_hat + (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t) x_t,
//!
//! which equals the eps form above when nothing is clamped.

use super::{DdpmVariance, SamplerStep, StepNoise, fused, predict_x0};
use crate::schedule::Schedule;
use burn::prelude::*;

/// The DDPM ancestral sampler over `schedule`.
#[derive(Clone, Debug)]
pub struct Ddpm<'a> {
    /// The schedule (host, f64).
    pub schedule: &'a Schedule,
    /// Step variance.
    pub variance: DdpmVariance,
    /// Add noise at the last step (t = 1).
    pub last_noise: bool,
    /// Clamp the predicted x0 to [-c, c].
    pub clip_x0: Option<f64>,
}

impl SamplerStep for Ddpm<'_> {
    fn timesteps(&self) -> Vec<usize> {
        (0..self.schedule.len()).rev().collect()
    }

    fn step(
        &self,
        x: Tensor<2>,
        eps: Tensor<2>,
        i: usize,
        t_prev: Option<usize>,
        noise: &mut StepNoise,
    ) -> Tensor<2> {
        let s = self.schedule;
        let var = match self.variance {
            DdpmVariance::Beta => s.betas[i],
            DdpmVariance::Posterior => s.posterior_var[i],
        };
        let sigma = ((t_prev.is_some() || self.last_noise) && var > 0.0).then(|| var.sqrt());
        let Some(c) = self.clip_x0 else {
            let coef = s.betas[i] / (1.0 - s.abar[i]).sqrt();
            let root = s.alphas[i].sqrt();
            let (coef32, root32) = (coef as f32, root as f32);
            return fused::update(
                x,
                eps,
                sigma,
                noise,
                move |x, e| (x - e * coef32) / root32,
                |x, e| (x - e * coef) / root,
            );
        };
        let (abar, prev) = (s.abar[i], t_prev.map_or(1.0, |j| s.abar[j]));
        let x0 = predict_x0(x.clone(), eps, abar).clamp(-c, c);
        let c0 = s.betas[i] * prev.sqrt() / (1.0 - abar);
        let ct = (1.0 - prev) * s.alphas[i].sqrt() / (1.0 - abar);
        let x = x0 * c0 + x * ct;
        match sigma {
            Some(sd) => x + noise.draw() * sd,
            None => x,
        }
    }
}
