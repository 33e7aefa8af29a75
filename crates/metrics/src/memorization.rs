//! The memorisation ratio of generated samples and its held-out control (docs/theory.md §3).
//!
//! Gu et al., "On Memorization in Diffusion Models", arXiv 2310.02664: with d_j(x) the distance
//! from a generated sample x to its j-th nearest training image, normalised by sqrt(D)
//! ([`crate::nn`]), x is *memorised* when
//!
//! ```text
//! d_1(x) / d_2(x) < tau        (tau = 1/3)
//! ```
//!
//! i.e. x is much closer to one training image than to any other, and the memorisation ratio is
//! R_mem = #{memorised samples} / M. As a control, the same distances are measured to a held-out
//! set never used in training: a memorising model's samples sit on training images and far from
//! held-out ones, a generalising model's samples are about as close to either.
//!
//! Duplicated training images: NN_2(x) is the nearest training image *distinct by value* from
//! NN_1(x) (search with [`crate::nn::nearest_distinct_neighbours`]), so a copy of an image
//! stored twice is memorised whatever float noise it carries; ties go to the lower index.

use serde::{Deserialize, Serialize};

use crate::nn::Neighbours;
use crate::summary::DistributionSummary;
use crate::{MetricsError, Result};

/// tau = 1/3, the threshold of Gu et al. on d_1/d_2.
pub const DEFAULT_THRESHOLD: f64 = 1.0 / 3.0;

/// d_1(x)/d_2(x) of every sample from its neighbours in the training set (needs k >= 2).
/// An exact copy of a training image that occurs twice in the training set has d_1 = d_2 = 0;
/// its ratio is defined as 0 (it is a verbatim copy, so it counts as memorised).
pub fn nn_ratios(train: &Neighbours) -> Result<Vec<f64>> {
    let (d1, d2) = (train.distances_at(0)?, train.distances_at(1)?);
    Ok(d1
        .iter()
        .zip(&d2)
        .map(|(&a, &b)| if b > 0.0 { a / b } else { 0.0 })
        .collect())
}

/// `R_mem = #{i : ratios[i] < threshold} / M` (strict inequality). The threshold must lie in
/// (0, 1): 0 would memorise nothing and 1 or more everything (d_1 <= d_2); the list must not
/// be empty.
pub fn memorization_fraction(ratios: &[f64], threshold: f64) -> Result<f64> {
    check_threshold(threshold)?;
    if ratios.is_empty() {
        return Err(MetricsError::Invalid(
            "R_mem of an empty set of samples".into(),
        ));
    }
    Ok(ratios.iter().filter(|&&r| r < threshold).count() as f64 / ratios.len() as f64)
}

fn check_threshold(threshold: f64) -> Result<()> {
    if threshold > 0.0 && threshold < 1.0 {
        Ok(())
    } else {
        Err(MetricsError::Invalid(format!(
            "memorisation threshold must lie in (0, 1) (Gu et al. use 1/3), got {threshold}"
        )))
    }
}

/// Memorisation metrics of M generated samples, as written to metrics.json. Distances d_j are
/// ||x - NN_j(x)||_2 / sqrt(D) (Gu et al., arXiv 2310.02664; docs/theory.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorizationSummary {
    /// M, the number of generated samples measured.
    pub num_samples: usize,
    /// D, the number of pixels per sample (distances are divided by sqrt(D)).
    pub dim: usize,
    /// tau: a sample x is memorised when d_1(x)/d_2(x) < tau (Gu et al. use 1/3).
    pub threshold: f64,
    /// R_mem = #{x : d_1(x)/d_2(x) < tau} / M, the fraction of memorised samples.
    pub r_mem: f64,
    /// Number of samples equal to a training image (d_1 = 0 exactly).
    pub exact_copies: usize,
    /// Distribution of d_1(x) = ||x - NN_1(x)|| / sqrt(D), the distance to the nearest training
    /// image.
    pub d1: DistributionSummary,
    /// Distribution of d_2(x), the distance to the second-nearest training image.
    pub d2: DistributionSummary,
    /// Distribution of d_1(x)/d_2(x) (0 when d_1 = d_2 = 0).
    pub ratio: DistributionSummary,
    /// The same distances to a held-out set never trained on, if one was given.
    pub heldout: Option<HeldoutControl>,
    /// Training rows equal to an earlier training row (0 when every row is distinct); d_2 is
    /// measured to the nearest training image distinct by value from NN_1 (module doc).
    #[serde(default)]
    pub duplicate_train_rows: usize,
}

/// Distances of the generated samples to a held-out set (the control of Gu et al.).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldoutControl {
    /// Distribution of d_1^held(x) = ||x - NN_1^held(x)|| / sqrt(D), the distance to the nearest
    /// held-out image.
    pub d1: DistributionSummary,
    /// #{x : d_1^held(x) < d_1(x)} / M: the fraction of samples strictly closer to some held-out
    /// image than to every training image. Near 0 for a model that copies its training set; for
    /// a model that samples the data distribution, near N_held / (N_held + N_train).
    pub frac_closer_to_heldout: f64,
    /// R_mem computed against the held-out set, #{x : d_1^held/d_2^held < tau} / M, when two
    /// held-out neighbours were computed: how often the ratio test fires on images the model
    /// never saw (near duplicates in the data), a floor for R_mem.
    pub r_mem_heldout: Option<f64>,
}

/// One sample's row of the per-sample CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleMemorization {
    /// Index of the sample.
    pub sample: usize,
    /// Index of its nearest training image.
    pub nn1: usize,
    /// Index of its second-nearest training image.
    pub nn2: usize,
    /// d_1 = ||x - NN_1(x)|| / sqrt(D).
    pub d1: f64,
    /// d_2 = ||x - NN_2(x)|| / sqrt(D).
    pub d2: f64,
    /// d_1/d_2 (0 when both are 0).
    pub ratio: f64,
    /// Whether d_1/d_2 < tau.
    pub memorized: bool,
    /// d_1 to the held-out set, if one was given.
    pub d1_heldout: Option<f64>,
}

/// Summarise the neighbours of M samples in the training set (k >= 2) and, optionally, in a
/// held-out set (k >= 1; k >= 2 adds `r_mem_heldout`), with threshold tau.
pub fn summarize(
    train: &Neighbours,
    heldout: Option<&Neighbours>,
    threshold: f64,
) -> Result<MemorizationSummary> {
    let ratios = nn_ratios(train)?;
    let r_mem = memorization_fraction(&ratios, threshold)?;
    let (d1, d2) = (train.distances_at(0)?, train.distances_at(1)?);
    let heldout = heldout
        .map(|h| heldout_control(&d1, h, threshold))
        .transpose()?;
    Ok(MemorizationSummary {
        num_samples: ratios.len(),
        dim: train.dim,
        threshold,
        r_mem,
        exact_copies: d1.iter().filter(|&&d| d == 0.0).count(),
        d1: DistributionSummary::of(&d1),
        d2: DistributionSummary::of(&d2),
        ratio: DistributionSummary::of(&ratios),
        heldout,
        duplicate_train_rows: 0,
    })
}

/// The held-out control for training-set distances `d1_train`.
fn heldout_control(d1_train: &[f64], h: &Neighbours, threshold: f64) -> Result<HeldoutControl> {
    let d1 = h.distances_at(0)?;
    if d1.len() != d1_train.len() {
        return Err(MetricsError::Invalid(format!(
            "{} samples measured against the training set but {} against the held-out set",
            d1_train.len(),
            d1.len()
        )));
    }
    let closer = d1.iter().zip(d1_train).filter(|(h, t)| h < t).count();
    let r_mem_heldout = if h.k >= 2 {
        Some(memorization_fraction(&nn_ratios(h)?, threshold)?)
    } else {
        None
    };
    Ok(HeldoutControl {
        d1: DistributionSummary::of(&d1),
        frac_closer_to_heldout: closer as f64 / d1.len() as f64,
        r_mem_heldout,
    })
}

/// Per-sample distances, ratio and verdict (for a CSV), in sample order.
pub fn per_sample(
    train: &Neighbours,
    heldout: Option<&Neighbours>,
    threshold: f64,
) -> Result<Vec<SampleMemorization>> {
    check_threshold(threshold)?;
    let ratios = nn_ratios(train)?;
    let (d1, d2) = (train.distances_at(0)?, train.distances_at(1)?);
    let (nn1, nn2) = (train.indices_at(0)?, train.indices_at(1)?);
    let held = heldout.map(|h| h.distances_at(0)).transpose()?;
    if held.as_ref().is_some_and(|h| h.len() != ratios.len()) {
        return Err(MetricsError::Invalid(
            "training and held-out neighbours have different sample counts".into(),
        ));
    }
    Ok((0..ratios.len())
        .map(|i| SampleMemorization {
            sample: i,
            nn1: nn1[i],
            nn2: nn2[i],
            d1: d1[i],
            d2: d2[i],
            ratio: ratios[i],
            memorized: ratios[i] < threshold,
            d1_heldout: held.as_ref().map(|h| h[i]),
        })
        .collect())
}

#[cfg(test)]
mod tests;
