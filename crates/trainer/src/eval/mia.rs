//! `--metrics mia`: membership inference from per-example denoising losses (Carlini et al.,
//! arXiv 2301.13188). At each timestep of the loss grid, the training and held-out rows get the
//! same noise draws; the attack score is minus the per-example loss; AUC and TPR at 1% FPR per
//! timestep, and the timestep where the attack works best (an optimistic choice: it is picked
//! on the same rows). Formulas: `diffmem_metrics::membership`; `mia.csv`, `mia.png`.

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
    for (a, b) in tr.iter().zip(&he) {
        aucs.push(auc(&neg(a), &neg(b))?);
        tprs.push(tpr_at_fpr(&neg(a), &neg(b), FPR)?);
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
    })
}

/// Computes the attack over `points` timesteps on up to `max_rows` rows per set.
pub fn run(p: &PairedRows, out: &Path) -> Result<Value> {
    let Attack {
        m,
        paper_t,
        aucs,
        tprs,
        train_mean,
        heldout_mean,
        best,
    } = attack(p)?;
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
