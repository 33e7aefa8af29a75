//! The gradient-flow prediction for one trained run, to lay over its measured snapshots
//! (`eval --along-training`): the linear denoiser of Merger & Goldt (arXiv 2505.24769) trained by
//! gradient flow from W = 0 for time tau on the run's OWN training rows, its train and test
//! eps-losses averaged over the run's loss grid (the timesteps `eval --metrics loss` measures),
//! and the KL of its exact sampled distribution from the truth (docs/theory.md §1).

use super::curves::Truth;
use super::divergence::sampled_kl;
use super::linear::LinearDenoiser;
use super::losses::{DataMoments, eps_loss};
use super::sampling::sampled_distribution;
use crate::error::{MetricsError, Result};
use diffmem_model::Schedule;
use diffmem_model::linear_gaussian::GaussianMoments;

/// The theory of one run: its truth, training set, schedule and loss grid.
#[derive(Clone, Debug)]
pub struct FlowOverlay {
    truth: Truth,
    den: LinearDenoiser,
    grid: Vec<usize>,
    train_m: DataMoments,
    test_m: DataMoments,
}

/// The prediction at one flow time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowPrediction {
    /// Training loss per coordinate, mean over the grid.
    pub train_loss: f64,
    /// Test (true-distribution) loss per coordinate, mean over the grid.
    pub test_loss: f64,
}

impl FlowOverlay {
    /// The overlay for training moments `train`, schedule `schedule` (no ridge: the runs train
    /// without weight decay on W) and the 0-based timestep indices `grid`.
    pub fn new(
        truth: Truth,
        train: GaussianMoments,
        schedule: Schedule,
        grid: Vec<usize>,
    ) -> Result<Self> {
        if train.d() != truth.d() {
            return Err(MetricsError::Invalid(format!(
                "training rows of dimension {} for a truth of dimension {}",
                train.d(),
                truth.d()
            )));
        }
        if grid.is_empty() || grid.iter().any(|&i| i >= schedule.len()) {
            return Err(MetricsError::Invalid(format!(
                "loss grid {grid:?} is empty or beyond the schedule's {} steps",
                schedule.len()
            )));
        }
        let den = LinearDenoiser::gradient_flow(train, schedule, 0.0, 0.0)?;
        let train_m = DataMoments::of_training_set(&den.train);
        let test_m = DataMoments::of_gaussian(&den.train, &truth.gaussian)?;
        Ok(FlowOverlay {
            truth,
            den,
            grid,
            train_m,
            test_m,
        })
    }

    /// The denoiser at flow time `tau`.
    fn at(&self, tau: f64) -> Result<LinearDenoiser> {
        if !(tau.is_finite() && tau >= 0.0) {
            return Err(MetricsError::Invalid(format!(
                "gradient-flow time tau must be finite and >= 0, got {tau}"
            )));
        }
        let mut den = self.den.clone();
        den.tau = Some(tau);
        Ok(den)
    }

    /// Train and test loss at flow time `tau`: (1/d) L_t (`losses::eps_loss`), averaged over
    /// the grid.
    pub fn losses(&self, tau: f64) -> Result<FlowPrediction> {
        let den = self.at(tau)?;
        let d = self.truth.d() as f64;
        let mean = |m: &DataMoments| {
            self.grid.iter().map(|&i| eps_loss(&den, i, m)).sum::<f64>()
                / (d * self.grid.len() as f64)
        };
        Ok(FlowPrediction {
            train_loss: mean(&self.train_m),
            test_loss: mean(&self.test_m),
        })
    }

    /// KL(rho_tau || rho) of the exact DDPM sampled distribution at flow time `tau` (sigma_t^2
    /// = beta_t; `last_step_noise`: whether the last step adds noise); infinite when singular.
    pub fn kl(&self, tau: f64, last_step_noise: bool) -> Result<f64> {
        let den = self.at(tau)?;
        sampled_kl(
            &den,
            &sampled_distribution(&den, last_step_noise),
            &self.truth.gaussian,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::curves::{CurveConfig, flow_curve};
    use super::*;

    #[test]
    fn full_grid_matches_flow_curve_and_grid_subset_averages_per_timestep() {
        let truth = Truth::from_spectrum(&[2.0, 1.0, 0.5, 0.25, 0.1]).unwrap();
        let schedule = Schedule::linear(1e-3, 2e-2, 60).unwrap();
        let config = CurveConfig {
            schedule: schedule.clone(),
            lambda: 0.0,
            last_step_noise: true,
            seeds: 1,
            base_seed: 11,
        };
        let taus = [0.5, 20.0, 3e3];
        let pts = flow_curve(&truth, 3, &taus, &config).unwrap();
        let all: Vec<usize> = (0..60).collect();
        let ov = FlowOverlay::new(
            truth.clone(),
            truth.training_set(3, 11).unwrap(),
            schedule.clone(),
            all,
        )
        .unwrap();
        for (tau, p) in taus.iter().zip(&pts) {
            let f = ov.losses(*tau).unwrap();
            assert!((f.test_loss / p.stats.test_loss.mean - 1.0).abs() < 1e-12);
            assert!((f.train_loss / p.stats.train_loss.mean - 1.0).abs() < 1e-12);
            let k = ov.kl(*tau, true).unwrap();
            assert!(
                (k / p.stats.kl.mean - 1.0).abs() < 1e-9,
                "{k} {:?}",
                p.stats.kl
            );
        }
        // A grid of two timesteps averages the per-timestep test curve at those two.
        let sub = FlowOverlay::new(
            truth.clone(),
            truth.training_set(3, 11).unwrap(),
            schedule,
            vec![4, 40],
        )
        .unwrap();
        let f = sub.losses(taus[1]).unwrap();
        let t = &pts[1].stats.test_t;
        assert!((f.test_loss - (t[4] + t[40]) / 2.0).abs() < 1e-12);
        // At tau = 0 (W = 0, b at its optimum) the eps-loss is 1 per coordinate everywhere.
        assert!((sub.losses(0.0).unwrap().test_loss - 1.0).abs() < 1e-12);
        assert!(sub.losses(-1.0).is_err());
    }
}
