//! Nearest neighbours of M query rows in a reference set of N rows, by blocked matrix products
//! on a burn device.
//!
//! Distances are normalised by the dimension, as in docs/theory.md §3 (Gu et al., arXiv
//! 2310.02664):
//!
//! ```text
//! d_j(x) = ||x - NN_j(x)||_2 / sqrt(D)        (j-th nearest reference row, j = 1..k)
//! ```
//!
//! so that a distance is a root-mean-square pixel difference, comparable across image sizes.
//!
//! # Algorithm
//! The squared distance of query a to reference b is ||a||^2 + ||b||^2 - 2 a.b. Both sets are
//! first shifted by the mean reference row (distances do not change; the norms, and so the
//! cancellation error of the formula, shrink). For a block of queries `[q, D]` and of references
//! `[r, D]` one matrix product on the device, `[a, 1] . [-2 b, ||b||^2]^T`, gives
//! ||b||^2 - 2 a.b for every pair: the term ||a||^2 is the same along a query's row, so it does
//! not change which references are nearest and is not added. Each block is reduced on the device
//! to its k smallest entries per query (k passes of `min_dim_with_indices`, masking each winner
//! with +inf), so only `[q, k]` values and indices are read back; the host merges blocks. Memory
//! is bounded by the block sizes of [`NnConfig`]. Finally the k winners of each query are
//! re-measured directly as ||a - b||^2 (on the host in f64 for slices, on the device for
//! tensors): these reported distances are non-negative by construction (the clamp at 0 that the
//! expanded formula needs is unnecessary) and exactly 0 for a query equal to a reference. The
//! candidates themselves come from the f32 product: references whose squared distances differ
//! by less than its rounding error (about 1e-6 of the squared norms) may be ranked in either
//! order.

mod block;
mod distinct;
mod rows;
#[cfg(test)]
mod tests;

use burn::prelude::*;

use crate::{MetricsError, Result};
use block::{TopK, block_smallest};
pub use distinct::{DistinctRows, distinct_rows, nearest_distinct_neighbours};
use rows::{DeviceRows, HostRows, Rows};

/// Block sizes of a nearest-neighbour search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NnConfig {
    /// Number of neighbours kept per query (1 or more; the memorisation ratio needs 2).
    pub k: usize,
    /// Query rows per block.
    pub query_chunk: usize,
    /// Reference rows per block.
    pub ref_chunk: usize,
}

impl NnConfig {
    /// Default memory budget of one block: 256 MiB.
    pub const DEFAULT_BUDGET_BYTES: usize = 256 << 20;

    /// Block sizes for `k` neighbours in dimension `dim` within
    /// [`DEFAULT_BUDGET_BYTES`](Self::DEFAULT_BUDGET_BYTES).
    pub fn new(k: usize, dim: usize) -> Self {
        Self::for_budget(k, dim, Self::DEFAULT_BUDGET_BYTES)
    }

    /// Block sizes such that one block — the query rows (`q D` f32), the reference rows and
    /// their augmented copy (`2 r D`) and about three `[q, r]` temporaries (scores, winner mask,
    /// masked scores) — fits in `bytes`. Query blocks have at most 1024 rows; blocks never
    /// have fewer than one row.
    pub fn for_budget(k: usize, dim: usize, bytes: usize) -> Self {
        let elems = bytes / std::mem::size_of::<f32>();
        let dim = dim.max(1);
        let mut q = 1024usize;
        // Largest r with 3 q r + (q + 2 r) D <= elems, shrinking q until r >= q or q = 1.
        let refs_for = |q: usize| elems.saturating_sub(q * dim) / (3 * q + 2 * dim);
        while q > 1 && refs_for(q) < q {
            q /= 2;
        }
        Self {
            k,
            query_chunk: q,
            ref_chunk: refs_for(q).max(1),
        }
    }
}

/// The k nearest references of every query, nearest first (serialisable, e.g. to cache the
/// search of a run).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Neighbours {
    /// Neighbours per query.
    pub k: usize,
    /// Dimension D of the rows.
    pub dim: usize,
    /// Row-major `[M, k]`: `distances[i * k + j]` = d_{j+1}(x_i) = ||x_i - NN_{j+1}(x_i)|| /
    /// sqrt(D), ascending in j.
    pub distances: Vec<f64>,
    /// Row-major `[M, k]`: the reference row of each distance (ties: lower index first).
    pub indices: Vec<usize>,
}

impl Neighbours {
    /// Number of queries M.
    pub fn len(&self) -> usize {
        self.distances.len().checked_div(self.k).unwrap_or(0)
    }

    /// Whether there are no queries.
    pub fn is_empty(&self) -> bool {
        self.distances.is_empty()
    }

    /// d_{j+1} of every query (`j = 0`: nearest); an error if `j >= k`.
    pub fn distances_at(&self, j: usize) -> Result<Vec<f64>> {
        self.column(j, &self.distances)
    }

    /// The reference index of the (j+1)-th neighbour of every query; an error if `j >= k`.
    pub fn indices_at(&self, j: usize) -> Result<Vec<usize>> {
        self.column(j, &self.indices)
    }

    fn column<T: Copy>(&self, j: usize, values: &[T]) -> Result<Vec<T>> {
        if j >= self.k {
            return Err(MetricsError::Invalid(format!(
                "neighbour {} requested but only k = {} were computed",
                j + 1,
                self.k
            )));
        }
        Ok(values.iter().skip(j).step_by(self.k).copied().collect())
    }
}

/// Nearest neighbours of the rows of `queries` (`[M, dim]` row-major) among the rows of
/// `references` (`[N, dim]`), computed on `device` in blocks of `cfg`. Inputs must be finite;
/// `cfg.k` must be between 1 and N. M may be 0.
pub fn nearest_neighbours(
    queries: &[f32],
    references: &[f32],
    dim: usize,
    cfg: &NnConfig,
    device: &Device,
) -> Result<Neighbours> {
    let q = HostRows::new("queries", queries, dim, device)?;
    let r = HostRows::new("references", references, dim, device)?;
    search(&q, &r, cfg)
}

/// [`nearest_neighbours`] for `[M, D]` and `[N, D]` tensors already on a device (the queries
/// are moved to the device of the references). Finiteness is not checked.
pub fn nearest_neighbours_tensor(
    queries: &Tensor<2>,
    references: &Tensor<2>,
    cfg: &NnConfig,
) -> Result<Neighbours> {
    let [_, dq] = queries.dims();
    let [_, dr] = references.dims();
    if dq != dr {
        return Err(MetricsError::Invalid(format!(
            "queries have dimension {dq} but references {dr}"
        )));
    }
    let r = DeviceRows::new(references.clone());
    let q = DeviceRows::new(queries.clone().to_device(&references.device()));
    search(&q, &r, cfg)
}

/// The blocked search shared by host and device inputs.
fn search<R: Rows>(queries: &R, refs: &R, cfg: &NnConfig) -> Result<Neighbours> {
    let (m, n, dim, k) = (queries.len(), refs.len(), refs.dim(), cfg.k);
    if dim == 0 || k == 0 || k > n || cfg.query_chunk == 0 || cfg.ref_chunk == 0 {
        return Err(MetricsError::Invalid(format!(
            "nearest neighbours need dim > 0, 1 <= k <= N and non-empty blocks; got dim {dim}, \
             k {k}, N {n}, blocks {}x{}",
            cfg.query_chunk, cfg.ref_chunk
        )));
    }
    let mut best = vec![TopK::new(k); m];
    if m > 0 {
        let shift = refs.mean_row();
        let device = shift.device();
        for r0 in (0..n).step_by(cfg.ref_chunk) {
            let r1 = (r0 + cfg.ref_chunk).min(n);
            let rb = refs.block(r0..r1) - shift.clone();
            let r_norms = rb.clone().powi_scalar(2).sum_dim(1);
            // [D + 1, r]: columns (-2 b_j, ||b_j||^2).
            let r_aug = Tensor::cat(vec![rb * (-2.0), r_norms], 1).transpose();
            for q0 in (0..m).step_by(cfg.query_chunk) {
                let q1 = (q0 + cfg.query_chunk).min(m);
                let qb = queries.block(q0..q1) - shift.clone();
                let ones = Tensor::<2>::ones([q1 - q0, 1], &device);
                // score_ij = ||b_j||^2 - 2 a_i.b_j = ||a_i - b_j||^2 - ||a_i||^2.
                let score = Tensor::cat(vec![qb, ones], 1).matmul(r_aug.clone());
                let (vals, idx) = block_smallest(score, k.min(r1 - r0))?;
                let kk = vals.len() / (q1 - q0);
                for (i, top) in best[q0..q1].iter_mut().enumerate() {
                    for j in i * kk..(i + 1) * kk {
                        top.offer(vals[j] as f64, r0 + idx[j]);
                    }
                }
            }
        }
    }
    let candidates: Vec<usize> = best.iter().flat_map(|t| t.indices()).collect();
    let exact = R::refine(queries, refs, &candidates, k)?;
    let scale = (dim as f64).sqrt();
    let mut distances = Vec::with_capacity(m * k);
    let mut indices = Vec::with_capacity(m * k);
    for (i, sq) in exact.chunks(k).enumerate() {
        let mut top = TopK::new(k);
        for (j, &d) in sq.iter().enumerate() {
            top.offer(d, candidates[i * k + j]);
        }
        for (d, idx) in top.into_sorted() {
            distances.push(d.max(0.0).sqrt() / scale);
            indices.push(idx);
        }
    }
    Ok(Neighbours {
        k,
        dim,
        distances,
        indices,
    })
}
