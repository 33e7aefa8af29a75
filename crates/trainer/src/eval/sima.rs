//! `--metrics sima`: the SimA membership statistic (Rao, Qu & Moyer, arXiv 2509.25003; formula
//! and the authors' protocol in `diffmem_metrics::sima`), beside the loss-based attack of
//! `--metrics mia`. Training and held-out rows (the same number of each, up to
//! `--loss-rows`) are fed unnoised at the authors' timesteps (0-based steps 0, 10, ..., 200 of
//! T = 1000, scaled to the run's T); the membership score is -sum_i |eps_theta(x_0, t)_i|^4.
//!
//! Reported: AUC and TPR at 1% and 0.1% FPR at every timestep; at the smallest timestep
//! (paper t = 1, the clean image at the lowest noise level, chosen before looking at the
//! data) and at the best timestep (the highest AUC: the authors' protocol, which picks the
//! timestep on the same rows and so is optimistic); the null standard deviation of the AUC.
//! Files: `sima.csv` (per timestep), `sima_scores.csv` (per example: set, row, source index,
//! score at the first and at the best timestep), `sima.png`.

use crate::eval::paired::PairedRows;
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use diffmem_metrics::membership::{auc, auc_null_sd, tpr_at_fpr};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::sima::{sima_grid, sima_scores};
use serde_json::{Value, json};
use std::path::Path;

/// The two low false-positive rates reported.
pub const FPRS: [f64; 2] = [0.01, 0.001];

/// The attack at one timestep.
struct AtT {
    auc: f64,
    tpr: [f64; 2],
}

impl AtT {
    fn json(&self, paper_t: usize) -> Value {
        json!({ "paper_t": paper_t, "auc": self.auc,
                "tpr_at_1pct_fpr": self.tpr[0], "tpr_at_0_1pct_fpr": self.tpr[1] })
    }
}

/// Computes the attack and writes its files.
pub fn run(p: &PairedRows, out: &Path) -> Result<Value> {
    p.need_heldout("--metrics sima needs held-out (non-member) rows: train with --heldout > 0")?;
    let m = p.rows(p.max_rows, 1);
    let grid = sima_grid(p.ctx.diffusion.steps());
    let score = |set: &diffmem_data::Dataset| {
        let rows = p.first(set, m);
        let s = sima_scores(p.ctx, rows, set.dim(), &grid, 256);
        s.into_iter()
            .map(|v| v.into_iter().map(|x| -x).collect::<Vec<f64>>())
            .collect::<Vec<_>>()
    };
    let (tr, he) = (score(p.train), score(p.heldout));
    let mut at = Vec::with_capacity(grid.len());
    for (a, b) in tr.iter().zip(&he) {
        at.push(AtT {
            auc: auc(a, b)?,
            tpr: [tpr_at_fpr(a, b, FPRS[0])?, tpr_at_fpr(a, b, FPRS[1])?],
        });
    }
    let best = (0..at.len()).fold(0, |b, k| if at[k].auc > at[b].auc { k } else { b });
    let paper_t: Vec<usize> = grid.iter().map(|t| t + 1).collect();
    write_files(out, p, m, &paper_t, &at, (&tr[..], &he[..]), best)?;
    Ok(json!({
        "rows_per_set": m,
        "query": "clean x_0 (not noised)",
        "statistic": "sum_i |eps_theta(x_0, t)_i|^4",
        "paper_t": paper_t,
        "auc": at.iter().map(|a| a.auc).collect::<Vec<_>>(),
        "tpr_at_1pct_fpr": at.iter().map(|a| a.tpr[0]).collect::<Vec<_>>(),
        "tpr_at_0_1pct_fpr": at.iter().map(|a| a.tpr[1]).collect::<Vec<_>>(),
        "auc_null_sd": auc_null_sd(m, m),
        "first": at[0].json(paper_t[0]),
        "best": at[best].json(paper_t[best]),
    }))
}

/// `sima.csv`, `sima_scores.csv` and `sima.png`.
fn write_files(
    out: &Path,
    p: &PairedRows,
    m: usize,
    paper_t: &[usize],
    at: &[AtT],
    (tr, he): (&[Vec<f64>], &[Vec<f64>]),
    best: usize,
) -> Result<()> {
    write_csv(
        &out.join("sima.csv"),
        &["paper_t", "auc", "tpr_at_1pct_fpr", "tpr_at_0_1pct_fpr"],
        &paper_t
            .iter()
            .zip(at)
            .map(|(t, a)| {
                vec![
                    t.to_string(),
                    number(a.auc),
                    number(a.tpr[0]),
                    number(a.tpr[1]),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let best_col = format!("score_t{}", paper_t[best]);
    let first_col = format!("score_t{}", paper_t[0]);
    let mut rows = Vec::with_capacity(2 * m);
    for (name, set, s) in [("train", p.train, tr), ("heldout", p.heldout, he)] {
        for (k, (&first, &at_best)) in s[0].iter().zip(&s[best]).take(m).enumerate() {
            let index = set.provenance.indices.get(k).copied().unwrap_or(k);
            rows.push(vec![
                name.to_string(),
                k.to_string(),
                index.to_string(),
                number(first),
                number(at_best),
            ]);
        }
    }
    write_csv(
        &out.join("sima_scores.csv"),
        &["set", "row", "index", first_col.as_str(), best_col.as_str()],
        &rows,
    )?;
    let x: Vec<f64> = paper_t.iter().map(|&t| t as f64).collect();
    line_plot(
        &out.join("sima.png"),
        &PlotSpec::new(
            "SimA membership inference (norm of the predicted noise at the clean image)",
            "timestep t",
            "AUC / TPR",
        ),
        &[
            Series::new("AUC", x.clone(), at.iter().map(|a| a.auc).collect()),
            Series::new(
                "TPR at 1% FPR",
                x.clone(),
                at.iter().map(|a| a.tpr[0]).collect(),
            ),
            Series::new(
                "TPR at 0.1% FPR",
                x.clone(),
                at.iter().map(|a| a.tpr[1]).collect(),
            ),
            Series::new("chance AUC", x.clone(), vec![0.5; x.len()]).as_dashed(),
        ],
    )?;
    Ok(())
}
