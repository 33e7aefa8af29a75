//! Gaussian fits of samples and the Gaussian KL divergence, in float64.
//!
//! Used by the theory engine (exact KL of the sampled distribution of a linear diffusion model)
//! and by the eval metrics (KL of a Gaussian fitted to generated samples against the truth).
//! Covariances are `d x d` row-major `Vec<f64>`; factorisations use `faer`.

use crate::error::{MetricsError, Result};
use faer::{Mat, Side};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// A Gaussian N(mean, cov) in dimension `d`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gaussian {
    /// Mean, length `d`.
    pub mean: Vec<f64>,
    /// Covariance, `d x d` row-major.
    pub cov: Vec<f64>,
    /// Dimension.
    pub d: usize,
}

impl Gaussian {
    /// A Gaussian from its mean and row-major covariance; checks the lengths and finiteness
    /// (not positive-definiteness: that is checked where a factorisation needs it).
    pub fn new(mean: Vec<f64>, cov: Vec<f64>, d: usize) -> Result<Self> {
        if d == 0 || mean.len() != d || cov.len() != d * d {
            return Err(MetricsError::Invalid(format!(
                "Gaussian of dimension {d} needs a mean of length {d} and a {d}x{d} covariance, \
                 got {} and {}",
                mean.len(),
                cov.len()
            )));
        }
        if mean.iter().chain(&cov).any(|v| !v.is_finite()) {
            return Err(MetricsError::Invalid(
                "Gaussian mean or covariance is not finite".into(),
            ));
        }
        Ok(Gaussian { mean, cov, d })
    }

    /// N(mean, diag(variances)).
    pub fn diagonal(mean: Vec<f64>, variances: &[f64]) -> Result<Self> {
        let d = variances.len();
        let mut cov = vec![0.0; d * d];
        for (i, v) in variances.iter().enumerate() {
            cov[i * d + i] = *v;
        }
        Gaussian::new(mean, cov, d)
    }

    /// Maximum-likelihood fit of `n x d` row-major f32 samples: empirical mean and covariance
    /// with 1/N normalisation (docs/theory.md's mu0, Sigma0), accumulated in f64.
    pub fn fit(samples: &[f32], d: usize) -> Result<Self> {
        let as_f64: Vec<f64> = samples.iter().map(|&v| f64::from(v)).collect();
        Gaussian::fit_f64(&as_f64, d)
    }

    /// Maximum-likelihood fit of `n x d` row-major f64 samples (1/N normalisation).
    pub fn fit_f64(samples: &[f64], d: usize) -> Result<Self> {
        let (mean, cov) = diffmem_model::linear_gaussian::sample_mean_cov(samples, d)?;
        Gaussian::new(mean, cov, d)
    }

    /// Lower Cholesky factor L of the covariance (cov = L L^T), or `Linalg` if the covariance
    /// is not positive definite.
    pub fn cholesky(&self) -> Result<Mat<f64>> {
        cholesky(&self.cov, self.d)
    }

    /// ln det cov, from the Cholesky factor; `Linalg` if not positive definite.
    pub fn log_det(&self) -> Result<f64> {
        Ok(log_det_from_cholesky(&self.cholesky()?))
    }

    /// Log-densities ln N(x; mean, cov) of the `n x d` row-major points `xs`.
    pub fn log_densities(&self, xs: &[f64]) -> Result<Vec<f64>> {
        let d = self.d;
        if !xs.len().is_multiple_of(d) {
            return Err(MetricsError::Invalid(format!(
                "{} values are not rows of dimension {d}",
                xs.len()
            )));
        }
        let l = self.cholesky()?;
        let n = xs.len() / d;
        let mut r = Mat::from_fn(d, n, |i, k| xs[k * d + i] - self.mean[i]);
        l.solve_lower_triangular_in_place(r.as_mut());
        let norm =
            -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det_from_cholesky(&l));
        Ok((0..n)
            .map(|k| norm - 0.5 * (0..d).map(|i| r[(i, k)].powi(2)).sum::<f64>())
            .collect())
    }

    /// `n` samples x = mean + L z, z ~ N(0, I), as `n x d` row-major f64.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Vec<f64>> {
        let l = self.cholesky()?;
        let d = self.d;
        // Row k of Z is z_k; draw in row order so that a prefix of the stream is a prefix of
        // the samples.
        let z_rows: Vec<f64> = (0..n * d).map(|_| StandardNormal.sample(rng)).collect();
        let z = Mat::from_fn(n, d, |k, i| z_rows[k * d + i]);
        let x = &z * l.transpose();
        Ok((0..n * d)
            .map(|k| x[(k / d, k % d)] + self.mean[k % d])
            .collect())
    }
}

/// KL(p || q) for Gaussians p = N(m1, S1), q = N(m2, S2) (docs/theory.md §3; standard result):
///
/// KL = 1/2 [Tr(S2^-1 S1) - d + (m2 - m1)^T S2^-1 (m2 - m1) + ln det S2 - ln det S1],
///
/// computed from the Cholesky factors L1, L2: Tr(S2^-1 S1) = ||L2^-1 L1||_F^2 and
/// ln det S = 2 sum ln diag L. `Linalg` if either covariance is not positive definite
/// (a degenerate p, e.g. fitted to fewer than d+1 samples, has infinite KL).
pub fn kl(p: &Gaussian, q: &Gaussian) -> Result<f64> {
    if p.d != q.d {
        return Err(MetricsError::Invalid(format!(
            "KL between Gaussians of dimensions {} and {}",
            p.d, q.d
        )));
    }
    let d = p.d;
    let l1 = p.cholesky()?;
    let l2 = q.cholesky()?;
    let mut x = l1.clone();
    l2.solve_lower_triangular_in_place(x.as_mut());
    let trace: f64 = (0..d)
        .flat_map(|i| (0..d).map(move |j| (i, j)))
        .map(|(i, j)| x[(i, j)].powi(2))
        .sum();
    let mut y = Mat::from_fn(d, 1, |i, _| q.mean[i] - p.mean[i]);
    l2.solve_lower_triangular_in_place(y.as_mut());
    let mahalanobis: f64 = (0..d).map(|i| y[(i, 0)].powi(2)).sum();
    let value = 0.5
        * (trace - d as f64 + mahalanobis + log_det_from_cholesky(&l2)
            - log_det_from_cholesky(&l1));
    // KL >= 0; clamp rounding below zero (NaN stays visible).
    Ok(if value < 0.0 { 0.0 } else { value })
}

/// Lower Cholesky factor of a row-major `d x d` symmetric matrix.
fn cholesky(cov: &[f64], d: usize) -> Result<Mat<f64>> {
    let m = Mat::from_fn(d, d, |i, j| cov[i * d + j]);
    m.llt(Side::Lower)
        .map(|f| f.L().to_owned())
        .map_err(|e| MetricsError::Linalg(format!("covariance is not positive definite ({e})")))
}

/// ln det of L L^T from its Cholesky factor L.
fn log_det_from_cholesky(l: &Mat<f64>) -> f64 {
    2.0 * (0..l.nrows()).map(|i| l[(i, i)].ln()).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn spd(d: usize, seed: u64) -> Gaussian {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a: Vec<f64> = (0..d * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let mut cov = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] = (0..d).map(|k| a[i * d + k] * a[j * d + k]).sum::<f64>()
                    / d as f64
                    + if i == j { 0.3 } else { 0.0 };
            }
        }
        let mean = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        Gaussian::new(mean, cov, d).unwrap()
    }

    #[test]
    fn fit_recovers_mean_and_covariance() {
        let g = spd(3, 1);
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let xs = g.sample(200_000, &mut rng).unwrap();
        let f = Gaussian::fit_f64(&xs, 3).unwrap();
        for (a, b) in f.mean.iter().zip(&g.mean) {
            assert!((a - b).abs() < 0.01, "mean {a} vs {b}");
        }
        for (a, b) in f.cov.iter().zip(&g.cov) {
            assert!((a - b).abs() < 0.02, "cov {a} vs {b}");
        }
        let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let f32fit = Gaussian::fit(&xs32, 3).unwrap();
        assert!((f32fit.cov[4] - f.cov[4]).abs() < 1e-5);
    }

    #[test]
    fn log_density_matches_one_dimensional_formula() {
        let g = Gaussian::diagonal(vec![1.0, -2.0], &[4.0, 0.25]).unwrap();
        let lp = g.log_densities(&[3.0, -1.5]).unwrap()[0];
        let one = |x: f64, m: f64, v: f64| {
            -0.5 * ((2.0 * std::f64::consts::PI * v).ln() + (x - m).powi(2) / v)
        };
        assert!((lp - one(3.0, 1.0, 4.0) - one(-1.5, -2.0, 0.25)).abs() < 1e-12);
    }

    #[test]
    fn kl_matches_monte_carlo_log_ratio() {
        let p = spd(4, 3);
        let q = spd(4, 4);
        let exact = kl(&p, &q).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let xs = p.sample(400_000, &mut rng).unwrap();
        let lp = p.log_densities(&xs).unwrap();
        let lq = q.log_densities(&xs).unwrap();
        let diffs: Vec<f64> = lp.iter().zip(&lq).map(|(a, b)| a - b).collect();
        let n = diffs.len() as f64;
        let mean = diffs.iter().sum::<f64>() / n;
        let sd = (diffs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let se = sd / n.sqrt();
        assert!(
            (mean - exact).abs() < 4.0 * se,
            "MC {mean} ± {se} vs exact {exact}"
        );
        assert!(kl(&p, &p).unwrap().abs() < 1e-12);
    }

    #[test]
    fn kl_of_diagonal_gaussians_is_the_sum_over_coordinates() {
        let p = Gaussian::diagonal(vec![0.0, 1.0], &[1.0, 2.0]).unwrap();
        let q = Gaussian::diagonal(vec![0.5, 0.0], &[3.0, 0.5]).unwrap();
        let one = |m1: f64, v1: f64, m2: f64, v2: f64| {
            0.5 * (v1 / v2 - 1.0 + (m2 - m1).powi(2) / v2 + (v2 / v1).ln())
        };
        let expected = one(0.0, 1.0, 0.5, 3.0) + one(1.0, 2.0, 0.0, 0.5);
        assert!((kl(&p, &q).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn degenerate_covariance_is_a_linalg_error() {
        let p = Gaussian::diagonal(vec![0.0, 0.0], &[1.0, 0.0]).unwrap();
        let q = Gaussian::diagonal(vec![0.0, 0.0], &[1.0, 1.0]).unwrap();
        assert!(matches!(kl(&p, &q), Err(MetricsError::Linalg(_))));
        assert!(matches!(kl(&q, &p), Err(MetricsError::Linalg(_))));
        assert!(matches!(
            Gaussian::new(vec![0.0], vec![1.0, 0.0], 1),
            Err(MetricsError::Invalid(_))
        ));
    }
}
