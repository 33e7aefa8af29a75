//! The split-agreement theory beside the measured agreement of `--metrics agree`: for two
//! `linear-exact` runs of the same N on the same synthetic Gaussian (trained on disjoint
//! splits, `--split a|b`) sampled with the DDPM sampler (`--sampler ddpm`, sigma_t^2 = beta_t),
//! the measured mean squared difference of paired samples per coordinate beside the
//! first-order prediction of `diffmem_metrics::theory::split_agreement` (derived for diffmem,
//! valid for N >> d; not the closed form of arXiv 2602.02908).

use crate::run::LoadedRun;
use crate::run::config::SampleSection;
use diffmem_metrics::theory::split_agreement::split_msd;
use diffmem_model::{DdpmVariance, ModelSpec, SamplerConfig};
use serde_json::{Value, json};

/// Why the theory does not apply to this pair, or None when it does.
fn inapplicable(a: &LoadedRun, b: &LoadedRun, section: &SampleSection) -> Option<&'static str> {
    let exact = |r: &LoadedRun| matches!(r.cfg.model, ModelSpec::LinearExact { .. });
    if !exact(a) || !exact(b) {
        return Some("both runs must be linear-exact");
    }
    if a.train.truth.is_none() || a.cfg.data.spec != b.cfg.data.spec {
        return Some("both runs must use the same synthetic Gaussian (gaussian:...)");
    }
    if a.train.len() != b.train.len() || a.cfg.model != b.cfg.model {
        return Some("both runs must have the same N and ridge");
    }
    match section.sampler {
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            ..
        } => None,
        _ => Some(
            "the theory is for DDPM sampling with sigma_t^2 = beta_t: eval with --sampler ddpm",
        ),
    }
}

/// The measured and predicted mean squared difference per coordinate of paired samples
/// `ours` and `theirs` (`[M, d]`), or a note saying why there is no prediction.
pub fn compare(
    a: &LoadedRun,
    b: &LoadedRun,
    section: &SampleSection,
    ours: &[f32],
    theirs: &[f32],
) -> Value {
    let d = a.train.dim();
    let rows = ours.len() / d.max(1);
    let measured = ours
        .iter()
        .zip(theirs)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / (rows.max(1) * d.max(1)) as f64;
    if let Some(why) = inapplicable(a, b, section) {
        return json!({ "measured_msd": measured, "theory": Value::Null, "note": why });
    }
    let Some(truth) = a.train.truth.as_ref() else {
        return Value::Null;
    };
    let spectrum = &truth.cov.variances;
    let mean_coords: Vec<f64> = match &truth.cov.basis {
        None => truth.mean.clone(),
        Some(q) => (0..d)
            .map(|i| (0..d).map(|r| q[r * d + i] * truth.mean[r]).sum())
            .collect(),
    };
    let lambda = match a.cfg.model {
        ModelSpec::LinearExact { lambda } => lambda,
        _ => 0.0,
    };
    let last = matches!(
        section.sampler,
        SamplerConfig::Ddpm {
            last_noise: true,
            ..
        }
    );
    let n = a.train.len();
    let theory = split_msd(
        spectrum,
        &mean_coords,
        n,
        &a.diffusion.schedule,
        lambda,
        last,
    );
    json!({
        "n": n,
        "d": d,
        "n_over_d": n as f64 / d as f64,
        "measured_msd": measured,
        "theory": theory,
        "ratio": measured / theory,
        "formula": "first order in 1/N (delta method), docs/metrics.md",
    })
}
