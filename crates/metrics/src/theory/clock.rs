//! The clock of a trained run: the runs train with Adam, not gradient flow, so flow time is not
//! lr * step. ONE scale c maps a snapshot's step to flow time, tau = c * step, fitted by least
//! squares on the log of the held-out loss:
//!
//!   c_hat = argmin_c sum_k [ln L_meas(s_k) - ln L_theory(c s_k)]^2,
//!
//! a 1-D search: a log-spaced grid of c, then golden-section refinement (Kiefer 1953) in log c
//! around the best grid point.

use crate::error::{MetricsError, Result};
use serde::Serialize;

/// Grid points of the coarse search.
const GRID: usize = 241;
/// Golden-section iterations (the bracket shrinks by 0.618 each).
const GOLDEN_ITERS: usize = 60;

/// A fitted clock scale.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClockFit {
    /// tau = c * step.
    pub c: f64,
    /// Root-mean-square of ln L_meas - ln L_theory at the fit (0: a perfect match).
    pub rms_log_error: f64,
    /// The best c lies at an end of the searched range: the data do not pin c down (a flat
    /// curve, or a clock outside the range).
    pub at_bound: bool,
    /// Snapshots used (finite, positive measured losses).
    pub points: usize,
}

/// Fits c over `[c_lo, c_hi]` to the `measured` losses at `steps`; `predict(tau)` is the theory
/// loss at flow time tau.
pub fn fit_clock(
    steps: &[f64],
    measured: &[f64],
    c_range: (f64, f64),
    mut predict: impl FnMut(f64) -> Result<f64>,
) -> Result<ClockFit> {
    let pts: Vec<(f64, f64)> = steps
        .iter()
        .zip(measured)
        .filter(|(s, m)| s.is_finite() && **s > 0.0 && m.is_finite() && **m > 0.0)
        .map(|(s, m)| (*s, m.ln()))
        .collect();
    let (lo, hi) = c_range;
    if pts.is_empty() || !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Err(MetricsError::Invalid(format!(
            "clock fit needs a positive finite loss at a positive step and 0 < c_lo < c_hi \
             ({} points, range [{lo}, {hi}])",
            pts.len()
        )));
    }
    let mut sse = |log_c: f64| -> Result<f64> {
        let c = log_c.exp();
        let mut s = 0.0;
        for &(step, lm) in &pts {
            let p = predict(c * step)?;
            s += (lm - p.max(f64::MIN_POSITIVE).ln()).powi(2);
        }
        Ok(s)
    };
    let (a, b) = (lo.ln(), hi.ln());
    let h = (b - a) / (GRID - 1) as f64;
    let mut best = (0, f64::INFINITY);
    for k in 0..GRID {
        let v = sse(a + h * k as f64)?;
        if v < best.1 {
            best = (k, v);
        }
    }
    let at_bound = best.0 == 0 || best.0 == GRID - 1;
    // Golden section on the bracket around the best grid point.
    let (mut x0, mut x1) = (
        a + h * best.0.saturating_sub(1) as f64,
        a + h * (best.0 + 1).min(GRID - 1) as f64,
    );
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut u, mut w) = (x1 - g * (x1 - x0), x0 + g * (x1 - x0));
    let (mut fu, mut fw) = (sse(u)?, sse(w)?);
    for _ in 0..GOLDEN_ITERS {
        if fu < fw {
            x1 = w;
            (w, fw) = (u, fu);
            u = x1 - g * (x1 - x0);
            fu = sse(u)?;
        } else {
            x0 = u;
            (u, fu) = (w, fw);
            w = x0 + g * (x1 - x0);
            fw = sse(w)?;
        }
    }
    let (log_c, v) = [(u, fu), (w, fw), (a + h * best.0 as f64, best.1)]
        .into_iter()
        .min_by(|p, q| p.1.total_cmp(&q.1))
        .expect("three candidates");
    Ok(ClockFit {
        c: log_c.exp(),
        rms_log_error: (v / pts.len() as f64).sqrt(),
        at_bound,
        points: pts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::curves::{CurveConfig, Truth, flow_curve};
    use super::super::overlay::FlowOverlay;
    use super::*;
    use diffmem_model::Schedule;

    /// A measured curve made by `flow_curve` itself at tau = c * step: the fit through
    /// [`FlowOverlay`] (a separate evaluation path) recovers c.
    #[test]
    fn recovers_a_known_clock_from_flow_curve() {
        let spectrum: Vec<f64> = (1..=6).map(|k| 2.0 / k as f64).collect();
        let truth = Truth::from_spectrum(&spectrum).unwrap();
        let schedule = Schedule::linear(1e-3, 2e-2, 80).unwrap();
        let config = CurveConfig {
            schedule: schedule.clone(),
            lambda: 0.0,
            last_step_noise: true,
            seeds: 1,
            base_seed: 5,
        };
        let steps = [10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0];
        let overlay = FlowOverlay::new(
            truth.clone(),
            truth.training_set(4, 5).unwrap(),
            schedule,
            (0..80).collect(),
        )
        .unwrap();
        for c_true in [0.0037, 0.37, 12.0] {
            let taus: Vec<f64> = steps.iter().map(|s| c_true * s).collect();
            let pts = flow_curve(&truth, 4, &taus, &config).unwrap();
            let measured: Vec<f64> = pts.iter().map(|p| p.stats.test_loss.mean).collect();
            let fit = fit_clock(&steps, &measured, (1e-6, 1e4), |tau| {
                Ok(overlay.losses(tau)?.test_loss)
            })
            .unwrap();
            assert!((fit.c / c_true - 1.0).abs() < 1e-4, "{c_true}: {fit:?}");
            assert!(fit.rms_log_error < 1e-6 && !fit.at_bound && fit.points == 8);
        }
    }

    #[test]
    fn noisy_curve_gives_a_nearby_clock_and_flat_curve_hits_the_bound() {
        // L(tau) = 1 + 1/(1 + tau) measured at tau = 2 step, with +-2% alternating noise.
        let theory = |tau: f64| Ok(1.0 + 1.0 / (1.0 + tau));
        let steps: Vec<f64> = (0..10).map(|k| 2f64.powi(k) * 0.1).collect();
        let measured: Vec<f64> = steps
            .iter()
            .enumerate()
            .map(|(k, s)| theory(2.0 * s).unwrap() * if k % 2 == 0 { 1.02 } else { 0.98 })
            .collect();
        let fit = fit_clock(&steps, &measured, (1e-3, 1e3), theory).unwrap();
        assert!((fit.c / 2.0 - 1.0).abs() < 0.1, "{fit:?}");
        assert!((fit.rms_log_error - 0.02).abs() < 0.01, "{fit:?}");
        // A measured curve that has already converged says nothing about c.
        let flat = vec![1.0; steps.len()];
        let fit = fit_clock(&steps, &flat, (1e-3, 1e3), theory).unwrap();
        assert!(fit.at_bound, "{fit:?}");
        assert!(fit_clock(&steps, &[f64::NAN; 10], (1e-3, 1e3), theory).is_err());
    }
}
