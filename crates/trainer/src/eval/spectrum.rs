//! `diffmem eval RUN --metrics spectrum`: Jacobian spectra and latent dimension of a run's
//! denoiser (Achilli et al., arXiv 2410.08727; docs/theory.md §2). The computation lives in
//! `diffmem_metrics::spectrum`; this file turns flags into its configuration, picks the
//! points and returns the JSON summary for metrics.json.
//!
//! Writes `spectra.csv`, `dims.csv`, `blocks.csv` (linear-manifold data) and PNG plots into
//! the output directory. Timesteps are the paper's t (1..=T) in flags and outputs. The exact
//! models (`linear-exact`, `empirical`) are analysed through their float64 closed forms
//! ([`diffmem_metrics::spectrum::exact_score_field`]); trained ones through autodiff.

use crate::run::LoadedRun;
use anyhow::{Context, Result, bail};
use clap::Args;
use diffmem_data::{Dataset, SampleShape};
use diffmem_metrics::spectrum::headline;
use diffmem_metrics::spectrum::jacobian::DEFAULT_ROWS_PER_PASS;
use diffmem_metrics::spectrum::latent_dim::DimParams;
use diffmem_metrics::spectrum::{
    ManifoldBlocks, Method, ModelScore, NoiseLevels, Perturbation, PointSet, ProbeConfig,
    ScoreField, ScoreMatrixConfig, SpectrumConfig, TimeGrid, analyse, exact_score_field,
    write_report,
};
use std::path::Path;

/// `--spectrum-grid`: how many noise levels and points the spectrum analyses.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridFlag {
    /// Only the headline's noise levels, 4 points per set (seconds).
    Paper,
    /// log:12 plus the headline's levels, 8 points per set.
    Full,
}

/// Flags of the spectrum metric (prefixed so they can be flattened into `diffmem eval`).
#[derive(Args, Debug, Clone)]
pub struct SpectrumArgs {
    /// Noise grid and points when --spectrum-timesteps / --spectrum-num are not given:
    /// `paper` (seconds) = only the headline's noise levels (Achilli et al.'s t = 2 and 15;
    /// for linear-manifold data also the level before any collapse and, since blocks need a
    /// grid to locate their collapse and D is small, log:12), 4 points per set; `full` =
    /// log:12 (plus the headline levels), 8 points per set.
    #[arg(long = "spectrum-grid", value_enum, default_value_t = GridFlag::Paper)]
    pub grid: GridFlag,
    /// Timesteps: `log:K` (K geometrically spaced paper timesteps 1..T) or a list of the
    /// paper's t (1-based), e.g. `1,10,100,1000`; the headline's levels are always added
    /// [default: from --spectrum-grid].
    #[arg(long = "spectrum-timesteps")]
    pub timesteps: Option<TimeGrid>,
    /// Point sets, comma separated: train, samples, heldout [default: train and heldout, plus
    /// samples when the run has them].
    #[arg(long = "spectrum-points", value_enum, value_delimiter = ',')]
    pub points: Option<Vec<PointsFlag>>,
    /// Points per set (a seeded choice) [default: 4 with --spectrum-grid paper, 8 with full].
    #[arg(long = "spectrum-num", value_parser = crate::io::range::positive_usize)]
    pub num: Option<usize>,
    /// Score matrix: K = k * D perturbations [default: 1 for vectors, 4 for images, as the
    /// authors].
    #[arg(long = "spectrum-k", value_parser = crate::io::range::positive_f64)]
    pub k_mult: Option<f64>,
    /// Method: jacobian, score-matrix or both.
    #[arg(long = "spectrum-method", default_value = "jacobian")]
    pub method: Method,
    /// Score matrix: symmetrised differences (s(x + sigma q) - s(x - sigma q)) / 2.
    #[arg(long = "spectrum-symmetric")]
    pub symmetric: bool,
    /// Cliff estimator: leading values skipped (d_bar).
    #[arg(long = "spectrum-d-bar", default_value_t = 5)]
    pub d_bar: usize,
    /// Cliff estimator: threshold in multiples of the median second difference (c).
    #[arg(long = "spectrum-c", default_value_t = 10.0, value_parser = crate::io::range::positive_f64)]
    pub c: f64,
    /// Smallest cliff or gap, relative to the largest value (flat-spectrum guard).
    #[arg(long = "spectrum-floor", default_value_t = 1e-2, value_parser = crate::io::range::positive_f64)]
    pub floor: f64,
    /// Manifold blocks: kept fraction below which a block counts as collapsed.
    #[arg(long = "spectrum-collapse", default_value_t = 0.5, value_parser = crate::io::range::positive_f64)]
    pub collapse: f64,
    /// Jacobian rows per backward pass (bounds memory).
    #[arg(long = "spectrum-rows-per-pass", default_value_t = DEFAULT_ROWS_PER_PASS, value_parser = crate::io::range::positive_usize)]
    pub rows_per_pass: usize,
    /// Seed of the point choice and the perturbations.
    #[arg(long = "spectrum-seed", default_value_t = 0)]
    pub seed: u64,
    /// Where the score is probed: clean points sqrt(abar_t) x0, noised points
    /// sqrt(abar_t) x0 + sqrt(1 - abar_t) z (where the theory's critical levels apply), or both.
    #[arg(long = "spectrum-probe", default_value = "clean")]
    pub probe: ProbeConfig,
    /// Noise draws per point and timestep for noised probes.
    #[arg(long = "spectrum-noise-draws", default_value_t = 4)]
    pub noise_draws: usize,
}

/// `--spectrum-points`: a set of points at which the spectrum is measured.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointsFlag {
    /// Training rows.
    Train,
    /// Generated samples (the run's `samples.npy` or eval's own draw).
    Samples,
    /// Held-out rows.
    Heldout,
}

impl PointsFlag {
    /// `train`, `samples` or `heldout`: the set's name in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            PointsFlag::Train => "train",
            PointsFlag::Samples => "samples",
            PointsFlag::Heldout => "heldout",
        }
    }
}

/// Runs the spectrum analysis of the loaded run `r` (its denoiser, at its training, held-out
/// and, when given, sampled points) and writes its files into `out_dir`; returns the JSON
/// summary (latent dimension per set, probe, method and timestep; manifold blocks).
pub fn run_spectrum(
    r: &LoadedRun,
    samples: Option<&[f32]>,
    args: &SpectrumArgs,
    out_dir: &Path,
) -> Result<serde_json::Value> {
    let (model, spec, diffusion) = (r.model.as_ref(), &r.cfg.model, &r.diffusion);
    let (train, heldout, device) = (&r.train, &r.heldout, &r.device.device);
    let d = train.dim();
    let manifold = match &train.truth {
        Some(truth) => ManifoldBlocks::from_truth(truth, &train.samples, d)?,
        None => None,
    };
    let levels = NoiseLevels::of(&diffusion.schedule);
    let timesteps = timesteps(args, &levels, manifold.as_ref(), diffusion.steps())?;
    let sets = point_sets(train, heldout, samples, args)?;
    let image = matches!(train.shape, SampleShape::Image { .. });
    let cfg = SpectrumConfig {
        timesteps,
        method: args.method,
        score_matrix: ScoreMatrixConfig {
            k_mult: args.k_mult.unwrap_or(if image { 4.0 } else { 1.0 }),
            perturbation: Perturbation::for_shape(train.shape),
            symmetric: args.symmetric,
        },
        dims: DimParams {
            d_bar: args.d_bar,
            c: args.c,
            floor: args.floor,
        },
        seed: args.seed,
        collapse_threshold: args.collapse,
        probe: ProbeConfig {
            noise_draws: args.noise_draws,
            ..args.probe.clone()
        },
    };
    if args.noise_draws == 0 {
        bail!("--spectrum-noise-draws must be at least 1");
    }
    let exact = exact_score_field(spec, &train.samples, d, &levels)?;
    let autodiff;
    let field: &dyn ScoreField = match &exact {
        Some(f) => f.as_ref(),
        None => {
            autodiff = ModelScore::new(model, diffusion, d, device, args.rows_per_pass);
            &autodiff
        }
    };
    let mut progress = |done: usize, total: usize| {
        if done == total || done.is_multiple_of((total / 10).max(1)) {
            eprintln!("spectrum: {done}/{total} points");
        }
    };
    let analysis = analyse(
        field,
        &levels,
        &sets,
        &cfg,
        manifold.as_ref(),
        &mut progress,
    )?;
    let summary = write_report(&analysis, out_dir)?;
    let mut json = serde_json::to_value(&summary)?;
    json["headline"]["text"] = summary.headline.lines().into();
    json["jacobian"] = if exact.is_some() {
        "closed form, float64".into()
    } else {
        "autodiff of the network, float32".into()
    };
    Ok(json)
}

/// Prints the headline of `metrics.spectrum` (its `headline.text` lines) under the files.
pub fn print_headline(spectrum: &serde_json::Value) {
    println!("  spectrum                  spectra.csv, dims.csv (headline: cliff estimator)");
    let lines = spectrum["headline"]["text"]
        .as_array()
        .into_iter()
        .flatten();
    for line in lines.filter_map(serde_json::Value::as_str) {
        println!("    {line}");
    }
}

/// Full grid: timesteps and points per set.
const FULL_GRID: (&str, usize) = ("log:12", 8);
/// Paper grid: points per set (the timesteps are the headline's levels).
const PAPER_POINTS: usize = 4;

/// The timestep indices to analyse: `--spectrum-timesteps`, else the grid's, always with the
/// headline's levels ([`headline::levels`]).
fn timesteps(
    args: &SpectrumArgs,
    levels: &NoiseLevels,
    manifold: Option<&ManifoldBlocks>,
    t_max: usize,
) -> Result<Vec<usize>> {
    let full = || FULL_GRID.0.parse::<TimeGrid>();
    let grid = match (&args.timesteps, args.grid) {
        (Some(t), _) => Some(t.clone()),
        (None, GridFlag::Full) => Some(full()?),
        // Blocks need a grid to locate their collapse; their D is small.
        (None, _) if manifold.is_some() => Some(full()?),
        (None, _) => None,
    };
    let mut ts = match grid {
        Some(g) => g.resolve(t_max)?,
        None => Vec::new(),
    };
    ts.extend(headline::levels(levels, manifold).iter().map(|l| l.t));
    ts.sort_unstable();
    ts.dedup();
    Ok(ts)
}

/// Points per set: `--spectrum-num`, else the grid's.
fn points_per_set(args: &SpectrumArgs) -> usize {
    match (args.num, args.grid) {
        (Some(n), _) => n,
        (None, GridFlag::Full) => FULL_GRID.1,
        (None, _) => PAPER_POINTS,
    }
}

/// The point sets of `--spectrum-points` (default: train, samples when there are any, heldout),
/// seeded points each ([`points_per_set`]).
fn point_sets(
    train: &Dataset,
    heldout: &Dataset,
    samples: Option<&[f32]>,
    args: &SpectrumArgs,
) -> Result<Vec<PointSet>> {
    let d = train.dim();
    let names: Vec<PointsFlag> = match &args.points {
        Some(p) => p.clone(),
        None => {
            let mut v = vec![PointsFlag::Train, PointsFlag::Heldout];
            if samples.is_some() {
                v.insert(1, PointsFlag::Samples);
            }
            v
        }
    };
    let mut sets = Vec::new();
    for (i, &set_name) in names.iter().enumerate() {
        let name = set_name.name();
        let rows: &[f32] = match set_name {
            PointsFlag::Train => &train.samples,
            PointsFlag::Heldout => &heldout.samples,
            PointsFlag::Samples => {
                samples.context("no generated samples: run `diffmem sample RUN` first")?
            }
        };
        let num = points_per_set(args);
        let set = PointSet::choose(name, rows, d, num, args.seed.wrapping_add(i as u64));
        if set.is_empty() {
            bail!("point set `{name}` is empty");
        }
        sets.push(set);
    }
    Ok(sets)
}
