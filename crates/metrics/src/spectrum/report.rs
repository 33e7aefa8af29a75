//! The spectrum analysis over a grid of timesteps and sets of points (training points,
//! generated samples, held-out points).
//!
//! For each point x0, timestep index t and method, the field is probed at sqrt(abar_t) x0
//! (the data point in the DDPM coordinates of step t, as in the authors' `run_svd.py`):
//! - `jacobian`: the exact Jacobian J; records the singular values of J and the eigenvalues
//!   of -(J + J^T)/2; on linear-manifold data also the kept fraction of every block
//!   ([`super::manifold`]);
//! - `score-matrix`: singular values of the scaled score matrix ([`super::score_matrix`]).
//!
//! Each spectrum gets the authors' normalisation and both latent-dimension estimates; a
//! spectrum without a cliff is read as all-normal (dimension 0) or all-kept (full) from its
//! raw level ([`Flat::from_level`]).

use super::field::{NoiseLevels, ScoreField};
use super::latent_dim::{DimParams, Dims, Flat, estimate};
use super::manifold::{BlockLevel, ManifoldBlocks, block_levels};
use super::score_matrix::{ScoreMatrixConfig, score_matrix_singular_values};
use super::svd::{neg_sym_eigenvalues, normalise, spectrum_singular_values};
use crate::{MetricsError, Result};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Which spectra to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Exact Jacobian (batched VJPs or closed form).
    Jacobian,
    /// The authors' score matrix at orthogonal perturbations.
    ScoreMatrix,
    /// Both.
    Both,
}

impl Method {
    fn jacobian(self) -> bool {
        matches!(self, Method::Jacobian | Method::Both)
    }

    fn score_matrix(self) -> bool {
        matches!(self, Method::ScoreMatrix | Method::Both)
    }
}

impl FromStr for Method {
    type Err = MetricsError;

    /// `jacobian`, `score-matrix` or `both`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "jacobian" => Ok(Method::Jacobian),
            "score-matrix" => Ok(Method::ScoreMatrix),
            "both" => Ok(Method::Both),
            other => Err(MetricsError::Invalid(format!(
                "unknown spectrum method `{other}`: use jacobian, score-matrix or both"
            ))),
        }
    }
}

/// Timesteps to analyse: an explicit list of indices or a log grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeGrid {
    /// Timestep indices in 0..T (paper t = index + 1).
    List(Vec<usize>),
    /// K paper timesteps spaced geometrically from 1 to T (duplicates removed).
    Log(usize),
}

impl FromStr for TimeGrid {
    type Err = MetricsError;

    /// `log:K` or a comma-separated list of timestep indices, e.g. `0,9,99,499`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |msg: String| MetricsError::Invalid(format!("timesteps `{s}`: {msg}"));
        if let Some(k) = s.strip_prefix("log:") {
            let k: usize = k
                .trim()
                .parse()
                .map_err(|_| bad("K in log:K must be an integer".into()))?;
            if k == 0 {
                return Err(bad("log:K needs K >= 1".into()));
            }
            return Ok(TimeGrid::Log(k));
        }
        let list = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.trim()
                    .parse::<usize>()
                    .map_err(|_| bad(format!("`{p}` is not an index")))
            })
            .collect::<Result<Vec<_>>>()?;
        if list.is_empty() {
            return Err(bad("no timesteps".into()));
        }
        Ok(TimeGrid::List(list))
    }
}

impl TimeGrid {
    /// Sorted, distinct timestep indices for a schedule of `t_max` steps.
    pub fn resolve(&self, t_max: usize) -> Result<Vec<usize>> {
        let mut v: Vec<usize> = match self {
            TimeGrid::List(l) => {
                if let Some(t) = l.iter().find(|&&t| t >= t_max) {
                    return Err(MetricsError::Invalid(format!(
                        "timestep index {t} is outside 0..{t_max}"
                    )));
                }
                l.clone()
            }
            TimeGrid::Log(k) if *k == 1 || t_max == 1 => vec![t_max - 1],
            TimeGrid::Log(k) => (0..*k)
                .map(|i| {
                    let t = (t_max as f64).powf(i as f64 / (*k - 1) as f64).round() as usize;
                    t.clamp(1, t_max) - 1
                })
                .collect(),
        };
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }
}

/// Settings of the analysis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectrumConfig {
    /// Timestep indices (see [`TimeGrid::resolve`]).
    pub timesteps: Vec<usize>,
    /// Which spectra.
    pub method: Method,
    /// Score-matrix settings.
    pub score_matrix: ScoreMatrixConfig,
    /// Latent-dimension estimator settings.
    pub dims: DimParams,
    /// Seed of the perturbations.
    pub seed: u64,
    /// Kept fraction below which a manifold block counts as collapsed.
    pub collapse_threshold: f64,
}

/// A named set of data points (unscaled, `[n, D]` row-major) with their indices in the
/// set they were chosen from.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSet {
    /// `train`, `samples`, `heldout`, ...
    pub name: String,
    /// Row-major points.
    pub rows: Vec<f32>,
    /// Original index of each point.
    pub indices: Vec<usize>,
}

impl PointSet {
    /// Up to `count` rows of `[len, d]` `rows`, chosen by a seeded shuffle (all rows when
    /// `count` covers them), kept in ascending original order.
    pub fn choose(name: &str, rows: &[f32], d: usize, count: usize, seed: u64) -> Self {
        let len = rows.len() / d.max(1);
        let mut idx: Vec<usize> = (0..len).collect();
        diffmem_data::rng::shuffle(&mut ChaCha8Rng::seed_from_u64(seed), &mut idx);
        idx.truncate(count.min(len));
        idx.sort_unstable();
        Self {
            name: name.into(),
            rows: idx
                .iter()
                .flat_map(|&i| rows[i * d..(i + 1) * d].iter().copied())
                .collect(),
            indices: idx,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// True without points.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// One spectrum of one point at one timestep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpectrumRecord {
    /// Point set name.
    pub set: String,
    /// Original index of the point.
    pub point: usize,
    /// Timestep index.
    pub t: usize,
    /// `jacobian` or `score-matrix`.
    pub method: &'static str,
    /// `singular` (singular values) or `neg-sym-eig` (eigenvalues of -(J + J^T)/2).
    pub kind: &'static str,
    /// Descending raw values.
    pub raw: Vec<f64>,
    /// Latent-dimension estimates on the normalised spectrum.
    pub dims: Dims,
}

impl SpectrumRecord {
    /// The authors' normalised spectrum (first value dropped, divided by the next).
    pub fn normalised(&self) -> Vec<f64> {
        normalise(&self.raw)
    }
}

/// Kept fractions of the manifold blocks for one point at one timestep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockRecord {
    /// Point set name.
    pub set: String,
    /// Original index of the point.
    pub point: usize,
    /// Timestep index.
    pub t: usize,
    /// One entry per block.
    pub levels: Vec<BlockLevel>,
}

/// Everything measured by [`analyse`].
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The settings.
    pub config: SpectrumConfig,
    /// Noise levels of the schedule.
    pub levels: NoiseLevels,
    /// Point-set names in order.
    pub sets: Vec<String>,
    /// Spectra.
    pub spectra: Vec<SpectrumRecord>,
    /// Block kept fractions (linear-manifold data with the Jacobian method).
    pub blocks: Vec<BlockRecord>,
    /// The manifold blocks, when given.
    pub manifold: Option<ManifoldBlocks>,
}

/// Runs the analysis of `field` over `sets` and `cfg.timesteps`. `progress` is called after
/// each (set, point) with the number of points done and the total.
pub fn analyse(
    field: &dyn ScoreField,
    levels: &NoiseLevels,
    sets: &[PointSet],
    cfg: &SpectrumConfig,
    manifold: Option<&ManifoldBlocks>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Analysis> {
    let d = field.dim();
    if cfg.timesteps.is_empty() {
        return Err(MetricsError::Invalid("no timesteps to analyse".into()));
    }
    for &t in &cfg.timesteps {
        levels.check(t)?;
    }
    let total: usize = sets.iter().map(PointSet::len).sum();
    let mut done = 0;
    let mut spectra = Vec::new();
    let mut blocks = Vec::new();
    for (si, set) in sets.iter().enumerate() {
        if set.rows.len() != set.len() * d {
            return Err(MetricsError::Invalid(format!(
                "point set `{}` has {} values for {} points of dimension {d}",
                set.name,
                set.rows.len(),
                set.len()
            )));
        }
        for (pi, (&point, x0)) in set.indices.iter().zip(set.rows.chunks_exact(d)).enumerate() {
            for &t in &cfg.timesteps {
                let a = levels.sqrt_abar(t);
                let x: Vec<f64> = x0.iter().map(|&v| a * v as f64).collect();
                let flat = |raw: &[f64]| Flat::from_level(raw, levels.ddpm_sigma2(t));
                let mut record = |method: &'static str, kind: &'static str, raw: Vec<f64>| {
                    let dims = estimate(&normalise(&raw), &cfg.dims, flat(&raw));
                    spectra.push(SpectrumRecord {
                        set: set.name.clone(),
                        point,
                        t,
                        method,
                        kind,
                        raw,
                        dims,
                    });
                };
                if cfg.method.jacobian() {
                    let j = field.jacobian(&x, t)?;
                    record("jacobian", "singular", spectrum_singular_values(&j)?);
                    record("jacobian", "neg-sym-eig", neg_sym_eigenvalues(&j)?);
                    if let Some(m) = manifold {
                        blocks.push(BlockRecord {
                            set: set.name.clone(),
                            point,
                            t,
                            levels: block_levels(
                                &j,
                                m,
                                levels.ddpm_sigma2(t),
                                levels.ve_sigma2(t),
                            )?,
                        });
                    }
                }
                if cfg.method.score_matrix() {
                    let stream = [cfg.seed, si as u64, pi as u64, t as u64];
                    let mut rng = ChaCha8Rng::seed_from_u64(mix(&stream));
                    let sv = score_matrix_singular_values(
                        field,
                        &x,
                        t,
                        levels,
                        &cfg.score_matrix,
                        &mut rng,
                    )?;
                    record("score-matrix", "singular", sv);
                }
            }
            done += 1;
            progress(done, total);
        }
    }
    Ok(Analysis {
        config: cfg.clone(),
        levels: levels.clone(),
        sets: sets.iter().map(|s| s.name.clone()).collect(),
        spectra,
        blocks,
        manifold: manifold.cloned(),
    })
}

/// A 64-bit seed from several words (SplitMix64 finaliser over a running combination).
fn mix(words: &[u64]) -> u64 {
    words.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &w| {
        let mut z = h ^ w.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}
