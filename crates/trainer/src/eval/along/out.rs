//! The files of `eval --along-training`: `dynamics.csv`, and the plots of `plot.rs` and `panels.rs`.

use super::args::{DynamicsArgs, DynamicsInputs};
use super::rows::{Curve, Row};
use super::theory::Theory;
use crate::eval::score_agreement::ScoreAgreement;
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), number)
}

/// Writes `dynamics.csv`, `dynamics.png`, `dynamics_loss.png` (with the theory dashed, when
/// there is one), `dynamics_quality.png` and `dynamics_kl.png` (when measured) into `out`.
pub fn write(
    out: &Path,
    curves: &[Curve],
    args: &DynamicsArgs,
    theory: Option<&Theory>,
    fwd_floor: Option<f64>,
) -> Result<()> {
    let score_t: Vec<usize> = curves
        .iter()
        .flat_map(|c| &c.rows)
        .find_map(|r| r.score.as_ref().map(|s| s.paper_t.clone()))
        .unwrap_or_default();
    let header = csv_header(&score_t);
    let points = score_t.len();
    let rows: Vec<Vec<String>> = curves
        .iter()
        .flat_map(|c| c.rows.iter().map(move |r| csv_row(c, r, points)))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_csv(&out.join("dynamics.csv"), &header, &rows)?;
    super::plot::memorisation(out, curves, args)?;
    super::plot::loss(out, curves, theory)?;
    super::panels::quality(out, curves, fwd_floor)?;
    super::panels::kl(out, curves, theory)
}

/// The columns of `dynamics.csv`: fixed ones, then a held-out and a training score cosine per
/// probed timestep.
fn csv_header(score_t: &[usize]) -> Vec<String> {
    let mut header: Vec<String> = [
        "step",
        "weights",
        "r_mem",
        "r_mem_lo",
        "r_mem_hi",
        "d1_train_mean",
        "d1_heldout_mean",
        "train_loss",
        "heldout_loss",
        "gap",
        "agree_cosine",
        "score_cos_heldout",
        "score_cos_train",
        "tau_mem",
        "tau_mem_lo",
        "tau_mem_hi",
        "tau_gen",
        "fwd",
        "kl_samples",
        "mia_auc",
        "mia_tpr_at_1pct_fpr",
        "mia_best_t",
    ]
    .map(String::from)
    .to_vec();
    for t in score_t {
        header.push(format!("score_cos_heldout_t{t}"));
        header.push(format!("score_cos_train_t{t}"));
    }
    header
}

/// One `dynamics.csv` row: snapshot `r` of curve `c`, with `points` score timesteps.
fn csv_row(c: &Curve, r: &Row, points: usize) -> Vec<String> {
    let iv = r.r_mem_interval;
    let mut v = vec![
        r.step.to_string(),
        r.kind.to_string(),
        opt(r.r_mem),
        opt(iv.and_then(|i| i.lo)),
        opt(iv.and_then(|i| i.hi)),
        opt(r.d1_train),
        opt(r.d1_heldout),
        opt(r.train_loss),
        opt(r.heldout_loss),
        opt(r.gap()),
        opt(r.agree),
        opt(r.score.as_ref().map(ScoreAgreement::heldout_mean)),
        opt(r.score.as_ref().map(ScoreAgreement::train_mean)),
        opt(c.tau_mem),
        opt(c.tau_mem_interval.lo),
        opt(c.tau_mem_interval.hi),
        opt(c.tau_gen.map(|s| s as f64)),
        opt(r.fwd),
        opt(r.kl_samples),
        opt(r.mia_auc),
        opt(r.mia_tpr),
        opt(r.mia_t.map(|t| t as f64)),
    ];
    for k in 0..points {
        let s = r.score.as_ref();
        v.push(opt(s.and_then(|s| s.heldout.get(k).copied())));
        v.push(opt(s.and_then(|s| s.train.get(k).copied())));
    }
    v
}

/// The `dynamics` entry of metrics.json: the settings, the default curve's tau_mem and
/// tau_gen (raw weights, or the fitted exact model) and every curve's.
pub fn json(
    curves: &[Curve],
    inp: &DynamicsInputs<'_>,
    bootstrap: usize,
    optional: Value,
    theory: Option<&Theory>,
) -> Value {
    let main = curves.first();
    let mut per = serde_json::Map::new();
    for c in curves {
        per.insert(c.kind.to_string(), c.json());
    }
    let mut v = json!({
        "steps": main.map(|c| c.rows.iter().map(|r| r.step).collect::<Vec<_>>()),
        "samples": inp.section.num,
        "sample_seed": inp.section.seed,
        "threshold": inp.threshold,
        "tau_mem_threshold": inp.args.tau_mem_threshold,
        "tau_gen_tolerance": inp.args.tau_gen_tolerance,
        "bootstrap": bootstrap,
        "default_weights": main.map(|c| c.kind.name()),
        "against": inp.against.map(|p| p.display().to_string()),
        "curves": per,
        "optional": optional,
        "theory": theory.map(Theory::json),
    });
    if let Some(m) = main.map(Curve::json) {
        for k in [
            "tau_mem",
            "tau_mem_reached",
            "tau_mem_lo",
            "tau_mem_hi",
            "tau_gen",
        ] {
            v[k] = m[k].clone();
        }
    }
    v
}
