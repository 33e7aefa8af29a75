//! The evaluation stage: one file per metric family of `diffmem eval`, and the dispatch from
//! a metric name to its file. A new metric is a variant of [`Metric`], an arm in
//! [`Metric::compute`] and its own file.

pub mod agreement;
pub mod along;
pub mod calibrate;
pub mod gaussian;
pub mod health;
pub mod loss;
pub mod memorization;
pub mod mia;
pub mod nn_figures;
pub mod outputs;
pub mod overlap;
pub mod paired;
pub mod points;
pub mod quality;
pub mod reference;
pub mod science_summary;
pub mod score_agreement;
pub mod sima;
pub mod spectrum;
pub mod split_curve;
pub mod split_theory;
pub mod summary;
pub mod weights;

use crate::io::progress::Verbosity;
use crate::run::LoadedRun;
use crate::run::config::SampleSection;
use anyhow::Result;
use paired::PairedRows;
use serde_json::Value;
use spectrum::SpectrumArgs;
use std::path::{Path, PathBuf};

/// A metric family of `diffmem eval --metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Nearest-neighbour memorisation of samples (R_mem), with the held-out control.
    Mem,
    /// Train/held-out denoising loss per timestep.
    Loss,
    /// Gaussian fit of the samples against the true Gaussian (synthetic data).
    Gaussian,
    /// Two-model agreement with --against RUN2.
    Agree,
    /// Jacobian spectra and latent dimension of the score.
    Spectrum,
    /// FWD and KID of the samples against the held-out set, with their floors.
    Quality,
    /// Membership inference from per-example denoising losses.
    Mia,
    /// Agreement (r^2) with reference denoisers per timestep.
    Ref,
    /// The local machine's patch size per timestep that best matches the run.
    CalibrateLocal,
    /// Memorisation per training point: copies, density, typicality, variance collapse.
    Points,
    /// SimA membership inference from the norm of the predicted noise.
    Sima,
}

impl Metric {
    /// Every metric, in the order of `--help`.
    pub const ALL: [Metric; 11] = [
        Metric::Mem,
        Metric::Loss,
        Metric::Gaussian,
        Metric::Agree,
        Metric::Spectrum,
        Metric::Quality,
        Metric::Mia,
        Metric::Ref,
        Metric::CalibrateLocal,
        Metric::Points,
        Metric::Sima,
    ];

    /// The name used in `--metrics` and as the key in metrics.json.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Mem => "mem",
            Metric::Loss => "loss",
            Metric::Gaussian => "gaussian",
            Metric::Agree => "agree",
            Metric::Spectrum => "spectrum",
            Metric::Quality => "quality",
            Metric::Mia => "mia",
            Metric::Ref => "ref",
            Metric::CalibrateLocal => "calibrate-local",
            Metric::Points => "points",
            Metric::Sima => "sima",
        }
    }

    /// Whether the metric looks at generated samples.
    pub fn needs_samples(self) -> bool {
        !matches!(
            self,
            Metric::Loss | Metric::Mia | Metric::Ref | Metric::CalibrateLocal | Metric::Sima
        )
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
                format!("unknown metric `{s}`: use {}", names.join(", "))
            })
    }
}

/// The default metrics of a run: mem and loss, plus gaussian for data with a known Gaussian
/// (or linear-manifold) truth and agree when a second run is given.
pub fn default_metrics(r: &LoadedRun, against: bool) -> Vec<Metric> {
    let mut m = vec![Metric::Mem, Metric::Loss];
    if r.train
        .truth
        .as_ref()
        .is_some_and(|t| t.not_gaussian().is_none())
    {
        m.push(Metric::Gaussian);
    }
    if against {
        m.push(Metric::Agree);
    }
    m
}

/// Everything the metrics share.
pub struct EvalContext<'a> {
    /// The run under evaluation.
    pub run: &'a LoadedRun,
    /// The evaluation samples (when a metric needs them).
    pub samples: Option<&'a [f32]>,
    /// How they were drawn (the agreement draws the second run the same way).
    pub section: &'a SampleSection,
    /// Output directory.
    pub out: &'a Path,
    /// Memorisation threshold on d1/d2.
    pub threshold: f64,
    /// Enlargement of the images in the nn_grid figures.
    pub nn_scale: usize,
    /// Timesteps and rows of the loss gap.
    pub loss_points: usize,
    /// Rows per set of the loss gap.
    pub loss_rows: usize,
    /// The second run for the agreement.
    pub against: Option<PathBuf>,
    /// Raw weights instead of the EMA (for the second run too).
    pub raw: bool,
    /// How progress shows (`--quiet`, `--plain`).
    pub progress: Verbosity,
    /// Spectrum settings.
    pub spectrum: &'a SpectrumArgs,
}

impl Metric {
    /// Computes the metric, writes its files into `ctx.out`, and returns its metrics.json
    /// entry. `nn1` carries the memorisation metric's nearest neighbours to the agreement.
    pub fn compute(self, ctx: &EvalContext<'_>, nn1: &mut Option<Vec<usize>>) -> Result<Value> {
        let r = ctx.run;
        let samples = ctx.samples.unwrap_or_default();
        let device = &r.device.device;
        let paired = PairedRows::of_run(r, ctx.loss_points, ctx.loss_rows);
        Ok(match self {
            Metric::Mem => {
                let res = memorization::run(
                    samples,
                    &r.train,
                    &r.heldout,
                    ctx.threshold,
                    ctx.nn_scale,
                    device,
                    ctx.out,
                )?;
                *nn1 = Some(res.nn1);
                res.json
            }
            Metric::Loss => loss::run(&paired, ctx.out)?,
            Metric::Gaussian => gaussian::run(samples, &r.train)?,
            Metric::Agree => agreement::run(ctx, samples, nn1.as_deref())?,
            Metric::Spectrum => spectrum::run_spectrum(r, ctx.samples, ctx.spectrum, ctx.out)?,
            Metric::Quality => quality::run(samples, &r.train, &r.heldout, ctx.out)?,
            Metric::CalibrateLocal => calibrate::run(&paired, ctx.out)?,
            Metric::Ref => reference::run(&paired, ctx.out)?,
            Metric::Mia => mia::run(&paired, ctx.out)?,
            Metric::Points => points::run(
                samples,
                &r.train,
                ctx.threshold,
                ctx.nn_scale,
                device,
                ctx.out,
            )?,
            Metric::Sima => sima::run(&paired, ctx.out)?,
        })
    }
}

/// Draws evaluation samples with host noise seeded by `s.seed`: the same numbers on every
/// device, and for both runs of an agreement.
pub fn draw_samples(r: &LoadedRun, s: &SampleSection, progress: Verbosity) -> Result<Vec<f32>> {
    crate::sample::draw_unchecked(
        r.ctx(),
        s,
        r.train.dim(),
        progress,
        Some(&mut diffmem_model::noise::HostNoise::seeded(s.seed)),
    )
}
