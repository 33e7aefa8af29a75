//! The two nearest-neighbour figures of `--metrics mem` (see `diffmem_metrics::nn_figure`):
//! `nn_grid.png`/`.svg`, the most memorised samples (smallest d1/d2: the clearest copies, which
//! overstate how much a model copies), and `nn_grid_random.png`/`.svg`, the first samples drawn
//! (an unbiased draw from the model: what a typical sample looks like next to its neighbours).

use anyhow::Result;
use diffmem_data::{Dataset, SampleShape};
use diffmem_metrics::memorization::SampleMemorization;
use diffmem_metrics::nn_figure::{NnFigure, NnRow, write_nn_figure};
use diffmem_metrics::nn_grid::most_memorized;
use std::path::Path;

/// Rows in each figure.
pub const FIGURE_ROWS: usize = 16;
/// Default enlargement of each image.
pub const DEFAULT_SCALE: usize = 3;
/// Largest enlargement (`--nn-scale`): beyond it a figure of 32-pixel images passes 10k pixels.
pub const MAX_SCALE: usize = 16;

/// Writes both figures into `out` for image data (nothing for other data).
pub fn write(
    out: &Path,
    samples: &[f32],
    train: &Dataset,
    rows: &[SampleMemorization],
    threshold: f64,
    scale: usize,
) -> Result<()> {
    if !matches!(train.shape, SampleShape::Image { .. }) || rows.is_empty() {
        return Ok(());
    }
    if scale > MAX_SCALE {
        anyhow::bail!("--nn-scale {scale} is too large: use 1 to {MAX_SCALE}");
    }
    let count = FIGURE_ROWS.min(rows.len());
    let ratios: Vec<f64> = rows.iter().map(|r| r.ratio).collect();
    let figures = [
        (
            "nn_grid",
            most_memorized(&ratios, count),
            format!(
                "The {count} most memorised of {} samples (smallest d1/d2)",
                rows.len()
            ),
        ),
        (
            "nn_grid_random",
            (0..count).collect(),
            format!("{count} samples as drawn (unselected) of {}", rows.len()),
        ),
    ];
    let label = |i: usize| train.provenance.indices.get(i).copied().unwrap_or(i);
    for (name, which, title) in figures {
        let fig = NnFigure {
            title,
            rows: which
                .iter()
                .map(|&i| {
                    let r = &rows[i];
                    NnRow {
                        sample: r.sample,
                        nn1: r.nn1,
                        nn2: r.nn2,
                        nn1_label: label(r.nn1),
                        nn2_label: label(r.nn2),
                        d1: r.d1,
                        d2: r.d2,
                    }
                })
                .collect(),
            samples,
            train: &train.samples,
            shape: train.shape,
            scale: u32::try_from(scale).unwrap_or(u32::MAX),
            blocks: 2,
            threshold,
        };
        let png = out.join(format!("{name}.png"));
        write_nn_figure(&png, Some(&out.join(format!("{name}.svg"))), &fig)?;
    }
    Ok(())
}
