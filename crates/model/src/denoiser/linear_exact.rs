//! `linear-exact`: the closed-form optimum of the eps-loss over affine denoisers
//! (Merger & Goldt, arXiv 2505.24769, docs/theory.md §1), from the shared float64 core
//! [`crate::linear_gaussian`]:
//!
//!   W_t* = U diag(w_t) U^T,  b_t* = -sqrt(abar_t) W_t* mu0,
//!
//! for all t from ONE eigendecomposition Sigma0 = U diag(l) U^T.
//! On the device: eps = ((x - sqrt(abar_t) mu0) U) diag(w_t) U^T.

use crate::error::{ModelError, Result};
use crate::linear_gaussian::GaussianMoments;
use crate::schedule::ScheduleTables;
use burn::prelude::*;

/// The closed-form optimal affine denoiser, on a device.
#[derive(Clone, Debug)]
pub struct LinearExact {
    /// The fitted moments (host, f64).
    pub moments: GaussianMoments,
    /// Ridge lambda.
    pub lambda: f64,
    u: Tensor<2>,
    mean: Tensor<2>,
    scales: Tensor<2>,
    sqrt_abar: Tensor<1>,
}

impl LinearExact {
    /// Fits the optimum for every timestep of `diffusion` from the training rows.
    pub fn fit(
        rows: &[f32],
        dim: usize,
        lambda: f64,
        diffusion: &dyn ScheduleTables,
        device: &Device,
    ) -> Result<Self> {
        if lambda < 0.0 || !lambda.is_finite() {
            return Err(ModelError::Config(format!(
                "ridge lambda must be >= 0 (got {lambda})"
            )));
        }
        let moments = GaussianMoments::from_samples(rows, dim)?;
        let s = diffusion.host();
        let scales: Vec<f32> = (0..s.len())
            .flat_map(|i| moments.optimum_gains(s.level(i), lambda))
            .map(|x| x as f32)
            .collect();
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        Ok(Self {
            u: Tensor::from_data(
                TensorData::new(f32s(&moments.eigen.vectors), [dim, dim]),
                device,
            ),
            mean: Tensor::from_data(TensorData::new(f32s(&moments.mean), [1, dim]), device),
            scales: Tensor::from_data(TensorData::new(scales, [s.len(), dim]), device),
            sqrt_abar: diffusion.device().sqrt_abar.clone(),
            moments,
            lambda,
        })
    }

    /// eps_t(x) = W_t* (x - sqrt(abar_t) mu0).
    pub fn eps(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let [b, _] = x.dims();
        let a = self.sqrt_abar.clone().select(0, t.clone()).reshape([b, 1]);
        let centred = x - self.mean.clone() * a;
        let y = centred.matmul(self.u.clone()) * self.scales.clone().select(0, t);
        y.matmul(self.u.clone().transpose())
    }
}
