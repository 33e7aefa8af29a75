//! KL divergences of the learned distribution from the truth, the distribution-free Wishart
//! expectation, and the best isotropic c of rho_N ~ N(mu0, Sigma0 + c I)
//! (docs/theory.md §1, Merger & Goldt arXiv 2505.24769).

use super::linear::LinearDenoiser;
use super::sampling::SampledGaussian;
use crate::error::Result;
use crate::gaussian::{Gaussian, kl};
use diffmem_model::linear_gaussian::GaussianMoments;
use statrs::function::gamma::digamma;

/// KL(rho_N || rho) of the exact sampled distribution of `den` from the truth, by the Gaussian
/// KL formula (`gaussian::kl`). `f64::INFINITY` when some sampled variance is exactly 0 (no
/// noise at the last step and N <= d: samples lie in mu0 + span(data)).
pub fn sampled_kl(
    den: &LinearDenoiser,
    sampled: &SampledGaussian,
    truth: &Gaussian,
) -> Result<f64> {
    if sampled.variances.iter().any(|&v| v <= 0.0) {
        return Ok(f64::INFINITY);
    }
    kl(&sampled.to_gaussian(den)?, truth)
}

/// KL(N(mu0, Sigma0) || rho) of the empirical Gaussian itself (the c -> 0 limit);
/// `f64::INFINITY` when Sigma0 is singular (N <= d).
pub fn empirical_kl(train: &GaussianMoments, truth: &Gaussian) -> Result<f64> {
    if train.rank() < train.d() {
        return Ok(f64::INFINITY);
    }
    let e = &train.eigen;
    kl(
        &Gaussian::new(train.mean.clone(), e.compose(&e.values), e.d)?,
        truth,
    )
}

/// Expectation over training sets of size N > d of KL(N(mu0, Sigma0) || N(mu, Sigma)); it does
/// not depend on mu, Sigma (Sigma0 is Wishart with N - 1 degrees of freedom):
///
///   `E[KL] = 1/2 [d ln(N/2) - sum_{i=1}^d psi((N - i)/2)]`   (docs/theory.md §1).
///
/// `None` for N <= d, where the KL is infinite.
pub fn wishart_expected_kl(d: usize, n: usize) -> Option<f64> {
    if n <= d {
        return None;
    }
    let nf = n as f64;
    let psi: f64 = (1..=d).map(|i| digamma((nf - i as f64) / 2.0)).sum();
    Some(0.5 * (d as f64 * (nf / 2.0).ln() - psi))
}

/// Large-N form of [`wishart_expected_kl`]: d(d+3)/(4N).
pub fn wishart_asymptotic_kl(d: usize, n: usize) -> f64 {
    let d = d as f64;
    d * (d + 3.0) / (4.0 * n as f64)
}

/// The best isotropic c: the c >= 0 minimising KL(rho_N || N(mu0, Sigma0 + c I)) for the exact
/// sampled Gaussian rho_N = N(m, U diag(v) U^T). In the eigenbasis of Sigma0 the derivative is
///
///   dKL/dc = 1/2 sum_j (l0_j + c - v_j - delta_j^2) / (l0_j + c)^2,   delta = U^T (m - mu0),
///
/// whose root is found by bisection (returns 0 if the derivative is already >= 0 at c = 0+).
/// With noise at the last step and lambda = 0 this is ~ beta_1; with ridge ~ beta_1 + lambda.
pub fn best_isotropic_c(den: &LinearDenoiser, sampled: &SampledGaussian) -> f64 {
    let e = &den.train.eigen;
    let dm: Vec<f64> = sampled
        .mean
        .iter()
        .zip(&den.train.mean)
        .map(|(a, b)| a - b)
        .collect();
    let delta = e.to_basis(&dm);
    let u: Vec<f64> = sampled
        .variances
        .iter()
        .zip(&delta)
        .map(|(v, dl)| v + dl * dl)
        .collect();
    let slope = |c: f64| -> f64 {
        e.values
            .iter()
            .zip(&u)
            .map(|(l, uj)| (l + c - uj) / (l + c).powi(2))
            .sum()
    };
    let top = u.iter().copied().fold(0.0_f64, f64::max);
    let mut lo = top.max(1.0) * 1e-15;
    if slope(lo) >= 0.0 {
        return 0.0;
    }
    let mut hi = top + 1.0;
    while slope(hi) < 0.0 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if slope(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-14 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::sampling::sampled_distribution;
    use diffmem_model::Schedule;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn wishart_expectation_matches_mean_exact_kl_over_seeds() {
        let (d, n, seeds) = (5, 50, 400);
        let truth = Gaussian::new(
            vec![1.0, 0.0, -1.0, 0.5, 0.0],
            {
                let mut c = vec![0.0; 25];
                for i in 0..5 {
                    for j in 0..5 {
                        c[i * 5 + j] = if i == j { 1.0 + i as f64 } else { 0.2 };
                    }
                }
                c
            },
            d,
        )
        .unwrap();
        let kls: Vec<f64> = (0..seeds)
            .map(|s| {
                let mut rng = ChaCha8Rng::seed_from_u64(1000 + s);
                let tr =
                    GaussianMoments::from_samples(&truth.sample(n, &mut rng).unwrap(), d).unwrap();
                empirical_kl(&tr, &truth).unwrap()
            })
            .collect();
        let mean = kls.iter().sum::<f64>() / seeds as f64;
        let sd = (kls.iter().map(|k| (k - mean).powi(2)).sum::<f64>() / seeds as f64).sqrt();
        let expected = wishart_expected_kl(d, n).unwrap();
        assert!(
            (mean - expected).abs() < 3.0 * sd / (seeds as f64).sqrt()
                && (mean / expected - 1.0).abs() < 0.05,
            "mean KL {mean} (sd {sd}) vs Wishart {expected}"
        );
        let asym = wishart_asymptotic_kl(d, n);
        assert!((asym / expected - 1.0).abs() < 0.2, "{asym} vs {expected}");
        assert_eq!(wishart_expected_kl(5, 5), None);
    }

    #[test]
    fn best_c_is_beta_1_without_ridge_and_beta_1_plus_lambda_with() {
        let truth = Gaussian::diagonal(vec![0.0; 6], &[3.0, 2.0, 1.0, 0.5, 0.3, 0.1]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let tr = GaussianMoments::from_samples(&truth.sample(3, &mut rng).unwrap(), 6).unwrap();
        let sch = Schedule::merger_goldt();
        for lambda in [0.0, 0.02] {
            let den = LinearDenoiser::optimum(tr.clone(), sch.clone(), lambda).unwrap();
            let c = best_isotropic_c(&den, &sampled_distribution(&den, true));
            let expected = sch.betas[0] + lambda;
            assert!(
                (c / expected - 1.0).abs() < 0.1,
                "lambda {lambda}: c {c} vs {expected}"
            );
        }
        let den = LinearDenoiser::optimum(tr, sch, 0.0).unwrap();
        let s = sampled_distribution(&den, false);
        assert_eq!(best_isotropic_c(&den, &s), 0.0);
        assert_eq!(sampled_kl(&den, &s, &truth).unwrap(), f64::INFINITY);
    }
}
