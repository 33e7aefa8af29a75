//! Theory curves over training-set sizes N (and gradient-flow times tau): each point averages
//! seeded training sets drawn from the true Gaussian. For one seed the training sets are
//! nested (the first N draws of one stream), so curves are smooth in N.

use super::divergence::{best_isotropic_c, empirical_kl, sampled_kl, wishart_expected_kl};
use super::linear::LinearDenoiser;
use super::losses::loss_curves;
use super::sampling::sampled_distribution;
use crate::error::{MetricsError, Result};
use crate::gaussian::Gaussian;
use diffmem_model::Schedule;
use diffmem_model::linear_gaussian::{Eigen, GaussianMoments};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// What the curves are computed for.
#[derive(Clone, Debug)]
pub struct CurveConfig {
    /// Noise schedule (training and sampling).
    pub schedule: Schedule,
    /// Ridge lambda on W_t.
    pub lambda: f64,
    /// Whether the sampler adds noise at the last step (sigma_1^2 = beta_1).
    pub last_step_noise: bool,
    /// Number of training sets per point.
    pub seeds: usize,
    /// Seed of the first training set (the others use base_seed + 1, ...).
    pub base_seed: u64,
}

/// Mean, sample standard deviation, min and max over seeds (std is 0 for one seed; infinite
/// values give an infinite mean and a NaN std).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1).
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Summary {
    /// Summary of a non-empty set of values.
    pub fn of(values: &[f64]) -> Summary {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let std = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Summary {
            mean,
            std,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Everything the theory predicts for one trained linear model on one training set.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedResult {
    /// Training loss, mean over t = 1..T, per coordinate.
    pub train_loss: f64,
    /// Test loss, mean over t, per coordinate.
    pub test_loss: f64,
    /// Population-optimum loss, mean over t, per coordinate.
    pub optimum_loss: f64,
    /// KL(rho_N || rho) of the exact sampled distribution.
    pub kl: f64,
    /// KL(N(mu0, Sigma0) || rho) (the c -> 0 limit; infinite for N <= d).
    pub kl_empirical: f64,
    /// Best isotropic c of the sampled distribution.
    pub c: f64,
    /// Per-timestep training loss (per coordinate).
    pub train_t: Vec<f64>,
    /// Per-timestep test loss (per coordinate).
    pub test_t: Vec<f64>,
    /// Per-timestep population-optimum loss (per coordinate).
    pub optimum_t: Vec<f64>,
}

/// The true Gaussian with its eigendecomposition.
#[derive(Clone, Debug)]
pub struct Truth {
    /// N(mu, Sigma).
    pub gaussian: Gaussian,
    /// Eigendecomposition of Sigma.
    pub eigen: Eigen,
}

impl Truth {
    /// N(0, diag(spectrum)): by rotation invariance, the truth in its own eigenbasis.
    pub fn from_spectrum(spectrum: &[f64]) -> Result<Self> {
        Truth::new(Gaussian::diagonal(vec![0.0; spectrum.len()], spectrum)?)
    }

    /// Any Gaussian truth.
    pub fn new(gaussian: Gaussian) -> Result<Self> {
        let eigen = Eigen::of_symmetric(&gaussian.cov, gaussian.d)?;
        Ok(Truth { gaussian, eigen })
    }

    /// Dimension d.
    pub fn d(&self) -> usize {
        self.gaussian.d
    }

    /// Training set of the first `n` draws of the stream seeded by `seed`.
    pub fn training_set(&self, n: usize, seed: u64) -> Result<GaussianMoments> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(GaussianMoments::from_samples(
            &self.gaussian.sample(n, &mut rng)?,
            self.d(),
        )?)
    }
}

/// Evaluates one trained model: optimum if `tau` is None, gradient flow at `tau` otherwise.
pub fn evaluate(
    truth: &Truth,
    train: GaussianMoments,
    config: &CurveConfig,
    tau: Option<f64>,
) -> Result<SeedResult> {
    let (sch, lambda) = (config.schedule.clone(), config.lambda);
    let den = match tau {
        None => LinearDenoiser::optimum(train, sch, lambda)?,
        Some(tau) => LinearDenoiser::gradient_flow(train, sch, lambda, tau)?,
    };
    let sampled = sampled_distribution(&den, config.last_step_noise);
    let losses = loss_curves(&den, &truth.gaussian, &truth.eigen)?;
    let d = truth.d() as f64;
    let per_coord = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| x / d).collect() };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (train_t, test_t, optimum_t) = (
        per_coord(losses.train),
        per_coord(losses.test),
        per_coord(losses.optimum),
    );
    Ok(SeedResult {
        train_loss: mean(&train_t),
        test_loss: mean(&test_t),
        optimum_loss: mean(&optimum_t),
        kl: sampled_kl(&den, &sampled, &truth.gaussian)?,
        kl_empirical: empirical_kl(&den.train, &truth.gaussian)?,
        c: best_isotropic_c(&den, &sampled),
        train_t,
        test_t,
        optimum_t,
    })
}

/// Statistics over seeds of one curve point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointStats {
    /// Training loss (mean over t, per coordinate).
    pub train_loss: Summary,
    /// Test loss (mean over t, per coordinate).
    pub test_loss: Summary,
    /// Generalisation gap test - train.
    pub gap: Summary,
    /// Population-optimum loss (same for every seed).
    pub optimum_loss: f64,
    /// KL(rho_N || rho) of the sampled distribution.
    pub kl: Summary,
    /// KL(N(mu0, Sigma0) || rho).
    pub kl_empirical: Summary,
    /// Best isotropic c.
    pub c: Summary,
    /// Seed-mean per-timestep training loss.
    #[serde(skip)]
    pub train_t: Vec<f64>,
    /// Seed-mean per-timestep test loss.
    #[serde(skip)]
    pub test_t: Vec<f64>,
    /// Per-timestep population-optimum loss.
    #[serde(skip)]
    pub optimum_t: Vec<f64>,
}

impl PointStats {
    /// Aggregates the results of several seeds.
    pub fn of(results: &[SeedResult]) -> PointStats {
        let pick = |f: &dyn Fn(&SeedResult) -> f64| -> Summary {
            Summary::of(&results.iter().map(f).collect::<Vec<_>>())
        };
        let mean_t = |f: &dyn Fn(&SeedResult) -> &Vec<f64>| -> Vec<f64> {
            let len = f(&results[0]).len();
            (0..len)
                .map(|i| results.iter().map(|r| f(r)[i]).sum::<f64>() / results.len() as f64)
                .collect()
        };
        PointStats {
            train_loss: pick(&|r| r.train_loss),
            test_loss: pick(&|r| r.test_loss),
            gap: pick(&|r| r.test_loss - r.train_loss),
            optimum_loss: results[0].optimum_loss,
            kl: pick(&|r| r.kl),
            kl_empirical: pick(&|r| r.kl_empirical),
            c: pick(&|r| r.c),
            train_t: mean_t(&|r| &r.train_t),
            test_t: mean_t(&|r| &r.test_t),
            optimum_t: results[0].optimum_t.clone(),
        }
    }
}

/// One point of a curve over N.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinearPoint {
    /// Training-set size N.
    pub n: usize,
    /// N / d.
    pub n_over_d: f64,
    /// Wishart expectation of KL(N(mu0, Sigma0) || rho) for N > d.
    pub wishart_kl: Option<f64>,
    /// Statistics over seeds.
    #[serde(flatten)]
    pub stats: PointStats,
}

fn check_config(config: &CurveConfig) -> Result<()> {
    if config.seeds == 0 {
        return Err(MetricsError::Invalid("need at least one seed".into()));
    }
    Ok(())
}

/// The curve over training-set sizes `ns` of the fully trained (optimal) linear model.
pub fn linear_curve(truth: &Truth, ns: &[usize], config: &CurveConfig) -> Result<Vec<LinearPoint>> {
    check_config(config)?;
    let d = truth.d();
    ns.iter()
        .map(|&n| {
            if n == 0 {
                return Err(MetricsError::Invalid(
                    "training-set size N must be >= 1".into(),
                ));
            }
            let results = (0..config.seeds as u64)
                .map(|s| {
                    evaluate(
                        truth,
                        truth.training_set(n, config.base_seed + s)?,
                        config,
                        None,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(LinearPoint {
                n,
                n_over_d: n as f64 / d as f64,
                wishart_kl: wishart_expected_kl(d, n),
                stats: PointStats::of(&results),
            })
        })
        .collect()
}

/// One point of the early-stopping curve over gradient-flow time tau.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowPoint {
    /// Gradient-flow time tau.
    pub tau: f64,
    /// Statistics over seeds.
    #[serde(flatten)]
    pub stats: PointStats,
}

/// The early-stopping curve: gradient flow from W = 0 stopped at each tau in `taus`, for
/// training sets of size `n`.
pub fn flow_curve(
    truth: &Truth,
    n: usize,
    taus: &[f64],
    config: &CurveConfig,
) -> Result<Vec<FlowPoint>> {
    check_config(config)?;
    let sets = (0..config.seeds as u64)
        .map(|s| truth.training_set(n, config.base_seed + s))
        .collect::<Result<Vec<_>>>()?;
    taus.iter()
        .map(|&tau| {
            let results = sets
                .iter()
                .map(|t| evaluate(truth, t.clone(), config, Some(tau)))
                .collect::<Result<Vec<_>>>()?;
            Ok(FlowPoint {
                tau,
                stats: PointStats::of(&results),
            })
        })
        .collect()
}

/// `count` values log-spaced from `lo` to `hi` inclusive.
pub fn log_space(lo: f64, hi: f64, count: usize) -> Result<Vec<f64>> {
    if !(lo > 0.0 && hi >= lo && lo.is_finite() && hi.is_finite()) || count == 0 {
        return Err(MetricsError::Invalid(format!(
            "log grid needs 0 < lo <= hi and count >= 1, got {lo}, {hi}, {count}"
        )));
    }
    if count == 1 {
        return Ok(vec![lo]);
    }
    let (a, b) = (lo.ln(), hi.ln());
    Ok((0..count)
        .map(|k| (a + (b - a) * k as f64 / (count - 1) as f64).exp())
        .collect())
}

/// Parses a grid: `log:LO:HI:COUNT` (log-spaced) or a comma-separated list `a,b,c`.
pub fn parse_grid(spec: &str) -> Result<Vec<f64>> {
    let bad = |why: &str| MetricsError::Invalid(format!("grid `{spec}`: {why}"));
    if let Some(rest) = spec.strip_prefix("log:") {
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() != 3 {
            return Err(bad("expected log:LO:HI:COUNT"));
        }
        let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad("not a number"));
        let count = parts[2]
            .trim()
            .parse::<usize>()
            .map_err(|_| bad("COUNT is not an integer"))?;
        return log_space(num(parts[0])?, num(parts[1])?, count);
    }
    spec.split(',')
        .map(|s| s.trim().parse::<f64>().map_err(|_| bad("not a number")))
        .collect()
}

/// Parses a grid of training-set sizes: values rounded to integers >= 1, sorted, deduplicated.
pub fn parse_n_grid(spec: &str) -> Result<Vec<usize>> {
    let mut ns: Vec<usize> = parse_grid(spec)?
        .into_iter()
        .map(|v| {
            if v.is_finite() && v >= 0.5 {
                Ok(v.round() as usize)
            } else {
                Err(MetricsError::Invalid(format!(
                    "training-set size {v} in `{spec}` is not >= 1"
                )))
            }
        })
        .collect::<Result<_>>()?;
    ns.sort_unstable();
    ns.dedup();
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seeds: usize) -> CurveConfig {
        CurveConfig {
            schedule: Schedule::merger_goldt(),
            lambda: 0.0,
            last_step_noise: true,
            seeds,
            base_seed: 0,
        }
    }

    #[test]
    fn grids_parse() {
        assert_eq!(parse_n_grid("log:10:1000:3").unwrap(), vec![10, 100, 1000]);
        assert_eq!(parse_n_grid("200, 100,100").unwrap(), vec![100, 200]);
        assert!(parse_n_grid("log:10:1000").is_err());
        assert!(parse_n_grid("0").is_err());
        let g = parse_grid("log:1:1e4:5").unwrap();
        assert!((g[2] - 100.0).abs() < 1e-9);
    }

    #[test]
    fn kl_drops_through_n_equals_d_and_approaches_wishart() {
        let d = 10;
        let spectrum: Vec<f64> = (1..=d).map(|k| 1.0 / k as f64).collect();
        let truth = Truth::from_spectrum(&spectrum).unwrap();
        let pts = linear_curve(&truth, &[5, 10, 20, 1000], &config(3)).unwrap();
        // Memorisation below d: the ln(1/c) term dominates.
        assert!(pts[0].stats.kl.mean > 5.0 * pts[2].stats.kl.mean);
        assert!(pts[0].wishart_kl.is_none() && pts[1].wishart_kl.is_none());
        // Far above d the sampled KL is the Wishart value plus the O(c) sampler bias.
        let w = pts[3].wishart_kl.unwrap();
        assert!((pts[3].stats.kl_empirical.mean / w - 1.0).abs() < 0.5);
        assert!(pts[3].stats.kl.mean < 3.0 * w);
        // Gap shrinks with N; test loss tends to the optimum from above.
        assert!(pts[0].stats.gap.mean > pts[3].stats.gap.mean);
        assert!(pts[3].stats.test_loss.mean >= pts[3].stats.optimum_loss);
        assert!((pts[3].stats.test_loss.mean / pts[3].stats.optimum_loss - 1.0).abs() < 0.05);
        // Below d the absent directions fix c at beta_1.
        assert!((pts[0].stats.c.mean / 1e-4 - 1.0).abs() < 0.2);
    }

    #[test]
    fn early_stopping_regularises_absent_directions() {
        let truth = Truth::from_spectrum(&[2.0, 1.0, 0.5, 0.25]).unwrap();
        let pts = flow_curve(&truth, 2, &[10.0, 1e3, 1e7], &config(2)).unwrap();
        // Short training: absent directions are barely denoised, c is large; it decreases
        // towards beta_1 as tau grows.
        assert!(
            pts[0].stats.c.mean > pts[1].stats.c.mean && pts[1].stats.c.mean > pts[2].stats.c.mean
        );
        assert!((pts[2].stats.c.mean / 1e-4 - 1.0).abs() < 0.5);
        let opt = linear_curve(&truth, &[2], &config(2)).unwrap();
        assert!((pts[2].stats.kl.mean / opt[0].stats.kl.mean - 1.0).abs() < 1e-6);
    }
}
