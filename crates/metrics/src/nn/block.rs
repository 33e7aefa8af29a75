//! One block of the search: the k smallest entries per row on the device, and the host-side
//! merge of blocks.

use burn::prelude::*;

use crate::{MetricsError, Result};

/// The `k` smallest entries of each row of `scores` (`[q, r]`, `k <= r`), computed on the device by
/// k passes of `min_dim_with_indices`, each masking its winner with +inf. Returns row-major
/// `[q, k]` values and column indices, read back in one transfer each.
pub(super) fn block_smallest(scores: Tensor<2>, k: usize) -> Result<(Vec<f32>, Vec<usize>)> {
    let [rows, cols] = scores.dims();
    let device = scores.device();
    let columns = Tensor::<1, Int>::arange(0..cols as i64, &device)
        .reshape([1, cols])
        .expand([rows, cols]);
    let mut scores = scores;
    let mut vals = Vec::with_capacity(k);
    let mut idxs = Vec::with_capacity(k);
    for pass in 0..k {
        let (v, i) = scores.clone().min_dim_with_indices(1);
        if pass + 1 < k {
            let winner = columns.clone().equal(i.clone().expand([rows, cols]));
            scores = scores.mask_fill(winner, f32::INFINITY);
        }
        vals.push(v);
        idxs.push(i);
    }
    let read = |e: burn::tensor::DataError| MetricsError::Device(format!("read-back: {e:?}"));
    let vals = Tensor::cat(vals, 1)
        .into_data()
        .try_into_vec_as::<f32>()
        .map_err(read)?;
    let idxs = Tensor::cat(idxs, 1)
        .into_data()
        .try_into_vec_as::<i64>()
        .map_err(read)?;
    let idxs = idxs
        .into_iter()
        .map(|i| usize::try_from(i).map_err(|_| MetricsError::Device(format!("index {i}"))))
        .collect::<Result<Vec<usize>>>()?;
    if vals.len() != rows * k || idxs.len() != rows * k || idxs.iter().any(|&i| i >= cols) {
        return Err(MetricsError::Device("unexpected k-smallest result".into()));
    }
    Ok((vals, idxs))
}

/// The k best (smallest score or distance; ties: smaller index) candidates seen so far for one
/// query.
#[derive(Debug, Clone)]
pub(super) struct TopK {
    k: usize,
    /// Sorted ascending by (distance, index); at most k entries.
    items: Vec<(f64, usize)>,
}

impl TopK {
    /// An empty set keeping `k` candidates.
    pub(super) fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }

    /// Consider reference `index` with score or squared distance `d`; NaN counts as +inf.
    pub(super) fn offer(&mut self, d: f64, index: usize) {
        let d = if d.is_nan() { f64::INFINITY } else { d };
        let key = (d, index);
        let pos = self.items.partition_point(|&(e, i)| (e, i) < key);
        if pos < self.k {
            self.items.insert(pos, key);
            self.items.truncate(self.k);
        }
    }

    /// The kept indices, best first.
    pub(super) fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.items.iter().map(|&(_, i)| i)
    }

    /// The kept (distance, index) pairs, best first.
    pub(super) fn into_sorted(self) -> Vec<(f64, usize)> {
        self.items
    }
}
