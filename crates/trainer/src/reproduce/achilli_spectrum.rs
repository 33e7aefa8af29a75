//! `achilli-manifold`: the paper's panel, the normalised singular values of the score's
//! Jacobian against the noise level (Achilli et al., arXiv 2410.08727, the linear-manifold
//! figure), one panel per model and N, read from each run's `spectra.csv` (no new measuring).
//!
//! Normalisation (the paper's, and `spectra.csv`'s `value` column): at each probe the
//! singular values s_0 >= s_1 >= ... >= s_{D-1} of the Jacobian, the largest dropped and the
//! rest divided by the largest kept one, v_i = s_i / s_1 for i >= 1. For a Gaussian score,
//! J = -(Sigma_t)^{-1} has s = 1 / (lambda_k + sigma^2) per direction, so v of a direction of
//! variance lambda is (lambda_normal + sigma^2) / (lambda + sigma^2): 1 off the manifold and
//! at large noise, near sigma^2 / (sigma^2 + s^2) on a block of variance s^2 while the score
//! generalises. A memorising score has J = -I / sigma^2 + (posterior covariance) / sigma^4,
//! which tends to -I / sigma^2 once the posterior sits on one point: every v returns to 1.
//! So a block's values dip as the noise falls and come back up where the block collapses.
//!
//! The ranks are grouped by block: sorted by their training variance s^2, the largest-variance
//! block holds the last k_1 ranks (the smallest values), the next the k_2 before them, and the
//! remaining ranks are the off-manifold directions. Each group is drawn as the mean over its
//! ranks of the per-rank median over points and noise draws, with its band from the smallest
//! to the largest of those medians.

use super::Context;
use super::figure::{Axes, GridPanel, draw_grid, marker};
use super::records::{metrics, sizes};
use crate::report::collect::RunRecord;
use anyhow::{Context as _, Result, bail};
use diffmem_metrics::plot::Series;
use std::collections::BTreeMap;
use std::ops::Range;

/// The spectra are drawn up to this VE noise level (the paper's largest sigma, 9.1, is VE
/// sigma^2 = 83): above it every normalised value is 1.
const MAX_NOISE: f64 = 100.0;

/// The spectra the panel draws: singular values of the Jacobian at noised training points.
const SELECT: [(&str, &str); 4] = [
    ("set", "train"),
    ("probe", "noised"),
    ("method", "jacobian"),
    ("kind", "singular"),
];

/// One normalised singular value of `spectra.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Value {
    /// VE noise level of its probe.
    pub ve: f64,
    /// Rank in the descending spectrum (0 is the dropped largest value).
    pub index: usize,
    /// s_index / s_1.
    pub value: f64,
}

/// The normalised Jacobian singular values at noised training points (ranks >= 1) in the text
/// of a `spectra.csv` (`set,point,probe,draw,method,kind,paper_t,ve_sigma2,index,value,raw`).
pub fn normalised_values(text: &str) -> Result<Vec<Value>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .with_context(|| format!("spectra.csv has no column {name}"))
    };
    let select: Vec<(usize, &str)> = SELECT
        .iter()
        .map(|(c, v)| Ok((col(c)?, *v)))
        .collect::<Result<_>>()?;
    let (ve, index, value) = (col("ve_sigma2")?, col("index")?, col("value")?);
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != header.len() {
            bail!("spectra.csv: a row of {} fields: {line}", f.len());
        }
        if select.iter().any(|&(c, v)| f[c] != v) {
            continue;
        }
        let index: usize = f[index].parse()?;
        if index >= 1 {
            let (ve, value) = (f[ve].parse()?, f[value].parse()?);
            out.push(Value { ve, index, value });
        }
    }
    Ok(out)
}

/// Per noise level (ascending), the median over points and noise draws of each rank's value
/// (indexed by rank; NaN at rank 0 and where a rank is missing).
pub fn rank_medians(values: &[Value]) -> Vec<(f64, Vec<f64>)> {
    // Positive finite f64 sort like their bit patterns.
    let mut by: BTreeMap<u64, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for v in values.iter().filter(|v| v.ve > 0.0 && v.ve.is_finite()) {
        let ranks = by.entry(v.ve.to_bits()).or_default();
        ranks.entry(v.index).or_default().push(v.value);
    }
    by.into_iter()
        .map(|(ve, ranks)| {
            let d = ranks.keys().max().map_or(0, |m| m + 1);
            let mut med = vec![f64::NAN; d];
            for (i, v) in ranks {
                med[i] = diffmem_metrics::summary::median(&v).unwrap_or(f64::NAN);
            }
            (f64::from_bits(ve), med)
        })
        .collect()
}

/// A block of the manifold as the panel needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockInfo {
    /// Label in the figure (`d1`, `d2`).
    pub label: String,
    /// Number of directions.
    pub dim: usize,
    /// Training-set variance along the block.
    pub s2: f64,
}

/// Ranks of a group in the descending spectrum, with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct RankGroup {
    /// `off-manifold` or the block's label.
    pub label: String,
    /// Its ranks (within 1..d).
    pub ranks: Range<usize>,
}

/// The rank groups of a spectrum of `d` values (rank 0 dropped): the off-manifold ranks
/// first, then the blocks from the smallest variance to the largest, which holds the last
/// ranks (module docs). None when the blocks do not fit in ranks 1..d.
pub fn rank_groups(d: usize, blocks: &[BlockInfo]) -> Option<Vec<RankGroup>> {
    let mut order: Vec<&BlockInfo> = blocks.iter().collect();
    order.sort_by(|a, b| a.s2.total_cmp(&b.s2));
    let on: usize = blocks.iter().map(|b| b.dim).sum();
    let mut start = 1 + d.checked_sub(1 + on)?;
    let mut out = vec![RankGroup {
        label: "off-manifold".into(),
        ranks: 1..start,
    }];
    for b in order {
        out.push(RankGroup {
            label: b.label.clone(),
            ranks: start..start + b.dim,
        });
        start += b.dim;
    }
    Some(out)
}

/// The curve of group `g` over the noise levels up to [`MAX_NOISE`]: the mean of its ranks'
/// medians, with their smallest and largest as the band.
pub fn group_curve(medians: &[(f64, Vec<f64>)], g: &RankGroup) -> Series {
    let mut cols: [Vec<f64>; 4] = Default::default();
    for (ve, med) in medians.iter().filter(|(ve, _)| *ve <= MAX_NOISE) {
        let v: Vec<f64> = g
            .ranks
            .clone()
            .filter_map(|i| med.get(i).copied())
            .collect();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        for (c, x) in cols.iter_mut().zip([*ve, mean, lo, hi]) {
            c.push(x);
        }
    }
    let [x, y, lo, hi] = cols;
    let (a, b) = (g.ranks.start, g.ranks.end - 1);
    let label = format!("{} (ranks {a}-{b})", g.label);
    Series::new(label, x, y).with_band(lo, hi)
}

/// The blocks of a run's manifold (`metrics.spectrum.blocks`), labelled d1, d2, ...
fn blocks_of(r: &RunRecord) -> Vec<BlockInfo> {
    let Some(list) = metrics(r).and_then(|m| m["spectrum"]["blocks"]["blocks"].as_array()) else {
        return Vec::new();
    };
    list.iter()
        .enumerate()
        .filter_map(|(b, j)| {
            Some(BlockInfo {
                label: format!("d{}", b + 1),
                dim: j["dim"].as_u64()? as usize,
                s2: j["s2"].as_f64()?,
            })
        })
        .collect()
}

/// The collapse levels marked in every panel: each block's s^2 / (2 ln N) and the whole
/// set's level, dashed vertical lines.
fn levels_of(r: &RunRecord) -> Vec<Series> {
    let Some(b) = metrics(r).map(|m| &m["spectrum"]["blocks"]) else {
        return Vec::new();
    };
    let mut s = Vec::new();
    for (i, block) in b["blocks"].as_array().into_iter().flatten().enumerate() {
        if let Some(c) = block["critical_sigma2"].as_f64() {
            s.push(marker(&format!("s^2/(2 ln N), d{}", i + 1), c));
        }
    }
    if let Some(c) = b["joint_sigma2"].as_f64() {
        s.push(marker("whole-set collapse level (t_C)", c));
    }
    s
}

/// One run's panel: its block curves from `runs/NAME/spectra.csv` and the collapse levels
/// (empty when the run has no spectra or no blocks).
fn panel_series(ctx: &Context, r: &RunRecord) -> Result<Vec<Series>> {
    let path = ctx
        .dir
        .join(crate::sweep::RUNS_DIR)
        .join(&r.name)
        .join("spectra.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let values = normalised_values(&text).with_context(|| path.display().to_string())?;
    let medians = rank_medians(&values);
    let d = medians.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let Some(groups) = rank_groups(d, &blocks_of(r)) else {
        return Ok(Vec::new());
    };
    let mut s: Vec<Series> = groups.iter().map(|g| group_curve(&medians, g)).collect();
    s.extend(levels_of(r));
    Ok(s)
}

/// The paper's panel: one row per N, one column per model (`models`), written as
/// `achilli_spectrum.png`.
pub fn spectrum_figure(ctx: &Context, models: &[&str], files: &mut Vec<String>) -> Result<()> {
    let mut ns: Vec<usize> = models.iter().flat_map(|m| sizes(ctx.runs, m)).collect();
    ns.sort_unstable();
    ns.dedup();
    let mut panels = Vec::new();
    for n in ns {
        for &m in models {
            let r = ctx.runs.iter().find(|r| r.line == m && r.n() == Some(n));
            let series = match r {
                Some(r) => panel_series(ctx, r)?,
                None => Vec::new(),
            };
            let steps = r
                .and_then(|r| r.config.as_ref())
                .filter(|_| m != "empirical")
                .map_or(String::new(), |c| format!(", {} steps", c.train.steps));
            let title = format!("{m}, N = {n}{steps}: normalised singular values");
            panels.push(GridPanel { title, series });
        }
    }
    let axes = Axes {
        title: "",
        x: "noise level (VE sigma^2)",
        y: "s_i / s_1 (largest value s_0 dropped)",
        log_y: false,
    };
    draw_grid(
        ctx.dir,
        "achilli_spectrum.png",
        &axes,
        panels,
        models.len(),
        files,
    )
}

#[cfg(test)]
mod tests;
