//! DDIM (Song et al., arXiv 2010.02502) over S timesteps tau_S > ... > tau_1 = index 0
//! (evenly spaced, rounded, including both ends), with abar_prev = 1 after the last step
//! (the clean sample):
//!
//!   x0_hat = (x - sqrt(1 - abar) eps) / sqrt(abar),
//!   sigma = eta sqrt((1 - abar_prev)/(1 - abar)) sqrt(1 - abar/abar_prev),
//!   x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps + sigma z.
//!
//! With x0 clipping, eps is recomputed from the clamped x0_hat.

use super::{SamplerStep, StepNoise, fused, predict_x0};
use crate::error::{ModelError, Result};
use crate::schedule::Schedule;
use burn::prelude::*;

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

/// The DDIM sampler over `schedule`.
#[derive(Clone, Debug)]
pub struct Ddim<'a> {
    schedule: &'a Schedule,
    timesteps: Vec<usize>,
    eta: f64,
    clip_x0: Option<f64>,
}

impl<'a> Ddim<'a> {
    /// DDIM with `steps` model evaluations and stochasticity `eta` in [0, 1] (0 deterministic,
    /// 1 the DDPM posterior variance).
    pub fn new(
        schedule: &'a Schedule,
        steps: usize,
        eta: f64,
        clip_x0: Option<f64>,
    ) -> Result<Self> {
        if !(0.0..=1.0).contains(&eta) {
            return Err(ModelError::Config(format!(
                "DDIM eta must be in [0, 1] (got {eta})"
            )));
        }
        Ok(Self {
            schedule,
            timesteps: ddim_timesteps(schedule.len(), steps)?,
            eta,
            clip_x0,
        })
    }
}

impl SamplerStep for Ddim<'_> {
    fn timesteps(&self) -> Vec<usize> {
        self.timesteps.clone()
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
        let abar = s.abar[i];
        let abar_prev = t_prev.map_or(1.0, |j| s.abar[j]);
        let sigma =
            self.eta * ((1.0 - abar_prev) / (1.0 - abar)).sqrt() * (1.0 - abar / abar_prev).sqrt();
        let dir = (1.0 - abar_prev - sigma * sigma).max(0.0).sqrt();
        let noise_sd = (sigma > 0.0).then_some(sigma);
        let Some(c) = self.clip_x0 else {
            // predict_x0, then the DDIM combination, element by element in the same order.
            let (a, b) = ((1.0 - abar).sqrt() as f32, abar.sqrt() as f32);
            let (p, d) = (abar_prev.sqrt() as f32, dir as f32);
            return fused::update(
                x,
                eps,
                noise_sd,
                noise,
                move |x, e| ((x - e * a) / b) * p + e * d,
                |x, e| predict_x0(x, e.clone(), abar) * abar_prev.sqrt() + e * dir,
            );
        };
        let x0 = predict_x0(x.clone(), eps, abar).clamp(-c, c);
        let eps = (x - x0.clone() * abar.sqrt()) / (1.0 - abar).sqrt();
        let x = x0 * abar_prev.sqrt() + eps * dir;
        match noise_sd {
            Some(sd) => x + noise.draw() * sd,
            None => x,
        }
    }
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

    #[test]
    fn bad_eta_is_an_error() {
        let s = Schedule::new(Default::default(), 10).unwrap();
        assert!(Ddim::new(&s, 5, 1.5, None).is_err());
        assert!(Ddim::new(&s, 5, -0.1, None).is_err());
        assert_eq!(
            Ddim::new(&s, 4, 0.0, None).unwrap().timesteps(),
            vec![9, 6, 3, 0]
        );
    }
}
