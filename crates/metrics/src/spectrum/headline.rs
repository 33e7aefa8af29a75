//! The headline of a spectrum analysis: the latent dimension at the papers' noise levels with
//! its spread over points, and (linear-manifold data) the noise level at which each block
//! collapses, beside the theory's.
//!
//! Levels (Achilli et al., arXiv 2410.08727; /work/shared/REPRODUCTION_TARGETS.md):
//! - `achilli-t2`, `achilli-t15`: their image spectra are taken at DDPM t = 2 (notebook) and
//!   t = 15 (default) of the linear schedule beta 1e-4 -> 0.02, T = 1000, i.e. the noise
//!   sigma_t = sqrt(1 - abar_t) of 0.019 and 0.063 (their t indexes the beta table from 0).
//!   A run's own schedule may differ, so the headline takes the timestep whose sigma_t is
//!   nearest to theirs (in ln sigma).
//! - `before-collapse` (linear-manifold data only): VE sigma^2 = min(2 max_b sigma^2_c,b,
//!   min_b s_b^2), above every block's critical level (nothing has collapsed) and at most the
//!   smallest block variance (every block is still distinguishable from the normal
//!   directions: -J is 1 / (sigma^2 + s^2) along the block against 1 / sigma^2 off it). An
//!   exact Gaussian score shows d1 + d2 there (7 for `manifold:paper`).
//!
//! Estimator: the cliff (the authors' `estimate_manifold_dim`, [`super::latent_dim`]) on the
//! Jacobian's singular values (the score matrix's when only it was computed). The largest gap
//! is kept in `dims[]` and `dims.csv` but not in the headline: it answers another question
//! (where the single largest drop is) and disagrees with the cliff wherever the spectrum falls
//! over many ranks instead of in one step (docs/metrics.md, "Latent dimension").

use super::field::NoiseLevels;
use super::latent_dim::{DimParams, Flat, cliff_pooled, pooled_median};
use super::manifold::ManifoldBlocks;
use super::report::{Analysis, Probe, SpectrumRecord};
use super::summary::{BlocksSummary, method_kinds, probes, select};
use crate::summary::DistributionSummary;
use serde::Serialize;

/// The authors' timestep indices (into the beta table, 0-based) of their image spectra.
const ACHILLI_STEPS: [(&str, usize); 2] = [("achilli-t2", 2), ("achilli-t15", 15)];

/// The DDPM noise sigma_t = sqrt(1 - abar_t) at index `t` of the linear schedule beta_1 =
/// 1e-4 to beta_T = 0.02, T = 1000 (Ho et al.; the authors' training code).
pub fn achilli_sigma(t: usize) -> f64 {
    let beta = |i: usize| 1e-4 + (0.02 - 1e-4) * i as f64 / 999.0;
    let abar: f64 = (0..=t).map(|i| 1.0 - beta(i)).product();
    (1.0 - abar).sqrt()
}

/// One noise level of the headline, resolved on a run's schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Level {
    /// `achilli-t2`, `achilli-t15` or `before-collapse`.
    pub name: String,
    /// What the level is, in words.
    pub about: String,
    /// Timestep index (paper t - 1).
    #[serde(skip)]
    pub t: usize,
    /// The paper's timestep t (1..=T) of the run's schedule.
    pub paper_t: usize,
    /// DDPM noise sigma_t = sqrt(1 - abar_t) at that timestep.
    pub ddpm_sigma: f64,
    /// VE noise variance (1 - abar_t) / abar_t at that timestep.
    pub ve_sigma2: f64,
}

/// The headline levels on schedule `levels`, for data with `manifold` blocks or none
/// (`before-collapse` first); distinct timesteps only (a short schedule may map two levels
/// to one step: the first is kept).
pub fn levels(levels: &NoiseLevels, manifold: Option<&ManifoldBlocks>) -> Vec<Level> {
    if levels.is_empty() {
        return Vec::new();
    }
    let at = |name: &str, about: String, t: usize| Level {
        name: name.into(),
        about,
        t,
        paper_t: t + 1,
        ddpm_sigma: levels.ddpm_sigma2(t).sqrt(),
        ve_sigma2: levels.ve_sigma2(t),
    };
    let mut out: Vec<Level> = Vec::new();
    if let Some(m) = manifold.filter(|m| !m.blocks.is_empty()) {
        let crit = m
            .blocks
            .iter()
            .map(|b| b.critical_sigma2)
            .fold(0.0, f64::max);
        let s2 = m.blocks.iter().map(|b| b.s2).fold(f64::INFINITY, f64::min);
        let target = (2.0 * crit).min(s2);
        if let Some(t) = levels.step_at_ve_sigma2(target) {
            let about = format!(
                "before any block collapses: sigma2_VE >= min(2 x largest critical level \
                 {crit:.3e}, smallest block variance {s2:.3e})"
            );
            out.push(at("before-collapse", about, t));
        }
    }
    for &(name, i) in &ACHILLI_STEPS {
        let s = achilli_sigma(i);
        let t = (0..levels.len())
            .min_by(|&a, &b| {
                let d = |t: usize| (levels.ddpm_sigma2(t).sqrt().ln() - s.ln()).abs();
                d(a).total_cmp(&d(b))
            })
            .unwrap_or(0);
        let about = format!("Achilli et al.'s image level t = {i}, sigma_t = {s:.3}");
        out.push(at(name, about, t));
    }
    let mut seen = Vec::new();
    out.retain(|l| {
        let new = !seen.contains(&l.t);
        seen.push(l.t);
        new
    });
    out
}

/// The latent dimension at one level for one point set and probe.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeadlineDim {
    /// Point set.
    pub set: String,
    /// `clean` or `noised`.
    pub probe: Probe,
    /// The level's name ([`Level::name`]).
    pub level: String,
    /// The paper's timestep t of the level.
    pub paper_t: usize,
    /// Spectra summarised (points x noise draws).
    pub points: usize,
    /// Median of the cliff estimate over points.
    pub median: f64,
    /// Its lower quartile.
    pub q25: f64,
    /// Its upper quartile.
    pub q75: f64,
    /// Mean over points.
    pub mean: f64,
    /// Std over points.
    pub std: f64,
    /// Fraction of spectra with a cliff (the rest are flat: dimension 0 or full).
    pub cliff_found: f64,
    /// Median over points of the pooled-threshold cliff (the authors' code: one median of
    /// second differences over all these spectra, [`super::latent_dim::cliff_pooled`]).
    pub pooled_median: f64,
    /// Fraction of spectra with a cliff under the pooled threshold.
    pub pooled_found: f64,
}

/// Where one manifold block collapses, measured (per set and probe) and in theory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockCollapse {
    /// Block label.
    pub block: String,
    /// Point set.
    pub set: String,
    /// `clean` or `noised` (the theory applies to `noised`).
    pub probe: Probe,
    /// Measured VE noise level where the kept fraction falls below the threshold (None: not
    /// on the grid).
    pub collapse_sigma2: Option<f64>,
    /// The theory's critical VE level.
    pub critical_sigma2: f64,
}

/// The headline of an analysis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Headline {
    /// Estimator and spectrum behind `dims`.
    pub estimator: String,
    /// The levels.
    pub levels: Vec<Level>,
    /// Latent dimension per set, probe and level.
    pub dims: Vec<HeadlineDim>,
    /// Collapse level per block, set and probe (linear-manifold data).
    pub collapse: Vec<BlockCollapse>,
}

impl Headline {
    /// The headline of `a` (the blocks' collapse levels from `blocks`).
    pub fn of(a: &Analysis, blocks: Option<&BlocksSummary>) -> Headline {
        let kinds = method_kinds(a);
        let (method, kind) = kinds
            .iter()
            .copied()
            .find(|mk| *mk == ("jacobian", "singular"))
            .or_else(|| kinds.first().copied())
            .unwrap_or(("jacobian", "singular"));
        let lv: Vec<Level> = levels(&a.levels, a.manifold.as_ref())
            .into_iter()
            .filter(|l| a.config.timesteps.contains(&l.t))
            .collect();
        let mut dims = Vec::new();
        for set in &a.sets {
            for probe in probes(a) {
                for l in &lv {
                    let recs = select(a, set, probe, method, kind, l.t);
                    if recs.is_empty() {
                        continue;
                    }
                    let d: Vec<f64> = recs.iter().map(|r| r.dims.cliff as f64).collect();
                    let found: Vec<f64> = recs
                        .iter()
                        .map(|r| f64::from(u8::from(r.dims.cliff_found)))
                        .collect();
                    let s = DistributionSummary::of(&d);
                    let (pooled, pooled_found) = pooled_dims(&recs, &a.config.dims, &a.levels);
                    dims.push(HeadlineDim {
                        set: set.clone(),
                        probe,
                        level: l.name.clone(),
                        paper_t: l.paper_t,
                        points: recs.len(),
                        median: s.median,
                        q25: s.q25,
                        q75: s.q75,
                        mean: s.mean,
                        std: s.std,
                        cliff_found: DistributionSummary::of(&found).mean,
                        pooled_median: DistributionSummary::of(&pooled).median,
                        pooled_found,
                    });
                }
            }
        }
        Headline {
            estimator: format!("cliff (Achilli et al.) on the {method} {kind} values"),
            levels: lv,
            dims,
            collapse: collapse_rows(blocks),
        }
    }

    /// The headline as lines of text, e.g. `latent dim train clean  achilli-t15 (t=16,
    /// sigma_t 0.063): 12 [10, 14] (median [IQR] of 8 points)`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.dims {
            let Some(l) = self.levels.iter().find(|l| l.name == d.level) else {
                continue;
            };
            out.push(format!(
                "latent dim {} {} at {} (t={}, sigma_t {:.3}, sigma2_VE {:.2e}): {} [{}, {}] \
                 (median [IQR] of {} spectra; pooled threshold: {})",
                d.set,
                d.probe.label(),
                d.level,
                l.paper_t,
                l.ddpm_sigma,
                l.ve_sigma2,
                num(d.median),
                num(d.q25),
                num(d.q75),
                d.points,
                num(d.pooled_median)
            ));
        }
        for c in &self.collapse {
            let measured = c
                .collapse_sigma2
                .map_or("no collapse on the grid".into(), |s| {
                    format!("sigma2_VE {s:.2e}")
                });
            out.push(format!(
                "collapse of {} ({}, {}): {measured}; theory {:.2e} (noised points)",
                c.block,
                c.set,
                c.probe.label(),
                c.critical_sigma2
            ));
        }
        out
    }
}

/// The pooled-threshold cliff of every record of one (set, probe, method, kind, t) group (the
/// flat reading where none is found) and the fraction of records with a cliff.
fn pooled_dims(recs: &[&SpectrumRecord], p: &DimParams, levels: &NoiseLevels) -> (Vec<f64>, f64) {
    let spectra: Vec<Vec<f64>> = recs.iter().map(|r| r.normalised()).collect();
    let m = pooled_median(&spectra, p);
    let mut found = 0usize;
    let dims = recs
        .iter()
        .zip(&spectra)
        .map(|(r, v)| match cliff_pooled(v, p, m) {
            Some(k) => {
                found += 1;
                k as f64
            }
            None => Flat::from_level(&r.raw, levels.ddpm_sigma2(r.t)).dim(v.len()) as f64,
        })
        .collect();
    (dims, found as f64 / recs.len().max(1) as f64)
}

/// A count or a quantile of counts: no decimals when whole.
fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn collapse_rows(blocks: Option<&BlocksSummary>) -> Vec<BlockCollapse> {
    let Some(bs) = blocks else {
        return Vec::new();
    };
    bs.blocks
        .iter()
        .flat_map(|b| {
            b.curves.iter().map(|c| BlockCollapse {
                block: b.label.clone(),
                set: c.set.clone(),
                probe: c.probe,
                collapse_sigma2: c.collapse_sigma2,
                critical_sigma2: b.critical_sigma2,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear_levels(t_max: usize, b1: f64, bt: f64) -> NoiseLevels {
        let mut prod = 1.0;
        let abar = (0..t_max)
            .map(|i| {
                prod *= 1.0 - (b1 + (bt - b1) * i as f64 / (t_max - 1) as f64);
                prod
            })
            .collect();
        NoiseLevels { abar }
    }

    #[test]
    fn achilli_levels_are_their_sigmas_on_the_standard_schedule() {
        // REPRODUCTION_TARGETS: t = 15 is sigma_t = 0.063 (VE sigma^2 = 4.0e-3), t = 2 is 0.019.
        assert!(
            (achilli_sigma(15) - 0.063).abs() < 5e-4,
            "{}",
            achilli_sigma(15)
        );
        assert!(
            (achilli_sigma(2) - 0.019).abs() < 5e-4,
            "{}",
            achilli_sigma(2)
        );
        let lv = levels(&linear_levels(1000, 1e-4, 0.02), None);
        let names: Vec<&str> = lv.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["achilli-t2", "achilli-t15"]);
        // Their t indexes the beta table from 0: our paper t is one more.
        assert_eq!((lv[0].paper_t, lv[1].paper_t), (3, 16));
        assert!(
            (lv[1].ve_sigma2 - 4.0e-3).abs() < 1e-4,
            "{}",
            lv[1].ve_sigma2
        );
        // Another schedule: the timestep of the nearest sigma, not the same t.
        let short_lv = linear_levels(100, 1e-4, 0.05);
        let sigma = |t: usize| short_lv.ddpm_sigma2(t).sqrt();
        for l in levels(&short_lv, None) {
            let want = if l.name == "achilli-t2" { 0.019 } else { 0.063 };
            let (below, above) = (sigma(l.t.saturating_sub(1)), sigma((l.t + 1).min(99)));
            assert!(below <= want && want <= above, "{l:?}");
            assert_ne!(l.paper_t, if l.name == "achilli-t2" { 3 } else { 16 });
        }
    }
}
