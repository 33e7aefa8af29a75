//! Screening generated samples for divergence before distances are summarised.
//!
//! A sampler that diverges on a few trajectories produces samples with non-finite values or
//! values far outside the data (e.g. 479 on images in [-1, 1]). A handful of them moves the
//! mean nearest-neighbour distance a lot (3 of 1000 moved mean d_1 from 0.18 to 0.60 in one
//! run) while leaving medians alone, so they are counted and reported, and left out of the
//! distance summaries only when the user asks.
//!
//! A sample x (a row of dimension D) is
//! - *non-finite* when some x_i is NaN or infinite;
//! - *exploding* when it is finite and max_i |x_i| > factor * A, with A = max |y_i| over the
//!   training rows y (the data range; factor = [`EXPLODING_FACTOR`] by default).

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Result};

/// A sample is exploding beyond this many times the largest training magnitude.
pub const EXPLODING_FACTOR: f64 = 10.0;

/// Indices of bad samples listed in the report (the counts are complete).
const LISTED: usize = 20;

/// What the screening found, as written to metrics.json (`sample_health`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleHealth {
    /// Samples screened (M).
    pub num_samples: usize,
    /// Samples with a NaN or infinite value.
    pub non_finite: usize,
    /// Finite samples with max |x_i| > `limit`.
    pub exploding: usize,
    /// A = max |y_i| over the training rows.
    pub data_max_abs: f64,
    /// factor * A, the magnitude beyond which a sample is exploding.
    pub limit: f64,
    /// Largest finite |x_i| over all samples (0 when none is finite).
    pub max_abs: f64,
    /// Indices of the first bad samples (non-finite or exploding), ascending.
    pub bad_samples: Vec<usize>,
    /// Whether the bad samples were left out of the metrics (`--exclude-nonfinite`).
    pub excluded: bool,
}

impl SampleHealth {
    /// Non-finite plus exploding samples.
    pub fn bad(&self) -> usize {
        self.non_finite + self.exploding
    }
}

/// Screens `samples` (`[M, dim]` row-major) against the range of `train` (`[N, dim]`) with
/// threshold `factor` (> 0). Returns the report (with `excluded = false`) and a flag per
/// sample, true for a good one.
pub fn screen(
    samples: &[f32],
    train: &[f32],
    dim: usize,
    factor: f64,
) -> Result<(SampleHealth, Vec<bool>)> {
    if dim == 0 || !samples.len().is_multiple_of(dim) {
        return Err(MetricsError::Invalid(format!(
            "{} sample values are not rows of dimension {dim}",
            samples.len()
        )));
    }
    if !(factor.is_finite() && factor > 0.0) {
        return Err(MetricsError::Invalid(format!(
            "the exploding-sample factor must be positive, got {factor}"
        )));
    }
    let data_max_abs = train
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, &v| m.max(f64::from(v.abs())));
    let limit = factor * data_max_abs;
    let (mut non_finite, mut exploding, mut max_abs) = (0, 0, 0.0f64);
    let mut good = Vec::with_capacity(samples.len() / dim);
    let mut bad_samples = Vec::new();
    for (i, row) in samples.chunks_exact(dim).enumerate() {
        let finite = row.iter().all(|v| v.is_finite());
        let peak = row
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |m, &v| m.max(f64::from(v.abs())));
        max_abs = max_abs.max(peak);
        let ok = if !finite {
            non_finite += 1;
            false
        } else if peak > limit {
            exploding += 1;
            false
        } else {
            true
        };
        if !ok && bad_samples.len() < LISTED {
            bad_samples.push(i);
        }
        good.push(ok);
    }
    let report = SampleHealth {
        num_samples: good.len(),
        non_finite,
        exploding,
        data_max_abs,
        limit,
        max_abs,
        bad_samples,
        excluded: false,
    };
    Ok((report, good))
}

/// The rows of `samples` (`[M, dim]`) whose flag in `good` is true, in order.
pub fn keep_good(samples: &[f32], dim: usize, good: &[bool]) -> Vec<f32> {
    samples
        .chunks_exact(dim.max(1))
        .zip(good)
        .filter(|(_, ok)| **ok)
        .flat_map(|(row, _)| row.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_non_finite_and_exploding_rows() {
        // Training data in [-1, 1]: limit 10 with the default factor.
        let train = [0.5, -1.0, 0.25, 0.0];
        let samples = [
            0.1,
            0.2, // good
            f32::NAN,
            0.0, // non-finite
            9.5,
            -9.9, // good: within 10
            0.0,
            -479.0, // exploding
            f32::INFINITY,
            1e6, // non-finite (not also exploding)
            10.5,
            0.0, // exploding
        ];
        let (h, good) = screen(&samples, &train, 2, EXPLODING_FACTOR).unwrap();
        assert_eq!(good, vec![true, false, true, false, false, false]);
        assert_eq!(
            (h.num_samples, h.non_finite, h.exploding, h.bad()),
            (6, 2, 2, 4)
        );
        assert_eq!((h.data_max_abs, h.limit), (1.0, 10.0));
        assert_eq!(h.max_abs, 1e6);
        assert_eq!(h.bad_samples, vec![1, 3, 4, 5]);
        assert!(!h.excluded);
        assert_eq!(keep_good(&samples, 2, &good), vec![0.1, 0.2, 9.5, -9.9]);
    }

    #[test]
    fn clean_samples_pass_and_bad_input_is_an_error() {
        let (h, good) = screen(&[0.0; 6], &[2.0, -3.0], 2, 2.0).unwrap();
        assert_eq!((h.bad(), h.limit), (0, 6.0));
        assert!(good.iter().all(|&g| g));
        assert!(screen(&[0.0; 3], &[1.0], 2, 10.0).is_err());
        assert!(screen(&[0.0; 2], &[1.0], 2, 0.0).is_err());
        assert!(screen(&[0.0; 2], &[1.0], 0, 10.0).is_err());
    }
}
