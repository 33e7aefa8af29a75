//! The float64 reference linear beta schedule of the theory engine.
//!
//! The model crate owns the schedule used on the device; this one exists so that the theory
//! can keep 1 - abar_t exactly: it is accumulated as 1 - abar_t = (1 - abar_{t-1}) +
//! abar_{t-1} beta_t, which gives 1 - abar_1 = beta_1 bit for bit. That makes the last
//! sampler step annihilate directions absent from the data exactly (see `sampling`).

use crate::error::{MetricsError, Result};
use serde::{Deserialize, Serialize};

/// Linear beta schedule beta_t = beta_1 + (beta_T - beta_1)(t - 1)/(T - 1), t = 1..T, with
/// abar_t = prod_{s<=t} (1 - beta_s). Merger & Goldt (arXiv 2505.24769) use 1e-4..1e-2, T = 1000.
/// Index `i` of every table is timestep t = i + 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearSchedule {
    /// beta_t.
    pub betas: Vec<f64>,
    /// abar_t.
    pub abar: Vec<f64>,
    /// 1 - abar_t, accumulated without cancellation.
    pub one_minus_abar: Vec<f64>,
}

impl LinearSchedule {
    /// The schedule with `t_max` steps from `beta_1` to `beta_t_max`.
    pub fn new(beta_1: f64, beta_t_max: f64, t_max: usize) -> Result<Self> {
        let ok = |b: f64| b.is_finite() && b > 0.0 && b < 1.0;
        if t_max < 1 || !ok(beta_1) || !ok(beta_t_max) {
            return Err(MetricsError::Invalid(format!(
                "linear schedule needs T >= 1 and betas in (0, 1), got T = {t_max}, \
                 beta_1 = {beta_1}, beta_T = {beta_t_max}"
            )));
        }
        let betas: Vec<f64> = (0..t_max)
            .map(|i| {
                if t_max == 1 {
                    beta_1
                } else {
                    beta_1 + (beta_t_max - beta_1) * i as f64 / (t_max - 1) as f64
                }
            })
            .collect();
        let (mut abar, mut one_minus_abar) = (Vec::with_capacity(t_max), Vec::with_capacity(t_max));
        let (mut a, mut om) = (1.0_f64, 0.0_f64);
        for &b in &betas {
            om += a * b;
            a *= 1.0 - b;
            abar.push(a);
            one_minus_abar.push(om);
        }
        Ok(LinearSchedule {
            betas,
            abar,
            one_minus_abar,
        })
    }

    /// The schedule of Merger & Goldt: beta from 1e-4 to 1e-2, T = 1000.
    pub fn merger_goldt() -> Self {
        LinearSchedule::new(1e-4, 1e-2, 1000).expect("valid constants")
    }

    /// Number of steps T.
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Always false (a schedule has at least one step).
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }

    /// c_t = (1 - abar_t) / abar_t at index `i` (t = i + 1): the variance-exploding noise level
    /// sigma^2 of x_t / sqrt(abar_t) = x_0 + sqrt(c_t) eps.
    pub fn c(&self, i: usize) -> f64 {
        self.one_minus_abar[i] / self.abar[i]
    }

    /// Ornstein-Uhlenbeck time of index `i`: abar_t = e^{-2 t_OU}, t_OU = -ln(abar_t)/2
    /// (Biroli et al., arXiv 2402.18491).
    pub fn ou_time(&self, i: usize) -> f64 {
        -0.5 * self.abar[i].ln()
    }

    /// First timestep t (1-based) whose VE noise level c_t reaches `sigma2`, or `None` if the
    /// schedule never gets there.
    pub fn step_at_ve_sigma2(&self, sigma2: f64) -> Option<usize> {
        (0..self.len())
            .find(|&i| self.c(i) >= sigma2)
            .map(|i| i + 1)
    }

    /// First timestep t (1-based) whose OU time reaches `t_ou`, or `None` if beyond T.
    pub fn step_at_ou_time(&self, t_ou: f64) -> Option<usize> {
        (0..self.len())
            .find(|&i| self.ou_time(i) >= t_ou)
            .map(|i| i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abar_and_its_complement_are_consistent() {
        let s = LinearSchedule::merger_goldt();
        assert_eq!(s.len(), 1000);
        assert_eq!(s.one_minus_abar[0], 1e-4);
        assert!((s.betas[999] - 1e-2).abs() < 1e-15);
        let direct: f64 = s.betas.iter().map(|b| 1.0 - b).product();
        assert!((s.abar[999] - direct).abs() < 1e-15);
        for i in 0..s.len() {
            assert!((s.abar[i] + s.one_minus_abar[i] - 1.0).abs() < 1e-14);
        }
        let t = s.step_at_ve_sigma2(1.0).unwrap();
        assert!(s.c(t - 1) >= 1.0 && s.c(t - 2) < 1.0);
        assert_eq!(s.step_at_ou_time(0.0), Some(1));
        assert_eq!(s.step_at_ou_time(100.0), None);
    }
}
