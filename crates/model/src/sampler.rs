//! Samplers: DDPM ancestral (Ho et al., arXiv 2006.11239) and DDIM (Song et al.,
//! arXiv 2010.02502).
//!
//! DDPM, index i = T-1..0 (paper t = i+1):
//!   x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sigma_t z,
//!   sigma_t^2 = beta_t or the posterior variance; optionally no noise at the last step.
//! DDIM over S timesteps tau_S > ... > tau_1 = index 0 (evenly spaced, rounded, including both
//! ends), with abar_prev = 1 after the last step (the clean sample):
//!   x0_hat = (x - sqrt(1 - abar) eps) / sqrt(abar),
//!   sigma = eta sqrt((1 - abar_prev)/(1 - abar)) sqrt(1 - abar/abar_prev),
//!   x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps + sigma z.
//! All coefficients of a step are shared by the batch, so they come from the float64 host
//! table: nothing is read back from the device while sampling.
//!
//! Optional x0 clipping (Ho et al.'s sampler for images, as in their reference code): the
//! predicted x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) is clamped to [-c, c] and
//! the DDPM step uses the posterior mean
//!   mu = beta_t sqrt(abar_{t-1}) / (1 - abar_t) x0_hat + (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t) x_t,
//! which equals the eps form above when nothing is clamped; DDIM recomputes eps from the
//! clamped x0_hat. Never clip for synthetic data whose range is unbounded (the theory of
//! THEORY.md §1 assumes no clipping).

use crate::denoiser::Denoiser;
use crate::diffusion::{Diffusion, timesteps};
use crate::error::{ModelError, Result};
use crate::noise::NoiseSource;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

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

/// DDIM timestep indices, descending, from T-1 to 0, S of them evenly spaced.
pub fn ddim_timesteps(t_max: usize, steps: usize) -> Result<Vec<usize>> {
    if steps == 0 || steps > t_max {
        return Err(ModelError::Config(format!(
            "DDIM needs 1 <= --steps <= T = {t_max} (got {steps})"
        )));
    }
    if steps == 1 {
        return Ok(vec![t_max - 1]);
    }
    let mut ts: Vec<usize> = (0..steps)
        .map(|k| ((k as f64) * (t_max - 1) as f64 / (steps - 1) as f64).round() as usize)
        .collect();
    ts.dedup();
    ts.reverse();
    Ok(ts)
}

/// Draws `n` samples of dimension `dim` from `model`, in batches of `batch`, with the
/// predicted x0 clamped to [-c, c] when `clip_x0 = Some(c)`. Noise (initial, then one draw per
/// stochastic step) comes from `noise`.
pub fn sample(
    model: &dyn Denoiser,
    diffusion: &Diffusion,
    config: &SamplerConfig,
    clip_x0: Option<f64>,
    n: usize,
    dim: usize,
    batch: usize,
    noise: &mut dyn NoiseSource,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<f32>> {
    let batch = batch.max(1);
    let mut out = Vec::with_capacity(n * dim);
    let mut done = 0;
    while done < n {
        let b = batch.min(n - done);
        let x = sample_batch(model, diffusion, config, clip_x0, b, dim, noise, device)?;
        out.extend(crate::diffusion::to_vec(x));
        done += b;
        progress(done, n);
    }
    Ok(out)
}

/// Draws one batch of `b` samples; returns the device tensor.
pub fn sample_batch(
    model: &dyn Denoiser,
    diffusion: &Diffusion,
    config: &SamplerConfig,
    clip_x0: Option<f64>,
    b: usize,
    dim: usize,
    noise: &mut dyn NoiseSource,
    device: &Device,
) -> Result<Tensor<2>> {
    let s = &diffusion.schedule;
    let t_max = s.len();
    let mut x = noise.next([b, dim], device);
    match *config {
        SamplerConfig::Ddpm {
            variance,
            last_noise,
        } => {
            for i in (0..t_max).rev() {
                let t = timesteps(&vec![i; b], device);
                let eps = diffusion.predict_eps(model, x.clone(), &t);
                x = match clip_x0 {
                    None => {
                        let coef = s.betas[i] / (1.0 - s.abar[i]).sqrt();
                        (x - eps * coef) / s.alphas[i].sqrt()
                    }
                    Some(c) => {
                        let (abar, prev) = (s.abar[i], if i == 0 { 1.0 } else { s.abar[i - 1] });
                        let x0 =
                            ((x.clone() - eps * (1.0 - abar).sqrt()) / abar.sqrt()).clamp(-c, c);
                        let c0 = s.betas[i] * prev.sqrt() / (1.0 - abar);
                        let ct = (1.0 - prev) * s.alphas[i].sqrt() / (1.0 - abar);
                        x0 * c0 + x * ct
                    }
                };
                let var = match variance {
                    DdpmVariance::Beta => s.betas[i],
                    DdpmVariance::Posterior => s.posterior_var[i],
                };
                if (i > 0 || last_noise) && var > 0.0 {
                    x = x + noise.next([b, dim], device) * var.sqrt();
                }
            }
        }
        SamplerConfig::Ddim { steps, eta } => {
            if !(0.0..=1.0).contains(&eta) {
                return Err(ModelError::Config(format!(
                    "DDIM eta must be in [0, 1] (got {eta})"
                )));
            }
            let ts = ddim_timesteps(t_max, steps)?;
            for (k, &i) in ts.iter().enumerate() {
                let abar = s.abar[i];
                let abar_prev = ts.get(k + 1).map_or(1.0, |&j| s.abar[j]);
                let t = timesteps(&vec![i; b], device);
                let mut eps = diffusion.predict_eps(model, x.clone(), &t);
                let mut x0 = (x.clone() - eps.clone() * (1.0 - abar).sqrt()) / abar.sqrt();
                if let Some(c) = clip_x0 {
                    x0 = x0.clamp(-c, c);
                    eps = (x - x0.clone() * abar.sqrt()) / (1.0 - abar).sqrt();
                }
                let sigma = eta
                    * ((1.0 - abar_prev) / (1.0 - abar)).sqrt()
                    * (1.0 - abar / abar_prev).sqrt();
                let dir = (1.0 - abar_prev - sigma * sigma).max(0.0).sqrt();
                x = x0 * abar_prev.sqrt() + eps * dir;
                if sigma > 0.0 {
                    x = x + noise.next([b, dim], device) * sigma;
                }
            }
        }
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddim_spacing_covers_both_ends() {
        assert_eq!(ddim_timesteps(1000, 1000).unwrap().len(), 1000);
        let ts = ddim_timesteps(1000, 50).unwrap();
        assert_eq!(ts.len(), 50);
        assert_eq!(ts[0], 999);
        assert_eq!(*ts.last().unwrap(), 0);
        assert!(ts.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(ddim_timesteps(10, 4).unwrap(), vec![9, 6, 3, 0]);
        assert!(ddim_timesteps(10, 0).is_err() && ddim_timesteps(10, 11).is_err());
    }
}
