//! Noise schedules (host side, float64) and their device copies.
//!
//! Timestep convention: index `i` in `0..T` is the paper's t = i + 1, so `betas[0]` is beta_1
//! and `abar[i] = prod_{s <= i} (1 - betas[s])`.
//!
//! This is the project's one float64 schedule: the device samplers and denoisers use it, and so
//! does the exact theory (`diffmem_metrics::theory`), which needs `one_minus_abar`: 1 - abar_t
//! accumulated as (1 - abar_{t-1}) + abar_{t-1} beta_t, so that 1 - abar_1 = beta_1 bit for bit
//! and the last exact sampler step annihilates directions absent from the data exactly.

use crate::error::{ModelError, Result};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Which beta schedule (`--schedule`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ScheduleKind {
    /// beta_t linear from `beta_1` to `beta_t` (Ho et al. 2020: 1e-4..0.02; Merger & Goldt
    /// arXiv 2505.24769: 1e-4..1e-2).
    Linear {
        /// First beta (t = 1).
        beta_1: f64,
        /// Last beta (t = T).
        beta_t: f64,
    },
    /// Cosine schedule of Nichol & Dhariwal (arXiv 2102.09672):
    /// abar(t) = f(t)/f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2),
    /// beta_t = min(1 - abar(t)/abar(t-1), max_beta).
    Cosine {
        /// Offset s (0.008 in the paper).
        s: f64,
        /// Clamp on beta (0.999 in the paper).
        max_beta: f64,
    },
}

impl Default for ScheduleKind {
    fn default() -> Self {
        ScheduleKind::Linear {
            beta_1: 1e-4,
            beta_t: 0.02,
        }
    }
}

/// A noise schedule with every derived table in float64.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The schedule's definition.
    pub kind: ScheduleKind,
    /// beta_t, t = 1..T (index t-1).
    pub betas: Vec<f64>,
    /// alpha_t = 1 - beta_t.
    pub alphas: Vec<f64>,
    /// abar_t = prod_{s<=t} alpha_s.
    pub abar: Vec<f64>,
    /// 1 - abar_t, accumulated without cancellation: (1 - abar_{t-1}) + abar_{t-1} beta_t.
    pub one_minus_abar: Vec<f64>,
    /// Posterior variance tilde beta_t = beta_t (1 - abar_{t-1}) / (1 - abar_t), abar_0 = 1.
    pub posterior_var: Vec<f64>,
}

impl Schedule {
    /// Builds a schedule of `t_max` steps.
    pub fn new(kind: ScheduleKind, t_max: usize) -> Result<Self> {
        if t_max < 2 {
            return Err(ModelError::Config(format!(
                "the schedule needs at least 2 timesteps (got T = {t_max})"
            )));
        }
        let betas: Vec<f64> = match kind {
            ScheduleKind::Linear { beta_1, beta_t } => {
                if !(0.0 < beta_1 && beta_1 <= beta_t && beta_t < 1.0) {
                    return Err(ModelError::Config(format!(
                        "linear schedule needs 0 < beta_1 <= beta_T < 1 (got {beta_1}, {beta_t})"
                    )));
                }
                (0..t_max)
                    .map(|i| beta_1 + (beta_t - beta_1) * i as f64 / (t_max - 1) as f64)
                    .collect()
            }
            ScheduleKind::Cosine { s, max_beta } => {
                if !(s >= 0.0 && 0.0 < max_beta && max_beta < 1.0) {
                    return Err(ModelError::Config(format!(
                        "cosine schedule needs s >= 0 and 0 < max_beta < 1 (got {s}, {max_beta})"
                    )));
                }
                let f = |t: f64| {
                    ((t / t_max as f64 + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2)
                        .cos()
                        .powi(2)
                };
                (1..=t_max)
                    .map(|t| (1.0 - f(t as f64) / f(t as f64 - 1.0)).min(max_beta))
                    .collect()
            }
        };
        let alphas: Vec<f64> = betas.iter().map(|b| 1.0 - b).collect();
        let (mut abar, mut one_minus_abar) = (Vec::with_capacity(t_max), Vec::with_capacity(t_max));
        let (mut acc, mut om) = (1.0, 0.0);
        for (a, b) in alphas.iter().zip(&betas) {
            om += acc * b;
            acc *= a;
            abar.push(acc);
            one_minus_abar.push(om);
        }
        let posterior_var = (0..t_max)
            .map(|i| {
                let prev = if i == 0 { 1.0 } else { abar[i - 1] };
                betas[i] * (1.0 - prev) / (1.0 - abar[i])
            })
            .collect();
        Ok(Self {
            kind,
            betas,
            alphas,
            abar,
            one_minus_abar,
            posterior_var,
        })
    }

    /// The linear schedule beta_t = beta_1 + (beta_T - beta_1)(t - 1)/(T - 1) with `t_max` steps.
    pub fn linear(beta_1: f64, beta_t: f64, t_max: usize) -> Result<Self> {
        Self::new(ScheduleKind::Linear { beta_1, beta_t }, t_max)
    }

    /// The schedule of Merger & Goldt (arXiv 2505.24769): beta from 1e-4 to 1e-2, T = 1000.
    pub fn merger_goldt() -> Self {
        Self::linear(1e-4, 1e-2, 1000).expect("valid constants")
    }

    /// The noise level (abar_t, exact 1 - abar_t) at index `i`.
    pub fn level(&self, i: usize) -> NoiseLevel {
        NoiseLevel {
            abar: self.abar[i],
            one_minus_abar: self.one_minus_abar[i],
        }
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

    /// Number of timesteps T.
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Always false: a schedule has at least two steps.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }

    /// Signal-to-noise ratio abar_t / (1 - abar_t) at index `i`.
    pub fn snr(&self, i: usize) -> f64 {
        self.abar[i] / (1.0 - self.abar[i])
    }

    /// Copies the tables to `device` as f32 tensors.
    pub fn to_device(&self, device: &Device) -> DeviceSchedule {
        let t = |v: Vec<f64>| {
            let n = v.len();
            Tensor::<1>::from_data(
                TensorData::new(v.into_iter().map(|x| x as f32).collect::<Vec<f32>>(), [n]),
                device,
            )
        };
        DeviceSchedule {
            sqrt_abar: t(self.abar.iter().map(|a| a.sqrt()).collect()),
            sqrt_one_minus_abar: t(self.abar.iter().map(|a| (1.0 - a).sqrt()).collect()),
            snr: t((0..self.len()).map(|i| self.snr(i)).collect()),
        }
    }
}

/// The noise level of one timestep: abar_t and 1 - abar_t, the latter kept separately so that
/// it stays exact where abar_t is close to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseLevel {
    /// abar_t.
    pub abar: f64,
    /// 1 - abar_t.
    pub one_minus_abar: f64,
}

impl NoiseLevel {
    /// The level of a bare abar, with 1 - abar computed directly.
    pub fn from_abar(abar: f64) -> Self {
        Self {
            abar,
            one_minus_abar: 1.0 - abar,
        }
    }
}

/// Per-timestep coefficients on the device, gathered per sample without reading back.
/// Plain tensors (not parameters): never trained, averaged by EMA or saved.
#[derive(Clone, Debug)]
pub struct DeviceSchedule {
    /// sqrt(abar_t).
    pub sqrt_abar: Tensor<1>,
    /// sqrt(1 - abar_t).
    pub sqrt_one_minus_abar: Tensor<1>,
    /// abar_t / (1 - abar_t).
    pub snr: Tensor<1>,
}

impl DeviceSchedule {
    /// Gathers `table[t_b]` for each sample, shaped `[batch, 1]` for broadcasting.
    pub fn gather(table: &Tensor<1>, t: Tensor<1, Int>) -> Tensor<2> {
        let b = t.dims()[0];
        table.clone().select(0, t).reshape([b, 1])
    }
}

/// A schedule's host tables with their device copies: what the exact denoisers read (the
/// [`crate::Diffusion`] of a run provides both).
pub trait ScheduleTables {
    /// Host tables in float64.
    fn host(&self) -> &Schedule;
    /// Device tables.
    fn device(&self) -> &DeviceSchedule;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_matches_closed_form_at_every_t() {
        let s = Schedule::new(
            ScheduleKind::Linear {
                beta_1: 1e-4,
                beta_t: 0.02,
            },
            1000,
        )
        .unwrap();
        // Independent computation: abar_t = exp(sum log(1 - beta_s)).
        let mut log_sum = 0.0f64;
        for t in 1..=1000usize {
            let beta = 1e-4 + (0.02 - 1e-4) * (t - 1) as f64 / 999.0;
            log_sum += (1.0 - beta).ln();
            let i = t - 1;
            assert!((s.betas[i] - beta).abs() < 1e-15);
            assert!((s.abar[i] - log_sum.exp()).abs() < 1e-12 * s.abar[i].max(1e-300) + 1e-15);
            let prev = if t == 1 {
                1.0
            } else {
                (log_sum - (1.0 - beta).ln()).exp()
            };
            let post = beta * (1.0 - prev) / (1.0 - log_sum.exp());
            assert!((s.posterior_var[i] - post).abs() < 1e-12);
        }
        assert_eq!(s.posterior_var[0], 0.0);
        // Known value: abar_T of the Ho et al. schedule is about 4.04e-5.
        assert!((s.abar[999] - 4.035e-5).abs() < 1e-7, "{}", s.abar[999]);
    }

    #[test]
    fn theory_schedule_endpoints() {
        let s = Schedule::new(
            ScheduleKind::Linear {
                beta_1: 1e-4,
                beta_t: 1e-2,
            },
            1000,
        )
        .unwrap();
        assert!((s.betas[0] - 1e-4).abs() < 1e-18 && (s.betas[999] - 1e-2).abs() < 1e-15);
        // abar_T = exp(sum ln(1-beta)) ~ exp(-T * mean beta) = exp(-5.05) roughly.
        assert!(s.abar[999] > 5e-3 && s.abar[999] < 7e-3, "{}", s.abar[999]);
    }

    #[test]
    fn cosine_matches_closed_form_and_is_not_degenerate() {
        let (sh, t_max) = (0.008, 1000usize);
        let s = Schedule::new(
            ScheduleKind::Cosine {
                s: sh,
                max_beta: 0.999,
            },
            t_max,
        )
        .unwrap();
        let f = |t: f64| {
            ((t / t_max as f64 + sh) / (1.0 + sh) * std::f64::consts::PI / 2.0)
                .cos()
                .powi(2)
        };
        // Away from the clamp, abar_t equals f(t)/f(0) exactly (the product telescopes).
        for t in 1..=990 {
            let want = f(t as f64) / f(0.0);
            assert!((s.abar[t - 1] - want).abs() < 1e-9, "t={t}");
        }
        assert!(s.betas.iter().all(|&b| b > 0.0 && b <= 0.999));
        assert!(
            s.betas[0] < 1e-4,
            "cosine starts with tiny beta: {}",
            s.betas[0]
        );
        assert_eq!(s.betas[t_max - 1], 0.999, "last beta is clamped");
        assert!(
            s.abar.windows(2).all(|w| w[1] < w[0]),
            "abar strictly decreasing"
        );
        assert!(s.abar[t_max - 1] < 1e-6 && s.abar[t_max - 1] > 0.0);
    }

    #[test]
    fn rejects_bad_parameters() {
        let bad = ScheduleKind::Linear {
            beta_1: 0.1,
            beta_t: 0.01,
        };
        assert!(Schedule::new(bad, 10).is_err());
        assert!(Schedule::new(ScheduleKind::default(), 1).is_err());
    }

    #[test]
    fn abar_and_its_complement_are_consistent() {
        let s = Schedule::merger_goldt();
        assert_eq!(s.len(), 1000);
        assert_eq!(s.one_minus_abar[0], 1e-4);
        assert!((s.betas[999] - 1e-2).abs() < 1e-15);
        let direct: f64 = s.betas.iter().map(|b| 1.0 - b).product();
        assert!((s.abar[999] - direct).abs() < 1e-15);
        for i in 0..s.len() {
            assert!((s.abar[i] + s.one_minus_abar[i] - 1.0).abs() < 1e-14);
            assert_eq!(s.level(i).one_minus_abar, s.one_minus_abar[i]);
        }
        let t = s.step_at_ve_sigma2(1.0).unwrap();
        assert!(s.c(t - 1) >= 1.0 && s.c(t - 2) < 1.0);
        assert_eq!(s.step_at_ou_time(0.0), Some(1));
        assert_eq!(s.step_at_ou_time(100.0), None);
    }

    #[test]
    fn device_gather_picks_per_sample_values() {
        let device = Device::flex();
        let s = Schedule::new(ScheduleKind::default(), 100).unwrap();
        let ds = s.to_device(&device);
        let t = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 99, 50], [3]), &device);
        let g = DeviceSchedule::gather(&ds.sqrt_abar, t)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (got, i) in g.iter().zip([0usize, 99, 50]) {
            assert!((*got as f64 - s.abar[i].sqrt()).abs() < 1e-6);
        }
    }
}
