//! The Gaussian core shared by both generators: x = mu + Q diag(s) z with z ~ N(0, I),
//! Q orthogonal (or the identity), optionally rescaled to unit norm.

use super::rotation::normals;
use super::unit_norm::unit_norm_variances;
use crate::covariance::Covariance;
use faer::Mat;
use rand::Rng;

/// x = mu + Q diag(scales) z, then x / |x| when `normalize`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussian {
    /// Mean mu (length d); all zeros for manifolds.
    pub mean: Vec<f64>,
    /// Q, d x d row-major with orthonormal columns; `None` is the identity.
    pub basis: Option<Vec<f64>>,
    /// Standard deviation along each column of Q.
    pub scales: Vec<f64>,
    /// Scale every sample to unit Euclidean norm.
    pub normalize: bool,
}

impl LinearGaussian {
    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.scales.len()
    }

    /// Column `j` of Q (the j-th principal direction), length d.
    pub fn direction(&self, j: usize) -> Vec<f64> {
        let d = self.dim();
        match &self.basis {
            Some(q) => (0..d).map(|i| q[i * d + j]).collect(),
            None => (0..d).map(|i| if i == j { 1.0 } else { 0.0 }).collect(),
        }
    }

    /// Variance of the distribution along each column of Q. Without normalisation this is
    /// `scales^2`; with it, the exact second moments of x/|x| (see [`unit_norm_variances`]).
    pub fn variances(&self) -> Vec<f64> {
        if self.normalize {
            unit_norm_variances(&self.scales)
        } else {
            self.scales.iter().map(|s| s * s).collect()
        }
    }

    /// The true covariance Q diag(variances) Q^T, factored. (For normalised data the mean is
    /// zero and the covariance is diagonal in the same basis by sign symmetry.)
    pub fn covariance(&self) -> Covariance {
        Covariance {
            variances: self.variances(),
            basis: self.basis.clone(),
        }
    }

    /// Draws `skip + n` samples from `rng` (n*d standard normals per n samples, row by row)
    /// and returns the last `n`, row-major.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, skip: usize, n: usize) -> Vec<f32> {
        let d = self.dim();
        let _ = normals(rng, skip * d);
        let mut z = normals(rng, n * d);
        for row in z.chunks_mut(d.max(1)) {
            row.iter_mut().zip(&self.scales).for_each(|(x, s)| *x *= s);
        }
        let mut x = match &self.basis {
            None => z,
            Some(q) => {
                let zm = Mat::from_fn(n, d, |i, j| z[i * d + j]);
                let qm = Mat::from_fn(d, d, |i, j| q[i * d + j]);
                let xm = &zm * qm.transpose();
                (0..n * d).map(|k| xm[(k / d, k % d)]).collect()
            }
        };
        for row in x.chunks_mut(d.max(1)) {
            row.iter_mut().zip(&self.mean).for_each(|(x, m)| *x += m);
            if self.normalize {
                let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|v| *v /= norm);
                }
            }
        }
        x.into_iter().map(|v| v as f32).collect()
    }
}
