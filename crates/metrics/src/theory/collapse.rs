//! Collapse and speciation times (Biroli, Bonnaire, de Bortoli & Mézard, "Dynamical regimes of
//! diffusion models", arXiv 2402.18491; docs/theory.md §3).
//!
//! Ornstein-Uhlenbeck time t with abar = e^{-2t}, Delta_t = 1 - e^{-2t}. The empirical score
//! collapses onto the training points when the entropy of the noised data exceeds that of one
//! noise Gaussian by no more than ln N. For Gaussian data with spectrum lambda_i this excess
//! entropy is
//!
//!   f(t) = 1/2 sum_i ln(1 + lambda_i e^{-2t} / Delta_t),
//!
//! and t_C solves f(t_C) = ln N. For isotropic data (lambda_i = sigma^2, alpha = ln N / d) this
//! gives t_C = 1/2 ln(1 + sigma^2 / (e^{2 alpha} - 1)). Speciation: t_S = 1/2 ln(Lambda_max).

use crate::error::{MetricsError, Result};
use diffmem_model::Schedule;
use serde::Serialize;

/// Excess entropy f(t) = 1/2 sum_i ln(1 + lambda_i / (e^{2t} - 1)) of the noised data over one
/// noise Gaussian (module docs), written with e^{-2t}/Delta_t = 1/(e^{2t} - 1).
pub fn excess_entropy(spectrum: &[f64], t: f64) -> f64 {
    let r = 1.0 / (2.0 * t).exp_m1();
    0.5 * spectrum.iter().map(|l| (l * r).ln_1p()).sum::<f64>()
}

/// Isotropic closed form t_C = 1/2 ln(1 + sigma^2 / (e^{2 alpha} - 1)), alpha = ln N / d.
pub fn collapse_time_isotropic(sigma2: f64, n: f64, d: usize) -> f64 {
    let alpha = n.ln() / d as f64;
    0.5 * (sigma2 / (2.0 * alpha).exp_m1()).ln_1p()
}

/// t_C for any spectrum: the root of f(t) = ln N, by bisection in ln t (f decreases from
/// +infinity to 0). Needs N >= 2 and a spectrum with some positive variance.
pub fn collapse_time(spectrum: &[f64], n: f64) -> Result<f64> {
    if n.is_nan()
        || n < 2.0
        || !spectrum.iter().any(|&l| l > 0.0)
        || spectrum.iter().any(|l| l.is_nan() || *l < 0.0)
    {
        return Err(MetricsError::Invalid(format!(
            "collapse time needs N >= 2 and variances >= 0, not all zero (N = {n})"
        )));
    }
    let target = n.ln();
    let (mut lo, mut hi) = (-80.0_f64, 10.0_f64);
    for _ in 0..300 {
        let mid = 0.5 * (lo + hi);
        if excess_entropy(spectrum, mid.exp()) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok((0.5 * (lo + hi)).exp())
}

/// Speciation time t_S = 1/2 ln(Lambda_max), Lambda_max the largest eigenvalue of the data
/// covariance (negative when Lambda_max < 1: no speciation during the process).
pub fn speciation_time(lambda_max: f64) -> f64 {
    0.5 * lambda_max.ln()
}

/// Collapse and speciation times for one training-set size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CollapseTimes {
    /// Training-set size N.
    pub n: usize,
    /// alpha = ln N / d.
    pub alpha: f64,
    /// Collapse time t_C (OU time).
    pub t_collapse: f64,
    /// Speciation time t_S (OU time).
    pub t_speciation: f64,
    /// DDPM step where the OU time first reaches t_C (None if beyond T).
    pub ddpm_collapse: Option<usize>,
    /// DDPM step where the OU time first reaches t_S (None if t_S <= 0 or beyond T).
    pub ddpm_speciation: Option<usize>,
}

/// Collapse and speciation times of Gaussian data with `spectrum` for each N in `ns`; the
/// isotropic closed form is used when all variances are equal, the root of the definition
/// otherwise. DDPM steps from `schedule` (abar_t = e^{-2 t_OU}).
pub fn collapse_times(
    spectrum: &[f64],
    ns: &[usize],
    schedule: &Schedule,
) -> Result<Vec<CollapseTimes>> {
    let d = spectrum.len();
    let lambda_max = spectrum.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let isotropic = spectrum.iter().all(|&l| l == lambda_max);
    let t_s = speciation_time(lambda_max);
    ns.iter()
        .map(|&n| {
            let nf = n as f64;
            let t_c = if isotropic && n >= 2 && lambda_max > 0.0 {
                collapse_time_isotropic(lambda_max, nf, d)
            } else {
                collapse_time(spectrum, nf)?
            };
            Ok(CollapseTimes {
                n,
                alpha: nf.ln() / d as f64,
                t_collapse: t_c,
                t_speciation: t_s,
                ddpm_collapse: schedule.step_at_ou_time(t_c),
                ddpm_speciation: if t_s > 0.0 {
                    schedule.step_at_ou_time(t_s)
                } else {
                    None
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotropic_closed_form_solves_the_definition() {
        for (sigma2, n, d) in [(1.0, 1000.0, 100), (4.0, 50.0, 10), (0.5, 1e6, 30)] {
            let closed = collapse_time_isotropic(sigma2, n, d);
            let root = collapse_time(&vec![sigma2; d], n).unwrap();
            assert!((closed / root - 1.0).abs() < 1e-10, "{closed} vs {root}");
            assert!((excess_entropy(&vec![sigma2; d], closed) - n.ln()).abs() < 1e-9);
        }
    }

    #[test]
    fn more_data_collapses_later_in_the_reverse_process() {
        let sch = Schedule::merger_goldt();
        let spec: Vec<f64> = (1..=20).map(|k| 20.0 / k as f64).collect();
        let rows = collapse_times(&spec, &[10, 100, 10_000], &sch).unwrap();
        assert!(rows[0].t_collapse > rows[1].t_collapse && rows[1].t_collapse > rows[2].t_collapse);
        assert!((rows[0].t_speciation - 0.5 * 20f64.ln()).abs() < 1e-15);
        let iso = collapse_times(&[2.0; 5], &[100], &sch).unwrap();
        assert!((iso[0].t_collapse - collapse_time_isotropic(2.0, 100.0, 5)).abs() < 1e-15);
        assert!(collapse_time(&[0.0, 0.0], 10.0).is_err());
    }
}
