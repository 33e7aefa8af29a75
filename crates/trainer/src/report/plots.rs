//! The report's plots against N (log axis, one line per model and other non-N axes, the
//! min..max spread over seeds as a band): memorisation ratio, loss gap, Gaussian KL with the
//! theory overlaid, latent dimension.

use super::aggregate::{Line, lines};
use super::collect::RunRecord;
use super::theory::Theory;
use anyhow::Result;
use diffmem_data::DataSpec;
use diffmem_metrics::plot::{Extras, PlotSpec, Series, line_plot_with};
use std::path::Path;

/// A written plot: file name (inside the sweep directory) and caption.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File name.
    pub file: String,
    /// What it shows.
    pub caption: String,
}

/// One series per line (label + `suffix`): the mean over seeds, with the min..max band where
/// some N has more than one seed.
pub(super) fn series(lines: &[Line], suffix: &str) -> Vec<Series> {
    lines
        .iter()
        .map(|l| {
            let s = Series::new(format!("{}{suffix}", l.label), l.n.clone(), l.mean.clone());
            if l.count.iter().any(|&c| c > 1) {
                s.with_band(l.min.clone(), l.max.clone())
            } else {
                s
            }
        })
        .collect()
}

/// A dashed horizontal level `y` across the N range of `lines`.
pub(super) fn level(label: &str, lines: &[Line], y: f64) -> Option<Series> {
    let xs: Vec<f64> = lines.iter().flat_map(|l| l.n.iter().copied()).collect();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite())
        .then(|| Series::new(label, vec![lo, hi], vec![y, y]).as_dashed())
}

/// Draws one plot if any run has the metric, as PNG and SVG, with an N/d axis on top when
/// all runs share one dimension d.
pub(super) fn draw(
    dir: &Path,
    file: &str,
    spec: &PlotSpec,
    extras: &Extras,
    mut all: Vec<Series>,
    caption: &str,
    out: &mut Vec<Figure>,
) -> Result<()> {
    if all.iter().all(|s| s.y.iter().all(|v| !v.is_finite())) {
        return Ok(());
    }
    all.retain(|s| !s.x.is_empty());
    line_plot_with(&dir.join(file), spec, &all, extras)?;
    out.push(Figure {
        file: file.into(),
        caption: caption.into(),
    });
    Ok(())
}

/// What the report's plots add: an SVG beside each PNG and, when every run with a
/// memorisation metric has the same data dimension d, a top axis N / d.
pub(super) fn extras(runs: &[RunRecord]) -> Extras {
    let dims: Vec<f64> = runs.iter().filter_map(|r| r.get("mem.dim")).collect();
    let d = dims
        .first()
        .copied()
        .filter(|d| dims.iter().all(|x| x == d));
    Extras {
        svg: true,
        top_axis: d.map(|d| (d, format!("N / d (d = {d})"))),
    }
}

/// The true latent dimension of linear-manifold data, if all runs share one.
fn true_latent_dim(runs: &[RunRecord]) -> Option<f64> {
    let mut dims = runs
        .iter()
        .filter_map(|r| match &r.config.as_ref()?.data.spec {
            DataSpec::Manifold(m) => Some(m.latent_dim()),
            _ => None,
        });
    let first = dims.next()?;
    dims.all(|d| d == first).then_some(first as f64)
}

/// A plot against N (log axis) with `title` and the y label `y`.
pub(super) fn vs_n<'a>(title: &'a str, y: &'a str, log_y: bool) -> PlotSpec<'a> {
    PlotSpec {
        title,
        x_label: "N (training-set size)",
        y_label: y,
        log_x: true,
        log_y,
    }
}

/// Writes every plot the runs have data for into `dir`.
pub fn write_all(dir: &Path, runs: &[RunRecord], theory: &Theory) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    let extras = &extras(runs);
    let spec = vs_n;
    let r_mem = lines(runs, |r| r.get("mem.r_mem"));
    let mut s = series(&r_mem, "");
    s.extend(level("R_mem = 0.5", &r_mem, 0.5));
    draw(
        dir,
        "r_mem.png",
        &spec(
            "Memorisation ratio vs N",
            "R_mem (fraction with d1/d2 < 1/3)",
            false,
        ),
        extras,
        s,
        "Fraction of generated samples that copy a training sample (d1/d2 < 1/3, Gu et al.); \
         mean over seeds, band = min..max.",
        &mut out,
    )?;
    let gap = lines(runs, |r| r.get("loss.mean_gap"));
    let mut s = series(&gap, "");
    s.extend(level("no gap", &gap, 0.0));
    draw(
        dir,
        "loss_gap.png",
        &spec(
            "Generalisation gap vs N",
            "held-out minus train eps-loss (gap_eps)",
            false,
        ),
        extras,
        s,
        "Mean over timesteps of the held-out minus training eps-loss (same noise draws; \
         metrics.json loss.mean_gap_eps); the normalised gap is in report.csv.",
        &mut out,
    )?;
    let kl = lines(runs, |r| r.get("gaussian.kl_samples_fit_to_truth"));
    let mut s = series(&kl, "");
    for c in &theory.curves {
        let x: Vec<f64> = c.n.iter().map(|&n| n as f64).collect();
        s.push(Series::new(c.label.clone(), x.clone(), c.kl.clone()).as_dashed());
        s.push(
            Series::new(
                format!("{} + fit from M = {}", c.label, c.samples),
                x,
                c.kl_fit.clone(),
            )
            .as_dashed(),
        );
    }
    draw(
        dir,
        "kl.png",
        &spec("KL(samples || truth) vs N", "KL", true),
        extras,
        s,
        "KL of a Gaussian fitted to the generated samples to the true Gaussian; dashed: the \
         linear-diffusion theory (diffmem theory linear) and the theory plus the expected \
         error of a Gaussian fit from M samples.",
        &mut out,
    )?;
    let (s, caption) = latent_series(runs);
    draw(
        dir,
        "latent_dim.png",
        &spec(
            "Latent dimension of the learned score vs N",
            "latent dimension (cliff)",
            false,
        ),
        extras,
        s,
        &caption,
        &mut out,
    )?;
    Ok(out)
}

/// Timestep keys `latent_dim.SET.tT` of one point set, with T.
fn timestep_keys(runs: &[RunRecord], set: &str) -> Vec<(usize, String)> {
    let prefix = format!("latent_dim.{set}.t");
    let mut keys: Vec<(usize, String)> = runs
        .iter()
        .flat_map(|r| r.scalars.keys())
        .filter_map(|k| Some((k.strip_prefix(&prefix)?.parse().ok()?, k.clone())))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Latent dimension against N on the training points: at the smallest noise level, and at
/// the (up to 2) low-noise levels (first quarter of the timesteps; at high noise the estimate
/// is not meaningful) where it changes most with N, which is where geometric memorisation
/// shows.
fn latent_series(runs: &[RunRecord]) -> (Vec<Series>, String) {
    let keys = timestep_keys(runs, "train");
    let Some((t0, k0)) = keys.first().cloned() else {
        return (Vec::new(), String::new());
    };
    let spread = |l: &Line| {
        let finite = l.mean.iter().copied().filter(|v| v.is_finite());
        finite.clone().fold(f64::NEG_INFINITY, f64::max) - finite.fold(f64::INFINITY, f64::min)
    };
    let t_max = keys.last().map_or(0, |(t, _)| *t);
    let mut ranked: Vec<(f64, usize, String)> = keys[1..]
        .iter()
        .filter(|(t, _)| 4 * t <= t_max)
        .map(|(t, k)| {
            let s = lines(runs, |r| r.get(k))
                .iter()
                .map(spread)
                .fold(0.0, f64::max);
            (s, *t, k.clone())
        })
        .filter(|(s, _, _)| *s >= 0.5)
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut chosen: Vec<(usize, String)> = vec![(t0, k0)];
    chosen.extend(ranked.into_iter().take(2).map(|(_, t, k)| (t, k)));
    chosen.sort();
    let mut s = Vec::new();
    let mut all = Vec::new();
    for (t, k) in &chosen {
        let l = lines(runs, |r| r.get(k));
        s.extend(series(&l, &format!(", t = {t}")));
        all.extend(l);
    }
    if let Some(d) = true_latent_dim(runs) {
        s.extend(level("true latent dimension", &all, d));
    }
    let ts: Vec<String> = chosen.iter().map(|(t, _)| t.to_string()).collect();
    let caption = format!(
        "Latent dimension of the score at training points from the singular values of its \
         Jacobian (cliff estimator, Achilli et al.), at timesteps {} (the smallest of the \
         spectrum grid and the low-noise ones where it changes most with N); per-timestep values of every \
         point set are in report.csv.",
        ts.join(", ")
    );
    (s, caption)
}
