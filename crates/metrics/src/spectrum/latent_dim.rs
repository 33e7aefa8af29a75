//! Latent dimension from a descending spectrum of -J (or of a score matrix).
//!
//! Normal and memorised directions give the largest values (1 / (1 - abar_t) for an exact
//! score), directions the model keeps give smaller ones, so the kept directions are the
//! values after the drop. Two estimators (docs/theory.md §2):
//!
//! - cliff (Achilli et al., arXiv 2410.08727, authors' `estimate_manifold_dim`): drop the
//!   first `d_bar` values, take the absolute second difference
//!   |v_{i+1} - 2 v_i + v_{i-1}| and its median m; the cliff is the first index i with a
//!   second difference above c * m. The latent dimension is the number of values after
//!   index i. On a step (values a, ..., a, b, ..., b) the first spike sits on the last `a`,
//!   so this counts exactly the `b`s: the tangent directions. The authors' code returns one
//!   more: their `estimate_manifold_dim` (github beatriceachilli/losing-dimensions,
//!   `image_experiments/plot_svds_data.ipynb`) takes the spike index j of the second
//!   difference of the trimmed spectrum, n = j + 1, k = n + d_bar and returns d - k with d the
//!   number of values, while ours is d - 1 - (d_bar + j + 1): authors' = ours + 1, counting
//!   the cliff point itself. Every output carries both ([`Dims::cliff_authors`]).
//! - pooled cliff ([`pooled_median`], [`cliff_pooled`]): what the authors' code actually
//!   computes when it is given the spectra of many images at once. Their `estimate_manifold_dim`
//!   takes the median of the second differences over *all* images' trimmed spectra (one
//!   threshold c * m for the whole set) and then looks for spikes in each image; its docstring
//!   describes a per-image median. The pooled threshold is the same for every image, so an
//!   image whose own spectrum is rough (large second differences everywhere) is judged against
//!   the set's typical roughness instead of its own. We keep the first spike per image under the
//!   pooled threshold (their code lists every spike); the first-cliff-per-image estimate above
//!   stays the default, and both are reported.
//! - largest gap (Stanczuk et al., arXiv 2212.12611): i* = argmax_i (v_i - v_{i+1}), latent
//!   dimension = number of values after i*, i.e. k = d - i* with 1-based i*.
//!
//! A perfectly flat spectrum has no cliff: every second difference is round-off and the
//! median is ~0, so any value would pass "c times the median". Both estimators therefore
//! ignore differences below `floor` times the largest |value|; with no cliff the spectrum is
//! one level and [`Flat`] says what that level means (all directions normal: dimension 0;
//! all kept: the full length).

use serde::{Deserialize, Serialize};

/// Parameters of the estimators.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DimParams {
    /// Leading values skipped by the cliff estimator (authors: 5).
    pub d_bar: usize,
    /// Spike threshold in multiples of the median second difference (authors: 10).
    pub c: f64,
    /// Smallest second difference or gap, relative to the largest |value|, that counts as a
    /// cliff (guards flat spectra).
    pub floor: f64,
}

impl Default for DimParams {
    fn default() -> Self {
        Self {
            d_bar: 5,
            c: 10.0,
            floor: 1e-2,
        }
    }
}

/// What a spectrum without a cliff means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flat {
    /// Every direction is at the normal level: nothing is kept (dimension 0).
    Zero,
    /// Every direction is kept (dimension = number of values).
    Full,
}

impl Flat {
    /// Decides from the raw level of -J: a spectrum whose median times the DDPM noise variance
    /// 1 - abar_t is at least 1/2 sits at the normal level 1 / (1 - abar_t).
    pub fn from_level(raw: &[f64], ddpm_sigma2: f64) -> Flat {
        let mut v: Vec<f64> = raw.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let median = crate::summary::quantile_sorted(&v, 0.5);
        if median * ddpm_sigma2 >= 0.5 {
            Flat::Zero
        } else {
            Flat::Full
        }
    }

    /// The dimension a flat spectrum of `len` values stands for.
    pub fn dim(self, len: usize) -> usize {
        match self {
            Flat::Zero => 0,
            Flat::Full => len,
        }
    }
}

/// Both estimates for one spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Cliff estimate (tangent directions: the values after the cliff point).
    pub cliff: usize,
    /// The same cliff in the authors' convention, `cliff + 1` when a cliff is found (their
    /// count includes the cliff point); equal to `cliff` for a flat spectrum.
    pub cliff_authors: usize,
    /// Largest-gap estimate.
    pub gap: usize,
    /// False when the cliff estimator found no cliff and `cliff` comes from [`Flat`].
    pub cliff_found: bool,
    /// False when the largest gap was below the floor and `gap` comes from [`Flat`].
    pub gap_found: bool,
}

/// Cliff estimator on a descending spectrum; `None` when no second difference passes both
/// c * median and the floor, or when there are fewer than d_bar + 3 values.
pub fn cliff(values: &[f64], p: &DimParams) -> Option<usize> {
    let d2 = second_differences(values, p.d_bar)?;
    cliff_above(values, &d2, p, median(&d2))
}

/// The median of the trimmed second differences pooled over every spectrum of `spectra`
/// (the authors' threshold base); NaN when no spectrum has d_bar + 3 values.
pub fn pooled_median(spectra: &[Vec<f64>], p: &DimParams) -> f64 {
    let all: Vec<f64> = spectra
        .iter()
        .filter_map(|v| second_differences(v, p.d_bar))
        .flatten()
        .collect();
    median(&all)
}

/// The first cliff of `values` whose second difference passes c times the pooled median
/// `pooled` (from [`pooled_median`] over the set `values` belongs to) and the floor; `None`
/// when there is none.
pub fn cliff_pooled(values: &[f64], p: &DimParams, pooled: f64) -> Option<usize> {
    let d2 = second_differences(values, p.d_bar)?;
    cliff_above(values, &d2, p, pooled)
}

/// |v_{i+1} - 2 v_i + v_{i-1}| of the spectrum after its first `d_bar` values: entry j is
/// centred on values[d_bar + j + 1]. `None` below d_bar + 3 values.
fn second_differences(values: &[f64], d_bar: usize) -> Option<Vec<f64>> {
    (values.len() >= d_bar + 3).then(|| {
        values[d_bar..]
            .windows(3)
            .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
            .collect()
    })
}

/// The count after the first second difference above c * `median` and the floor.
fn cliff_above(values: &[f64], d2: &[f64], p: &DimParams, median: f64) -> Option<usize> {
    let floor = p.floor * max_abs(values);
    let j = d2.iter().position(|&v| v > p.c * median && v > floor)?;
    let cliff_index = p.d_bar + j + 1;
    Some(values.len() - 1 - cliff_index)
}

/// The median of `v` (NaN when empty): [`crate::summary::median`].
fn median(v: &[f64]) -> f64 {
    crate::summary::median(v).unwrap_or(f64::NAN)
}

/// Largest-gap estimator on a descending spectrum; `None` when the largest gap is below the
/// floor or there are fewer than two values.
pub fn largest_gap(values: &[f64], floor: f64) -> Option<usize> {
    let n = values.len();
    let (i, gap) = values
        .windows(2)
        .map(|w| w[0] - w[1])
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    (gap > floor * max_abs(values)).then(|| n - 1 - i)
}

/// Both estimators, with `flat` deciding the dimension when no cliff or gap is found.
pub fn estimate(values: &[f64], p: &DimParams, flat: Flat) -> Dims {
    let c = cliff(values, p);
    let g = largest_gap(values, p.floor);
    let cliff = c.unwrap_or_else(|| flat.dim(values.len()));
    Dims {
        cliff,
        cliff_authors: c.map_or(cliff, authors_cliff),
        gap: g.unwrap_or_else(|| flat.dim(values.len())),
        cliff_found: c.is_some(),
        gap_found: g.is_some(),
    }
}

/// Our cliff count in the authors' convention (module docs): one more.
pub fn authors_cliff(cliff: usize) -> usize {
    cliff + 1
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transcription of the authors' `estimate_manifold_dim` for one spectrum (median over
    /// that spectrum's second differences, first spike), to check the +1 between conventions.
    fn authors_estimate(v: &[f64], c: f64, d_bar: usize) -> Option<usize> {
        let d = v.len();
        let trimmed = &v[d_bar..];
        let d2: Vec<f64> = (0..trimmed.len() - 2)
            .map(|i| (trimmed[i + 2] - 2.0 * trimmed[i + 1] + trimmed[i]).abs())
            .collect();
        let mut s = d2.clone();
        s.sort_by(f64::total_cmp);
        let m = if s.len() % 2 == 1 {
            s[s.len() / 2]
        } else {
            0.5 * (s[s.len() / 2 - 1] + s[s.len() / 2])
        };
        let j = d2.iter().position(|&x| x > c * m)?;
        let n = j + 1;
        let k = n + d_bar;
        Some(d - k)
    }

    /// A two-level spectrum of 29 values, `low` of them at 0.2 and the rest at 1, minus a
    /// smooth bend (second differences 2 `bend`) and a zigzag (second differences 2 `zig`).
    fn step(low: usize, bend: f64, zig: f64) -> Vec<f64> {
        (0..29)
            .map(|i| {
                let level = if i < 29 - low { 1.0 } else { 0.2 };
                level - bend * (i * i) as f64 - zig * (i % 2) as f64
            })
            .collect()
    }

    /// Known answers for the pooled threshold. On identical spectra it is each one's own
    /// median, so both estimators agree. It is the median of all images' trimmed second
    /// differences together (checked against that definition). And it judges every image by
    /// the set's roughness, not its own: a rough image (zigzag second differences of 0.1, its
    /// cliff's 0.7-0.9 below 10 x its own median) has no cliff alone, but among smooth images
    /// it spikes at its first rough point (22 values after d_bar + 1); a smooth image's cliff
    /// (0.8) is found alone and lost among rough images (threshold 10 x 0.1).
    #[test]
    fn pooled_threshold_is_the_sets_median_of_second_differences() {
        let p = DimParams::default();
        let smooth = step(7, 1e-5, 0.0);
        let rough = step(7, 0.0, 0.05);
        let m = pooled_median(&vec![smooth.clone(); 4], &p);
        assert_eq!(cliff_pooled(&smooth, &p, m), cliff(&smooth, &p));
        assert_eq!(cliff(&smooth, &p), Some(7));
        assert_eq!(cliff(&rough, &p), None);
        let mostly_smooth = vec![
            smooth.clone(),
            smooth.clone(),
            smooth.clone(),
            rough.clone(),
        ];
        let mut all: Vec<f64> = Vec::new();
        for v in &mostly_smooth {
            let t = &v[p.d_bar..];
            all.extend((0..t.len() - 2).map(|i| (t[i + 2] - 2.0 * t[i + 1] + t[i]).abs()));
        }
        all.sort_by(f64::total_cmp);
        let want = 0.5 * (all[all.len() / 2 - 1] + all[all.len() / 2]);
        let got = pooled_median(&mostly_smooth, &p);
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
        assert_eq!(cliff_pooled(&rough, &p, got), Some(29 - 1 - (p.d_bar + 1)));
        assert_eq!(cliff_pooled(&smooth, &p, got), Some(7));
        let mostly_rough = vec![smooth.clone(), rough.clone(), rough.clone(), rough];
        let m = pooled_median(&mostly_rough, &p);
        assert!((m - 0.1).abs() < 1e-9, "{m}");
        assert_eq!(cliff_pooled(&smooth, &p, m), None);
        assert!(
            pooled_median(&[vec![1.0; 3]], &p).is_nan(),
            "too short: no median"
        );
    }

    #[test]
    fn authors_convention_is_ours_plus_one() {
        let p = DimParams::default();
        // A noisy two-level spectrum with 7 low values (the paper's manifold dimension).
        for low in [3usize, 7, 12] {
            let v: Vec<f64> = (0..29)
                .map(|i| {
                    // A smooth (quadratic) wiggle: constant second differences everywhere but at the cliff.
                    let wiggle = 1e-5 * (i * i) as f64;
                    if i < 29 - low {
                        1.0 - wiggle
                    } else {
                        0.2 - wiggle
                    }
                })
                .collect();
            let ours = estimate(&v, &p, Flat::Zero);
            assert!(ours.cliff_found);
            assert_eq!(ours.cliff, low);
            let theirs = authors_estimate(&v, p.c, p.d_bar).unwrap();
            assert_eq!(theirs, low + 1);
            assert_eq!(ours.cliff_authors, theirs);
        }
        let flat = estimate(&[1.0; 20], &p, Flat::Zero);
        assert_eq!((flat.cliff, flat.cliff_authors), (0, 0));
    }
}
