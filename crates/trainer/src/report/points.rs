//! The report's figures of `eval --metrics points|sima`, each drawn only when some run
//! measured it:
//!
//! - `points_density.png`: the copy rate of training rows against their local density r_k,
//!   one line per run (its model line, N and seed), with 95% Wilson intervals: whether sparse
//!   regions are copied more, and how that changes with N (Merger & Goldt, arXiv 2606.14390);
//! - `points_collapse.png`: the fraction of coordinates whose sample variance collapsed
//!   below a fraction of the data's, against N (arXiv 2605.26756);
//! - `sima_auc.png`: the SimA AUC (arXiv 2509.25003) at the first and the best timestep beside
//!   the loss-based AUC of `mia`, against N.

use super::aggregate::lines;
use super::collect::RunRecord;
use super::plots::{Figure, draw, extras, level, series, vs_n};
use anyhow::Result;
use diffmem_metrics::plot::{Extras, PlotSpec, Series};
use serde_json::Value;
use std::path::Path;

/// Writes the figures of the metrics the runs have into `dir`.
pub fn write(dir: &Path, runs: &[RunRecord]) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    let extras = &extras(runs);
    density(dir, runs, extras, &mut out)?;
    let collapse = lines(runs, |r| r.get("points.variance.collapsed_fraction"));
    draw(
        dir,
        "points_collapse.png",
        &vs_n(
            "Per-coordinate variance collapse vs N",
            "fraction of coordinates with Var_samples < 0.1 Var_data",
            false,
        ),
        extras,
        series(&collapse, ""),
        "Fraction of the coordinates (pixels) whose variance over the generated samples fell \
         below 0.1 of their variance over the training data (coordinates constant in the data \
         left out): local memorisation shows as coordinate-wise variance collapse.",
        &mut out,
    )?;
    sima(dir, runs, extras, &mut out)?;
    Ok(out)
}

/// A numeric array of a run's metrics.json at `path` (dotted).
fn array(r: &RunRecord, path: &str) -> Vec<f64> {
    let mut v: &Value = match &r.metrics {
        Some(m) => m.get("metrics").unwrap_or(m),
        None => return Vec::new(),
    };
    for k in path.split('.') {
        match v.get(k) {
            Some(inner) => v = inner,
            None => return Vec::new(),
        }
    }
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn density(dir: &Path, runs: &[RunRecord], extras: &Extras, out: &mut Vec<Figure>) -> Result<()> {
    let mut sorted: Vec<&RunRecord> = runs.iter().filter(|r| r.n().is_some()).collect();
    sorted.sort_by_key(|r| (r.line.clone(), r.n()));
    let s: Vec<Series> = sorted
        .iter()
        .filter_map(|r| {
            let x = array(r, "points.density_bins.density");
            let y = array(r, "points.density_bins.copy_rate");
            let (lo, hi) = (
                array(r, "points.density_bins.lo"),
                array(r, "points.density_bins.hi"),
            );
            let seed = r
                .axes
                .iter()
                .find(|(a, _)| a == "seed")
                .map_or(String::new(), |(_, v)| format!(", seed {v}"));
            let label = format!("{} N = {}{seed}", r.line, r.n()?);
            (!x.is_empty()).then(|| Series::new(label, x, y).with_errors(lo, hi))
        })
        .collect();
    let k = runs
        .iter()
        .find_map(|r| r.get("points.density_k"))
        .unwrap_or(5.0);
    let x_label = format!("local density r_{k} of training rows (right: sparser)");
    let spec = PlotSpec {
        log_x: true,
        ..PlotSpec::new(
            "Copy rate against local density, per N",
            &x_label,
            "fraction of training rows copied",
        )
    };
    let no_top = Extras {
        top_axis: None,
        ..extras.clone()
    };
    draw(
        dir,
        "points_density.png",
        &spec,
        &no_top,
        s,
        "Training rows of each run in eight equal-count bins of their local density r_k (the \
         distance to the k-th nearest other training row, per pixel): the fraction of rows that \
         some generated sample copies (nearest neighbour with d1/d2 < 1/3), with 95% Wilson \
         intervals. A line rising to the right means sparse regions are copied more.",
        out,
    )
}

fn sima(dir: &Path, runs: &[RunRecord], extras: &Extras, out: &mut Vec<Figure>) -> Result<()> {
    let best = lines(runs, |r| r.get("sima.best.auc"));
    let first = lines(runs, |r| r.get("sima.first.auc"));
    let mia = lines(runs, |r| r.get("mia.best.auc"));
    let mut s = series(&best, " SimA, best t");
    s.extend(
        series(&first, " SimA, t = 1")
            .into_iter()
            .map(Series::as_dashed),
    );
    s.extend(series(&mia, " loss-based, best t"));
    s.extend(level("chance (AUC = 0.5)", &best, 0.5));
    draw(
        dir,
        "sima_auc.png",
        &vs_n(
            "SimA and loss-based membership inference vs N",
            "AUC",
            false,
        ),
        extras,
        s,
        "Membership inference AUC, training vs held-out rows: SimA (the norm of the predicted \
         noise at the clean image, Rao et al.) at its best timestep of the authors' grid and, \
         dashed, at t = 1; the loss-based attack of `mia` at its best timestep. 0.5 is chance.",
        out,
    )
}
