//! `linear-exact`: the closed-form optimum of the eps-loss over affine denoisers
//! (Merger & Goldt, arXiv 2505.24769, THEORY.md §1):
//!
//!   W_t* = sqrt(1-abar_t) [abar_t Sigma0 + (1 - abar_t + lambda) I]^-1,
//!   b_t* = -sqrt(abar_t) W_t* mu0,
//!
//! for all t from ONE eigendecomposition Sigma0 = U diag(l) U^T (float64, faer):
//! W_t* = U diag(w_t) U^T with w_t,i = sqrt(1-abar_t) / (abar_t l_i + 1 - abar_t + lambda).
//! On the device: eps = ((x - sqrt(abar_t) mu0) U) diag(w_t) U^T.

use crate::diffusion::Diffusion;
use crate::error::{ModelError, Result};
use burn::prelude::*;
use faer::{Mat, Side};

/// Empirical mean, covariance (1/N normalisation) and its eigendecomposition, in f64.
#[derive(Clone, Debug)]
pub struct GaussianMoments {
    /// Dimension d.
    pub dim: usize,
    /// Number of samples N.
    pub n: usize,
    /// mu0.
    pub mean: Vec<f64>,
    /// Eigenvalues of Sigma0, ascending.
    pub eigvals: Vec<f64>,
    /// Eigenvectors, d x d row-major: column i is the eigenvector of `eigvals[i]`.
    pub eigvecs: Vec<f64>,
}

impl GaussianMoments {
    /// Moments of `n = rows.len() / dim` samples.
    pub fn from_samples(rows: &[f32], dim: usize) -> Result<Self> {
        let n = rows.len() / dim.max(1);
        if n == 0 || dim == 0 || rows.len() != n * dim {
            return Err(ModelError::Config(format!(
                "need a non-empty [N, D] sample set (got {} values for D = {dim})",
                rows.len()
            )));
        }
        let mut mean = vec![0f64; dim];
        for r in rows.chunks_exact(dim) {
            for (m, &x) in mean.iter_mut().zip(r) {
                *m += x as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let centred = Mat::<f64>::from_fn(n, dim, |i, j| rows[i * dim + j] as f64 - mean[j]);
        let cov = centred.transpose() * &centred * faer::Scale(1.0 / n as f64);
        Self::from_mean_cov(mean, &cov, n)
    }

    /// Eigendecomposition of a given covariance (d x d).
    pub fn from_mean_cov(mean: Vec<f64>, cov: &Mat<f64>, n: usize) -> Result<Self> {
        let dim = mean.len();
        let evd = cov
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| ModelError::Linalg(format!("eigendecomposition of Sigma0: {e:?}")))?;
        let s = evd.S();
        let u = evd.U();
        Ok(Self {
            dim,
            n,
            mean,
            eigvals: (0..dim).map(|i| s[i].max(0.0)).collect(),
            eigvecs: (0..dim * dim).map(|k| u[(k / dim, k % dim)]).collect(),
        })
    }

    /// w_t,i = sqrt(1-abar) / (abar l_i + 1 - abar + lambda): the eigenvalues of W_t*.
    pub fn optimum_eigenvalues(&self, abar: f64, lambda: f64) -> Vec<f64> {
        self.eigvals
            .iter()
            .map(|l| (1.0 - abar).sqrt() / (abar * l + 1.0 - abar + lambda))
            .collect()
    }

    /// W_t* as a d x d row-major matrix.
    pub fn optimum_weight(&self, abar: f64, lambda: f64) -> Vec<f64> {
        let d = self.dim;
        let w = self.optimum_eigenvalues(abar, lambda);
        let mut out = vec![0f64; d * d];
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] = (0..d)
                    .map(|k| self.eigvecs[i * d + k] * w[k] * self.eigvecs[j * d + k])
                    .sum();
            }
        }
        out
    }
}

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
        diffusion: &Diffusion,
        device: &Device,
    ) -> Result<Self> {
        if lambda < 0.0 || !lambda.is_finite() {
            return Err(ModelError::Config(format!(
                "ridge lambda must be >= 0 (got {lambda})"
            )));
        }
        let moments = GaussianMoments::from_samples(rows, dim)?;
        let t_max = diffusion.steps();
        let scales: Vec<f32> = diffusion
            .schedule
            .abar
            .iter()
            .flat_map(|&a| moments.optimum_eigenvalues(a, lambda))
            .map(|x| x as f32)
            .collect();
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        Ok(Self {
            u: Tensor::from_data(TensorData::new(f32s(&moments.eigvecs), [dim, dim]), device),
            mean: Tensor::from_data(TensorData::new(f32s(&moments.mean), [1, dim]), device),
            scales: Tensor::from_data(TensorData::new(scales, [t_max, dim]), device),
            sqrt_abar: diffusion.dev.sqrt_abar.clone(),
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
