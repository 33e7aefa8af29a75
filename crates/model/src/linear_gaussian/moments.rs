//! Mean and covariance of a sample set (1/N normalisation) and the eigendecomposition of the
//! covariance, with the near-zero rule of the module documentation.

use super::eigen::Eigen;
use crate::error::{ModelError, Result};
use faer::Mat;

/// Mean and 1/N-normalised covariance (row-major `d x d`) of `n x d` row-major samples, in
/// float64 whatever the input precision.
pub fn sample_mean_cov<T: Copy + Into<f64>>(
    samples: &[T],
    d: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    if d == 0 || samples.is_empty() || !samples.len().is_multiple_of(d) {
        return Err(ModelError::Invalid(format!(
            "need a non-empty [N, D] sample set (got {} values for D = {d})",
            samples.len()
        )));
    }
    let n = samples.len() / d;
    let mut mean = vec![0.0; d];
    for row in samples.chunks_exact(d) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += Into::<f64>::into(x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centred = Mat::from_fn(n, d, |i, j| Into::<f64>::into(samples[i * d + j]) - mean[j]);
    let scatter = centred.transpose() * &centred;
    let cov = (0..d * d)
        .map(|k| scatter[(k / d, k % d)] / n as f64)
        .collect();
    Ok((mean, cov))
}

/// A Gaussian's (or a training set's) mean mu0 and the eigendecomposition of its covariance
/// Sigma0 = U diag(l) U^T, eigenvalues decreasing, near-zero ones exactly 0.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMoments {
    /// mu0.
    pub mean: Vec<f64>,
    /// Sigma0 = U diag(l) U^T.
    pub eigen: Eigen,
    /// Number of samples N behind the moments.
    pub n: usize,
}

impl GaussianMoments {
    /// Moments of `n x d` row-major samples (f32 or f64).
    pub fn from_samples<T: Copy + Into<f64>>(samples: &[T], d: usize) -> Result<Self> {
        let (mean, cov) = sample_mean_cov(samples, d)?;
        Self::from_mean_cov(mean, &cov, samples.len() / d)
    }

    /// Moments of a given mean and row-major `d x d` covariance (from `n` samples).
    /// Eigenvalues at most d * 64 * eps * the largest one are set to exactly 0.
    pub fn from_mean_cov(mean: Vec<f64>, cov: &[f64], n: usize) -> Result<Self> {
        let d = mean.len();
        let mut eigen = Eigen::of_symmetric(cov, d)?;
        let top = eigen.values.first().copied().unwrap_or(0.0).max(0.0);
        let tol = d as f64 * 64.0 * f64::EPSILON * top;
        for v in &mut eigen.values {
            if *v <= tol {
                *v = 0.0;
            }
        }
        Ok(GaussianMoments { mean, eigen, n })
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
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn moments_are_the_one_over_n_covariance() {
        let rows = [0f32, 0., 2., 0., 0., 4.];
        let m = GaussianMoments::from_samples(&rows, 2).unwrap();
        assert!((m.mean[0] - 2.0 / 3.0).abs() < 1e-12 && (m.mean[1] - 4.0 / 3.0).abs() < 1e-12);
        // Sigma0 = [[8/9, -8/9], [-8/9, 32/9]]: trace 40/9, det (256 - 64)/81.
        let tr: f64 = m.eigen.values.iter().sum();
        let det: f64 = m.eigen.values.iter().product();
        assert!((tr - 40.0 / 9.0).abs() < 1e-12 && (det - 192.0 / 81.0).abs() < 1e-12);
        let (_, cov) = sample_mean_cov(&rows, 2).unwrap();
        let want = [8.0 / 9.0, -8.0 / 9.0, -8.0 / 9.0, 32.0 / 9.0];
        assert!(cov.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12));
        assert!(GaussianMoments::from_samples(&rows, 4).is_err());
        assert!(GaussianMoments::from_samples::<f64>(&[], 2).is_err());
    }

    #[test]
    fn rank_is_n_minus_one_below_d_and_absent_directions_are_exactly_zero() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let xs: Vec<f64> = (0..4 * 6)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let t = GaussianMoments::from_samples(&xs, 6).unwrap();
        assert_eq!(t.rank(), 3);
        assert_eq!(t.eigen.values[3..], [0.0; 3]);
        assert!(t.eigen.values.windows(2).all(|w| w[0] >= w[1]));
    }
}
