//! `--metrics loss`: the generalisation gap, the denoising loss on training and held-out
//! images at a fixed grid of timesteps with identical noise draws (docs/theory.md §3);
//! `loss_gap.csv` and `loss_gap.png`.

use crate::eval::paired::PairedRows;
use crate::io::csv::write_csv;
use anyhow::Result;
use diffmem_data::Dataset;
use diffmem_metrics::denoising_loss::{normalised_gap, per_timestep_loss};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use std::path::Path;

/// Seed of the noise draws shared by both sets.
const NOISE_SEED: u64 = 0x10_55;

/// The timestep grid, the training and held-out loss at each, and the rows per set.
pub type LossCurves = (Vec<usize>, Vec<f64>, Vec<f64>, usize);

/// The per-timestep loss curves: the 0-based timestep grid of `points` timesteps, the training
/// and the held-out losses on the same number of rows of each set (up to `max_rows`, the same
/// noise draws for both), and that number of rows.
pub fn curves(p: &PairedRows) -> Result<LossCurves> {
    p.need_heldout("the loss gap needs a held-out set: train with --heldout > 0")?;
    let m = p.rows(p.max_rows, 1);
    let grid = p.grid();
    let loss = |set: &Dataset| p.eps_loss(per_timestep_loss, set, m, &grid, NOISE_SEED);
    let (tr, he) = (loss(p.train), loss(p.heldout));
    Ok((grid, tr, he, m))
}

/// Computes and writes the loss gap over `points` timesteps on up to `max_rows` rows per set.
pub fn run(p: &PairedRows, out: &Path) -> Result<serde_json::Value> {
    let (grid, tr, he, m) = curves(p)?;
    let gap: Vec<f64> = tr.iter().zip(&he).map(|(a, b)| b - a).collect();
    let relative: Vec<f64> = gap.iter().zip(&he).map(|(g, h)| g / h).collect();
    let rows: Vec<Vec<String>> = grid
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            vec![
                (t + 1).to_string(),
                tr[k].to_string(),
                he[k].to_string(),
                gap[k].to_string(),
                relative[k].to_string(),
            ]
        })
        .collect();
    write_csv(
        &out.join("loss_gap.csv"),
        &[
            "paper_t",
            "train_loss",
            "heldout_loss",
            "gap",
            "relative_gap",
        ],
        &rows,
    )?;
    let x: Vec<f64> = grid.iter().map(|&t| (t + 1) as f64).collect();
    line_plot(
        &out.join("loss_gap.png"),
        &PlotSpec {
            log_y: true,
            ..PlotSpec::new(
                "Denoising loss, same noise draws",
                "timestep t",
                "eps MSE per coordinate",
            )
        },
        &[
            Series::new("train", x.clone(), tr.clone()),
            Series::new("held-out", x, he.clone()),
        ],
    )?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mean_gap = mean(&he) - mean(&tr);
    // `mean_gap` is `mean_gap_eps` under its older name (sweep reports read it).
    Ok(serde_json::json!({
        "units": "eps",
        "rows_per_set": m,
        "paper_t": grid.iter().map(|t| t + 1).collect::<Vec<_>>(),
        "train_loss": tr, "heldout_loss": he, "gap": gap, "relative_gap": relative,
        "mean_train_loss": mean(&tr), "mean_heldout_loss": mean(&he), "mean_gap": mean_gap,
        "mean_gap_eps": mean_gap, "normalised_gap": normalised_gap(&tr, &he),
    }))
}
