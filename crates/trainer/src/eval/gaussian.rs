//! `--metrics gaussian`: for synthetic data with known mu and Sigma, the Gaussian fit of the
//! generated samples and its KL to the truth, the KL of the training set's own Gaussian
//! N(mu0, Sigma0) to the truth (docs/theory.md §1), and for linear manifolds the sample variance
//! per block (mean over the block's basis directions) beside the block's true variance.

use anyhow::{Result, bail};
use diffmem_data::Dataset;
use diffmem_metrics::gaussian::{Gaussian, kl};

/// Mean over the block's directions u of the sample variance of u . x.
fn block_variance(samples: &[f32], d: usize, basis: &[f64], dim: usize) -> f64 {
    let n = samples.len() / d;
    let mut total = 0.0;
    for j in 0..dim {
        let proj: Vec<f64> = samples
            .chunks_exact(d)
            .map(|x| (0..d).map(|i| x[i] as f64 * basis[i * dim + j]).sum())
            .collect();
        let m = proj.iter().sum::<f64>() / n as f64;
        total += proj.iter().map(|p| (p - m).powi(2)).sum::<f64>() / n as f64;
    }
    total / dim.max(1) as f64
}

/// The true Gaussian N(mu, Sigma) of synthetic data; an error naming `flag` when the data have
/// no known truth or its dense covariance would not fit in memory.
pub fn true_gaussian(train: &Dataset, flag: &str) -> Result<Gaussian> {
    let Some(truth) = &train.truth else {
        bail!("{flag} needs synthetic data with known mu and Sigma (gaussian:... or manifold:...)");
    };
    if let Some(why) = truth.not_gaussian() {
        bail!("{flag} compares with a Gaussian truth: {why}");
    }
    // The true, the samples' and the training set's d x d covariances.
    let avail = diffmem_model::denoiser::linear::available_memory();
    crate::run::memory::check(flag, "d= of --data", 3.0 * truth.cov.dense_bytes(), avail)?;
    Ok(Gaussian::new(
        truth.mean.clone(),
        truth.cov.dense(),
        train.dim(),
    )?)
}

/// KL(N(m, S) || truth) of the Gaussian fitted to `samples` (`[n, d]`); None when the fit is
/// singular (fewer samples than dimensions): an infinite KL.
pub fn samples_kl(samples: &[f32], truth: &Gaussian) -> Result<Option<f64>> {
    Ok(kl(&Gaussian::fit(samples, truth.d)?, truth).ok())
}

/// Computes the diagnostics; an error when the data have no known truth.
pub fn run(samples: &[f32], train: &Dataset) -> Result<serde_json::Value> {
    let true_g = true_gaussian(train, "--metrics gaussian")?;
    let truth = train.truth.as_ref().expect("checked by true_gaussian");
    let d = train.dim();
    let fit = Gaussian::fit(samples, d)?;
    let kl_samples = samples_kl(samples, &true_g)?;
    // N(mu0, Sigma0) is singular for N <= d: its KL to the truth is infinite (memorisation).
    let train_fit = Gaussian::fit(&train.samples, d)?;
    let kl_train = kl(&train_fit, &true_g).ok();
    let blocks = truth.blocks.as_ref().map(|bs| {
        bs.iter()
            .map(|b| {
                serde_json::json!({
                    "dim": b.dim, "true_std": b.std, "true_variance": b.std * b.std,
                    "sample_variance": block_variance(samples, d, &b.basis, b.dim),
                    "train_variance": block_variance(&train.samples, d, &b.basis, b.dim),
                })
            })
            .collect::<Vec<_>>()
    });
    Ok(serde_json::json!({
        "kl_samples_fit_to_truth": kl_samples,
        "kl_train_gaussian_to_truth": kl_train,
        "note": "KL(N(m1,S1) || N(m2,S2)) = 1/2 [Tr(S2^-1 S1) - d + (m2-m1)^T S2^-1 (m2-m1) + ln det S2 - ln det S1]; null = infinite (singular fit, e.g. N <= d)",
        "trace_sample_cov": (0..d).map(|i| fit.cov[i * d + i]).sum::<f64>(),
        "trace_true_cov": truth.cov.trace(),
        "blocks": blocks,
    }))
}
