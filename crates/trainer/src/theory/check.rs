//! `diffmem theory check RUN`: compares a trained `linear` (or `linear-exact`) run with the
//! exact theory on the run's own training set: the learned W_t, b_t against W_t*, b_t*
//! (Merger & Goldt, arXiv 2505.24769), and the Gaussian fitted to fresh samples against the
//! exact sampled distribution.

use super::output::{OutputArgs, Table, num, write_csv};
use crate::run::config::SampleSection;
use crate::run::{self, LoadedRun, Weights};
use crate::sample;
use anyhow::{Result, bail};
use diffmem_metrics::gaussian::{Gaussian, kl};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::theory::divergence::wishart_expected_kl;
use diffmem_metrics::theory::{GaussianMoments, LinearDenoiser, Schedule, sampled_distribution};
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::{DdpmVariance, DeviceChoice, ModelSpec, SamplerConfig, ScheduleKind};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments of `diffmem theory check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Run directory of a `linear` or `linear-exact` run (runs/NAME).
    pub run: PathBuf,
    /// Samples drawn for the covariance check.
    #[arg(long, default_value_t = 4000)]
    pub num: usize,
    /// Sampler noise seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Device: auto, wgpu, cuda, flex, ndarray (default: the run's).
    #[arg(long)]
    pub device: Option<DeviceChoice>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// How far a run is from the theory.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// ||W_t - W_t*||_F / ||W_t*||_F per timestep (index t - 1).
    pub w_rel_err: Vec<f64>,
    /// ||b_t - b_t*||_2 / sqrt(d) per timestep.
    pub b_rms_err: Vec<f64>,
    /// Median over t of the relative W error.
    pub w_rel_err_median: f64,
    /// Maximum over t of the relative W error.
    pub w_rel_err_max: f64,
    /// Covariance check (None when the run's sampler is not DDPM with sigma^2 = beta).
    pub samples: Option<SampleCheck>,
}

/// The fitted Gaussian of the samples against the exact sampled distribution of W_t*.
#[derive(Debug, Clone, Serialize)]
pub struct SampleCheck {
    /// Number of samples.
    pub num: usize,
    /// ||C_fit - C_pred||_F / ||C_pred||_F.
    pub cov_rel_err: f64,
    /// ||m_fit - m_pred|| / sqrt(Tr C_pred).
    pub mean_rel_err: f64,
    /// KL(fit || predicted); None when the predicted covariance is singular.
    pub kl: Option<f64>,
    /// Its sampling-noise floor, the Wishart expectation for `num` samples (num > d).
    pub kl_floor: Option<f64>,
}

/// Runs `diffmem theory check`.
pub fn run(a: &CheckArgs) -> Result<()> {
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let r = run::load(&a.run, a.device, weights)?;
    let lambda = match &r.cfg.model {
        ModelSpec::Linear(_) => 0.0,
        ModelSpec::LinearExact { lambda } => *lambda,
        other => bail!(
            "theory check compares affine denoisers with the theory; {} is a `{}` run",
            a.run.display(),
            other.name()
        ),
    };
    let schedule = match &r.cfg.diffusion.schedule {
        ScheduleKind::Linear { beta_1, beta_t } => {
            Schedule::linear(*beta_1, *beta_t, r.cfg.diffusion.timesteps)?
        }
        _ => bail!("the theory uses a linear beta schedule; this run does not"),
    };
    let d = r.train.dim();
    let xs: Vec<f64> = r.train.samples.iter().map(|&v| f64::from(v)).collect();
    let den = LinearDenoiser::optimum(GaussianMoments::from_samples(&xs, d)?, schedule, lambda)?;
    let report = compare(&r, &den, a)?;
    let files = write_files(a, &report)?;
    let header = format!(
        "{} ({}, {}, N = {}, d = {d}) against the exact theory (arXiv 2505.24769), lambda = {lambda}\n\
         W error: ||W_t - W_t*||_F / ||W_t*||_F over t = 1..T; samples: Gaussian fit of fresh \
         samples against the exact sampled distribution of W_t*",
        a.run.display(),
        r.cfg.model.name(),
        r.weights,
        r.train.len()
    );
    let mut table = Table::new(&["quantity", "value"]);
    let mut row = |k: &str, v: String| table.push(vec![k.into(), v]);
    row("W rel. error, median over t", num(report.w_rel_err_median));
    row("W rel. error, max over t", num(report.w_rel_err_max));
    let b_med = median(&report.b_rms_err);
    row("b RMS error, median over t", num(b_med));
    match &report.samples {
        Some(s) => {
            row("samples", s.num.to_string());
            row("covariance rel. error", num(s.cov_rel_err));
            row("mean rel. error", num(s.mean_rel_err));
            row("KL(fit || predicted)", s.kl.map_or_else(|| "-".into(), num));
            row(
                "KL noise floor (Wishart)",
                s.kl_floor.map_or_else(|| "-".into(), num),
            );
        }
        None => row(
            "samples",
            "skipped: the theory covers DDPM with sigma^2 = beta".into(),
        ),
    }
    let json = serde_json::json!({
        "command": "theory check",
        "run": a.run,
        "model": r.cfg.model.name(),
        "lambda": lambda,
        "report": report,
    });
    a.output.emit(&header, &table, &json, &files)
}

/// Probes the run's eps-prediction at x = 0 and x = e_j for every t (an affine map is
/// eps(x) = W x + b) and samples it.
fn compare(r: &LoadedRun, den: &LinearDenoiser, a: &CheckArgs) -> Result<CheckReport> {
    let d = den.d();
    let t_max = den.schedule.len();
    let device = &r.device.device;
    let mut probe = vec![0f32; (d + 1) * d];
    for j in 0..d {
        probe[(j + 1) * d + j] = 1.0;
    }
    let chunk = (4096 / (d + 1)).max(1);
    let (mut w_rel_err, mut b_rms_err) = (Vec::with_capacity(t_max), Vec::with_capacity(t_max));
    for start in (0..t_max).step_by(chunk) {
        let ts: Vec<usize> = (start..(start + chunk).min(t_max)).collect();
        let x: Vec<f32> = ts.iter().flat_map(|_| probe.iter().copied()).collect();
        let t_idx: Vec<usize> = ts
            .iter()
            .flat_map(|&t| std::iter::repeat_n(t, d + 1))
            .collect();
        let rows = ts.len() * (d + 1);
        let t_tensor = timesteps(&t_idx, device);
        let out = to_vec(r.diffusion.predict_eps(
            r.model.as_ref(),
            matrix(&x, rows, d, device),
            &t_tensor,
        ));
        for (k, &t) in ts.iter().enumerate() {
            let block = &out[k * (d + 1) * d..(k + 1) * (d + 1) * d];
            let (w_star, b_star) = (den.weight(t), den.bias(t));
            let (mut diff, mut norm) = (0.0, 0.0);
            for row in 0..d {
                for col in 0..d {
                    let w = f64::from(block[(col + 1) * d + row]) - f64::from(block[row]);
                    diff += (w - w_star[row * d + col]).powi(2);
                    norm += w_star[row * d + col].powi(2);
                }
            }
            w_rel_err.push((diff / norm).sqrt());
            let b_err: f64 = (0..d)
                .map(|i| (f64::from(block[i]) - b_star[i]).powi(2))
                .sum();
            b_rms_err.push((b_err / d as f64).sqrt());
        }
    }
    let samples = match r.cfg.sample.sampler {
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            last_noise,
        } => Some(check_samples(r, den, a, last_noise)?),
        _ => None,
    };
    Ok(CheckReport {
        w_rel_err_median: median(&w_rel_err),
        w_rel_err_max: w_rel_err.iter().copied().fold(0.0, f64::max),
        w_rel_err,
        b_rms_err,
        samples,
    })
}

/// Draws `a.num` samples with the run's DDPM sampler and compares their Gaussian fit with the
/// exact sampled distribution of W_t*.
fn check_samples(
    r: &LoadedRun,
    den: &LinearDenoiser,
    a: &CheckArgs,
    last_noise: bool,
) -> Result<SampleCheck> {
    let d = den.d();
    let section = SampleSection {
        num: a.num,
        sampler: r.cfg.sample.sampler.clone(),
        seed: a.seed,
        batch: r.cfg.sample.batch.max(1),
        clip_x0: None.into(),
    };
    let samples = sample::draw(
        r.ctx(),
        &section,
        d,
        crate::io::progress::Verbosity::Silent,
        None,
    )?;
    let fit = Gaussian::fit(&samples, d)?;
    let exact = sampled_distribution(den, last_noise);
    let pred = exact.to_gaussian(den)?;
    let frob = |m: &[f64]| m.iter().map(|v| v * v).sum::<f64>().sqrt();
    let cov_diff: Vec<f64> = fit.cov.iter().zip(&pred.cov).map(|(a, b)| a - b).collect();
    let mean_diff: Vec<f64> = fit
        .mean
        .iter()
        .zip(&pred.mean)
        .map(|(a, b)| a - b)
        .collect();
    let trace: f64 = (0..d).map(|i| pred.cov[i * d + i]).sum();
    let singular = exact.variances.iter().any(|&v| v <= 0.0);
    Ok(SampleCheck {
        num: a.num,
        cov_rel_err: frob(&cov_diff) / frob(&pred.cov),
        mean_rel_err: frob(&mean_diff) / trace.sqrt(),
        kl: if singular { None } else { kl(&fit, &pred).ok() },
        kl_floor: wishart_expected_kl(d, a.num),
    })
}

/// Median of a non-empty slice (0 when empty).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// check.csv and the W error versus t.
fn write_files(a: &CheckArgs, report: &CheckReport) -> Result<Vec<PathBuf>> {
    let csv = a.output.file("check.csv")?;
    let rows: Vec<Vec<Option<f64>>> = report
        .w_rel_err
        .iter()
        .zip(&report.b_rms_err)
        .enumerate()
        .map(|(i, (w, b))| vec![Some((i + 1) as f64), Some(*w), Some(*b)])
        .collect();
    write_csv(&csv, &["paper_t", "w_rel_err", "b_rms_err"], &rows)?;
    let png = a.output.file("check_w.png")?;
    line_plot(
        &png,
        &PlotSpec {
            title: "learned W_t against the theory's W_t*",
            x_label: "t",
            y_label: "||W_t - W_t*||_F / ||W_t*||_F",
            log_x: false,
            log_y: true,
        },
        &[Series {
            label: "relative error".into(),
            x: (1..=report.w_rel_err.len()).map(|t| t as f64).collect(),
            y: report.w_rel_err.clone(),
            band: None,
            dashed: false,
            errors: None,
        }],
    )?;
    Ok(vec![csv, png])
}
