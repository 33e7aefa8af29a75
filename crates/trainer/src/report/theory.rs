//! The theory overlay of Gaussian sweeps (docs/theory.md §1): the KL of the exact sampled
//! distribution of the optimal linear denoiser, from `diffmem_metrics::theory` (what
//! `diffmem theory linear` prints), for the runs' spectrum, schedule, sampler and ridge.
//!
//! eval's KL is that of a Gaussian fitted to M samples. For a Gaussian sampler (linear models)
//! its expectation is exactly KL(rho_N || rho) + W(d, M), with W the Wishart term of a fit from
//! M samples: the fit matches the samples' first two moments and log rho_N - log rho is
//! quadratic. Both curves are drawn; the table compares the measurement with the second.

use super::aggregate::lines;
use super::collect::RunRecord;
use crate::run::config::RunConfig;
use anyhow::Result;
use diffmem_data::DataSpec;
use diffmem_metrics::theory::divergence::wishart_expected_kl;
use diffmem_metrics::theory::{CurveConfig, Schedule, Truth, linear_curve, parse_grid};
use diffmem_model::{ModelSpec, ScheduleKind};
use serde::Serialize;

/// What decides a theory curve.
#[derive(Clone, Debug, PartialEq)]
struct Key {
    spec: String,
    beta_1: f64,
    beta_t: f64,
    timesteps: usize,
    last_noise: bool,
    lambda: f64,
    samples: usize,
}

/// One theory curve over N.
#[derive(Clone, Debug, Serialize)]
pub struct TheoryCurve {
    /// Legend label.
    pub label: String,
    /// The data spec of its runs (e.g. `gaussian:d=100,spectrum=power:1`).
    pub spec: String,
    /// Data dimension d.
    pub d: usize,
    /// Samples M behind eval's Gaussian fit.
    pub samples: usize,
    /// Training-set sizes.
    pub n: Vec<usize>,
    /// Mean over training sets of KL(rho_N || rho).
    pub kl: Vec<f64>,
    /// kl + W(d, M): the expected KL of a Gaussian fitted to M samples of rho_N.
    pub kl_fit: Vec<f64>,
}

impl TheoryCurve {
    fn at(&self, n: usize) -> Option<(f64, f64)> {
        let i = self.n.iter().position(|&m| m == n)?;
        Some((self.kl[i], self.kl_fit[i]))
    }
}

/// Measured KL of one (line, N) beside the theory.
#[derive(Clone, Debug, Serialize)]
pub struct TheoryRow {
    /// Plot line.
    pub line: String,
    /// N.
    pub n: usize,
    /// N / d.
    pub n_over_d: f64,
    /// Runs (seeds) with a finite KL.
    pub runs: usize,
    /// Mean measured KL.
    pub kl_mean: f64,
    /// Smallest measured KL.
    pub kl_min: f64,
    /// Largest measured KL.
    pub kl_max: f64,
    /// Theory KL(rho_N || rho).
    pub theory: f64,
    /// Theory plus the fit term W(d, M).
    pub theory_fit: f64,
}

/// Curves and the comparison table.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Theory {
    /// One curve per distinct setting.
    pub curves: Vec<TheoryCurve>,
    /// Measured against theory, per line and N.
    pub rows: Vec<TheoryRow>,
}

fn key(r: &RunRecord) -> Option<(Key, Vec<f64>)> {
    let cfg: &RunConfig = r.config.as_ref()?;
    let m = r.metrics.as_ref()?;
    m["metrics"].get("gaussian")?;
    let DataSpec::Gaussian(g) = &cfg.data.spec else {
        return None;
    };
    let eig = diffmem_data::synthetic::Gaussian::new(g).ok()?.eigenvalues;
    let ScheduleKind::Linear { beta_1, beta_t } = cfg.diffusion.schedule else {
        return None;
    };
    let sampler = &m["samples"]["sampler"];
    if sampler["kind"] != "ddpm" || sampler["variance"] != "beta" {
        return None;
    }
    let lambda = match cfg.model {
        ModelSpec::LinearExact { lambda } => lambda,
        _ => 0.0,
    };
    Some((
        Key {
            spec: cfg.data.spec.to_string(),
            beta_1,
            beta_t,
            timesteps: cfg.diffusion.timesteps,
            last_noise: sampler["last_noise"].as_bool()?,
            lambda,
            samples: m["samples"]["num"].as_u64()? as usize,
        },
        eig,
    ))
}

fn curve(key: &Key, eig: &[f64], ns: &[usize], seeds: usize) -> Result<TheoryCurve> {
    let (lo, hi) = (ns[0] as f64, ns[ns.len() - 1] as f64);
    let mut all: Vec<usize> = parse_grid(&format!("log:{lo}:{hi}:25"))?
        .into_iter()
        .map(|x| x.round() as usize)
        .chain(ns.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    let config = CurveConfig {
        schedule: Schedule::linear(key.beta_1, key.beta_t, key.timesteps)?,
        lambda: key.lambda,
        last_step_noise: key.last_noise,
        seeds,
        base_seed: 0,
    };
    let d = eig.len();
    let points = linear_curve(&Truth::from_spectrum(eig)?, &all, &config)?;
    let fit_term = wishart_expected_kl(d, key.samples).unwrap_or(f64::INFINITY);
    let ridge = if key.lambda > 0.0 {
        format!(", lambda {}", key.lambda)
    } else {
        String::new()
    };
    Ok(TheoryCurve {
        label: format!("theory, d = {d}{ridge}"),
        spec: key.spec.clone(),
        d,
        samples: key.samples,
        n: all,
        kl: points.iter().map(|p| p.stats.kl.mean).collect(),
        kl_fit: points.iter().map(|p| p.stats.kl.mean + fit_term).collect(),
    })
}

/// The theory curves of the Gaussian runs in `runs` (`seeds` training sets per N) and the
/// measured-against-theory table; empty when no run qualifies.
pub fn compute(runs: &[RunRecord], seeds: usize) -> Result<Theory> {
    let mut groups: Vec<(Key, Vec<f64>, Vec<usize>)> = Vec::new();
    let mut run_curve: Vec<Option<usize>> = Vec::with_capacity(runs.len());
    for r in runs {
        let found = key(r).zip(r.n());
        run_curve.push(found.map(
            |((k, eig), n)| match groups.iter().position(|(g, _, _)| *g == k) {
                Some(i) => {
                    groups[i].2.push(n);
                    i
                }
                None => {
                    groups.push((k, eig, vec![n]));
                    groups.len() - 1
                }
            },
        ));
    }
    let mut curves = Vec::new();
    for (k, eig, mut ns) in groups {
        ns.sort_unstable();
        ns.dedup();
        curves.push(curve(&k, &eig, &ns, seeds.max(1))?);
    }
    let mut rows = Vec::new();
    let measured = lines(runs, |r| r.get("gaussian.kl_samples_fit_to_truth"));
    for line in &measured {
        for (i, &n) in line.n.iter().enumerate() {
            let n = n as usize;
            let c = runs
                .iter()
                .zip(&run_curve)
                .find(|(r, c)| r.line == line.label && r.n() == Some(n) && c.is_some())
                .and_then(|(_, c)| *c);
            let Some((theory, theory_fit)) = c.and_then(|c| curves[c].at(n)) else {
                continue;
            };
            let d = c.map_or(1, |c| curves[c].d);
            rows.push(TheoryRow {
                line: line.label.clone(),
                n,
                n_over_d: n as f64 / d as f64,
                runs: line.count[i],
                kl_mean: line.mean[i],
                kl_min: line.min[i],
                kl_max: line.max[i],
                theory,
                theory_fit,
            });
        }
    }
    Ok(Theory { curves, rows })
}
