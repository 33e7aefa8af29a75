//! Any burn denoiser as a score field, with its exact Jacobian by batched vector-Jacobian
//! products.
//!
//! s(x, t) = -eps(x, t) / sqrt(1 - abar_t), with eps converted from the model's objective by
//! [`Diffusion::predict_eps`]. burn 0.22 has no forward-mode AD and no `retain_graph`, so row
//! i of J comes from one backward pass of e_i^T s: the point is replicated k times, batch
//! element r picks output coordinate i0 + r (a `gather`), and the sum of the picked outputs is
//! differentiated once, giving rows i0..i0+k in one backward (`jacobian_batched` in
//! BURN_NOTES' probe). Rows are computed `rows_per_pass` at a time, which bounds memory to
//! that many copies of the network's activations.
//!
//! The model should be an inference copy (e.g. `model.valid()`): only the input requires a
//! gradient, so parameter gradients are not computed.

use super::field::{NoiseLevels, ScoreField};
use crate::{MetricsError, Result};
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::{Denoiser, Diffusion};
use faer::Mat;

/// Default number of Jacobian rows per backward pass.
pub const DEFAULT_ROWS_PER_PASS: usize = 256;

/// A burn denoiser seen as the score field s = -eps / sqrt(1 - abar_t).
pub struct ModelScore<'a> {
    model: &'a dyn Denoiser,
    diffusion: &'a Diffusion,
    device: Device,
    dim: usize,
    rows_per_pass: usize,
    levels: NoiseLevels,
}

impl<'a> ModelScore<'a> {
    /// Wraps `model` (inputs of dimension `dim`) on `device` (a device without autodiff; the
    /// input is moved to autodiff for the Jacobian). `rows_per_pass` bounds the batch of one
    /// forward/backward pass (and of score evaluations).
    pub fn new(
        model: &'a dyn Denoiser,
        diffusion: &'a Diffusion,
        dim: usize,
        device: &Device,
        rows_per_pass: usize,
    ) -> Self {
        Self {
            model,
            diffusion,
            device: device.clone().inner(),
            dim,
            rows_per_pass: rows_per_pass.max(1),
            levels: NoiseLevels::of(&diffusion.schedule),
        }
    }

    /// -1 / sqrt(1 - abar_t).
    fn score_scale(&self, t: usize) -> f64 {
        -1.0 / self.levels.ddpm_sigma2(t).sqrt()
    }

    fn check(&self, x: &[f64], t: usize) -> Result<()> {
        self.levels.check(t)?;
        if x.is_empty() || !x.len().is_multiple_of(self.dim) {
            return Err(MetricsError::Invalid(format!(
                "points of dimension {} expected, got {} values",
                self.dim,
                x.len()
            )));
        }
        Ok(())
    }
}

impl ScoreField for ModelScore<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn score(&self, x: &[f64], t: usize) -> Result<Vec<f64>> {
        self.check(x, t)?;
        let d = self.dim;
        let scale = self.score_scale(t);
        let mut out = Vec::with_capacity(x.len());
        for chunk in x.chunks(self.rows_per_pass * d) {
            let k = chunk.len() / d;
            let host: Vec<f32> = chunk.iter().map(|&v| v as f32).collect();
            let xb = matrix(&host, k, d, &self.device);
            let tt = timesteps(&vec![t; k], &self.device);
            let eps = to_vec(self.diffusion.predict_eps(self.model, xb, &tt));
            if eps.len() != k * d {
                return Err(MetricsError::Device(format!(
                    "the model returned {} values for a [{k}, {d}] batch",
                    eps.len()
                )));
            }
            out.extend(eps.iter().map(|&e| scale * e as f64));
        }
        Ok(out)
    }

    fn jacobian(&self, x: &[f64], t: usize) -> Result<Mat<f64>> {
        self.check(x, t)?;
        let d = self.dim;
        if x.len() != d {
            return Err(MetricsError::Invalid(format!(
                "the Jacobian is taken at one point of dimension {d}, got {} values",
                x.len()
            )));
        }
        let scale = self.score_scale(t);
        let point: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut jac = Mat::<f64>::zeros(d, d);
        let mut start = 0;
        while start < d {
            let k = self.rows_per_pass.min(d - start);
            let rows = jacobian_rows(
                self.model,
                self.diffusion,
                &point,
                t,
                start..start + k,
                &self.device,
            )?;
            for r in 0..k {
                for j in 0..d {
                    jac[(start + r, j)] = scale * rows[r * d + j] as f64;
                }
            }
            start += k;
        }
        Ok(jac)
    }
}

/// Rows `rows` of d eps / dx at `point` and timestep index `t`, row-major `[rows.len(), D]`,
/// in one forward and one backward pass over `rows.len()` copies of the point.
pub fn jacobian_rows(
    model: &dyn Denoiser,
    diffusion: &Diffusion,
    point: &[f32],
    t: usize,
    rows: std::ops::Range<usize>,
    device: &Device,
) -> Result<Vec<f32>> {
    let d = point.len();
    let k = rows.len();
    let base = matrix(point, 1, d, device);
    let xb = base.repeat_dim(0, k).autodiff().require_grad();
    let tt = timesteps(&vec![t; k], device);
    let eps = diffusion.predict_eps(model, xb.clone(), &tt);
    let idx: Vec<i64> = rows.map(|r| r as i64).collect();
    let sel = Tensor::<1, Int>::from_data(TensorData::new(idx, [k]), &eps.device()).reshape([k, 1]);
    let grads = eps.gather(1, sel).sum().backward();
    let g = xb
        .grad(&grads)
        .ok_or_else(|| MetricsError::Device("no input gradient after backward".into()))?;
    let out = to_vec(g);
    if out.len() != k * d {
        return Err(MetricsError::Device(format!(
            "input gradient has {} values, expected {k} x {d}",
            out.len()
        )));
    }
    Ok(out)
}
