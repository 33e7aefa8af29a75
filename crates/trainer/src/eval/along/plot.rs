//! The plots of `eval --along-training`: `dynamics.png` (R_mem, the agreements and the MIA AUC
//! against the step, log axis) and `dynamics_loss.png` (train and held-out loss against the
//! step, with the linear theory dashed).

use super::args::DynamicsArgs;
use super::rows::{Curve, Row, WeightKind};
use super::theory::{Theory, TheoryPoint};
use crate::eval::score_agreement::ScoreAgreement;
use anyhow::Result;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use std::path::Path;

/// A vertical marker at the time `time(curve)` (named `name`) of each non-EMA curve that has
/// one, spanning `range`.
pub fn time_markers(
    curves: &[Curve],
    name: &str,
    time: impl Fn(&Curve) -> Option<f64>,
    range: (f64, f64),
) -> Vec<Series> {
    curves
        .iter()
        .filter(|c| c.kind != WeightKind::Ema)
        .filter_map(|c| {
            let t = time(c)?;
            let label = format!("{name} ({}) = {t:.0}", c.kind);
            Some(marker(label, t, range.0, range.1))
        })
        .collect()
}

/// [`time_markers`] at tau_gen.
pub fn tau_gen_markers(curves: &[Curve], range: (f64, f64)) -> Vec<Series> {
    time_markers(curves, "tau_gen", |c| c.tau_gen.map(|t| t as f64), range)
}

/// A vertical dashed marker at `x` from `lo` to `hi`.
pub fn marker(label: String, x: f64, lo: f64, hi: f64) -> Series {
    Series::new(label, vec![x, x], vec![lo, hi]).as_dashed()
}

/// `(x, y)` of a field over a curve's rows, where present.
pub fn xy(c: &Curve, f: impl Fn(&Row) -> Option<f64>) -> (Vec<f64>, Vec<f64>) {
    c.rows
        .iter()
        .filter_map(|r| f(r).map(|v| (r.step as f64, v)))
        .unzip()
}

/// `dynamics.png`: R_mem of each curve with its bootstrap band (EMA dashed), tau_mem, the
/// threshold, the sample and score agreements with their peak, and the membership-inference
/// AUC.
pub fn memorisation(out: &Path, curves: &[Curve], args: &DynamicsArgs) -> Result<()> {
    let mut series = Vec::new();
    for c in curves {
        let (x, y) = xy(c, |r| r.r_mem);
        if x.is_empty() {
            continue;
        }
        let lo = c.rows.iter().filter_map(|r| r.r_mem_interval?.lo).collect();
        let hi = c.rows.iter().filter_map(|r| r.r_mem_interval?.hi).collect();
        let s = Series::new(format!("R_mem ({}, 95% bootstrap)", c.kind), x, y).with_band(lo, hi);
        series.push(if c.kind == WeightKind::Ema {
            s.as_dashed()
        } else {
            s
        });
        if let Some(t) = c.tau_mem {
            series.push(marker(
                format!("tau_mem ({}) = {t:.0}", c.kind),
                t,
                0.0,
                1.0,
            ));
        }
    }
    for c in curves.iter().filter(|c| c.kind != WeightKind::Ema) {
        series.extend(agreement_series(c));
    }
    let (x0, x1) = step_range(curves);
    series.push(
        Series::new(
            format!("threshold {}", args.tau_mem_threshold),
            vec![x0, x1],
            vec![args.tau_mem_threshold; 2],
        )
        .as_dashed(),
    );
    line_plot(
        &out.join("dynamics.png"),
        &PlotSpec {
            log_x: true,
            ..PlotSpec::new(
                "Memorisation along training",
                "training step",
                "fraction / cosine / AUC",
            )
        },
        &series,
    )?;
    Ok(())
}

/// The sample and held-out score agreements, the membership-inference AUC and the markers of
/// the score-agreement peak and the lowest held-out loss of one curve.
fn agreement_series(c: &Curve) -> Vec<Series> {
    let mut series = Vec::new();
    let (x, y) = xy(c, |r| r.agree);
    if !x.is_empty() {
        series.push(Series::new(format!("sample agreement ({})", c.kind), x, y));
    }
    let (x, y) = xy(c, |r| r.score.as_ref().map(ScoreAgreement::heldout_mean));
    if !x.is_empty() {
        series.push(Series::new(
            format!("score agreement, held-out ({})", c.kind),
            x,
            y,
        ));
    }
    let (x, y) = xy(c, |r| r.mia_auc);
    if !x.is_empty() {
        series.push(Series::new(
            format!("membership-inference AUC, best t ({})", c.kind),
            x,
            y,
        ));
    }
    if let Some(p) = c.score_peak_step {
        series.push(marker(
            format!("score agreement peak = {p}"),
            p as f64,
            0.0,
            1.0,
        ));
    }
    if let Some(b) = c.best_heldout_step.filter(|_| c.score_peak_step.is_some()) {
        series.push(marker(
            format!("lowest held-out loss = {b}"),
            b as f64,
            0.0,
            1.0,
        ));
    }
    series
}

/// The smallest and largest step of the curves.
pub fn step_range(curves: &[Curve]) -> (f64, f64) {
    let steps = curves
        .iter()
        .flat_map(|c| c.rows.iter().map(|r| r.step as f64));
    let lo = steps.clone().fold(f64::INFINITY, f64::min);
    let hi = steps.fold(0.0, f64::max);
    (lo, hi)
}

/// `dynamics_loss.png`: train and held-out loss of each curve with tau_gen and tau_mem, and
/// the gradient-flow theory at the fitted clock dashed (a `linear` run on Gaussian data).
pub fn loss(out: &Path, curves: &[Curve], theory: Option<&Theory>) -> Result<()> {
    let mut series = Vec::new();
    let mut range = (f64::INFINITY, 0f64);
    for c in curves {
        for (name, f) in [
            ("train", (|r: &Row| r.train_loss) as fn(&Row) -> Option<f64>),
            ("held-out", |r: &Row| r.heldout_loss),
        ] {
            let (x, y) = xy(c, f);
            range = y.iter().fold(range, |(a, b), &v| (a.min(v), b.max(v)));
            let s = Series::new(format!("{name} loss ({})", c.kind), x, y);
            series.push(if c.kind == WeightKind::Ema {
                s.as_dashed()
            } else {
                s
            });
        }
    }
    if series.iter().all(|s| s.x.is_empty()) {
        return Ok(());
    }
    if let Some(t) = theory {
        let x: Vec<f64> = t.dense.iter().map(|p| p.step).collect();
        for (name, f) in [
            (
                "held-out",
                (|p: &TheoryPoint| p.loss.test_loss) as fn(&TheoryPoint) -> f64,
            ),
            ("train", |p: &TheoryPoint| p.loss.train_loss),
        ] {
            let y: Vec<f64> = t.dense.iter().map(f).collect();
            range = y.iter().fold(range, |(a, b), &v| (a.min(v), b.max(v)));
            series.push(
                Series::new(
                    format!("theory {name} (flow, tau = {:.3e} step)", t.fit.c),
                    x.clone(),
                    y,
                )
                .as_dashed(),
            );
        }
    }
    series.extend(tau_gen_markers(curves, range));
    series.extend(time_markers(curves, "tau_mem", |c| c.tau_mem, range));
    line_plot(
        &out.join("dynamics_loss.png"),
        &PlotSpec {
            log_x: true,
            log_y: true,
            ..PlotSpec::new(
                "Denoising loss along training (same noise draws)",
                "training step",
                "eps MSE per coordinate (mean over t)",
            )
        },
        &series,
    )?;
    Ok(())
}
