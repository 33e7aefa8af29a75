//! The split-agreement theory beside the measured agreement of `--metrics agree`: for two
//! `linear-exact` runs of the same N on the same synthetic Gaussian (trained on disjoint
//! splits, `--split a|b`) sampled with the DDPM sampler (`--sampler ddpm`, sigma_t^2 = beta_t),
//! the measured mean squared difference of paired samples per coordinate beside two
//! predictions: the first-order one of `diffmem_metrics::theory::split_agreement` (derived for
//! diffmem, valid for N >> d) and the random-matrix one of
//! `diffmem_metrics::theory::split_rmt` (Wang, Zavatone-Veth & Pehlevan, arXiv 2602.02908,
//! valid down to N ~ d and below). Files: `split_theory.csv` and `split_theory.png`, both
//! predictions over a grid of N/d with the measured point ([`super::split_curve`]).

use crate::run::LoadedRun;
use crate::run::config::SampleSection;
use anyhow::Result;
use diffmem_metrics::theory::split_agreement::{SplitSetting, split_msd};
use diffmem_metrics::theory::split_rmt::sampler_split_msd;
use diffmem_model::{DdpmVariance, ModelSpec, SamplerConfig, Schedule};
use serde_json::{Value, json};
use std::path::Path;

/// Why the theory does not apply to this pair, or None when it does.
fn inapplicable(a: &LoadedRun, b: &LoadedRun, section: &SampleSection) -> Option<&'static str> {
    let exact = |r: &LoadedRun| matches!(r.cfg.model, ModelSpec::LinearExact { .. });
    if !exact(a) || !exact(b) {
        return Some("both runs must be linear-exact");
    }
    let gaussian = a
        .train
        .truth
        .as_ref()
        .is_some_and(|t| t.not_gaussian().is_none());
    if !gaussian || a.cfg.data.spec != b.cfg.data.spec {
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

/// What the two predictions need from the runs: the truth's spectrum and mean in its
/// eigenbasis, the schedule, the ridge and whether the last step adds noise.
pub struct Inputs {
    /// Eigenvalues of the true covariance.
    pub spectrum: Vec<f64>,
    /// U^T mu of the true mean.
    pub mean_coords: Vec<f64>,
    /// The diffusion schedule both runs sample with.
    pub schedule: Schedule,
    /// Ridge of `linear-exact`.
    pub lambda: f64,
    /// Noise at the last DDPM step.
    pub last_step_noise: bool,
}

impl Inputs {
    /// The inputs of run `a` sampled as `section` says; None without a Gaussian truth.
    fn of(a: &LoadedRun, section: &SampleSection) -> Option<Inputs> {
        let truth = a.train.truth.as_ref()?;
        let d = a.train.dim();
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
        let last_step_noise = matches!(
            section.sampler,
            SamplerConfig::Ddpm {
                last_noise: true,
                ..
            }
        );
        Some(Inputs {
            spectrum: truth.cov.variances.clone(),
            mean_coords,
            schedule: a.diffusion.schedule.clone(),
            lambda,
            last_step_noise,
        })
    }

    /// The setting of both predictions at N = `n`.
    fn setting(&self, n: usize) -> SplitSetting<'_> {
        SplitSetting {
            spectrum: &self.spectrum,
            mean_coords: &self.mean_coords,
            n,
            schedule: &self.schedule,
            lambda: self.lambda,
            last_step_noise: self.last_step_noise,
        }
    }

    /// The first-order (delta-method) prediction at N = `n`.
    pub fn first_order(&self, n: usize) -> f64 {
        split_msd(&self.setting(n))
    }

    /// The random-matrix prediction at N = `n`.
    pub fn rmt(&self, n: usize) -> f64 {
        sampler_split_msd(&self.setting(n))
    }
}

/// The mean over paired rows of the squared difference per coordinate, and its standard error
/// over the rows (the sampler noise only; one pair of training sets).
fn measured_msd(ours: &[f32], theirs: &[f32], d: usize) -> (f64, f64) {
    let per: Vec<f64> = ours
        .chunks(d.max(1))
        .zip(theirs.chunks(d.max(1)))
        .map(|(x, y)| {
            let sq = x
                .iter()
                .zip(y)
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2));
            sq.sum::<f64>() / d.max(1) as f64
        })
        .collect();
    let k = per.len().max(1) as f64;
    let mean = per.iter().sum::<f64>() / k;
    let var = per.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0).max(1.0);
    (mean, (var / k).sqrt())
}

/// The measured and predicted mean squared difference per coordinate of paired samples
/// `ours` and `theirs` (`[M, d]`), or a note saying why there is no prediction; where there is
/// one, also `split_theory.csv` and `split_theory.png` in `out`.
pub fn compare(
    a: &LoadedRun,
    b: &LoadedRun,
    section: &SampleSection,
    (ours, theirs): (&[f32], &[f32]),
    out: &Path,
) -> Result<Value> {
    let d = a.train.dim();
    let (measured, se) = measured_msd(ours, theirs, d);
    if let Some(why) = inapplicable(a, b, section) {
        return Ok(json!({
            "measured_msd": measured,
            "theory_first_order": Value::Null,
            "theory_rmt": Value::Null,
            "note": why,
        }));
    }
    let Some(inputs) = Inputs::of(a, section) else {
        return Ok(Value::Null);
    };
    let n = a.train.len();
    let (first, rmt) = (inputs.first_order(n), inputs.rmt(n));
    super::split_curve::write(out, &inputs, n, (measured, se))?;
    Ok(json!({
        "n": n,
        "d": d,
        "n_over_d": n as f64 / d as f64,
        "measured_msd": measured,
        "measured_se": se,
        "theory_first_order": first,
        "ratio_first_order": measured / first,
        "theory_rmt": rmt,
        "ratio_rmt": measured / rmt,
        "formula_first_order": "first order in 1/N (delta method), docs/metrics.md",
        "formula_rmt": "random-matrix deterministic equivalent (arXiv 2602.02908), docs/metrics.md",
    }))
}
