//! `--metrics mia`: membership inference from per-example denoising losses (Carlini et al.,
//! arXiv 2301.13188). At each timestep of the loss grid, the training and held-out rows get the
//! same noise draws; the attack score is minus the per-example loss; AUC and TPR at 1% FPR per
//! timestep, and the timestep where the attack works best (an optimistic choice: it is picked
//! on the same rows). Formulas: `diffmem_metrics::membership`; `mia.csv`, `mia.png`, and the
//! per-example scores in `mia_scores.csv` (one line per row and timestep: `member` 1 for a
//! training row, 0 for a held-out one; `row`, its position in the set, the same as in
//! `diffmem data export --run RUN`'s rows and held-out rows; `index`, its index in the data
//! source; `paper_t`; `score` = minus its eps-unit denoising loss), from which the AUC and the
//! TPR of any threshold can be recomputed outside diffmem.

use crate::eval::paired::PairedRows;
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use diffmem_data::Dataset;
use diffmem_metrics::denoising_loss::per_example_loss;
use diffmem_metrics::membership::{auc, tpr_at_fpr};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use serde_json::{Value, json};
use std::path::Path;

/// Seed of the noise draws shared by both sets (not the loss gap's, so the two are independent).
const NOISE_SEED: u64 = 0x0_3ea;
/// The false-positive rate of the low-FPR operating point.
pub const FPR: f64 = 0.01;

/// The attack at every grid timestep.
pub struct Attack {
    /// Rows per set.
    pub m: usize,
    /// Paper timesteps (1-based) of the grid.
    pub paper_t: Vec<usize>,
    /// AUC per timestep.
    pub aucs: Vec<f64>,
    /// TPR at [`FPR`] per timestep.
    pub tprs: Vec<f64>,
    /// Mean training loss per timestep.
    pub train_mean: Vec<f64>,
    /// Mean held-out loss per timestep.
    pub heldout_mean: Vec<f64>,
    /// Index of the best timestep: the highest AUC, the least noisy among equal ones.
    pub best: usize,
    /// Per timestep, the attack score (minus the loss) of each of the `m` training rows.
    pub train_scores: Vec<Vec<f64>>,
    /// Per timestep, the attack score of each of the `m` held-out rows.
    pub heldout_scores: Vec<Vec<f64>>,
}

/// The attack over `points` timesteps on up to `max_rows` rows per set (no files).
pub fn attack(p: &PairedRows) -> Result<Attack> {
    p.need_heldout("--metrics mia needs held-out (non-member) examples: train with --heldout > 0")?;
    let m = p.rows(p.max_rows, 1);
    let grid = p.grid();
    let loss = |set: &Dataset| p.eps_loss(per_example_loss, set, m, &grid, NOISE_SEED);
    let (tr, he) = (loss(p.train), loss(p.heldout));
    let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<f64>>();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mut aucs = Vec::with_capacity(grid.len());
    let mut tprs = Vec::with_capacity(grid.len());
    let (train_scores, heldout_scores): (Vec<_>, Vec<_>) =
        tr.iter().zip(&he).map(|(a, b)| (neg(a), neg(b))).unzip();
    for (a, b) in train_scores.iter().zip(&heldout_scores) {
        aucs.push(auc(a, b)?);
        tprs.push(tpr_at_fpr(a, b, FPR)?);
    }
    let best = (0..grid.len()).fold(0, |b, k| if aucs[k] > aucs[b] { k } else { b });
    Ok(Attack {
        m,
        paper_t: grid.iter().map(|t| t + 1).collect(),
        aucs,
        tprs,
        train_mean: tr.iter().map(|v| mean(v)).collect(),
        heldout_mean: he.iter().map(|v| mean(v)).collect(),
        best,
        train_scores,
        heldout_scores,
    })
}

/// Writes `mia_scores.csv`: one line per (set, row, timestep) with the attack score.
fn write_scores(p: &PairedRows, a: &Attack, out: &Path) -> Result<()> {
    let mut rows = Vec::with_capacity(2 * a.m * a.paper_t.len());
    for (member, set, scores) in [
        ("1", p.train, &a.train_scores),
        ("0", p.heldout, &a.heldout_scores),
    ] {
        for row in 0..a.m {
            let index = set.provenance.indices.get(row).copied().unwrap_or(row);
            for (t, at_t) in a.paper_t.iter().zip(scores.iter()) {
                rows.push(vec![
                    member.to_string(),
                    row.to_string(),
                    index.to_string(),
                    t.to_string(),
                    number(at_t[row]),
                ]);
            }
        }
    }
    write_csv(
        &out.join("mia_scores.csv"),
        &["member", "row", "index", "paper_t", "score"],
        &rows,
    )
}

/// Computes the attack over `points` timesteps on up to `max_rows` rows per set.
pub fn run(p: &PairedRows, out: &Path) -> Result<Value> {
    let a = attack(p)?;
    write_scores(p, &a, out)?;
    let Attack {
        m,
        paper_t,
        aucs,
        tprs,
        train_mean,
        heldout_mean,
        best,
        ..
    } = a;
    let rows: Vec<Vec<String>> = (0..paper_t.len())
        .map(|k| {
            vec![
                paper_t[k].to_string(),
                number(aucs[k]),
                number(tprs[k]),
                number(train_mean[k]),
                number(heldout_mean[k]),
            ]
        })
        .collect();
    write_csv(
        &out.join("mia.csv"),
        &[
            "paper_t",
            "auc",
            "tpr_at_1pct_fpr",
            "mean_train_loss",
            "mean_heldout_loss",
        ],
        &rows,
    )?;
    let x: Vec<f64> = paper_t.iter().map(|&t| t as f64).collect();
    line_plot(
        &out.join("mia.png"),
        &PlotSpec::new(
            "Membership inference from the denoising loss",
            "timestep t",
            "AUC / TPR at 1% FPR",
        ),
        &[
            Series::new("AUC", x.clone(), aucs.clone()),
            Series::new("TPR at 1% FPR", x.clone(), tprs.clone()),
            Series::new("chance AUC", x.clone(), vec![0.5; x.len()]).as_dashed(),
        ],
    )?;
    Ok(json!({
        "rows_per_set": m,
        "fpr": FPR,
        "paper_t": paper_t,
        "auc": aucs,
        "tpr_at_fpr": tprs,
        "best": { "paper_t": paper_t[best], "auc": aucs[best], "tpr_at_fpr": tprs[best] },
    }))
}
