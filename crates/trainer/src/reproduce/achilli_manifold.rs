//! `achilli-manifold`: Achilli et al., "Losing dimensions: geometric memorisation in
//! generative diffusion" (arXiv 2410.08727), the linear manifold `manifold:paper`.
//!
//! eval's spectrum metric projects the symmetric part of the score Jacobian at noised training
//! points on each block of the manifold and gives the noise level (VE sigma^2) where the
//! block's kept fraction falls below 1/2 (`metrics.spectrum.blocks`). Claims:
//! - the high-variance block (d1 = 2 x std 1) collapses at a larger noise level than the
//!   low-variance one (d2 = 5 x std 0.3): the paper's central claim;
//! - each block's collapse level falls with N;
//! - the empirical score's levels follow sigma_c^2 = s^2 / (2 ln N) for unit-norm rows
//!   (docs/theory.md §2, s^2 the training set's variance along the block);
//! - the empirical score's levels follow the whole training set's collapse level, where
//!   1/2 sum_k ln(1 + lambda_k / sigma^2) = ln N over the training covariance (Biroli et al.'s
//!   collapse time): the blocks are read from one softmax and collapse together. This
//!   prediction was added after the per-block formula failed on d2; its tolerance is the same;
//! - a trained MLP collapses at a smaller noise level than the empirical score.

use super::achilli_spectrum::spectrum_figure;
use super::claims::{Claim, Outcome, decreasing};
use super::figure::{Axes, draw, marker, scaled};
use super::records::{at, line, metrics, sizes};
use super::{Context, Reproduction};
use crate::report::collect::RunRecord;
use anyhow::Result;
use diffmem_metrics::plot::Series;

/// The reproduction.
pub const REPRODUCTION: Reproduction = Reproduction {
    name: "achilli-manifold",
    paper: "Achilli et al., Losing dimensions: geometric memorisation in generative diffusion (arXiv 2410.08727)",
    summary: "empirical score + MLP on manifold:paper, N 250..20000: block collapse levels vs sigma_c^2 = s^2/(2 ln N)",
    state: "built: collapse-level claims (per-block formula and the whole set's collapse level), kept fractions and the paper's panel of normalised singular values",
    spec: include_str!("../../../../scripts/reproduce/achilli-manifold.toml"),
    panels: &[],
    judge,
};

const SOURCE_ORDER: &str =
    "Achilli et al. 2410.08727: higher-variance subspaces collapse first (linear manifold)";
const SOURCE_FORMULA: &str =
    "sigma_c^2 = s^2 / (2 ln N) for unit-norm data (docs/theory.md §2; Achilli et al.)";
const SOURCE_JOINT: &str = "Biroli et al. 2402.18491 collapse time t_C over the training covariance, as VE sigma^2 = e^{2 t_C} - 1 (crates/metrics/src/spectrum/manifold.rs)";
const EMPIRICAL: &str = "empirical";
const MLP: &str = "mlp";
/// The probe and point set the formula applies to.
const PROBE: &str = "noised";
const SET: &str = "train";
/// Relative tolerance of the empirical score's collapse level against the formula.
const FORMULA_TOL: f64 = 0.25;

/// The block `b`'s measured collapse level (VE sigma^2) at noised training points.
fn collapse(r: &RunRecord, b: usize) -> Option<f64> {
    let block = &metrics(r)?["spectrum"]["blocks"]["blocks"][b];
    block["curves"]
        .as_array()?
        .iter()
        .find(|c| c["set"] == SET && c["probe"] == PROBE)?["collapse_sigma2"]
        .as_f64()
}

/// (smallest VE sigma^2 of the grid, block `b`'s mean kept fraction there) at noised training
/// points: a block still kept there never collapsed on the grid.
fn kept_at_smallest(r: &RunRecord, b: usize) -> Option<(f64, f64)> {
    let s = &metrics(r)?["spectrum"];
    let ve: Vec<f64> = s["ve_sigma2"]
        .as_array()?
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    let i = (0..ve.len()).min_by(|&a, &b| ve[a].total_cmp(&ve[b]))?;
    let curve = s["blocks"]["blocks"][b]["curves"]
        .as_array()?
        .iter()
        .find(|c| c["set"] == SET && c["probe"] == PROBE)?;
    Some((ve[i], curve["kept_mean"][i].as_f64()?))
}

/// Why a block has no collapse level: still kept at the grid's smallest noise level, or not.
fn no_collapse_note(runs: &[RunRecord], model: &str, n: usize, b: usize) -> String {
    let r = runs.iter().find(|r| r.line == model && r.n() == Some(n));
    match r.and_then(|r| kept_at_smallest(r, b)) {
        Some((ve, k)) if k >= 0.5 => format!(
            "no collapse on the grid: kept fraction {k:.2} still at the smallest level VE \
             sigma^2 = {ve:.1e} (a collapse, if any, lies below the grid)"
        ),
        _ => "no collapse level: the block was never kept on the grid".into(),
    }
}

/// The whole training set's collapse level (the same for every block; None when the run's
/// manifold has no block `b`).
fn joint(r: &RunRecord, b: usize) -> Option<f64> {
    let blocks = &metrics(r)?["spectrum"]["blocks"];
    blocks["blocks"].get(b)?;
    blocks["joint_sigma2"].as_f64()
}

/// The formula's critical level of block `b` for the run's training set.
fn critical(r: &RunRecord, b: usize) -> Option<f64> {
    metrics(r)?["spectrum"]["blocks"]["blocks"][b]["critical_sigma2"].as_f64()
}

fn judge(ctx: &Context) -> Result<Outcome> {
    let mut out = Outcome::default();
    let models: &[&str] = if ctx.ci {
        &[EMPIRICAL]
    } else {
        &[EMPIRICAL, MLP]
    };
    for &m in models {
        order_claims(ctx.runs, m, &mut out.claims);
    }
    if !ctx.ci {
        prediction_claims(ctx.runs, &PER_BLOCK, &mut out.claims);
        prediction_claims(ctx.runs, &JOINT, &mut out.claims);
        mlp_claims(ctx.runs, &mut out.claims);
    }
    figure(ctx, &mut out.figures)?;
    kept_figure(ctx, &mut out.figures)?;
    spectrum_figure(ctx, &[EMPIRICAL, MLP], &mut out.figures)?;
    Ok(out)
}

/// Per N: block 1 collapses at a larger level than block 2; per block: levels fall with N.
fn order_claims(runs: &[RunRecord], model: &str, claims: &mut Vec<Claim>) {
    let l1 = line(runs, model, |r| collapse(r, 0));
    let l2 = line(runs, model, |r| collapse(r, 1));
    for n in sizes(runs, model) {
        let (a, b) = (at(l1.as_ref(), n), at(l2.as_ref(), n));
        let holds = a.zip(b).map(|(a, b)| a.0 > b.0);
        let ratio = a.zip(b).map(|(a, b)| a.0 / b.0);
        claims.push(
            Claim::decided(
                format!("d1-before-d2-{model}@N={n}"),
                format!(
                    "{model}: the d1 block collapses at a larger noise level than d2 (N = {n})"
                ),
                SOURCE_ORDER,
                holds,
            )
            .with_measured(ratio)
            .with_expected(1.0)
            .with_tolerance("ratio sigma2_c(d1) / sigma2_c(d2) > 1")
            .with_note(match (a, b) {
                (Some(_), None) => no_collapse_note(runs, model, n, 1),
                (None, _) => no_collapse_note(runs, model, n, 0),
                _ => format!(
                    "collapse levels (VE sigma^2): d1 {}, d2 {}",
                    fmt(a.map(|a| a.0)),
                    fmt(b.map(|b| b.0))
                ),
            }),
        );
    }
    for (b, l) in [(1, &l1), (2, &l2)] {
        let falls = l.as_ref().and_then(|l| decreasing(&l.mean));
        claims.push(
            Claim::decided(
                format!("d{b}-falls-with-N-{model}"),
                format!("{model}: the d{b} block's collapse level falls as N grows"),
                SOURCE_FORMULA,
                falls,
            )
            .with_note(format!(
                "levels by N: {}",
                l.as_ref().map_or("-".into(), |l| pairs(&l.n, &l.mean))
            )),
        );
    }
}

/// A predicted collapse level of a block: its claim id prefix, the prediction in words, its
/// source, and how to read it from a run.
struct Prediction {
    id: &'static str,
    words: &'static str,
    source: &'static str,
    level: fn(&RunRecord, usize) -> Option<f64>,
}

/// The per-block formula of the paper.
const PER_BLOCK: Prediction = Prediction {
    id: "formula",
    words: "s^2 / (2 ln N)",
    source: SOURCE_FORMULA,
    level: critical,
};

/// The whole training set's collapse level (module docs of `spectrum::manifold`).
const JOINT: Prediction = Prediction {
    id: "joint",
    words: "the whole set's collapse level (1/2 sum_k ln(1 + lambda_k / sigma^2) = ln N)",
    source: SOURCE_JOINT,
    level: joint,
};

/// The empirical score's collapse levels against a prediction.
fn prediction_claims(runs: &[RunRecord], p: &Prediction, claims: &mut Vec<Claim>) {
    for n in sizes(runs, EMPIRICAL) {
        for b in 0..2 {
            let run = runs
                .iter()
                .find(|r| r.line == EMPIRICAL && r.n() == Some(n) && (p.level)(r, b).is_some());
            let Some(expected) = run.and_then(|r| (p.level)(r, b)) else {
                continue;
            };
            let measured = run.and_then(|r| collapse(r, b));
            claims.push(
                Claim::relative(
                    format!("{}-d{}-empirical@N={n}", p.id, b + 1),
                    format!(
                        "the empirical score's d{} block collapses at {} (N = {n})",
                        b + 1,
                        p.words
                    ),
                    p.source,
                    expected,
                    measured,
                    FORMULA_TOL,
                )
                .with_note("VE sigma^2 at kept fraction 1/2, noised training points"),
            );
        }
    }
}

/// The MLP collapses at a smaller noise level than the empirical score, per block and N.
fn mlp_claims(runs: &[RunRecord], claims: &mut Vec<Claim>) {
    for b in 0..2 {
        let emp = line(runs, EMPIRICAL, |r| collapse(r, b));
        let mlp = line(runs, MLP, |r| collapse(r, b));
        for n in sizes(runs, MLP) {
            let (e, m) = (at(emp.as_ref(), n), at(mlp.as_ref(), n));
            claims.push(
                Claim::decided(
                    format!("mlp-below-empirical-d{}@N={n}", b + 1),
                    format!(
                        "the trained MLP's d{} block collapses at a smaller noise level than the empirical score's (N = {n})",
                        b + 1
                    ),
                    "Achilli et al. 2410.08727 (networks keep the gap at large N)",
                    e.zip(m).map(|(e, m)| m.0 < e.0),
                )
                .with_measured(m.map(|m| m.0))
                .with_expected(e.map_or(f64::NAN, |e| e.0))
                .with_tolerance("measured (mlp) < expected (empirical)")
                .with_note(if m.is_some() {
                    "VE sigma^2 at kept fraction 1/2, noised training points".into()
                } else {
                    no_collapse_note(runs, MLP, n, b)
                }),
            );
        }
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.4}"))
}

fn pairs(n: &[f64], v: &[f64]) -> String {
    let p: Vec<String> = n
        .iter()
        .zip(v)
        .map(|(n, v)| format!("{n}: {v:.4}"))
        .collect();
    p.join(", ")
}

/// The noise levels (VE sigma^2 <= [`KEPT_MAX_NOISE`]) and block `b`'s mean kept fraction at
/// noised training points.
fn kept_curve(r: &RunRecord, b: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let s = &metrics(r)?["spectrum"];
    let ve = s["ve_sigma2"].as_array()?;
    let curve = s["blocks"]["blocks"][b]["curves"]
        .as_array()?
        .iter()
        .find(|c| c["set"] == SET && c["probe"] == PROBE)?;
    let kept = curve["kept_mean"].as_array()?;
    let mut pts: Vec<(f64, f64)> = ve
        .iter()
        .zip(kept)
        .filter_map(|(v, k)| Some((v.as_f64()?, k.as_f64()?)))
        .filter(|(v, _)| *v <= KEPT_MAX_NOISE)
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(pts.into_iter().unzip())
}

/// The kept fraction is read up to this noise level (above it 1 - r_gen is tiny and the
/// ratio is noise).
const KEPT_MAX_NOISE: f64 = 1.0;

/// Each block's kept fraction against the noise level at one N (500, the case, when
/// the sweep has it), empirical score and MLP, with each block's formula level as a dashed
/// vertical line.
fn kept_figure(ctx: &Context, files: &mut Vec<String>) -> Result<()> {
    let ns = sizes(ctx.runs, EMPIRICAL);
    let Some(n) = ns
        .iter()
        .copied()
        .find(|&n| n == 500)
        .or(ns.first().copied())
    else {
        return Ok(());
    };
    let mut s = Vec::new();
    for model in [EMPIRICAL, MLP] {
        let Some(r) = ctx
            .runs
            .iter()
            .find(|r| r.line == model && r.n() == Some(n))
        else {
            continue;
        };
        for b in 0..2 {
            if let Some((x, y)) = kept_curve(r, b) {
                s.push(Series::new(format!("{model} d{}", b + 1), x, y));
            }
            if let Some(c) = critical(r, b).filter(|_| model == EMPIRICAL) {
                s.push(marker(&format!("s^2/(2 ln N), d{}", b + 1), c));
            }
        }
        if let Some(c) = joint(r, 0).filter(|_| model == EMPIRICAL) {
            s.push(marker("whole-set collapse level (t_C)", c));
        }
    }
    let title = format!("Achilli et al.: kept fraction of each block vs noise, N = {n}");
    let axes = Axes {
        title: &title,
        x: "noise level (VE sigma^2)",
        y: "kept fraction (1 = generalising, 0 = collapsed)",
        log_y: false,
    };
    draw(ctx.dir, "achilli_kept.png", &axes, s, files)
}

/// Collapse level of each block against N, with the formula dashed.
fn figure(ctx: &Context, files: &mut Vec<String>) -> Result<()> {
    let mut s = Vec::new();
    for model in [EMPIRICAL, MLP] {
        for b in 0..2 {
            let l = line(ctx.runs, model, |r| collapse(r, b));
            s.extend(l.map(|l| scaled(&format!("{model} d{}", b + 1), &l, 1.0)));
        }
    }
    for b in 0..2 {
        if let Some(l) = line(ctx.runs, EMPIRICAL, |r| critical(r, b)) {
            let f = Series::new(format!("s^2/(2 ln N), d{}", b + 1), l.n, l.mean);
            s.push(f.as_dashed());
        }
    }
    if let Some(l) = line(ctx.runs, EMPIRICAL, |r| joint(r, 0)) {
        s.push(Series::new("whole-set collapse level (t_C)", l.n, l.mean).as_dashed());
    }
    let axes = Axes {
        title: "Achilli et al.: block collapse level vs N (noised training points)",
        x: "N (training-set size)",
        y: "collapse level (VE sigma^2, kept fraction 1/2)",
        log_y: true,
    };
    draw(ctx.dir, "achilli_collapse.png", &axes, s, files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config::RunConfig;

    fn run(model: &str, n: usize, d1: f64, d2: f64) -> RunRecord {
        let mut config = RunConfig::default();
        config.data.n = n;
        let block = |c: f64, crit: f64| {
            serde_json::json!({"critical_sigma2": crit,
                "curves": [{"set": "train", "probe": "noised", "collapse_sigma2": c}]})
        };
        let m = serde_json::json!({"metrics": {"spectrum": {"blocks": {"blocks": [
            block(d1, 0.028), block(d2, 0.0047)]}}}});
        RunRecord {
            name: format!("{model}-{n}"),
            status: "done".into(),
            message: None,
            index: None,
            axes: vec![],
            line: model.into(),
            config: Some(config),
            config_text: String::new(),
            metrics: Some(m),
            verdict: None,
            scalars: Default::default(),
        }
    }

    #[test]
    fn ordering_and_formula_claims_have_known_answers() {
        let runs = [
            run(EMPIRICAL, 250, 0.03, 0.025),
            run(EMPIRICAL, 500, 0.0273, 0.020),
            run(MLP, 250, 0.01, 0.03),
            run(MLP, 500, 0.005, 0.001),
        ];
        let mut c = Vec::new();
        order_claims(&runs, EMPIRICAL, &mut c);
        assert!(c.iter().all(|c| c.holds), "{c:#?}");
        let mut c = Vec::new();
        order_claims(&runs, MLP, &mut c);
        let by = |id: &str| c.iter().find(|c| c.id == id).unwrap().holds;
        assert!(!by("d1-before-d2-mlp@N=250") && by("d1-before-d2-mlp@N=500"));
        let mut f = Vec::new();
        prediction_claims(&runs, &PER_BLOCK, &mut f);
        // The numbers: d1 0.0273 against 0.0283 holds, d2 0.020 against 0.0047 not.
        let f500: Vec<bool> = f
            .iter()
            .filter(|c| c.id.ends_with("N=500"))
            .map(|c| c.holds)
            .collect();
        assert_eq!(f500, [true, false]);
        let mut m = Vec::new();
        mlp_claims(&runs, &mut m);
        assert_eq!(m.iter().filter(|c| c.holds).count(), 3);
    }
}
