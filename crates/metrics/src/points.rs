//! Per-training-point memorisation: which training rows the samples copy, and the local
//! geometry of each row (Merger & Goldt, "Local coverage governs memorization", arXiv
//! 2606.14390: whether a point is memorised depends on its local data density and on N).
//!
//! - A generated sample x *copies* training row j when j = NN_1(x) and d_1(x)/d_2(x) < tau
//!   (Gu et al., arXiv 2310.02664; [`crate::memorization`]), with identical training rows taken
//!   as one image ([`distinct_rows`]; their copies go to the first of them). Row j's copy count
//!   is the number of samples that copy it, so the counts sum to the number of memorised
//!   samples.
//! - Local density of row j: r_k(j) = ||x^j - NN_k(x^j)|| / sqrt(D), the distance to its k-th
//!   nearest *other* training row (k = [`DENSITY_K`]); small r_k = a dense region.
//! - Typicality: the distance of x^j to the training mean (and to its class centroid),
//!   ||x^j - m|| / sqrt(D).
//! - Copy rate against density: rows split into equal-count bins of r_k; per bin the fraction of
//!   rows copied at least once, with its Wilson score interval (Wilson 1927, z = 1.96).
//! - Per-coordinate variance collapse (arXiv 2605.26756: local memorisation shows as
//!   coordinate-wise variance collapse): Var_samples(x_i) / Var_data(x_i) per coordinate i; a
//!   coordinate has *collapsed* when that ratio is below [`COLLAPSE_FRACTION`]. Coordinates
//!   whose data variance is 0 (constant pixels) are left out.

use serde::{Deserialize, Serialize};

use crate::nn::Neighbours;
use crate::{MetricsError, Result};

/// k of the local density r_k (the distance to the k-th nearest other training row).
pub const DENSITY_K: usize = 5;

/// A coordinate has collapsed when the samples' variance is below this fraction of the data's.
pub const COLLAPSE_FRACTION: f64 = 0.1;

/// The z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Copy count of each of the `n` training rows: the number of samples i with `nn1[i] = j` and
/// `ratios[i] < threshold`.
pub fn copy_counts(nn1: &[usize], ratios: &[f64], threshold: f64, n: usize) -> Result<Vec<usize>> {
    if nn1.len() != ratios.len() {
        return Err(MetricsError::Invalid(format!(
            "{} nearest neighbours but {} ratios",
            nn1.len(),
            ratios.len()
        )));
    }
    let mut counts = vec![0usize; n];
    for (&j, &r) in nn1.iter().zip(ratios) {
        if r < threshold {
            *counts.get_mut(j).ok_or_else(|| {
                MetricsError::Invalid(format!("neighbour index {j} outside {n} training rows"))
            })? += 1;
        }
    }
    Ok(counts)
}

/// Identical rows as one image: `(first, group)` where `first[g]` is the first row of the g-th
/// distinct row (in order of first appearance) and `group[j]` the distinct row of row j. A
/// sample that copies an image present twice has d1 = d2 to the two copies, so Gu's ratio would
/// call it unmemorised: copies are counted against the distinct rows.
pub fn distinct_rows(rows: &[f32], d: usize) -> (Vec<usize>, Vec<usize>) {
    let mut seen: std::collections::HashMap<Vec<u32>, usize> = Default::default();
    let mut first = Vec::new();
    let group = rows
        .chunks_exact(d.max(1))
        .enumerate()
        .map(|(j, r)| {
            let key: Vec<u32> = r.iter().map(|v| v.to_bits()).collect();
            *seen.entry(key).or_insert_with(|| {
                first.push(j);
                first.len() - 1
            })
        })
        .collect();
    (first, group)
}

/// r_k of every row from its neighbours in its own set (searched with at least k + 1
/// neighbours): the row itself (or, for a duplicated row, one of its zero-distance copies) is
/// dropped, then the k-th remaining distance is taken.
pub fn kth_other(own: &Neighbours, k: usize) -> Result<Vec<f64>> {
    if k == 0 || own.k < k + 1 {
        return Err(MetricsError::Invalid(format!(
            "the density r_{k} needs k >= 1 and k + 1 neighbours per row, got {}",
            own.k
        )));
    }
    Ok((0..own.len())
        .map(|i| {
            let idx = &own.indices[i * own.k..(i + 1) * own.k];
            let dist = &own.distances[i * own.k..(i + 1) * own.k];
            let skip = idx.iter().position(|&j| j == i).unwrap_or(0);
            dist.iter()
                .enumerate()
                .filter(|&(m, _)| m != skip)
                .nth(k - 1)
                .map_or(f64::NAN, |(_, &v)| v)
        })
        .collect())
}

/// The mean of `rows` (`[N, d]`) in f64.
pub fn mean_row(rows: &[f32], d: usize) -> Vec<f64> {
    let n = rows.len() / d.max(1);
    let mut m = vec![0.0; d];
    for r in rows.chunks_exact(d.max(1)) {
        for (a, &v) in m.iter_mut().zip(r) {
            *a += f64::from(v);
        }
    }
    m.iter_mut().for_each(|a| *a /= n.max(1) as f64);
    m
}

/// ||row - centre|| / sqrt(d) of one row.
pub fn distance_to(row: &[f32], centre: &[f64]) -> f64 {
    let s: f64 = row
        .iter()
        .zip(centre)
        .map(|(&v, &c)| (f64::from(v) - c).powi(2))
        .sum();
    (s / centre.len().max(1) as f64).sqrt()
}

/// The distance of every row to its class centroid (the mean of the rows with its label).
pub fn class_centroid_distances(rows: &[f32], d: usize, labels: &[u32]) -> Vec<f64> {
    let mut sums: std::collections::BTreeMap<u32, (Vec<f64>, usize)> = Default::default();
    for (r, &l) in rows.chunks_exact(d.max(1)).zip(labels) {
        let e = sums.entry(l).or_insert_with(|| (vec![0.0; d], 0));
        e.0.iter_mut().zip(r).for_each(|(a, &v)| *a += f64::from(v));
        e.1 += 1;
    }
    for (s, c) in sums.values_mut() {
        s.iter_mut().for_each(|a| *a /= *c as f64);
    }
    rows.chunks_exact(d.max(1))
        .zip(labels)
        .map(|(r, l)| distance_to(r, &sums[l].0))
        .collect()
}

/// The Wilson score interval of a proportion k / n at normal quantile z; (0, 1) for n = 0.
pub fn wilson(k: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// One bin of rows by local density.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityBin {
    /// Smallest r_k in the bin.
    pub density_lo: f64,
    /// Largest r_k in the bin.
    pub density_hi: f64,
    /// Median r_k of the bin (where it is drawn).
    pub density_median: f64,
    /// Rows in the bin.
    pub rows: usize,
    /// Rows copied by at least one sample.
    pub copied_rows: usize,
    /// Copies of the bin's rows.
    pub copies: usize,
    /// copied_rows / rows.
    pub copy_rate: f64,
    /// Lower end of the 95% Wilson interval of the copy rate.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// Rows sorted by r_k (non-finite r_k left out) and cut into `bins` bins of equal count (the
/// first bins one row larger when the count does not divide).
pub fn density_bins(density: &[f64], copies: &[usize], bins: usize) -> Vec<DensityBin> {
    let mut order: Vec<usize> = (0..density.len().min(copies.len()))
        .filter(|&i| density[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| density[a].total_cmp(&density[b]));
    let bins = bins.clamp(1, order.len().max(1));
    let (base, extra) = (order.len() / bins, order.len() % bins);
    let mut out = Vec::new();
    let mut start = 0;
    for b in 0..bins {
        let len = base + usize::from(b < extra);
        let part = &order[start..start + len];
        start += len;
        if part.is_empty() {
            continue;
        }
        let copied = part.iter().filter(|&&i| copies[i] > 0).count();
        let (lo, hi) = wilson(copied, part.len(), Z95);
        out.push(DensityBin {
            density_lo: density[part[0]],
            density_hi: density[part[part.len() - 1]],
            density_median: density[part[part.len() / 2]],
            rows: part.len(),
            copied_rows: copied,
            copies: part.iter().map(|&i| copies[i]).sum(),
            copy_rate: copied as f64 / part.len() as f64,
            lo,
            hi,
        });
    }
    out
}

/// One class's share of the copies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCopies {
    /// The class label.
    pub label: u32,
    /// Training rows of the class.
    pub rows: usize,
    /// Of them, copied at least once.
    pub copied_rows: usize,
    /// Copies of the class's rows.
    pub copies: usize,
    /// copied_rows / rows.
    pub copy_rate: f64,
    /// Mean r_k of the class's rows (finite values only).
    pub mean_density: f64,
}

/// Copies summed per class label, in label order.
pub fn by_class(labels: &[u32], copies: &[usize], density: &[f64]) -> Vec<ClassCopies> {
    let mut m: std::collections::BTreeMap<u32, (usize, usize, usize, f64, usize)> =
        Default::default();
    for ((&l, &c), &r) in labels.iter().zip(copies).zip(density) {
        let e = m.entry(l).or_default();
        e.0 += 1;
        e.1 += usize::from(c > 0);
        e.2 += c;
        if r.is_finite() {
            e.3 += r;
            e.4 += 1;
        }
    }
    m.into_iter()
        .map(|(label, (rows, copied, copies, rs, rn))| ClassCopies {
            label,
            rows,
            copied_rows: copied,
            copies,
            copy_rate: copied as f64 / rows as f64,
            mean_density: if rn > 0 { rs / rn as f64 } else { f64::NAN },
        })
        .collect()
}

/// The population variance of every coordinate of `rows` (`[N, d]`), in f64 (two passes).
pub fn coordinate_variance(rows: &[f32], d: usize) -> Vec<f64> {
    let n = rows.len() / d.max(1);
    let m = mean_row(rows, d);
    let mut v = vec![0.0; d];
    for r in rows.chunks_exact(d.max(1)) {
        for ((a, &x), &mu) in v.iter_mut().zip(r).zip(&m) {
            *a += (f64::from(x) - mu).powi(2);
        }
    }
    v.iter_mut().for_each(|a| *a /= n.max(1) as f64);
    v
}

/// The variance collapse of samples against the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collapse {
    /// The fraction of the data's variance below which a coordinate counts as collapsed.
    pub threshold: f64,
    /// Coordinates with a non-zero data variance (the others are left out).
    pub coordinates: usize,
    /// Of them, collapsed.
    pub collapsed: usize,
    /// collapsed / coordinates (NaN when no coordinate varies).
    pub collapsed_fraction: f64,
    /// Median of Var_samples / Var_data over those coordinates.
    pub median_ratio: f64,
}

/// Var_samples(x_i) / Var_data(x_i) per coordinate (NaN where the data do not vary).
pub fn variance_ratio(sample_var: &[f64], data_var: &[f64]) -> Vec<f64> {
    sample_var
        .iter()
        .zip(data_var)
        .map(|(&s, &v)| if v > 0.0 { s / v } else { f64::NAN })
        .collect()
}

/// The collapse of `ratio` (from [`variance_ratio`]) below `threshold`.
pub fn collapse(ratio: &[f64], threshold: f64) -> Result<Collapse> {
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(MetricsError::Invalid(format!(
            "collapse threshold must be positive, got {threshold}"
        )));
    }
    let mut used: Vec<f64> = ratio.iter().copied().filter(|r| r.is_finite()).collect();
    used.sort_by(f64::total_cmp);
    let collapsed = used.iter().filter(|&&r| r < threshold).count();
    let frac = |k: usize| {
        if used.is_empty() {
            f64::NAN
        } else {
            k as f64 / used.len() as f64
        }
    };
    Ok(Collapse {
        threshold,
        coordinates: used.len(),
        collapsed,
        collapsed_fraction: frac(collapsed),
        median_ratio: used.get(used.len() / 2).copied().unwrap_or(f64::NAN),
    })
}

/// Rows with the most copies, most first (ties: lower row first), those with at least one.
pub fn most_copied(copies: &[usize], count: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..copies.len()).filter(|&j| copies[j] > 0).collect();
    idx.sort_by(|&a, &b| copies[b].cmp(&copies[a]).then(a.cmp(&b)));
    idx.truncate(count);
    idx
}

/// Spearman's rank correlation of `x` and `y` (pairs with a non-finite value left out; tied
/// values get their average rank): the Pearson correlation of the ranks. NaN for fewer than 2
/// pairs or a constant variable.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    let rx = ranks(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let ry = ranks(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let n = pairs.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in rx.iter().zip(&ry) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if pairs.len() < 2 || sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// 1-based ranks, ties at their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        idx[i..=j].iter().for_each(|&k| r[k] = avg);
        i = j + 1;
    }
    r
}

#[cfg(test)]
mod tests;
