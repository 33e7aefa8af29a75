//! A covariance kept in factored form, Sigma = Q diag(lambda) Q^T, so that a diagonal
//! Gaussian (Q = I) never holds a d x d matrix and a rotated one holds only its rotation.
//! The dense matrix is built on request (`dense`), by whoever needs it (a KL divergence).

use serde::{Deserialize, Serialize};

/// Sigma = Q diag(variances) Q^T with Q orthogonal; `basis` = None is the identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Covariance {
    /// The eigenvalues lambda, in the order of the columns of Q.
    pub variances: Vec<f64>,
    /// Q, d x d row-major with orthonormal columns; `None` is the identity (diagonal Sigma).
    pub basis: Option<Vec<f64>>,
}

impl Covariance {
    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.variances.len()
    }

    /// Tr Sigma = sum of the eigenvalues (a rotation leaves the trace unchanged).
    pub fn trace(&self) -> f64 {
        self.variances.iter().sum()
    }

    /// The eigenvalues, largest first.
    pub fn eigenvalues_descending(&self) -> Vec<f64> {
        let mut v = self.variances.clone();
        v.sort_by(|a, b| b.total_cmp(a));
        v
    }

    /// Bytes of the dense d x d f64 matrix that [`Covariance::dense`] builds.
    pub fn dense_bytes(&self) -> f64 {
        let d = self.dim() as f64;
        d * d * 8.0
    }

    /// The dense Sigma, d x d row-major: sum_k lambda_k q_k q_k^T.
    pub fn dense(&self) -> Vec<f64> {
        let d = self.dim();
        let v = &self.variances;
        let mut cov = vec![0.0; d * d];
        match &self.basis {
            None => (0..d).for_each(|i| cov[i * d + i] = v[i]),
            Some(q) => {
                for a in 0..d {
                    for b in a..d {
                        let c: f64 = (0..d).map(|k| q[a * d + k] * v[k] * q[b * d + k]).sum();
                        cov[a * d + b] = c;
                        cov[b * d + a] = c;
                    }
                }
            }
        }
        cov
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-D rotation by theta of diag(4, 1): the closed form
    /// [[4c^2 + s^2, 3cs], [3cs, 4s^2 + c^2]], trace 5 either way.
    #[test]
    fn dense_matches_the_closed_form_of_a_rotated_diagonal() {
        let (c, s) = (0.6f64, 0.8f64);
        let rotated = Covariance {
            variances: vec![4.0, 1.0],
            basis: Some(vec![c, -s, s, c]),
        };
        let want = [
            4.0 * c * c + s * s,
            3.0 * c * s,
            3.0 * c * s,
            4.0 * s * s + c * c,
        ];
        for (g, w) in rotated.dense().iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        assert!((rotated.trace() - 5.0).abs() < 1e-12);
        let diagonal = Covariance {
            variances: vec![1.0, 3.0],
            basis: None,
        };
        assert_eq!(diagonal.dense(), vec![1.0, 0.0, 0.0, 3.0]);
        assert_eq!(diagonal.eigenvalues_descending(), vec![3.0, 1.0]);
        assert_eq!(diagonal.dense_bytes(), 32.0);
    }
}
