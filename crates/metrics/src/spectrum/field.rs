//! The score-field interface shared by trained and exact denoisers, and the noise levels of a
//! DDPM schedule in both readings.
//!
//! DDPM: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, score s(x, t) = -eps(x, t) / sqrt(1 - abar_t).
//! Variance-exploding (VE) reading of the same step: x_t / sqrt(abar_t) = x_0 + sigma_VE z with
//! sigma_VE^2 = (1 - abar_t) / abar_t (Achilli et al. work in this reading).

use crate::Result;
use faer::Mat;

/// A score s(x, t) that can be evaluated, with its Jacobian, at points given on the host.
/// Points are in the DDPM coordinates of timestep index t (already scaled by sqrt(abar_t)
/// when they come from data).
pub trait ScoreField {
    /// Dimension D of a point.
    fn dim(&self) -> usize;

    /// Scores at `x.len() / D` points (row-major `[rows, D]`) at timestep index `t`,
    /// row-major `[rows, D]`.
    fn score(&self, x: &[f64], t: usize) -> Result<Vec<f64>>;

    /// The D x D Jacobian J_ij = ds_i / dx_j at one point `x` (length D) at timestep index `t`.
    fn jacobian(&self, x: &[f64], t: usize) -> Result<Mat<f64>>;
}

/// Noise levels of a schedule's timestep indices (from its `abar` table).
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseLevels {
    /// abar_t per timestep index.
    pub abar: Vec<f64>,
}

impl NoiseLevels {
    /// The levels of `schedule`.
    pub fn of(schedule: &diffmem_model::Schedule) -> Self {
        Self {
            abar: schedule.abar.clone(),
        }
    }

    /// Number of timesteps T.
    pub fn len(&self) -> usize {
        self.abar.len()
    }

    /// True when the table is empty.
    pub fn is_empty(&self) -> bool {
        self.abar.is_empty()
    }

    /// DDPM noise variance 1 - abar_t: the variance of x_t given x_0, and the level of a
    /// normal direction, -J = 1 / (1 - abar_t).
    pub fn ddpm_sigma2(&self, t: usize) -> f64 {
        1.0 - self.abar[t]
    }

    /// VE noise variance sigma_VE^2 = (1 - abar_t) / abar_t.
    pub fn ve_sigma2(&self, t: usize) -> f64 {
        (1.0 - self.abar[t]) / self.abar[t]
    }

    /// sqrt(abar_t): the scale of data points in x_t.
    pub fn sqrt_abar(&self, t: usize) -> f64 {
        self.abar[t].sqrt()
    }

    /// First timestep index whose VE noise variance reaches `ve_sigma2` (None beyond T).
    pub fn step_at_ve_sigma2(&self, ve_sigma2: f64) -> Option<usize> {
        (0..self.len()).find(|&t| self.ve_sigma2(t) >= ve_sigma2)
    }

    /// Checks that `t` is a timestep index of the schedule.
    pub fn check(&self, t: usize) -> Result<()> {
        if t < self.abar.len() {
            Ok(())
        } else {
            Err(crate::MetricsError::Invalid(format!(
                "timestep index {t} is outside 0..{}",
                self.abar.len()
            )))
        }
    }
}
