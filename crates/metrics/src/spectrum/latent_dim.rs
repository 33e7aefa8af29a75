//! Latent dimension from a descending spectrum of -J (or of a score matrix).
//!
//! Normal and memorised directions give the largest values (1 / (1 - abar_t) for an exact
//! score), directions the model keeps give smaller ones, so the kept directions are the
//! values after the drop. Two estimators (THEORY.md §2):
//!
//! - cliff (Achilli et al., arXiv 2410.08727, authors' `estimate_manifold_dim`): drop the
//!   first `d_bar` values, take the absolute second difference
//!   |v_{i+1} - 2 v_i + v_{i-1}| and its median m; the cliff is the first index i with a
//!   second difference above c * m. The latent dimension is the number of values after
//!   index i. On a step (values a, ..., a, b, ..., b) the first spike sits on the last `a`,
//!   so this counts exactly the `b`s. (The authors' code returns one more, counting the
//!   cliff point itself.)
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

    fn dim(self, len: usize) -> usize {
        match self {
            Flat::Zero => 0,
            Flat::Full => len,
        }
    }
}

/// Both estimates for one spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Cliff estimate.
    pub cliff: usize,
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
    let n = values.len();
    if n < p.d_bar + 3 {
        return None;
    }
    let trimmed = &values[p.d_bar..];
    // d2[j] is centred on trimmed[j + 1], i.e. on values[d_bar + j + 1].
    let d2: Vec<f64> = trimmed
        .windows(3)
        .map(|w| (w[2] - 2.0 * w[1] + w[0]).abs())
        .collect();
    let mut sorted = d2.clone();
    sorted.sort_by(f64::total_cmp);
    let median = crate::summary::quantile_sorted(&sorted, 0.5);
    let floor = p.floor * max_abs(values);
    let j = d2.iter().position(|&v| v > p.c * median && v > floor)?;
    let cliff_index = p.d_bar + j + 1;
    Some(n - 1 - cliff_index)
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
    Dims {
        cliff: c.unwrap_or_else(|| flat.dim(values.len())),
        gap: g.unwrap_or_else(|| flat.dim(values.len())),
        cliff_found: c.is_some(),
        gap_found: g.is_some(),
    }
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}
