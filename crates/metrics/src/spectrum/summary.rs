//! Averages over points (and noise draws of noised probes): latent dimension per timestep with
//! its spread, mean normalised spectra, and per-block kept fractions with the collapse level
//! beside the theory's. Timesteps are the paper's t (1..=T, `paper_t`); every row says which
//! probe (`clean` or `noised`, [`Probe`]) it averages. The theory's critical levels apply to
//! the `noised` probe.

use super::headline::Headline;
use super::report::{Analysis, Probe, SpectrumConfig, SpectrumRecord};
use crate::summary::DistributionSummary;
use serde::Serialize;

/// Latent-dimension estimates of one (set, probe, method, kind, timestep), over points and
/// noise draws.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DimsRow {
    /// Point set.
    pub set: String,
    /// `clean` or `noised`.
    pub probe: Probe,
    /// `jacobian` or `score-matrix`.
    pub method: String,
    /// `singular` or `neg-sym-eig`.
    pub kind: String,
    /// The paper's timestep t (1..=T; schedule index t - 1).
    pub paper_t: usize,
    /// VE noise variance (1 - abar_t) / abar_t.
    pub ve_sigma2: f64,
    /// Number of spectra averaged (points x noise draws).
    pub points: usize,
    /// Mean cliff estimate (tangent directions).
    pub cliff_mean: f64,
    /// Mean cliff estimate in the authors' convention (ours + 1 where a cliff is found).
    pub cliff_authors_mean: f64,
    /// Std of the cliff estimate over points.
    pub cliff_std: f64,
    /// Median and quartiles of the cliff estimate over points (the plotted line and band).
    pub cliff_median: f64,
    /// Lower quartile of the cliff estimate.
    pub cliff_q25: f64,
    /// Upper quartile of the cliff estimate.
    pub cliff_q75: f64,
    /// Mean largest-gap estimate.
    pub gap_mean: f64,
    /// Median of the largest-gap estimate.
    pub gap_median: f64,
    /// Lower quartile of the largest-gap estimate.
    pub gap_q25: f64,
    /// Upper quartile of the largest-gap estimate.
    pub gap_q75: f64,
    /// Std of the largest-gap estimate over points.
    pub gap_std: f64,
    /// Fraction of points whose spectrum has a cliff.
    pub cliff_found: f64,
}

/// One manifold block over the timestep grid for one point set and probe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockCurve {
    /// Point set.
    pub set: String,
    /// `clean` or `noised` (the theory's critical level applies to `noised`).
    pub probe: Probe,
    /// Mean kept fraction per timestep of the grid.
    pub kept_mean: Vec<f64>,
    /// Its std over points.
    pub kept_std: Vec<f64>,
    /// Lower quartile of the kept fraction over points, per timestep (the plotted band).
    pub kept_q25: Vec<f64>,
    /// Upper quartile, per timestep.
    pub kept_q75: Vec<f64>,
    /// Measured collapse level (VE sigma^2) of the mean curve, if it collapses on the grid.
    pub collapse_sigma2: Option<f64>,
}

/// One manifold block: data, theory and measurements.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockSummary {
    /// Label.
    pub label: String,
    /// Generator std.
    pub std: f64,
    /// Number of directions k of the block (the columns of its basis).
    pub dim: usize,
    /// Training-set variance along the block.
    pub s2: f64,
    /// Theory's critical VE noise level, for noised training points x^mu + sigma z.
    pub critical_sigma2: f64,
    /// First paper timestep t (1..=T) whose VE noise level reaches the critical level.
    pub critical_paper_t: Option<usize>,
    /// Measurements per point set and probe.
    pub curves: Vec<BlockCurve>,
}

/// The blocks of linear-manifold data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlocksSummary {
    /// Unit-norm training data (decides the critical-level formula).
    pub normalized: bool,
    /// Training-set size N.
    pub n: usize,
    /// Kept fraction below which a block counts as collapsed.
    pub threshold: f64,
    /// The whole training set's collapse level (VE sigma^2; Biroli et al.'s t_C over the
    /// training covariance, [`super::manifold::joint_collapse_sigma2`]).
    pub joint_sigma2: f64,
    /// One entry per block.
    pub blocks: Vec<BlockSummary>,
}

/// The JSON summary of a spectrum analysis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpectrumSummary {
    /// The settings.
    pub config: SpectrumConfig,
    /// VE noise variance per timestep of the grid.
    pub ve_sigma2: Vec<f64>,
    /// Latent dimension per (set, method, kind, timestep).
    pub dims: Vec<DimsRow>,
    /// Manifold blocks, for linear-manifold data with the Jacobian method.
    pub blocks: Option<BlocksSummary>,
    /// The latent dimension at the papers' noise levels and the blocks' collapse levels.
    pub headline: Headline,
}

impl SpectrumSummary {
    /// Summarises `a`.
    pub fn of(a: &Analysis) -> Self {
        let ts = &a.config.timesteps;
        let mut dims = Vec::new();
        for set in &a.sets {
            for probe in probes(a) {
                for (method, kind) in method_kinds(a) {
                    for &t in ts {
                        let recs = select(a, set, probe, method, kind, t);
                        if recs.is_empty() {
                            continue;
                        }
                        let stat = |f: &dyn Fn(&SpectrumRecord) -> f64| {
                            DistributionSummary::of(&recs.iter().map(|r| f(r)).collect::<Vec<_>>())
                        };
                        let (c, g) = (stat(&|r| r.dims.cliff as f64), stat(&|r| r.dims.gap as f64));
                        dims.push(DimsRow {
                            set: set.clone(),
                            probe,
                            method: method.into(),
                            kind: kind.into(),
                            paper_t: t + 1,
                            ve_sigma2: a.levels.ve_sigma2(t),
                            points: recs.len(),
                            cliff_mean: c.mean,
                            cliff_authors_mean: stat(&|r| r.dims.cliff_authors as f64).mean,
                            cliff_std: c.std,
                            cliff_median: c.median,
                            cliff_q25: c.q25,
                            cliff_q75: c.q75,
                            gap_mean: g.mean,
                            gap_median: g.median,
                            gap_q25: g.q25,
                            gap_q75: g.q75,
                            gap_std: g.std,
                            cliff_found: stat(&|r| f64::from(u8::from(r.dims.cliff_found))).mean,
                        });
                    }
                }
            }
        }
        let blocks = blocks_summary(a);
        Self {
            config: a.config.clone(),
            ve_sigma2: ts.iter().map(|&t| a.levels.ve_sigma2(t)).collect(),
            dims,
            headline: Headline::of(a, blocks.as_ref()),
            blocks,
        }
    }
}

/// The (method, kind) pairs present in `a`, in a fixed order.
pub fn method_kinds(a: &Analysis) -> Vec<(&'static str, &'static str)> {
    [
        ("jacobian", "singular"),
        ("jacobian", "neg-sym-eig"),
        ("score-matrix", "singular"),
    ]
    .into_iter()
    .filter(|(m, k)| a.spectra.iter().any(|r| r.method == *m && r.kind == *k))
    .collect()
}

/// The probes present in `a`, in the configured order.
pub fn probes(a: &Analysis) -> Vec<Probe> {
    a.config
        .probe
        .probes
        .iter()
        .copied()
        .filter(|p| a.spectra.iter().any(|r| r.probe == *p))
        .collect()
}

/// The records of one (set, probe, method, kind, t).
pub fn select<'a>(
    a: &'a Analysis,
    set: &str,
    probe: Probe,
    method: &str,
    kind: &str,
    t: usize,
) -> Vec<&'a SpectrumRecord> {
    a.spectra
        .iter()
        .filter(|r| {
            r.set == set && r.probe == probe && r.method == method && r.kind == kind && r.t == t
        })
        .collect()
}

/// Median and quartiles over points (and draws) of the normalised spectra of one (set, probe,
/// method, kind, t), per rank: `(median, q25, q75)`, or None without records. Quantiles of
/// positive values stay positive (a mean minus a std does not), so they suit log axes.
pub fn spectrum_quantiles(
    a: &Analysis,
    set: &str,
    probe: Probe,
    method: &str,
    kind: &str,
    t: usize,
) -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let recs = select(a, set, probe, method, kind, t);
    let spectra: Vec<Vec<f64>> = recs.iter().map(|r| r.normalised()).collect();
    let len = spectra.iter().map(Vec::len).min()?;
    let stats: Vec<DistributionSummary> = (0..len)
        .map(|i| DistributionSummary::of(&spectra.iter().map(|s| s[i]).collect::<Vec<_>>()))
        .collect();
    Some((
        stats.iter().map(|s| s.median).collect(),
        stats.iter().map(|s| s.q25).collect(),
        stats.iter().map(|s| s.q75).collect(),
    ))
}

fn blocks_summary(a: &Analysis) -> Option<BlocksSummary> {
    let m = a.manifold.as_ref()?;
    if a.blocks.is_empty() {
        return None;
    }
    let ts = &a.config.timesteps;
    let thr = a.config.collapse_threshold;
    let blocks = m
        .blocks
        .iter()
        .enumerate()
        .map(|(bi, b)| {
            let curves = a
                .sets
                .iter()
                .flat_map(|set| probes(a).into_iter().map(move |p| (set, p)))
                .map(|(set, probe)| {
                    let stats: Vec<DistributionSummary> = ts
                        .iter()
                        .map(|&t| {
                            let kept: Vec<f64> = a
                                .blocks
                                .iter()
                                .filter(|r| &r.set == set && r.probe == probe && r.t == t)
                                .filter_map(|r| r.levels.get(bi).map(|l| l.kept))
                                .collect();
                            DistributionSummary::of(&kept)
                        })
                        .collect();
                    let kept_mean: Vec<f64> = stats.iter().map(|s| s.mean).collect();
                    let ve: Vec<f64> = ts.iter().map(|&t| a.levels.ve_sigma2(t)).collect();
                    BlockCurve {
                        set: set.clone(),
                        probe,
                        collapse_sigma2: super::manifold::collapse_level(&ve, &kept_mean, thr),
                        kept_std: stats.iter().map(|s| s.std).collect(),
                        kept_q25: stats.iter().map(|s| s.q25).collect(),
                        kept_q75: stats.iter().map(|s| s.q75).collect(),
                        kept_mean,
                    }
                })
                .collect();
            BlockSummary {
                label: b.label.clone(),
                std: b.std,
                dim: b.basis.ncols(),
                s2: b.s2,
                critical_sigma2: b.critical_sigma2,
                critical_paper_t: a.levels.step_at_ve_sigma2(b.critical_sigma2).map(|t| t + 1),
                curves,
            }
        })
        .collect();
    Some(BlocksSummary {
        normalized: m.normalized,
        n: m.n,
        threshold: thr,
        joint_sigma2: m.joint_sigma2,
        blocks,
    })
}
