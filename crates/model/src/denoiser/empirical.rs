//! `empirical`: the exact score of the empirical distribution of a training set, noised
//! (Achilli et al., arXiv 2410.08727, docs/theory.md §2). At timestep t the noised data are the
//! Gaussian mixture of means a_mu = sqrt(abar_t) x^mu with variance sigma^2 = 1 - abar_t:
//!
//!   w_mu(x) = softmax_mu(-||x - a_mu||^2 / (2 sigma^2)),
//!   s(x) = sum_mu w_mu (a_mu - x) / sigma^2,   eps(x) = -sigma s(x) = (x - sum_mu w_mu a_mu) / sigma.
//!
//! Evaluated with matrix products on the device, streaming over chunks of training points
//! with a running log-sum-exp so that memory is O(batch x chunk), not O(batch x N).

use burn::prelude::*;

/// Training points per chunk of the streamed softmax.
pub const DEFAULT_CHUNK: usize = 4096;

/// The exact empirical-score denoiser.
#[derive(Clone, Debug)]
pub struct Empirical {
    points: Vec<Tensor<2>>,
    norms: Vec<Tensor<2>>,
    sqrt_abar: Tensor<1>,
    sqrt_one_minus_abar: Tensor<1>,
    /// Number of training points N.
    pub n: usize,
}

impl Empirical {
    /// Uploads the training rows (`[N, D]` row-major) in chunks of `chunk` points.
    pub fn new(
        rows: &[f32],
        dim: usize,
        diffusion: &dyn crate::schedule::ScheduleTables,
        chunk: usize,
        device: &Device,
    ) -> Self {
        let n = rows.len() / dim.max(1);
        let chunk = chunk.max(1);
        let mut points = Vec::new();
        let mut norms = Vec::new();
        for start in (0..n).step_by(chunk) {
            let m = chunk.min(n - start);
            let block = &rows[start * dim..(start + m) * dim];
            let t = Tensor::<2>::from_data(TensorData::new(block.to_vec(), [m, dim]), device);
            norms.push(t.clone().powi_scalar(2).sum_dim(1).reshape([1, m]));
            points.push(t);
        }
        Self {
            points,
            norms,
            sqrt_abar: diffusion.device().sqrt_abar.clone(),
            sqrt_one_minus_abar: diffusion.device().sqrt_one_minus_abar.clone(),
            n,
        }
    }

    /// The posterior-mean weights' expectation sum_mu w_mu x^mu (unscaled training points)
    /// and sigma, both per sample: returns (`[b, D]`, sqrt(abar) `[b,1]`, sigma `[b,1]`).
    pub fn posterior_mean(
        &self,
        x: Tensor<2>,
        t: Tensor<1, Int>,
    ) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
        let [b, d] = x.dims();
        let a = self.sqrt_abar.clone().select(0, t.clone()).reshape([b, 1]);
        let sigma = self
            .sqrt_one_minus_abar
            .clone()
            .select(0, t)
            .reshape([b, 1]);
        let inv2s2 = (sigma.clone().powi_scalar(2) * 2.0).recip();
        let device = x.device();
        // Running log-sum-exp state: max m [b,1], denominator z [b,1], numerator acc [b,D].
        let mut m = Tensor::<2>::full([b, 1], f32::NEG_INFINITY, &device);
        let mut z = Tensor::<2>::zeros([b, 1], &device);
        let mut acc = Tensor::<2>::zeros([b, d], &device);
        for (pts, nrm) in self.points.iter().zip(&self.norms) {
            // -||x - a p||^2 / (2 s^2) up to the per-row constant -||x||^2 / (2 s^2).
            let cross = x.clone().matmul(pts.clone().transpose()) * (a.clone() * 2.0);
            let logits = (cross - nrm.clone() * a.clone().powi_scalar(2)) * inv2s2.clone();
            let new_m = m.clone().max_pair(logits.clone().max_dim(1));
            let rescale = (m - new_m.clone()).exp();
            let w = (logits - new_m.clone()).exp(); // [b, chunk]
            z = z * rescale.clone() + w.clone().sum_dim(1);
            acc = acc * rescale + w.matmul(pts.clone());
            m = new_m;
        }
        (acc / z, a, sigma)
    }

    /// eps(x) = (x - sqrt(abar) E_w[x^mu]) / sigma.
    pub fn eps(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let (mean, a, sigma) = self.posterior_mean(x.clone(), t);
        (x - mean * a) / sigma
    }
}
