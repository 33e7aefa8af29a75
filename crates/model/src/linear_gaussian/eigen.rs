//! Eigendecompositions of symmetric matrices in float64 (faer), eigenvalues decreasing.

use crate::error::{ModelError, Result};
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
    /// Eigendecomposition of the row-major symmetric matrix `m` (faer `self_adjoint_eigen` of
    /// its symmetric part).
    pub fn of_symmetric(m: &[f64], d: usize) -> Result<Self> {
        if d == 0 || m.len() != d * d {
            return Err(ModelError::Invalid(format!(
                "{} values are not a {d}x{d} matrix",
                m.len()
            )));
        }
        let a = Mat::from_fn(d, d, |i, j| 0.5 * (m[i * d + j] + m[j * d + i]));
        let evd = a
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| ModelError::Linalg(format!("eigendecomposition failed: {e:?}")))?;
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
        assert!(Eigen::of_symmetric(&m, 2).is_err());
    }
}
