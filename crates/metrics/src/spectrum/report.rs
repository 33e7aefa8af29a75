//! The spectrum analysis over a grid of timesteps and sets of points (training points,
//! generated samples, held-out points).
//!
//! For each point x0, timestep index t and method, the field is probed ([`Probe`]) at
//! - `clean`: sqrt(abar_t) x0, the data point itself in the DDPM coordinates of step t (as in
//!   the authors' `run_svd.py`), or
//! - `noised`: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) z with z ~ N(0, I), i.e. the VE point
//!   x0 + sigma_VE z, averaged over `noise_draws` draws of z. This is where the theory's
//!   critical levels apply: their random-energy argument (Achilli et al., arXiv 2410.08727,
//!   docs/theory.md §2, [`crate::theory::critical`]) is about x = x^mu + sigma z, a training point
//!   plus noise of the current level, not about the noiseless training point.
//!
//! Then:
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
use rand_distr::{Distribution, StandardNormal};
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

/// Where the field is probed around a data point (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// sqrt(abar_t) x0: the noiseless point.
    Clean,
    /// sqrt(abar_t) x0 + sqrt(1 - abar_t) z: the point plus noise of the level, where the
    /// critical levels of the theory apply.
    Noised,
}

impl Probe {
    /// `clean` or `noised`, the label in every output.
    pub fn label(self) -> &'static str {
        match self {
            Probe::Clean => "clean",
            Probe::Noised => "noised",
        }
    }
}

/// Which probes to run and how many noise draws a noised probe averages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// The probes, in output order.
    pub probes: Vec<Probe>,
    /// Draws of z per point and timestep for [`Probe::Noised`].
    pub noise_draws: usize,
}

impl Default for ProbeConfig {
    /// Clean points only (4 draws if noised probes are added).
    fn default() -> Self {
        Self {
            probes: vec![Probe::Clean],
            noise_draws: 4,
        }
    }
}

impl FromStr for ProbeConfig {
    type Err = MetricsError;

    /// `clean`, `noised` or `both` (4 noise draws; set [`ProbeConfig::noise_draws`] after).
    fn from_str(s: &str) -> Result<Self> {
        let probes = match s {
            "clean" => vec![Probe::Clean],
            "noised" => vec![Probe::Noised],
            "both" => vec![Probe::Clean, Probe::Noised],
            other => {
                return Err(MetricsError::Invalid(format!(
                    "unknown spectrum probe `{other}`: use clean, noised or both"
                )));
            }
        };
        Ok(Self {
            probes,
            ..Self::default()
        })
    }
}

/// Timesteps to analyse: an explicit list of the paper's t or a log grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeGrid {
    /// The paper's timesteps t in 1..=T (index t - 1 of the schedule tables).
    List(Vec<usize>),
    /// K paper timesteps spaced geometrically from 1 to T (duplicates removed).
    Log(usize),
}

impl FromStr for TimeGrid {
    type Err = MetricsError;

    /// `log:K` or a comma-separated list of the paper's timesteps t (1..=T), e.g. `1,10,100,500`.
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
                    .map_err(|_| bad(format!("`{p}` is not a timestep t (1..=T)")))
            })
            .collect::<Result<Vec<_>>>()?;
        if list.is_empty() {
            return Err(bad("no timesteps".into()));
        }
        Ok(TimeGrid::List(list))
    }
}

impl TimeGrid {
    /// Sorted, distinct timestep INDICES (paper t - 1) for a schedule of `t_max` steps.
    pub fn resolve(&self, t_max: usize) -> Result<Vec<usize>> {
        let mut v: Vec<usize> = match self {
            TimeGrid::List(l) => {
                if let Some(t) = l.iter().find(|&&t| t == 0 || t > t_max) {
                    return Err(MetricsError::Invalid(format!(
                        "timestep t = {t} is outside 1..={t_max} (the paper's t, 1-based)"
                    )));
                }
                l.iter().map(|t| t - 1).collect()
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
    /// Timestep indices (see [`TimeGrid::resolve`]); serialised as the paper's t
    /// (`paper_t`, index + 1).
    #[serde(rename = "paper_t", with = "paper_t")]
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
    /// Clean and/or noised probes.
    #[serde(default)]
    pub probe: ProbeConfig,
}

/// Serialises timestep indices as the paper's t = index + 1 (and back).
mod paper_t {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(idx: &[usize], s: S) -> Result<S::Ok, S::Error> {
        idx.iter().map(|t| t + 1).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<usize>, D::Error> {
        let v = Vec::<usize>::deserialize(d)?;
        v.into_iter()
            .map(|t| {
                t.checked_sub(1)
                    .ok_or_else(|| serde::de::Error::custom("paper_t starts at 1"))
            })
            .collect()
    }
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
    /// Timestep index (paper t - 1).
    pub t: usize,
    /// How the point was probed.
    pub probe: Probe,
    /// Noise draw (0 for clean probes).
    pub draw: usize,
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
    /// Timestep index (paper t - 1).
    pub t: usize,
    /// How the point was probed.
    pub probe: Probe,
    /// Noise draw (0 for clean probes).
    pub draw: usize,
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
    let ctx = Ctx {
        field,
        levels,
        cfg,
        manifold,
    };
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
            let at = At {
                set: &set.name,
                si,
                pi,
                point,
            };
            for &t in &cfg.timesteps {
                ctx.measure(&at, x0, t, &mut spectra, &mut blocks)?;
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

/// Where a probe sits: the point set (name and index) and the point (index in the set and
/// row of the data).
struct At<'a> {
    set: &'a str,
    si: usize,
    pi: usize,
    point: usize,
}

/// What [`analyse`] measures with: the score field, the schedule's levels, the settings and
/// the manifold blocks.
struct Ctx<'a> {
    field: &'a dyn ScoreField,
    levels: &'a NoiseLevels,
    cfg: &'a SpectrumConfig,
    manifold: Option<&'a ManifoldBlocks>,
}

impl Ctx<'_> {
    /// The spectra (and block levels) of one data point `x0` at timestep index `t`, every
    /// probe and draw, appended to `spectra` and `blocks`.
    fn measure(
        &self,
        at: &At<'_>,
        x0: &[f32],
        t: usize,
        spectra: &mut Vec<SpectrumRecord>,
        blocks: &mut Vec<BlockRecord>,
    ) -> Result<()> {
        let Ctx {
            field,
            levels,
            cfg,
            manifold,
        } = *self;
        for (probe, draw, x) in probe_points(x0, t, levels, &cfg.probe, cfg.seed, at.si, at.pi) {
            let flat = |raw: &[f64]| Flat::from_level(raw, levels.ddpm_sigma2(t));
            let mut record = |method: &'static str, kind: &'static str, raw: Vec<f64>| {
                let dims = estimate(&normalise(&raw), &cfg.dims, flat(&raw));
                spectra.push(SpectrumRecord {
                    set: at.set.to_string(),
                    point: at.point,
                    t,
                    probe,
                    draw,
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
                        set: at.set.to_string(),
                        point: at.point,
                        t,
                        probe,
                        draw,
                        levels: block_levels(&j, m, levels.ddpm_sigma2(t), levels.ve_sigma2(t))?,
                    });
                }
            }
            if cfg.method.score_matrix() {
                let stream = [cfg.seed, at.si as u64, at.pi as u64, t as u64, draw as u64];
                let stream = if probe == Probe::Clean {
                    &stream[..4]
                } else {
                    &stream[..]
                };
                let mut rng = ChaCha8Rng::seed_from_u64(mix(stream));
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
        Ok(())
    }
}

/// Tag of the noise stream of noised probes (kept apart from the score-matrix streams).
const PROBE_NOISE_TAG: u64 = 0x6E_6F_69_73_65;

/// The points at which one data point `x0` is probed at timestep index `t`: (probe, draw,
/// point in DDPM coordinates). Clean: sqrt(abar_t) x0. Noised: sqrt(abar_t) x0 +
/// sqrt(1 - abar_t) z, z ~ N(0, I) from a ChaCha8 stream keyed by (seed, set, point, t, draw).
fn probe_points(
    x0: &[f32],
    t: usize,
    levels: &NoiseLevels,
    cfg: &ProbeConfig,
    seed: u64,
    set: usize,
    point: usize,
) -> Vec<(Probe, usize, Vec<f64>)> {
    let a = levels.sqrt_abar(t);
    let sd = levels.ddpm_sigma2(t).sqrt();
    let clean: Vec<f64> = x0.iter().map(|&v| a * v as f64).collect();
    let mut out = Vec::new();
    for &probe in &cfg.probes {
        match probe {
            Probe::Clean => out.push((probe, 0, clean.clone())),
            Probe::Noised => {
                for draw in 0..cfg.noise_draws.max(1) {
                    let words = [PROBE_NOISE_TAG, seed, set as u64, point as u64, t as u64];
                    let mut rng = ChaCha8Rng::seed_from_u64(mix(&[mix(&words), draw as u64]));
                    let x = clean
                        .iter()
                        .map(|&c| {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            c + sd * z
                        })
                        .collect();
                    out.push((probe, draw, x));
                }
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels of a linear-beta schedule 1e-4..0.02, T = 1000, computed here.
    fn levels() -> NoiseLevels {
        let mut abar = Vec::new();
        let mut prod = 1.0;
        for i in 0..1000 {
            prod *= 1.0 - (1e-4 + (0.02 - 1e-4) * i as f64 / 999.0);
            abar.push(prod);
        }
        NoiseLevels { abar }
    }

    #[test]
    fn noised_probes_are_the_forward_process_of_the_point() {
        let lv = levels();
        let x0 = [0.6f32, -0.8, 0.0];
        let cfg = ProbeConfig {
            probes: vec![Probe::Clean, Probe::Noised],
            noise_draws: 4000,
        };
        for t in [0usize, 99, 999] {
            let pts = probe_points(&x0, t, &lv, &cfg, 7, 0, 3);
            assert_eq!(pts.len(), 4001);
            let a = lv.abar[t].sqrt();
            let sd = (1.0 - lv.abar[t]).sqrt();
            let (p, draw, clean) = &pts[0];
            assert_eq!((*p, *draw), (Probe::Clean, 0));
            for (c, x) in clean.iter().zip(&x0) {
                assert!((c - a * f64::from(*x)).abs() < 1e-15);
            }
            // (x - sqrt(abar) x0) / sqrt(1 - abar) is standard normal per coordinate.
            for i in 0..3 {
                let z: Vec<f64> = pts[1..]
                    .iter()
                    .map(|(_, _, x)| (x[i] - clean[i]) / sd)
                    .collect();
                let m = z.iter().sum::<f64>() / z.len() as f64;
                let v = z.iter().map(|z| (z - m).powi(2)).sum::<f64>() / z.len() as f64;
                assert!(
                    m.abs() < 0.06 && (v - 1.0).abs() < 0.07,
                    "t {t} coord {i}: {m} {v}"
                );
            }
            assert!(pts[1..].iter().all(|(p, _, _)| *p == Probe::Noised));
        }
        // Reproducible, and different for another point.
        let a = probe_points(&x0, 5, &lv, &cfg, 7, 0, 3);
        let b = probe_points(&x0, 5, &lv, &cfg, 7, 0, 3);
        let c = probe_points(&x0, 5, &lv, &cfg, 7, 0, 4);
        assert_eq!(a, b);
        assert_ne!(a[1].2, c[1].2);
        assert!("noised".parse::<ProbeConfig>().unwrap().probes == [Probe::Noised]);
        assert!("dirty".parse::<ProbeConfig>().is_err());
    }
}
