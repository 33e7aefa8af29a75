//! Closed-form scores and Jacobians of the two exact denoisers, in float64 on the host.
//!
//! # `empirical` (Achilli et al., arXiv 2410.08727; docs/theory.md §2)
//!
//! At timestep t the noised empirical distribution is the mixture
//! p_t(x) = 1/N sum_mu N(x; a x^mu, sigma^2 I) with a = sqrt(abar_t), sigma^2 = 1 - abar_t.
//! With w_mu(x) = softmax_mu(-||x - a x^mu||^2 / (2 sigma^2)) and m(x) = sum_mu w_mu x^mu,
//!
//!   s(x) = (a m(x) - x) / sigma^2,
//!   dm/dx = a Cov_w(x^mu) / sigma^2          (differentiating the softmax),
//!   J(x)  = -I / sigma^2 + a^2 Cov_w(x^mu) / sigma^4
//!         = -I / (1 - abar_t) + abar_t Cov_w(x^mu) / (1 - abar_t)^2.
//!
//! This is docs/theory.md's variance-exploding J = -I / sigma^2 + Cov_w / sigma^4 applied to the
//! scaled training set y^mu = a x^mu (Cov_w(y) = a^2 Cov_w(x)) with sigma^2 = 1 - abar_t.
//! Equivalently, in VE coordinates x / a the Jacobian is abar_t J and the noise variance
//! sigma_VE^2 = (1 - abar_t) / abar_t. Cov_w is formed from centred points (two passes), so
//! it is accurate even when the posterior concentrates on one point.
//!
//! # `linear-exact` (Merger & Goldt, arXiv 2505.24769; docs/theory.md §1)
//!
//! eps = W_t* (x - a mu0) with W_t* = sqrt(1 - abar_t) [abar_t Sigma0 + (1 - abar_t + lambda) I]^-1,
//! so s = -eps / sqrt(1 - abar_t) and J = -W_t* / sqrt(1 - abar_t) = -[abar_t Sigma0 + (1 - abar_t + lambda) I]^-1.
//! -J has the eigenvalues 1 / (abar_t l_i + 1 - abar_t + lambda) for the eigenvalues l_i of
//! Sigma0. With lambda = 0 these read 1 / (sigma^2 + l_i) in two equivalent ways:
//! DDPM scaling, sigma^2 = 1 - abar_t and l_i = abar_t l_i(Sigma0) (the variance of the scaled
//! data); or VE scaling, -abar_t J with sigma^2 = sigma_VE^2 = (1 - abar_t) / abar_t and
//! l_i = l_i(Sigma0).

use super::field::{NoiseLevels, ScoreField};
use crate::{MetricsError, Result};
use diffmem_model::NoiseLevel;
use diffmem_model::linear_gaussian::GaussianMoments;
use faer::Mat;

/// Weights below this fraction of the largest one are left out of Cov_w (their contribution
/// is below float64 resolution of the -I / sigma^2 term).
const WEIGHT_CUTOFF: f64 = 1e-18;

/// The exact empirical score of a training set, in float64.
#[derive(Clone, Debug)]
pub struct EmpiricalScore {
    points: Vec<f64>,
    dim: usize,
    levels: NoiseLevels,
}

impl EmpiricalScore {
    /// From the training rows (`[N, dim]` row-major) and the schedule's noise levels.
    pub fn new(rows: &[f32], dim: usize, levels: NoiseLevels) -> Result<Self> {
        if dim == 0 || rows.is_empty() || !rows.len().is_multiple_of(dim) {
            return Err(MetricsError::Invalid(format!(
                "the empirical score needs a non-empty [N, {dim}] training set (got {} values)",
                rows.len()
            )));
        }
        Ok(Self {
            points: rows.iter().map(|&v| v as f64).collect(),
            dim,
            levels,
        })
    }

    /// Number of training points N.
    pub fn n(&self) -> usize {
        self.points.len() / self.dim
    }

    /// Posterior weights w_mu(x) at timestep index t (softmax in float64).
    pub fn weights(&self, x: &[f64], t: usize) -> Result<Vec<f64>> {
        self.levels.check(t)?;
        self.check_point(x)?;
        let a = self.levels.sqrt_abar(t);
        let s2 = self.levels.ddpm_sigma2(t);
        let logits: Vec<f64> = self
            .points
            .chunks_exact(self.dim)
            .map(|p| {
                let d2: f64 = p.iter().zip(x).map(|(pi, xi)| (xi - a * pi).powi(2)).sum();
                -d2 / (2.0 * s2)
            })
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut w: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let z: f64 = w.iter().sum();
        w.iter_mut().for_each(|v| *v /= z);
        Ok(w)
    }

    /// Posterior mean m(x) = sum_mu w_mu x^mu of the unscaled training points.
    fn mean(&self, w: &[f64]) -> Vec<f64> {
        let mut m = vec![0.0; self.dim];
        for (p, &wi) in self.points.chunks_exact(self.dim).zip(w) {
            if wi > 0.0 {
                m.iter_mut().zip(p).for_each(|(mi, pi)| *mi += wi * pi);
            }
        }
        m
    }

    /// Cov_w(x^mu) = sum_mu w_mu (x^mu - m)(x^mu - m)^T, D x D.
    pub fn posterior_covariance(&self, x: &[f64], t: usize) -> Result<Mat<f64>> {
        let w = self.weights(x, t)?;
        Ok(self.covariance(&w))
    }

    fn covariance(&self, w: &[f64]) -> Mat<f64> {
        let m = self.mean(w);
        let wmax = w.iter().copied().fold(0.0, f64::max);
        let kept: Vec<usize> = (0..w.len())
            .filter(|&i| w[i] > WEIGHT_CUTOFF * wmax)
            .collect();
        let d = self.dim;
        // Rows sqrt(w_mu) (x^mu - m): Cov_w = C^T C.
        let c = Mat::<f64>::from_fn(kept.len(), d, |r, j| {
            let i = kept[r];
            w[i].sqrt() * (self.points[i * d + j] - m[j])
        });
        c.transpose() * &c
    }

    fn check_point(&self, x: &[f64]) -> Result<()> {
        if x.len() == self.dim {
            Ok(())
        } else {
            Err(MetricsError::Invalid(format!(
                "a point of dimension {} for a score of dimension {}",
                x.len(),
                self.dim
            )))
        }
    }
}

impl ScoreField for EmpiricalScore {
    fn dim(&self) -> usize {
        self.dim
    }

    /// s(x) = (a m(x) - x) / sigma^2.
    fn score(&self, x: &[f64], t: usize) -> Result<Vec<f64>> {
        self.levels.check(t)?;
        let a = self.levels.sqrt_abar(t);
        let s2 = self.levels.ddpm_sigma2(t);
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks(self.dim) {
            let w = self.weights(row, t)?;
            let m = self.mean(&w);
            out.extend(row.iter().zip(&m).map(|(xi, mi)| (a * mi - xi) / s2));
        }
        Ok(out)
    }

    /// J = -I / sigma^2 + a^2 Cov_w / sigma^4.
    fn jacobian(&self, x: &[f64], t: usize) -> Result<Mat<f64>> {
        // posterior_covariance checks t and the dimension of x.
        let cov = self.posterior_covariance(x, t)?;
        let s2 = self.levels.ddpm_sigma2(t);
        let abar = self.levels.abar[t];
        let d = self.dim;
        Ok(Mat::<f64>::from_fn(d, d, |i, j| {
            let diag = if i == j { -1.0 / s2 } else { 0.0 };
            diag + abar * cov[(i, j)] / (s2 * s2)
        }))
    }
}

/// The exact score of the Gaussian N(mu0, Sigma0) fitted by `linear-exact`, i.e. the optimal
/// affine denoiser with ridge lambda, in float64.
#[derive(Clone, Debug)]
pub struct GaussianScore {
    moments: GaussianMoments,
    lambda: f64,
    levels: NoiseLevels,
}

impl GaussianScore {
    /// From fitted moments (e.g. `LinearExact::moments`), the ridge and the noise levels.
    pub fn new(moments: GaussianMoments, lambda: f64, levels: NoiseLevels) -> Result<Self> {
        if !(lambda >= 0.0 && lambda.is_finite()) {
            return Err(MetricsError::Invalid(format!(
                "ridge lambda must be >= 0, got {lambda}"
            )));
        }
        Ok(Self {
            moments,
            lambda,
            levels,
        })
    }

    /// Eigenvalues of -J in the order of `moments.eigen.values` (decreasing l_i):
    /// 1 / (abar l_i + 1 - abar + lambda).
    pub fn neg_jacobian_eigenvalues(&self, t: usize) -> Result<Vec<f64>> {
        self.levels.check(t)?;
        let abar = self.levels.abar[t];
        let sigma = (1.0 - abar).sqrt();
        Ok(self
            .moments
            .optimum_gains(NoiseLevel::from_abar(abar), self.lambda)
            .into_iter()
            .map(|w| w / sigma)
            .collect())
    }

    /// J = -W_t* / sqrt(1 - abar_t), row-major W_t* from [`GaussianMoments::optimum_weight`].
    fn scaled_weight(&self, t: usize) -> Result<Vec<f64>> {
        self.levels.check(t)?;
        let abar = self.levels.abar[t];
        let sigma = (1.0 - abar).sqrt();
        Ok(self
            .moments
            .optimum_weight(NoiseLevel::from_abar(abar), self.lambda)
            .into_iter()
            .map(|w| -w / sigma)
            .collect())
    }
}

impl ScoreField for GaussianScore {
    fn dim(&self) -> usize {
        self.moments.d()
    }

    /// s(x) = J (x - sqrt(abar_t) mu0).
    fn score(&self, x: &[f64], t: usize) -> Result<Vec<f64>> {
        let j = self.scaled_weight(t)?;
        let d = self.moments.d();
        let a = self.levels.sqrt_abar(t);
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks(d) {
            if row.len() != d {
                return Err(MetricsError::Invalid(format!(
                    "points of dimension {d} expected, got a row of {}",
                    row.len()
                )));
            }
            let c: Vec<f64> = row
                .iter()
                .zip(&self.moments.mean)
                .map(|(xi, mi)| xi - a * mi)
                .collect();
            out.extend(
                j.chunks_exact(d)
                    .map(|jr| jr.iter().zip(&c).map(|(u, v)| u * v).sum::<f64>()),
            );
        }
        Ok(out)
    }

    fn jacobian(&self, x: &[f64], t: usize) -> Result<Mat<f64>> {
        let d = self.moments.d();
        if x.len() != d {
            return Err(MetricsError::Invalid(format!(
                "a point of dimension {} for a score of dimension {d}",
                x.len()
            )));
        }
        let j = self.scaled_weight(t)?;
        Ok(Mat::<f64>::from_fn(d, d, |a, b| j[a * d + b]))
    }
}
