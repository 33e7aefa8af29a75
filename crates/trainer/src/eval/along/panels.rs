//! The optional figures of `eval --along-training`: `dynamics_quality.png` (the FWD of each
//! snapshot's samples against the held-out set, with its real-vs-real floor and tau_gen) and
//! `dynamics_kl.png` (the KL of the samples' Gaussian fit to the truth, with the linear
//! theory's KL dashed and the sampling floor of the fit). Each is written only when its metric
//! was measured.

use super::plot::{step_range, tau_gen_markers, xy};
use super::rows::{Curve, WeightKind};
use super::theory::Theory;
use anyhow::Result;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use std::path::Path;

/// A horizontal dashed line at `y` across the steps of `curves`.
fn level(label: String, curves: &[Curve], y: f64) -> Series {
    let (x0, x1) = step_range(curves);
    Series::new(label, vec![x0, x1], vec![y, y]).as_dashed()
}

/// The measured series of `f` for every curve (EMA dashed), and the range of their values.
fn measured(
    curves: &[Curve],
    name: &str,
    f: fn(&super::rows::Row) -> Option<f64>,
) -> (Vec<Series>, (f64, f64)) {
    let mut range = (f64::INFINITY, 0f64);
    let mut series = Vec::new();
    for c in curves {
        let (x, y) = xy(c, |r| f(r).filter(|v| v.is_finite() && *v > 0.0));
        if x.is_empty() {
            continue;
        }
        range = y.iter().fold(range, |(a, b), &v| (a.min(v), b.max(v)));
        let s = Series::new(format!("{name} ({})", c.kind), x, y);
        series.push(if c.kind == WeightKind::Ema {
            s.as_dashed()
        } else {
            s
        });
    }
    (series, range)
}

/// `dynamics_quality.png`, when the FWD was measured.
pub fn quality(out: &Path, curves: &[Curve], fwd_floor: Option<f64>) -> Result<()> {
    let (mut series, mut range) = measured(curves, "FWD vs held-out", |r| r.fwd);
    if series.is_empty() {
        return Ok(());
    }
    if let Some(f) = fwd_floor.filter(|f| f.is_finite() && *f > 0.0) {
        range = (range.0.min(f), range.1.max(f));
        series.push(level(
            format!("floor: training rows vs held-out = {f:.3}"),
            curves,
            f,
        ));
    }
    series.extend(tau_gen_markers(curves, range));
    line_plot(
        &out.join("dynamics_quality.png"),
        &PlotSpec {
            log_x: true,
            log_y: true,
            ..PlotSpec::new(
                "Sample quality along training (same sampler noise)",
                "training step",
                "Frechet wavelet distance to the held-out set",
            )
        },
        &series,
    )?;
    Ok(())
}

/// `dynamics_kl.png`, when the KL of the samples' Gaussian fit was measured.
pub fn kl(out: &Path, curves: &[Curve], theory: Option<&Theory>) -> Result<()> {
    let (mut series, _) = measured(curves, "KL(samples' Gaussian fit || truth)", |r| {
        r.kl_samples
    });
    if series.is_empty() {
        return Ok(());
    }
    if let Some(t) = theory {
        let (x, y): (Vec<f64>, Vec<f64>) = t
            .dense
            .iter()
            .filter_map(|p| {
                p.kl.filter(|k| k.is_finite() && *k > 0.0)
                    .map(|k| (p.step, k))
            })
            .unzip();
        if !x.is_empty() {
            series.push(
                Series::new(
                    format!("theory: exact DDPM samples (tau = {:.3e} step)", t.fit.c),
                    x,
                    y,
                )
                .as_dashed(),
            );
        }
        if let Some(f) = t.kl_floor {
            series.push(level(
                format!("sampling floor of the fit (Wishart) = {f:.3}"),
                curves,
                f,
            ));
        }
    }
    line_plot(
        &out.join("dynamics_kl.png"),
        &PlotSpec {
            log_x: true,
            log_y: true,
            ..PlotSpec::new(
                "Distance of the sampled distribution from the truth along training",
                "training step",
                "KL (nats)",
            )
        },
        &series,
    )?;
    Ok(())
}
