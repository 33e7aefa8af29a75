//! The values of the sampling flags shared by `diffmem sample` and `diffmem eval`, typed so
//! that clap checks them once and the code matches on variants, not on strings.

use crate::run::config::{RunConfig, default_ddpm};
use clap::ValueEnum;
use diffmem_model::{DdpmVariance, SamplerConfig};

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

/// The sampling flags of `diffmem sample` and `diffmem eval`, resolved against a run in one
/// place ([`SamplerFlags::resolve`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SamplerFlags {
    /// Sampler: ddim or ddpm [default: eval's ddim; sample's the run's own sampler].
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerKind>,
    /// DDIM steps [default: 100].
    #[arg(long, value_parser = crate::io::range::positive_usize)]
    pub steps: Option<usize>,
    /// DDIM eta (0: deterministic).
    #[arg(long, default_value_t = crate::sample::DDIM_ETA, value_parser = crate::io::range::non_negative_f64)]
    pub eta: f64,
    /// DDPM variance: beta or posterior [default: the run's DDPM setting].
    #[arg(long, value_enum)]
    pub variance: Option<VarianceFlag>,
    /// DDPM: add noise at the last step [default: the run's DDPM setting] ...
    #[arg(long, conflicts_with = "no_last_noise")]
    pub last_noise: bool,
    /// ... or not.
    #[arg(long)]
    pub no_last_noise: bool,
}

impl SamplerFlags {
    /// The sampler for run config `cfg` with `t_max` diffusion steps: `--sampler` (else
    /// `default`; `None` keeps the run's own sampler). DDIM takes `--steps` (at most T) and
    /// `--eta`; DDPM the run's own variance and last-step noise (for a run configured with
    /// DDIM, the DDPM default of its data) with `--variance`, `--last-noise` and
    /// `--no-last-noise` over them.
    pub fn resolve(
        &self,
        cfg: &RunConfig,
        t_max: usize,
        default: Option<SamplerKind>,
    ) -> SamplerConfig {
        match self.sampler.or(default) {
            None => cfg.sample.sampler.clone(),
            Some(SamplerKind::Ddim) => SamplerConfig::Ddim {
                steps: self.steps.unwrap_or(crate::sample::DDIM_STEPS).min(t_max),
                eta: self.eta,
            },
            Some(SamplerKind::Ddpm) => self.ddpm(cfg),
        }
    }

    /// The DDPM sampler of `--sampler ddpm` (see [`SamplerFlags::resolve`]).
    fn ddpm(&self, cfg: &RunConfig) -> SamplerConfig {
        let own = match &cfg.sample.sampler {
            s @ SamplerConfig::Ddpm { .. } => s.clone(),
            SamplerConfig::Ddim { .. } => default_ddpm(&cfg.data.spec),
        };
        let (variance, last_noise) = match own {
            SamplerConfig::Ddpm {
                variance,
                last_noise,
            } => (variance, last_noise),
            SamplerConfig::Ddim { .. } => (DdpmVariance::Beta, true),
        };
        SamplerConfig::Ddpm {
            variance: self.variance.map_or(variance, DdpmVariance::from),
            last_noise: match (self.last_noise, self.no_last_noise) {
                (true, _) => true,
                (_, true) => false,
                _ => last_noise,
            },
        }
    }
}
