//! The values of the sampling flags shared by `diffmem sample` and `diffmem eval`, typed so
//! that clap checks them once and the code matches on variants, not on strings.

use clap::ValueEnum;
use diffmem_model::DdpmVariance;

/// `--sampler`: which sampler draws the samples.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerKind {
    /// DDPM ancestral sampling over all T steps (the run's variance and last-step noise).
    Ddpm,
    /// DDIM over `--steps` steps with `--eta` (Song et al., arXiv 2010.02502).
    Ddim,
}

/// `--variance`: the variance of each DDPM step.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarianceFlag {
    /// sigma_t^2 = beta_t.
    Beta,
    /// sigma_t^2 = beta_t (1 - abar_{t-1}) / (1 - abar_t), the posterior variance.
    Posterior,
}

impl From<VarianceFlag> for DdpmVariance {
    fn from(v: VarianceFlag) -> Self {
        match v {
            VarianceFlag::Beta => DdpmVariance::Beta,
            VarianceFlag::Posterior => DdpmVariance::Posterior,
        }
    }
}
