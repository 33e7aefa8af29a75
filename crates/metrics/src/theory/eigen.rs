//! Eigendecompositions of covariances, and the training-set statistics (mu0, Sigma0) kept in
//! the eigenbasis of Sigma0, in which every linear-diffusion quantity is diagonal.

use crate::error::{MetricsError, Result};
use crate::gaussian::Gaussian;
use faer::{Mat, Side};

/// Eigendecomposition S = U diag(values) U^T of a symmetric `d x d` matrix, eigenvalues in
/// decreasing order; `vectors` is U row-major (column j is the eigenvector of `values[j]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Eigen {
    /// Eigenvalues, decreasing.
    pub values: Vec<f64>,
    /// U, `d x d` row-major, orthonormal columns.
    pub vectors: Vec<f64>,
    /// Dimension.
    pub d: usize,
}

impl Eigen {
    /// Eigendecomposition of the row-major symmetric matrix `m` (faer `self_adjoint_eigen`).
    pub fn of_symmetric(m: &[f64], d: usize) -> Result<Self> {
        if d == 0 || m.len() != d * d {
            return Err(MetricsError::Invalid(format!(
                "{} values are not a {d}x{d} matrix",
                m.len()
            )));
        }
        let a = Mat::from_fn(d, d, |i, j| 0.5 * (m[i * d + j] + m[j * d + i]));
        let evd = a
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| MetricsError::Linalg(format!("eigendecomposition failed: {e:?}")))?;
        let (u, s) = (evd.U(), evd.S().column_vector());
        // faer sorts increasingly; reverse to decreasing.
        let values = (0..d).rev().map(|j| s[j]).collect();
        let vectors = (0..d * d).map(|k| u[(k / d, d - 1 - k % d)]).collect();
        Ok(Eigen { values, vectors, d })
    }

    /// y = U^T x: coordinates of `x` in the eigenbasis.
    pub fn to_basis(&self, x: &[f64]) -> Vec<f64> {
        let d = self.d;
        (0..d)
            .map(|j| (0..d).map(|i| self.vectors[i * d + j] * x[i]).sum())
            .collect()
    }

    /// x = U y: back from eigen-coordinates.
    pub fn from_basis(&self, y: &[f64]) -> Vec<f64> {
        let d = self.d;
        (0..d)
            .map(|i| (0..d).map(|j| self.vectors[i * d + j] * y[j]).sum())
            .collect()
    }

    /// diag(U^T S U) for a row-major symmetric `S`: the variance of S along each eigenvector.
    pub fn diag_in_basis(&self, s: &[f64]) -> Vec<f64> {
        let d = self.d;
        let u = Mat::from_fn(d, d, |i, j| self.vectors[i * d + j]);
        let sm = Mat::from_fn(d, d, |i, j| s[i * d + j]);
        let su = &sm * &u;
        (0..d)
            .map(|j| (0..d).map(|i| u[(i, j)] * su[(i, j)]).sum())
            .collect()
    }

    /// The dense row-major matrix U diag(g) U^T.
    pub fn compose(&self, g: &[f64]) -> Vec<f64> {
        let d = self.d;
        let u = Mat::from_fn(d, d, |i, j| self.vectors[i * d + j]);
        let ug = Mat::from_fn(d, d, |i, j| self.vectors[i * d + j] * g[j]);
        let m = &ug * u.transpose();
        (0..d * d).map(|k| m[(k / d, k % d)]).collect()
    }
}

/// The statistics of a training set that the linear theory needs: mu0 and the
/// eigendecomposition of Sigma0 (1/N normalisation). Eigenvalues that are zero up to rounding
/// (below d * 64 * eps * max eigenvalue; Sigma0 has rank <= N - 1) are set to exactly 0, and
/// negative rounding is clamped to 0.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSet {
    /// Empirical mean mu0.
    pub mean: Vec<f64>,
    /// Sigma0 = U diag(l0) U^T.
    pub eigen: Eigen,
    /// Number of samples N.
    pub n: usize,
}

impl TrainingSet {
    /// Statistics of `n x d` row-major samples.
    pub fn from_samples(samples: &[f64], d: usize) -> Result<Self> {
        let fit = Gaussian::fit_f64(samples, d)?;
        let mut eigen = Eigen::of_symmetric(&fit.cov, d)?;
        let top = eigen.values.first().copied().unwrap_or(0.0).max(0.0);
        let tol = d as f64 * 64.0 * f64::EPSILON * top;
        for v in &mut eigen.values {
            if *v <= tol {
                *v = 0.0;
            }
        }
        Ok(TrainingSet {
            mean: fit.mean,
            eigen,
            n: samples.len() / d,
        })
    }

    /// Dimension d.
    pub fn d(&self) -> usize {
        self.eigen.d
    }

    /// Number of non-zero eigenvalues of Sigma0 (min(N - 1, d) for data in general position).
    pub fn rank(&self) -> usize {
        self.eigen.values.iter().filter(|&&v| v > 0.0).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigendecomposition_reconstructs_the_matrix() {
        let m = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        let e = Eigen::of_symmetric(&m, 3).unwrap();
        assert!(e.values.windows(2).all(|w| w[0] >= w[1]));
        let back = e.compose(&e.values);
        for (a, b) in back.iter().zip(&m) {
            assert!((a - b).abs() < 1e-12);
        }
        let diag = e.diag_in_basis(&m);
        for (a, b) in diag.iter().zip(&e.values) {
            assert!((a - b).abs() < 1e-12);
        }
        let x = [0.3, -1.0, 2.0];
        let y = e.from_basis(&e.to_basis(&x));
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn training_set_rank_is_n_minus_one_below_d() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let xs: Vec<f64> = (0..4 * 6)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let t = TrainingSet::from_samples(&xs, 6).unwrap();
        assert_eq!(t.rank(), 3);
        assert_eq!(t.eigen.values[5], 0.0);
    }
}
