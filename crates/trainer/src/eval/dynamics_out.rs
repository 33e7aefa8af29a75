//! The results of `eval --along-training`: one [`Row`] per snapshot and weight kind, grouped
//! into [`Curve`]s (raw, EMA, or the fitted exact model) with their tau_mem and tau_gen, and
//! their files: `dynamics.csv`, and the plots of `dynamics_plot.rs` and `dynamics_panels.rs`.

use super::dynamics::{DynamicsArgs, DynamicsInputs};
use super::dynamics_theory::Theory;
use super::score_agreement::ScoreAgreement;
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use diffmem_metrics::dynamics::{Interval, tau_gen_joint, tau_mem};
use serde_json::{Value, json};
use std::path::Path;

/// One snapshot evaluated with one kind of weights.
#[derive(Clone, Debug)]
pub struct Row {
    /// Optimisation step of the snapshot.
    pub step: usize,
    /// `raw`, `ema` or `fitted`.
    pub kind: &'static str,
    /// Whether each sample is memorised (d1/d2 below the threshold), in sample order.
    pub flags: Vec<bool>,
    /// R_mem.
    pub r_mem: Option<f64>,
    /// Its bootstrap 95% interval.
    pub r_mem_interval: Option<Interval>,
    /// Mean d1 to the training set.
    pub d1_train: Option<f64>,
    /// Mean d1 to the held-out set.
    pub d1_heldout: Option<f64>,
    /// Mean (over the loss timesteps) training loss.
    pub train_loss: Option<f64>,
    /// Mean held-out loss.
    pub heldout_loss: Option<f64>,
    /// Mean sample cosine with the second run at the same step.
    pub agree: Option<f64>,
    /// Score-level agreement with the second run at the same step.
    pub score: Option<ScoreAgreement>,
    /// FWD of the samples against the held-out set (`quality`).
    pub fwd: Option<f64>,
    /// KL of the samples' Gaussian fit to the true Gaussian (`gaussian`; None: singular fit).
    pub kl_samples: Option<f64>,
    /// Membership-inference AUC at its best timestep (`mia`).
    pub mia_auc: Option<f64>,
    /// TPR at 1% FPR at that timestep.
    pub mia_tpr: Option<f64>,
    /// That paper timestep.
    pub mia_t: Option<usize>,
}

impl Row {
    /// An empty row of `step` and `kind`.
    pub fn new(step: usize, kind: &'static str) -> Self {
        Self {
            step,
            kind,
            flags: Vec::new(),
            r_mem: None,
            r_mem_interval: None,
            d1_train: None,
            d1_heldout: None,
            train_loss: None,
            heldout_loss: None,
            agree: None,
            score: None,
            fwd: None,
            kl_samples: None,
            mia_auc: None,
            mia_tpr: None,
            mia_t: None,
        }
    }

    /// Held-out minus training loss.
    fn gap(&self) -> Option<f64> {
        Some(self.heldout_loss? - self.train_loss?)
    }
}

/// The rows of one weight kind, by step, with their onset times.
pub struct Curve {
    /// `raw`, `ema` or `fitted`.
    pub kind: &'static str,
    /// Rows by increasing step.
    pub rows: Vec<Row>,
    /// tau_mem (None: not reached, or no mem metric).
    pub tau_mem: Option<f64>,
    /// Its bootstrap interval.
    pub tau_mem_interval: Interval,
    /// tau_gen (None: no loss or quality metric).
    pub tau_gen: Option<usize>,
    /// Step of the lowest held-out loss.
    pub best_heldout_step: Option<usize>,
    /// Step of the highest held-out score agreement.
    pub score_peak_step: Option<usize>,
}

/// Step of the row with the largest `key` (finite values only).
fn argmax(rows: &[Row], key: impl Fn(&Row) -> Option<f64>) -> Option<usize> {
    rows.iter()
        .filter_map(|r| key(r).filter(|v| v.is_finite()).map(|v| (r.step, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(s, _)| s)
}

impl Curve {
    /// Groups rows by kind (raw first, then ema, then fitted) and computes the onset times.
    pub fn split(rows: Vec<Row>, args: &DynamicsArgs, res: &[Vec<usize>]) -> Vec<Curve> {
        ["raw", "ema", "fitted"]
            .into_iter()
            .filter_map(|kind| {
                let mut rows: Vec<Row> = rows.iter().filter(|r| r.kind == kind).cloned().collect();
                if rows.is_empty() {
                    return None;
                }
                rows.sort_by_key(|r| r.step);
                Some(Curve::of(kind, rows, args, res))
            })
            .collect()
    }

    fn of(kind: &'static str, rows: Vec<Row>, args: &DynamicsArgs, res: &[Vec<usize>]) -> Self {
        let steps: Vec<usize> = rows.iter().map(|r| r.step).collect();
        let has_mem = rows.iter().all(|r| !r.flags.is_empty());
        let (tau, iv) = if has_mem {
            let flags: Vec<Vec<bool>> = rows.iter().map(|r| r.flags.clone()).collect();
            tau_mem(&steps, &flags, args.tau_mem_threshold, res, 0.95)
        } else {
            (None, Interval { lo: None, hi: None })
        };
        let column = |f: fn(&Row) -> Option<f64>| -> Vec<f64> {
            rows.iter().map(|r| f(r).unwrap_or(f64::NAN)).collect()
        };
        let (held, fwd) = (column(|r| r.heldout_loss), column(|r| r.fwd));
        Curve {
            kind,
            tau_mem: tau,
            tau_mem_interval: iv,
            tau_gen: tau_gen_joint(&steps, &[&held, &fwd], args.tau_gen_tolerance),
            best_heldout_step: argmax(&rows, |r| r.heldout_loss.map(|l| -l)),
            score_peak_step: argmax(&rows, |r| {
                r.score.as_ref().map(ScoreAgreement::heldout_mean)
            }),
            rows,
        }
    }

    /// The curve's entry of metrics.json.
    fn json(&self) -> Value {
        let last = self.rows.last();
        json!({
            "tau_mem": self.tau_mem,
            // Without R_mem (no `mem` in --metrics) tau_mem is unknown, not "not reached".
            "tau_mem_reached": self.rows.iter().any(|r| r.r_mem.is_some()).then_some(self.tau_mem.is_some()),
            "tau_mem_lo": self.tau_mem_interval.lo,
            "tau_mem_hi": self.tau_mem_interval.hi,
            "tau_gen": self.tau_gen,
            "best_heldout_step": self.best_heldout_step,
            "score_peak_step": self.score_peak_step,
            "final_r_mem": last.and_then(|r| r.r_mem),
            "final_heldout_loss": last.and_then(|r| r.heldout_loss),
            "final_fwd": last.and_then(|r| r.fwd),
            "final_mia_auc": last.and_then(|r| r.mia_auc),
        })
    }
}

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
    for t in &score_t {
        header.push(format!("score_cos_heldout_t{t}"));
        header.push(format!("score_cos_train_t{t}"));
    }
    let mut rows = Vec::new();
    for c in curves {
        for r in &c.rows {
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
            for k in 0..score_t.len() {
                let s = r.score.as_ref();
                v.push(opt(s.and_then(|s| s.heldout.get(k).copied())));
                v.push(opt(s.and_then(|s| s.train.get(k).copied())));
            }
            rows.push(v);
        }
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_csv(&out.join("dynamics.csv"), &header, &rows)?;
    super::dynamics_plot::memorisation(out, curves, args)?;
    super::dynamics_plot::loss(out, curves, theory)?;
    super::dynamics_panels::quality(out, curves, fwd_floor)?;
    super::dynamics_panels::kl(out, curves, theory)
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
        "default_weights": main.map(|c| c.kind),
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
