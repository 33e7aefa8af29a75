//! The linear theory along training time: for a `linear` run on synthetic
//! Gaussian data, the gradient-flow prediction (`diffmem theory flow`; Merger & Goldt, arXiv
//! 2505.24769) of the held-out and training loss, and of the KL of the sampled distribution,
//! laid over the measured snapshots. The theory uses the run's OWN training rows, its schedule
//! and its loss grid. The runs train with Adam, so flow time is not lr * step: one clock scale
//! c (tau = c * step) is fitted by least squares on the log held-out loss of the default curve
//! (`diffmem_metrics::theory::clock`). Writes `dynamics_theory.csv`.

use super::args::DynamicsInputs;
use super::rows::{Curve, WeightKind};
use crate::eval::gaussian;
use crate::eval::paired::PairedRows;
use crate::io::csv::{number, write_csv};
use crate::run::LoadedRun;
use anyhow::Result;
use diffmem_metrics::theory::clock::{ClockFit, fit_clock};
use diffmem_metrics::theory::curves::log_space;
use diffmem_metrics::theory::divergence::wishart_expected_kl;
use diffmem_metrics::theory::overlay::{FlowOverlay, FlowPrediction};
use diffmem_metrics::theory::{GaussianMoments, Truth};
use diffmem_model::{DdpmVariance, ModelSpec, SamplerConfig};
use serde_json::{Value, json};
use std::path::Path;

/// Points of the dense theory curve drawn between the first and the last snapshot.
const DENSE: usize = 60;
/// The searched clock scales: flow times from 1e-6 at the last snapshot to 1e7 at the first.
const TAU_RANGE: (f64, f64) = (1e-6, 1e7);

/// The theory at one step.
#[derive(Clone, Debug)]
pub struct TheoryPoint {
    /// Optimisation step.
    pub step: f64,
    /// Flow time c * step.
    pub tau: f64,
    /// Predicted losses.
    pub loss: FlowPrediction,
    /// Predicted KL of the DDPM samples (None: not a DDPM sampler with sigma^2 = beta).
    pub kl: Option<f64>,
}

/// The theory overlay of one run.
pub struct Theory {
    /// The fitted clock.
    pub fit: ClockFit,
    /// The curve the clock was fitted on (`raw`, or `ema` without raw weights).
    pub kind: WeightKind,
    /// The theory at every snapshot step of that curve.
    pub at_snapshots: Vec<TheoryPoint>,
    /// The theory on a dense log grid of steps (for the figures).
    pub dense: Vec<TheoryPoint>,
    /// RMS of ln(measured KL / theory KL) over the snapshots where both are finite.
    pub kl_rms_log_error: Option<f64>,
    /// Expected KL of a Gaussian fitted to M exact samples (the sampling floor of the measured
    /// KL; None for M <= d).
    pub kl_floor: Option<f64>,
}

impl Theory {
    /// The headline line: the fitted clock and how far the measurement is from the theory.
    pub fn headline(v: &Value) -> Option<String> {
        let c = v["c"].as_f64()?;
        let kl = v["kl_rms_log_error"].as_f64().map_or(String::new(), |e| {
            format!(", rms |ln(KL / theory KL)| = {e:.3}")
        });
        Some(format!(
            "linear theory ({} weights): clock fitted, c = {c:.4e} (tau = c * step); \
             rms |ln(held-out loss / theory)| = {:.3} over {} snapshots{kl}",
            v["fitted_on"].as_str().unwrap_or(""),
            v["rms_log_error"].as_f64().unwrap_or(f64::NAN),
            v["points"]
        ))
    }

    /// The `theory` entry of metrics.json.
    pub fn json(&self) -> Value {
        json!({
            "model": "gradient flow of the linear denoiser from W = 0 on the run's training rows (arXiv 2505.24769)",
            "clock": "tau = c * step, c fitted by least squares on ln(held-out loss)",
            "fitted_on": self.kind.name(),
            "c": self.fit.c,
            "rms_log_error": self.fit.rms_log_error,
            "at_bound": self.fit.at_bound,
            "points": self.fit.points,
            "kl_rms_log_error": self.kl_rms_log_error,
            "kl_sampling_floor": self.kl_floor,
        })
    }
}

/// Whether the theory covers `r`: a `linear` run on data with a known Gaussian truth (not a
/// mixture).
pub fn applies(r: &LoadedRun) -> bool {
    matches!(r.cfg.model, ModelSpec::Linear(_))
        && r.train
            .truth
            .as_ref()
            .is_some_and(|t| t.not_gaussian().is_none())
}

/// The theory overlay of `r`'s default curve, written to `dynamics_theory.csv` (the fitted
/// clock is printed by `dynamics::record` from metrics.json); None when the theory does not
/// apply, no held-out loss was measured, or the theory fails on this truth (a warning: the
/// measured curves stand without it).
pub fn overlay(
    r: &LoadedRun,
    inp: &DynamicsInputs<'_>,
    curves: &[Curve],
) -> Result<Option<Theory>> {
    match compute(r, inp, curves) {
        Ok(t) => Ok(t),
        Err(e) => {
            eprintln!("warning: the linear theory along training is skipped: {e:#}");
            Ok(None)
        }
    }
}

/// The overlay, or the error that stopped it.
fn compute(r: &LoadedRun, inp: &DynamicsInputs<'_>, curves: &[Curve]) -> Result<Option<Theory>> {
    let Some(curve) = curves.first().filter(|_| applies(r)) else {
        return Ok(None);
    };
    let measured: Vec<(f64, f64)> = curve
        .rows
        .iter()
        .filter_map(|row| Some((row.step as f64, row.heldout_loss?)))
        .collect();
    if measured.is_empty() {
        eprintln!(
            "note: the linear theory along training needs the held-out loss (--metrics loss)"
        );
        return Ok(None);
    }
    let d = r.train.dim();
    let truth = Truth::new(gaussian::true_gaussian(&r.train, "the linear theory")?)?;
    let train = GaussianMoments::from_samples(&r.train.samples, d)?;
    let grid = PairedRows::of_run(r, inp.loss_points, inp.loss_rows).grid();
    let ov = FlowOverlay::new(truth, train, r.diffusion.schedule.clone(), grid)?;
    let (steps, losses): (Vec<f64>, Vec<f64>) = measured.iter().copied().unzip();
    let (s_lo, s_hi) = (steps[0], steps[steps.len() - 1]);
    let fit = fit_clock(
        &steps,
        &losses,
        (TAU_RANGE.0 / s_hi, TAU_RANGE.1 / s_lo),
        |tau| Ok(ov.losses(tau)?.test_loss),
    )?;
    let last_noise = match inp.section.sampler {
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            last_noise,
        } => Some(last_noise),
        _ => None,
    };
    let point = |step: f64| -> Result<TheoryPoint> {
        let tau = fit.c * step;
        Ok(TheoryPoint {
            step,
            tau,
            loss: ov.losses(tau)?,
            kl: last_noise.map(|l| ov.kl(tau, l)).transpose()?,
        })
    };
    let at_snapshots = curve
        .rows
        .iter()
        .map(|row| point(row.step as f64))
        .collect::<Result<Vec<_>>>()?;
    let dense = log_space(s_lo, s_hi.max(s_lo), DENSE)?
        .into_iter()
        .map(point)
        .collect::<Result<Vec<_>>>()?;
    let log_errors: Vec<f64> = curve
        .rows
        .iter()
        .zip(&at_snapshots)
        .filter_map(|(row, p)| Some((row.kl_samples? / p.kl?).ln()))
        .filter(|e| e.is_finite())
        .collect();
    let kl_rms_log_error = (!log_errors.is_empty())
        .then(|| (log_errors.iter().map(|e| e * e).sum::<f64>() / log_errors.len() as f64).sqrt());
    let theory = Theory {
        fit,
        kind: curve.kind,
        at_snapshots,
        dense,
        kl_rms_log_error,
        kl_floor: wishart_expected_kl(d, inp.section.num),
    };
    write(inp.out, curve, &theory)?;
    if fit.at_bound {
        eprintln!(
            "warning: the fitted clock lies at the end of the searched range: the held-out loss \
             does not pin it down (already converged at the first snapshot, or not yet moving)"
        );
    }
    Ok(Some(theory))
}

/// `dynamics_theory.csv`: per snapshot of the fitted curve, measured beside predicted.
fn write(out: &Path, curve: &Curve, t: &Theory) -> Result<()> {
    let opt = |x: Option<f64>| x.map_or(String::new(), number);
    let rows: Vec<Vec<String>> = curve
        .rows
        .iter()
        .zip(&t.at_snapshots)
        .map(|(row, p)| {
            vec![
                row.step.to_string(),
                row.kind.to_string(),
                number(t.fit.c),
                number(p.tau),
                opt(row.heldout_loss),
                number(p.loss.test_loss),
                opt(row.train_loss),
                number(p.loss.train_loss),
                opt(row.kl_samples),
                opt(p.kl),
            ]
        })
        .collect();
    write_csv(
        &out.join("dynamics_theory.csv"),
        &[
            "step",
            "weights",
            "clock_c",
            "tau",
            "heldout_loss",
            "theory_heldout_loss",
            "train_loss",
            "theory_train_loss",
            "kl_samples",
            "theory_kl",
        ],
        &rows,
    )
}
