//! Where the rows of a search live: host slices (uploaded block by block) or a device tensor.

use std::ops::Range;

use burn::prelude::*;

use crate::{MetricsError, Result};

/// A set of rows the search reads in blocks.
pub(super) trait Rows {
    /// Number of rows.
    fn len(&self) -> usize;
    /// Row length D.
    fn dim(&self) -> usize;
    /// Rows `range` as a `[len, D]` tensor on the search device.
    fn block(&self, range: Range<usize>) -> Tensor<2>;
    /// The mean row as a `[1, D]` tensor on the search device.
    fn mean_row(&self) -> Tensor<2>;
    /// Exact squared distances `||q_i - r_c||^2` for every query i and its k candidates
    /// `candidates[i * k .. (i + 1) * k]` (row-major `[M, k]`, same layout out).
    fn refine(queries: &Self, refs: &Self, candidates: &[usize], k: usize) -> Result<Vec<f64>>;
}

/// Row-major f32 rows on the host.
pub(super) struct HostRows<'a> {
    data: &'a [f32],
    dim: usize,
    device: &'a Device,
}

impl<'a> HostRows<'a> {
    /// Check that `data` is a finite `[n, dim]` array; `what` names it in errors.
    pub(super) fn new(what: &str, data: &'a [f32], dim: usize, device: &'a Device) -> Result<Self> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(MetricsError::Invalid(format!(
                "{what}: {} values are not rows of dimension {dim}",
                data.len()
            )));
        }
        if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
            return Err(MetricsError::Invalid(format!(
                "{what}: row {} has a non-finite value",
                pos / dim
            )));
        }
        Ok(Self { data, dim, device })
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

impl Rows for HostRows<'_> {
    fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn block(&self, range: Range<usize>) -> Tensor<2> {
        let rows = range.len();
        let values = self.data[range.start * self.dim..range.end * self.dim].to_vec();
        Tensor::from_data(TensorData::new(values, [rows, self.dim]), self.device)
    }

    fn mean_row(&self) -> Tensor<2> {
        let mut sum = vec![0f64; self.dim];
        for row in self.data.chunks_exact(self.dim) {
            sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
        }
        let n = self.len().max(1) as f64;
        let mean: Vec<f32> = sum.into_iter().map(|s| (s / n) as f32).collect();
        Tensor::from_data(TensorData::new(mean, [1, self.dim]), self.device)
    }

    /// In f64 on the host.
    fn refine(queries: &Self, refs: &Self, candidates: &[usize], k: usize) -> Result<Vec<f64>> {
        let out = candidates.iter().enumerate().map(|(c, &r)| {
            let (q, r) = (queries.row(c / k), refs.row(r));
            q.iter()
                .zip(r)
                .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                .sum()
        });
        Ok(out.collect())
    }
}

/// Rows of a `[n, D]` tensor on the search device.
pub(super) struct DeviceRows {
    t: Tensor<2>,
}

impl DeviceRows {
    /// Wrap a `[n, D]` tensor.
    pub(super) fn new(t: Tensor<2>) -> Self {
        Self { t }
    }
}

/// Queries per device refinement step (bounds the gathered `[rows * k, D]` tensors).
const REFINE_ROWS: usize = 1024;

impl Rows for DeviceRows {
    fn len(&self) -> usize {
        self.t.dims()[0]
    }

    fn dim(&self) -> usize {
        self.t.dims()[1]
    }

    fn block(&self, range: Range<usize>) -> Tensor<2> {
        self.t.clone().narrow(0, range.start, range.len())
    }

    fn mean_row(&self) -> Tensor<2> {
        self.t.clone().mean_dim(0)
    }

    /// On the device, by direct differences of gathered rows, in blocks of [`REFINE_ROWS`]
    /// queries.
    fn refine(queries: &Self, refs: &Self, candidates: &[usize], k: usize) -> Result<Vec<f64>> {
        let (m, dim) = (queries.len(), queries.dim());
        let device = refs.t.device();
        let mut out = Vec::with_capacity(candidates.len());
        for q0 in (0..m).step_by(REFINE_ROWS) {
            let q1 = (q0 + REFINE_ROWS).min(m);
            let rows = q1 - q0;
            let idx: Vec<i64> = candidates[q0 * k..q1 * k]
                .iter()
                .map(|&i| i as i64)
                .collect();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [rows * k]), &device);
            let picked = refs.t.clone().select(0, idx);
            // Row i of the query block repeated k times, matching the candidate layout.
            let q = queries
                .block(q0..q1)
                .repeat_dim(1, k)
                .reshape([rows * k, dim]);
            let sq = (q - picked).powi_scalar(2).sum_dim(1);
            let sq = sq
                .into_data()
                .try_into_vec_as::<f64>()
                .map_err(|e| MetricsError::Device(format!("read-back: {e:?}")))?;
            out.extend(sq);
        }
        Ok(out)
    }
}
