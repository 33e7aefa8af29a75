//! The `nn_grid` figure of `eval`: each generated sample beside its nearest and second-nearest
//! training images, so that copies (memorisation, Gu et al., arXiv 2310.02664) are visible.
//!
//! [`nn_triplets`] returns the images in display order, `[3 L, D]` row-major for L chosen
//! samples: sample, NN_1, NN_2, next sample, ... Laid out in a grid of [`NN_GRID_COLUMNS`]
//! (or a multiple of it) columns, every grid row holds whole triplets; [`write_nn_grid`] does
//! that with the data crate's PNG grid writer.

use std::path::Path;

use diffmem_data::SampleShape;

use crate::nn::Neighbours;
use crate::{MetricsError, Result};

/// Images per sample in the grid: the sample, its nearest and its second-nearest training image.
pub const NN_GRID_COLUMNS: usize = 3;

/// Arrange the samples listed in `which` (indices into `samples`, `[M, dim]` row-major), each
/// followed by its two nearest training images from `train` (`[N, dim]`) according to `nn`
/// (the samples' neighbours in `train`, k >= 2). Returns `[3 which.len(), dim]` row-major.
pub fn nn_triplets(
    samples: &[f32],
    train: &[f32],
    dim: usize,
    nn: &Neighbours,
    which: &[usize],
) -> Result<Vec<f32>> {
    if dim == 0 || !samples.len().is_multiple_of(dim) || !train.len().is_multiple_of(dim) {
        return Err(MetricsError::Invalid(format!(
            "samples ({}) and training set ({}) are not rows of dimension {dim}",
            samples.len(),
            train.len()
        )));
    }
    let (m, n) = (samples.len() / dim, train.len() / dim);
    if nn.len() != m || nn.dim != dim {
        return Err(MetricsError::Invalid(format!(
            "neighbours of {} samples of dimension {} given for {m} samples of dimension {dim}",
            nn.len(),
            nn.dim
        )));
    }
    let (nn1, nn2) = (nn.indices_at(0)?, nn.indices_at(1)?);
    let row = |set: &[f32], i: usize| set[i * dim..(i + 1) * dim].to_vec();
    let mut out = Vec::with_capacity(NN_GRID_COLUMNS * which.len() * dim);
    for &i in which {
        if i >= m || nn1[i] >= n || nn2[i] >= n {
            return Err(MetricsError::Invalid(format!(
                "sample {i} or its neighbours are out of range (M = {m}, N = {n})"
            )));
        }
        out.extend(row(samples, i));
        out.extend(row(train, nn1[i]));
        out.extend(row(train, nn2[i]));
    }
    Ok(out)
}

/// Write the `nn_grid.png` figure to `path`: the triplets of the samples in `which` (see
/// [`nn_triplets`]), `triplets_per_row` of them side by side (at least 1), each image drawn with
/// `shape` by [`diffmem_data::write_grid`] (pixels in [-1, 1]).
pub fn write_nn_grid(
    path: &Path,
    samples: &[f32],
    train: &[f32],
    shape: SampleShape,
    nn: &Neighbours,
    which: &[usize],
    triplets_per_row: usize,
) -> Result<()> {
    let images = nn_triplets(samples, train, shape.dim(), nn, which)?;
    let ncols = NN_GRID_COLUMNS * triplets_per_row.max(1);
    diffmem_data::write_grid(path, &images, shape, ncols).map_err(|e| MetricsError::Plot {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

/// Indices of up to `count` samples, most memorised first: ascending d_1/d_2 `ratios` (ties by
/// index; NaN last). A grid of these shows the clearest copies.
pub fn most_memorized(ratios: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ratios.len()).collect();
    let key = |i: usize| {
        if ratios[i].is_nan() {
            f64::INFINITY
        } else {
            ratios[i]
        }
    };
    order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
    order.truncate(count);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose every value is its own label, so the arrangement can be read back.
    fn labelled(labels: &[f32], dim: usize) -> Vec<f32> {
        labels.iter().flat_map(|&l| vec![l; dim]).collect()
    }

    #[test]
    fn triplets_are_sample_then_first_then_second_neighbour() {
        let dim = 4;
        let samples = labelled(&[100.0, 101.0, 102.0], dim);
        let train = labelled(&[0.0, 1.0, 2.0, 3.0, 4.0], dim);
        let nn = Neighbours {
            k: 2,
            dim,
            distances: vec![0.0; 6],
            indices: vec![4, 2, 0, 1, 3, 0],
        };
        let grid = nn_triplets(&samples, &train, dim, &nn, &[2, 0]).unwrap();
        let firsts: Vec<f32> = grid.chunks(dim).map(|r| r[0]).collect();
        assert_eq!(firsts, vec![102.0, 3.0, 0.0, 100.0, 4.0, 2.0]);
        assert!(grid.chunks(dim).all(|r| r.iter().all(|&v| v == r[0])));
        assert!(
            nn_triplets(&samples, &train, dim, &nn, &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dim = 2;
        let samples = labelled(&[1.0], dim);
        let train = labelled(&[0.0, 1.0], dim);
        let nn = Neighbours {
            k: 2,
            dim,
            distances: vec![0.0; 2],
            indices: vec![0, 5],
        };
        assert!(nn_triplets(&samples, &train, dim, &nn, &[0]).is_err()); // index 5 >= N
        assert!(nn_triplets(&samples, &train, dim, &nn, &[1]).is_err()); // no sample 1
        assert!(nn_triplets(&samples, &train, 3, &nn, &[0]).is_err()); // ragged
        let k1 = Neighbours {
            k: 1,
            distances: vec![0.0],
            indices: vec![0],
            ..nn
        };
        assert!(nn_triplets(&samples, &train, dim, &k1, &[0]).is_err());
    }

    #[test]
    fn grid_png_has_whole_triplets_per_row() {
        let (h, w) = (4, 5);
        let shape = SampleShape::Image { c: 1, h, w };
        let dim = shape.dim();
        let samples = labelled(&[0.5, -0.5, 0.25], dim);
        let train = labelled(&[-1.0, 1.0, 0.0], dim);
        let nn = Neighbours {
            k: 2,
            dim,
            distances: vec![0.0; 6],
            indices: vec![0, 1, 1, 2, 2, 0],
        };
        let dir = std::env::temp_dir().join(format!("diffmem-nn-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nn_grid.png");
        write_nn_grid(&path, &samples, &train, shape, &nn, &[0, 1, 2], 2).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        // 2 triplets (6 tiles) per row, 2 rows; 1-pixel borders around every tile.
        assert_eq!(
            img.dimensions(),
            (6 * (w as u32 + 1) + 1, 2 * (h as u32 + 1) + 1)
        );
        // Tile 1 of row 0 is NN_1 of sample 0: training image 0 (value -1, black).
        assert_eq!(img.get_pixel(w as u32 + 2, 1).0, [0]);
        // Tile 0 of row 1 is sample 2 (value 0.25).
        assert_eq!(img.get_pixel(1, h as u32 + 2).0, [159]);
        let bad = write_nn_grid(&path, &samples, &train, shape, &nn, &[7], 1);
        assert!(bad.is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn most_memorized_orders_by_ratio() {
        let r = [0.5, f64::NAN, 0.1, 0.5, 0.0];
        assert_eq!(most_memorized(&r, 10), vec![4, 2, 0, 3, 1]);
        assert_eq!(most_memorized(&r, 2), vec![4, 2]);
    }
}
