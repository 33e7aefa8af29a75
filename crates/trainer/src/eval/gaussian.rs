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

/// Computes the diagnostics; an error when the data have no known truth.
pub fn run(samples: &[f32], train: &Dataset) -> Result<serde_json::Value> {
    let Some(truth) = &train.truth else {
        bail!(
            "--metrics gaussian needs synthetic data with known mu and Sigma (gaussian:... or manifold:...)"
        );
    };
    let d = train.dim();
    // The true, the samples' and the training set's d x d covariances.
    let avail = diffmem_model::denoiser::linear::available_memory();
    crate::run::memory::check(
        "--metrics gaussian",
        "d= of --data",
        3.0 * truth.cov.dense_bytes(),
        avail,
    )?;
    let true_g = Gaussian::new(truth.mean.clone(), truth.cov.dense(), d)?;
    let fit = Gaussian::fit(samples, d)?;
    let kl_samples = kl(&fit, &true_g).ok();
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
