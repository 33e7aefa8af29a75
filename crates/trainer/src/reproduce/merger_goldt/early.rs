//! Panel "early stopping" of `merger-goldt` (Merger & Goldt, arXiv 2505.24769, open question:
//! early stopping as a regulariser): the trained linear model evaluated at weight snapshots
//! along training (`eval --along-training`, scripts/reproduce/merger-goldt-early-stopping.toml)
//! beside the gradient-flow theory from W = 0 on the run's own training rows, with one fitted
//! clock tau = c * step (docs/theory.md §1; the run's `dynamics_theory.csv`).
//!
//! In the flow, the directions absent from the training set are learned at rate
//! 2 (1 - abar_t): early on the samples keep a large variance c there, late they collapse to
//! c ~ beta_1. Below N = d the KL therefore passes through a minimum at finite time and then
//! rises to the fully trained value.
//!
//! Claims, fixed before the first full run, per run:
//! - the held-out loss follows the flow: rms_k |ln(L_k / L_theory(c s_k))| <= [`FULL`].loss_rms
//!   over the snapshots s_k (the clock is fitted on this curve: one parameter for all of it);
//! - the KL follows it: rms_k |ln(KL_k / (KL_theory(c s_k) + W(d, M)))| <= [`FULL`].kl_rms, with
//!   W the expected KL of a Gaussian fitted to M exact samples;
//! - below N = d the KL has its minimum at an interior snapshot, the theory's too, and the last
//!   snapshot's KL is at least `min_ratio` times the minimum.
//!
//! CI size: the minimum claim only, with a smaller ratio (fewer, shorter snapshots).

use super::panel_not_run;
use crate::report::collect::RunRecord;
use crate::reproduce::claims::{Claim, Outcome};
use crate::reproduce::figure::{Axes, draw};
use crate::reproduce::{Context, Panel};
use crate::sweep::RUNS_DIR;
use anyhow::{Context as _, Result};
use diffmem_metrics::plot::Series;
use std::path::Path;

/// The panel's sweep.
pub const PANEL: Panel = Panel {
    name: "early-stopping",
    spec: include_str!("../../../../../scripts/reproduce/merger-goldt-early-stopping.toml"),
};

const SOURCE: &str = "Merger & Goldt 2505.24769: gradient flow of the linear denoiser from W = 0 (docs/theory.md §1), clock tau = c * step fitted on the held-out loss";
/// The along-training file of a run with the theory at each snapshot.
const FILE: &str = "dynamics_theory.csv";

/// The tolerances of one size, fixed before any measurement.
struct Tolerances {
    /// Largest rms |ln(measured / theory)| of the held-out loss.
    loss_rms: f64,
    /// Largest rms |ln(measured / (theory + W))| of the KL.
    kl_rms: f64,
    /// Smallest KL(last snapshot) / KL(minimum) below N = d.
    min_ratio: f64,
    /// Whether the curves are held to the theory (full size) or only the minimum (CI).
    follows: bool,
}

const FULL: Tolerances = Tolerances {
    loss_rms: 0.10,
    kl_rms: 0.25,
    min_ratio: 1.5,
    follows: true,
};
const CI: Tolerances = Tolerances {
    loss_rms: 0.10,
    kl_rms: 0.25,
    min_ratio: 1.25,
    follows: false,
};

/// One run along training: measured and predicted at each snapshot.
struct Along {
    /// N / d.
    n_over_d: f64,
    /// Snapshot steps.
    step: Vec<f64>,
    /// Held-out loss and the theory's.
    loss: (Vec<f64>, Vec<f64>),
    /// KL of the samples' fit and the theory's plus the fit term W(d, M).
    kl: (Vec<f64>, Vec<f64>),
}

/// The panel's claims and figures.
pub fn judge(ctx: &Context, out: &mut Outcome) -> Result<()> {
    let tol = if ctx.ci { &CI } else { &FULL };
    let runs = ctx.panel_runs(PANEL.name)?;
    let mut curves = Vec::new();
    for r in &runs {
        curves.extend(read(&ctx.dir.join(PANEL.name), r)?);
    }
    if curves.is_empty() {
        panel_not_run(ctx, &PANEL, &mut out.claims);
        return Ok(());
    }
    curves.sort_by(|a, b| a.n_over_d.total_cmp(&b.n_over_d));
    for a in &curves {
        if tol.follows {
            follow_claims(a, tol, &mut out.claims);
        }
        if a.n_over_d < 1.0 {
            out.claims.push(minimum_claim(a, tol));
        }
    }
    figures(ctx.dir, &curves, &mut out.figures)
}

/// The columns `names` of a CSV file with a header (a cell that is not a number is NaN).
fn columns(path: &Path, names: &[&str]) -> Result<Vec<Vec<f64>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let index = names
        .iter()
        .map(|n| header.iter().position(|h| h == n))
        .collect::<Option<Vec<usize>>>()
        .with_context(|| format!("{} lacks one of {names:?}", path.display()))?;
    let mut cols = vec![Vec::new(); names.len()];
    for line in lines.filter(|l| !l.is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        for (col, &i) in cols.iter_mut().zip(&index) {
            col.push(
                cells
                    .get(i)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
            );
        }
    }
    Ok(cols)
}

/// The run's snapshots beside the theory (None: not evaluated along training with it).
fn read(sweep_dir: &Path, r: &RunRecord) -> Result<Option<Along>> {
    let path = sweep_dir.join(RUNS_DIR).join(&r.name).join(FILE);
    let floor = r
        .metrics
        .as_ref()
        .and_then(|m| m["metrics"]["dynamics"]["theory"]["kl_sampling_floor"].as_f64());
    let (Some(n), Some(floor), true) = (r.n(), floor, path.exists()) else {
        return Ok(None);
    };
    let names = [
        "step",
        "heldout_loss",
        "theory_heldout_loss",
        "kl_samples",
        "theory_kl",
    ];
    let mut c = columns(&path, &names)?.into_iter();
    let mut next = || c.next().unwrap_or_default();
    let (step, loss, loss_th, kl, kl_th) = (next(), next(), next(), next(), next());
    let d = r.config.as_ref().map_or(1, |c| match &c.data.spec {
        diffmem_data::DataSpec::Gaussian(g) => g.d,
        _ => 1,
    });
    Ok(Some(Along {
        n_over_d: n as f64 / d as f64,
        step,
        loss: (loss, loss_th),
        kl: (kl, kl_th.iter().map(|k| k + floor).collect()),
    }))
}

/// rms over the points where both are finite and positive of ln(measured / theory).
fn rms_log(measured: &[f64], theory: &[f64]) -> Option<f64> {
    let e: Vec<f64> = measured
        .iter()
        .zip(theory)
        .map(|(m, t)| (m / t).ln())
        .filter(|e| e.is_finite())
        .collect();
    (!e.is_empty()).then(|| (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt())
}

/// The held-out loss and the KL against the flow theory over the snapshots.
fn follow_claims(a: &Along, tol: &Tolerances, claims: &mut Vec<Claim>) {
    let nd = a.n_over_d;
    let pairs = [
        ("loss", "held-out eps-loss", &a.loss, tol.loss_rms),
        ("kl", "KL of the samples (+ fit term)", &a.kl, tol.kl_rms),
    ];
    for (id, what, (m, t), bound) in pairs {
        let rms = rms_log(m, t);
        claims.push(
            Claim::decided(
                format!("early-{id}-follows-flow@N/d={nd}"),
                format!("the {what} follows the gradient-flow theory along training at N/d = {nd}"),
                SOURCE,
                rms.map(|r| r <= bound),
            )
            .with_expected(0.0)
            .with_measured(rms)
            .with_tolerance(format!("rms |ln(measured / theory)| <= {bound}"))
            .with_note(format!("{} snapshots, one fitted clock", m.len())),
        );
    }
}

/// Index of the smallest finite value and whether it lies strictly inside.
fn interior_min(v: &[f64]) -> Option<(usize, bool)> {
    let (i, _) = v
        .iter()
        .enumerate()
        .filter(|(_, x)| x.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    Some((i, i > 0 && i + 1 < v.len()))
}

/// Below N = d: the KL's minimum lies at finite training time, measured and in the theory.
fn minimum_claim(a: &Along, tol: &Tolerances) -> Claim {
    let (m, t) = &a.kl;
    let ratio = |v: &[f64], i: usize| v.last().map(|l| l / v[i]);
    let th = interior_min(t);
    let me = interior_min(m);
    let holds = me.zip(th).map(|((i, inside), (_, th_inside))| {
        inside && th_inside && ratio(m, i).is_some_and(|r| r >= tol.min_ratio)
    });
    let mut c = Claim::decided(
        format!("early-kl-minimum@N/d={}", a.n_over_d),
        format!(
            "below N = d the KL has its minimum at finite training time, as the flow predicts (N/d = {})",
            a.n_over_d
        ),
        SOURCE,
        holds,
    )
    .with_measured(me.and_then(|(i, _)| ratio(m, i)))
    .with_tolerance(format!(
        "minimum at an interior snapshot (measured and theory), last / minimum >= {}",
        tol.min_ratio
    ));
    if let Some(r) = th.and_then(|(i, _)| ratio(t, i)) {
        c = c.with_expected(r);
    }
    let at = |x: Option<(usize, bool)>| x.map_or(f64::NAN, |(i, _)| a.step[i]);
    c.with_note(format!(
        "values: KL at the last snapshot / its minimum; minimum at step {} (theory: step {}) of {}",
        at(me),
        at(th),
        a.step.last().copied().unwrap_or(f64::NAN)
    ))
}

/// KL and held-out loss against the training step, measured beside the flow theory.
fn figures(dir: &Path, curves: &[Along], files: &mut Vec<String>) -> Result<()> {
    let panels = [
        (
            "merger_goldt_early_stopping_kl.png",
            "Merger & Goldt open question: early stopping, KL along training",
            "KL(samples || truth)",
        ),
        (
            "merger_goldt_early_stopping_loss.png",
            "Merger & Goldt open question: early stopping, held-out loss along training",
            "held-out eps-loss per coordinate",
        ),
    ];
    for (k, (file, title, y)) in panels.into_iter().enumerate() {
        let mut s = Vec::new();
        for a in curves {
            let (m, t) = if k == 0 { &a.kl } else { &a.loss };
            let nd = a.n_over_d;
            s.push(Series::new(
                format!("N/d = {nd} measured"),
                a.step.clone(),
                m.clone(),
            ));
            let th = if k == 0 {
                "flow theory + fit term"
            } else {
                "flow theory"
            };
            s.push(Series::new(format!("N/d = {nd} {th}"), a.step.clone(), t.clone()).as_dashed());
        }
        let x = "training step (theory: tau = c * step, c fitted)";
        draw(dir, file, &Axes::log_log(title, x, y), s, files)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimum_inside_the_snapshots_is_found_and_the_ratio_decides() {
        assert_eq!(interior_min(&[5.0, 2.0, 3.0]), Some((1, true)));
        assert_eq!(interior_min(&[5.0, 4.0, 3.0]), Some((2, false)));
        assert_eq!(interior_min(&[f64::NAN]), None);
        let a = Along {
            n_over_d: 0.5,
            step: vec![1.0, 10.0, 100.0],
            loss: (vec![1.0; 3], vec![1.0; 3]),
            kl: (vec![100.0, 10.0, 16.0], vec![90.0, 9.0, 30.0]),
        };
        let c = minimum_claim(&a, &FULL);
        assert!(c.holds && c.measured == Some(1.6) && c.expected == Some(30.0 / 9.0));
        let flat = Along {
            kl: (vec![100.0, 10.0, 14.0], vec![90.0, 9.0, 30.0]),
            ..a
        };
        assert!(!minimum_claim(&flat, &FULL).holds);
    }

    #[test]
    fn rms_of_log_ratios_skips_what_is_not_finite() {
        let e = std::f64::consts::E;
        let r = rms_log(&[e, 1.0 / e, 1.0], &[1.0, 1.0, f64::NAN]).unwrap();
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        assert_eq!(rms_log(&[1.0], &[0.0]), None);
    }
}
