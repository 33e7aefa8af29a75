//! The exact distribution of DDPM ancestral samples of a linear denoiser.
//!
//! Sampler: x_T ~ N(0, I),
//! x_{t-1} = (x_t - beta_t / sqrt(1-abar_t) (W_t x_t + b_t)) / sqrt(1-beta_t) + sigma_t z
//! with sigma_t^2 = beta_t (sigma_1 = 0 without noise at the last step). Every step is
//! affine, so the samples are Gaussian; per eigendirection of Sigma0 (docs/theory.md §1,
//! arXiv 2505.24769):
//!
//!   v_T = 1,  v_{t-1} = M_t^2 v_t + sigma_t^2,  M_t = (1 - beta_t w_t / sqrt(1-abar_t)) / sqrt(1-beta_t),
//!
//! and the mean error e_t = m_t - sqrt(abar_t) mu0 obeys e_{t-1} = M_t e_t with e_T = -sqrt(abar_T) mu0
//! (because b_t = -sqrt(abar_t) W_t mu0), so the sampled mean is mu0 + U diag(prod_t M_t) U^T e_T.

use super::linear::LinearDenoiser;
use crate::error::Result;
use crate::gaussian::Gaussian;

/// The Gaussian N(mean, U diag(variances) U^T) of the samples, U the eigenvectors of Sigma0.
#[derive(Clone, Debug, PartialEq)]
pub struct SampledGaussian {
    /// Mean of the samples (ambient coordinates).
    pub mean: Vec<f64>,
    /// Variance along each eigendirection of Sigma0 (same order as its eigenvalues).
    pub variances: Vec<f64>,
}

impl SampledGaussian {
    /// The dense Gaussian (ambient coordinates).
    pub fn to_gaussian(&self, den: &LinearDenoiser) -> Result<Gaussian> {
        let e = &den.train.eigen;
        Gaussian::new(self.mean.clone(), e.compose(&self.variances), e.d)
    }

    /// Per-direction excess variance v - l0 (the c of rho_N = N(mu0, Sigma0 + c I) per direction).
    pub fn excess(&self, den: &LinearDenoiser) -> Vec<f64> {
        self.variances
            .iter()
            .zip(&den.train.eigen.values)
            .map(|(v, l)| v - l)
            .collect()
    }
}

/// M_t for direction `j` at index `i`, written as (residual) / sqrt(1 - beta_t) with
/// 1 - beta_t w_t / sqrt(1-abar_t) = (a_t - beta_t f) / a_t and a_t - beta_t computed as
/// abar_t l0 + (1 - beta_t)(1 - abar_{t-1}) + lambda (an identity of the schedule), so that the
/// last step of the optimum maps a direction with l0 = lambda = 0 to exactly 0.
pub fn step_factor(den: &LinearDenoiser, i: usize, j: usize) -> f64 {
    let s = &den.schedule;
    let beta = s.betas[i];
    let prev = if i == 0 { 0.0 } else { s.one_minus_abar[i - 1] };
    let a_minus_beta = s.abar[i] * den.train.eigen.values[j] + (1.0 - beta) * prev + den.lambda;
    let f = den.learned_fraction(i, j);
    (a_minus_beta + beta * (1.0 - f)) / (den.curvature(i, j) * (1.0 - beta).sqrt())
}

/// The exact sampled distribution of `den` with the DDPM sampler, sigma_t^2 = beta_t, with or
/// without noise at the last step.
pub fn sampled_distribution(den: &LinearDenoiser, last_step_noise: bool) -> SampledGaussian {
    let s = &den.schedule;
    let d = den.d();
    let mut variances = vec![1.0; d];
    let mut product = vec![1.0; d];
    for i in (0..s.len()).rev() {
        let noise = if i == 0 && !last_step_noise {
            0.0
        } else {
            s.betas[i]
        };
        for j in 0..d {
            let m = step_factor(den, i, j);
            variances[j] = m * m * variances[j] + noise;
            product[j] *= m;
        }
    }
    let e = &den.train.eigen;
    let start = s.abar[s.len() - 1].sqrt();
    let err: Vec<f64> = e
        .to_basis(&den.train.mean)
        .iter()
        .zip(&product)
        .map(|(y, p)| -start * y * p)
        .collect();
    let mean = e
        .from_basis(&err)
        .iter()
        .zip(&den.train.mean)
        .map(|(a, b)| a + b)
        .collect();
    SampledGaussian { mean, variances }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::Schedule;
    use diffmem_model::linear_gaussian::GaussianMoments;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn denoiser(n: usize, lambda: f64, t_max: usize) -> LinearDenoiser {
        let g = Gaussian::diagonal(vec![2.0, -1.0, 0.5, 0.0], &[3.0, 1.0, 0.5, 0.2]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let tr = GaussianMoments::from_samples(&g.sample(n, &mut rng).unwrap(), 4).unwrap();
        LinearDenoiser::optimum(tr, Schedule::linear(1e-3, 5e-2, t_max).unwrap(), lambda).unwrap()
    }

    /// Runs the dense f64 DDPM sampler and returns the fitted Gaussian of the samples.
    fn monte_carlo(den: &LinearDenoiser, last_noise: bool, m: usize, seed: u64) -> Gaussian {
        let d = den.d();
        let s = &den.schedule;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x: Vec<f64> = (0..m * d)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        for i in (0..s.len()).rev() {
            let (w, b) = (den.weight(i), den.bias(i));
            let k = s.betas[i] / s.one_minus_abar[i].sqrt();
            let sd = if i == 0 && !last_noise {
                0.0
            } else {
                s.betas[i].sqrt()
            };
            for row in x.chunks_exact_mut(d) {
                let eps: Vec<f64> = (0..d)
                    .map(|r| (0..d).map(|c| w[r * d + c] * row[c]).sum::<f64>() + b[r])
                    .collect();
                for r in 0..d {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    row[r] = (row[r] - k * eps[r]) / (1.0 - s.betas[i]).sqrt() + sd * z;
                }
            }
        }
        Gaussian::fit_f64(&x, d).unwrap()
    }

    #[test]
    fn recursion_matches_monte_carlo_sampler() {
        let m = 40_000;
        for (n, lambda, last) in [(10, 0.0, true), (10, 0.0, false), (3, 0.05, true)] {
            let den = denoiser(n, lambda, 60);
            let exact = sampled_distribution(&den, last).to_gaussian(&den).unwrap();
            let mc = monte_carlo(&den, last, m, 11);
            // Five standard errors of a sample covariance / mean of m Gaussian draws.
            let d = den.d();
            let c = &exact.cov;
            for r in 0..d {
                for k in 0..d {
                    let se =
                        ((c[r * d + r] * c[k * d + k] + c[r * d + k].powi(2)) / m as f64).sqrt();
                    let (a, b) = (mc.cov[r * d + k], c[r * d + k]);
                    assert!(
                        (a - b).abs() < 5.0 * se + 1e-12,
                        "N={n} lambda={lambda} last={last} cov {a} vs {b}"
                    );
                }
                let se = (c[r * d + r] / m as f64).sqrt();
                let (a, b) = (mc.mean[r], exact.mean[r]);
                assert!(
                    (a - b).abs() < 5.0 * se,
                    "N={n} last={last} mean {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn absent_directions_get_beta_1_or_beta_1_plus_lambda() {
        // N = 2 in d = 4: Sigma0 has rank 1, three directions absent from the data.
        let den = denoiser(2, 0.0, 1000);
        let beta1 = den.schedule.betas[0];
        let v = sampled_distribution(&den, true).variances;
        assert_eq!(den.train.rank(), 1);
        for &vj in &v[1..] {
            assert!((vj / beta1 - 1.0).abs() < 0.05, "{vj} vs beta_1 = {beta1}");
        }
        let v0 = sampled_distribution(&den, false).variances;
        assert!(v0[1..].iter().all(|&x| x == 0.0), "no last noise: {v0:?}");
        let lambda = 0.02;
        let ridge = denoiser(2, lambda, 1000);
        let v = sampled_distribution(&ridge, true).variances;
        for &vj in &v[1..] {
            assert!(
                (vj / (beta1 + lambda) - 1.0).abs() < 0.1,
                "{vj} vs beta_1 + lambda = {}",
                beta1 + lambda
            );
        }
    }
}
