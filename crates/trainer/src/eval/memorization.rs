//! `--metrics mem`: nearest-neighbour memorisation of generated samples (Gu et al.,
//! arXiv 2310.02664; docs/theory.md §3), with the held-out control, `nn.csv`, the d1/d2
//! histogram and `nn_grid.png`.

use crate::io::csv::write_csv;
use anyhow::{Context, Result};
use diffmem_data::Dataset;
use diffmem_metrics::memorization::{per_sample, summarize};
use diffmem_metrics::nn::{Neighbours, NnConfig, nearest_distinct_neighbours};
use diffmem_metrics::plot::{PlotSpec, histogram};
use diffmem_model::burn::prelude::Device;
use std::path::Path;

/// Nearest training indices of each sample (for the agreement metric) and the JSON summary.
pub struct MemResult {
    /// Index of each sample's nearest training image.
    pub nn1: Vec<usize>,
    /// metrics.json entry.
    pub json: serde_json::Value,
}

/// The two nearest training images of each sample and, when the held-out set has two or more
/// distinct rows, its two nearest held-out images. The second neighbour is the nearest image
/// distinct by value from the first (`nearest_distinct_neighbours`: duplicated rows cannot
/// make a copy's d_2 zero or noise-dependent); a training set with duplicates is announced on
/// stderr with their count.
pub fn neighbours(
    samples: &[f32],
    train: &Dataset,
    heldout: &Dataset,
    device: &Device,
) -> Result<(Neighbours, Option<Neighbours>)> {
    Ok(neighbours_counted(samples, train, heldout, device)?.0)
}

/// [`neighbours`] and the number of duplicated training rows.
fn neighbours_counted(
    samples: &[f32],
    train: &Dataset,
    heldout: &Dataset,
    device: &Device,
) -> Result<((Neighbours, Option<Neighbours>), usize)> {
    let d = train.dim();
    let cfg = NnConfig::new(2, d);
    let (nn_train, dups) = nearest_distinct_neighbours(samples, &train.samples, d, &cfg, device)
        .context("R_mem needs two distinct training images")?;
    if dups > 0 {
        eprintln!(
            "warning: {dups} of {} training rows duplicate an earlier row; R_mem's d2 is the \
             distance to the nearest training image distinct from the nearest one",
            train.len()
        );
    }
    let held_distinct = diffmem_metrics::nn::distinct_rows(&heldout.samples, d)
        .first
        .len();
    let nn_held = if held_distinct >= 2 {
        Some(nearest_distinct_neighbours(samples, &heldout.samples, d, &cfg, device)?.0)
    } else {
        None
    };
    Ok(((nn_train, nn_held), dups))
}

/// Computes and writes the memorisation metrics of `samples`.
pub fn run(
    samples: &[f32],
    train: &Dataset,
    heldout: &Dataset,
    threshold: f64,
    nn_scale: usize,
    device: &Device,
    out: &Path,
) -> Result<MemResult> {
    let ((nn_train, nn_held), dups) = neighbours_counted(samples, train, heldout, device)?;
    let mut summary = summarize(&nn_train, nn_held.as_ref(), threshold)?;
    summary.duplicate_train_rows = dups;
    let rows = per_sample(&nn_train, nn_held.as_ref(), threshold)?;
    let ratios: Vec<f64> = rows.iter().map(|r| r.ratio).collect();
    write_csv(
        &out.join("nn.csv"),
        &[
            "sample",
            "nn1_train_index",
            "nn2_train_index",
            "d1",
            "d2",
            "ratio",
            "memorized",
            "d1_heldout",
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.sample.to_string(),
                    train.provenance.indices[r.nn1].to_string(),
                    train.provenance.indices[r.nn2].to_string(),
                    r.d1.to_string(),
                    r.d2.to_string(),
                    r.ratio.to_string(),
                    (r.memorized as u8).to_string(),
                    r.d1_heldout.map_or(String::new(), |v| v.to_string()),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    histogram(
        &out.join("nn_ratio_hist.png"),
        &PlotSpec::new(
            "d1/d2 of generated samples (left of the line: memorised)",
            "d1 / d2",
            "samples",
        ),
        &ratios,
        40,
        Some(threshold),
    )?;
    super::nn_figures::write(out, samples, train, &rows, threshold, nn_scale)?;
    Ok(MemResult {
        nn1: nn_train.indices_at(0)?,
        json: serde_json::to_value(&summary)?,
    })
}
