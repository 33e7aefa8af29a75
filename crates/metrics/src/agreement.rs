//! Two-model agreement (docs/theory.md §3; Kadkhodaie et al., "Generalization in diffusion models
//! arises from geometry-adaptive harmonic representations", arXiv 2310.02557).
//!
//! Two models trained on disjoint sets of the same size N sample from the same initial and
//! per-step noise, giving paired samples (a_i, b_i). Their agreement is the cosine similarity of
//! the mean-removed samples,
//!
//! ```text
//! cos(a, b) = <a - m_a, b - m_b> / (||a - m_a|| ||b - m_b||)
//! ```
//!
//! near 1 when both models learned the same density (large N, generalisation) and near the
//! similarity of unrelated images when each reproduces its own training set (small N). The
//! same similarity between a sample and its nearest training image measures copying.
//! "Mean-removed" is [`Centering::PerSample`] by default (m_a = the mean pixel value of a, so a
//! brightness offset does not count); [`Centering::Image`] subtracts a fixed image such as the
//! training-set mean instead.

use serde::{Deserialize, Serialize};

use crate::summary::DistributionSummary;
use crate::{MetricsError, Result};

/// What is subtracted from each vector before the cosine similarity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Centering<'a> {
    /// Each vector's own mean over its D coordinates.
    #[default]
    PerSample,
    /// A fixed `[D]` image (e.g. the mean training image), the same for every vector.
    Image(&'a [f32]),
    /// Nothing: the plain cosine similarity.
    None,
}

impl Centering<'_> {
    /// A short name for metrics.json: `per-sample`, `image` or `none`.
    pub fn name(&self) -> &'static str {
        match self {
            Centering::PerSample => "per-sample",
            Centering::Image(_) => "image",
            Centering::None => "none",
        }
    }

    /// `v` minus its centre, in f64.
    fn apply(&self, v: &[f32]) -> Vec<f64> {
        match self {
            Centering::PerSample => {
                let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
                v.iter().map(|&x| x as f64 - mean).collect()
            }
            Centering::Image(c) => v
                .iter()
                .zip(*c)
                .map(|(&x, &m)| x as f64 - m as f64)
                .collect(),
            Centering::None => v.iter().map(|&x| x as f64).collect(),
        }
    }
}

/// Cosine similarity of centred `a` and `b`. When a centred vector is zero the angle is
/// undefined: the result is 1 if both are zero (the vectors differ by the centring only) and 0
/// otherwise.
fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    match (na > 0.0, nb > 0.0) {
        (true, true) => (dot / (na * nb)).clamp(-1.0, 1.0),
        (false, false) => 1.0,
        _ => 0.0,
    }
}

/// Check that `values` holds whole rows of `dim` and return the row count.
fn rows(what: &str, values: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || !values.len().is_multiple_of(dim) {
        return Err(MetricsError::Invalid(format!(
            "{what}: {} values are not rows of dimension {dim}",
            values.len()
        )));
    }
    Ok(values.len() / dim)
}

fn check_centering(centering: &Centering, dim: usize) -> Result<()> {
    match centering {
        Centering::Image(c) if c.len() != dim => Err(MetricsError::Invalid(format!(
            "centring image has {} values, samples have {dim}",
            c.len()
        ))),
        _ => Ok(()),
    }
}

/// cos(a_i, b_i) for paired rows of `a` and `b` (both `[M, dim]` row-major).
pub fn paired_cosine(a: &[f32], b: &[f32], dim: usize, centering: Centering) -> Result<Vec<f64>> {
    let (m, mb) = (
        rows("first samples", a, dim)?,
        rows("second samples", b, dim)?,
    );
    if m != mb {
        return Err(MetricsError::Invalid(format!(
            "{m} samples paired with {mb}"
        )));
    }
    check_centering(&centering, dim)?;
    Ok(a.chunks(dim)
        .zip(b.chunks(dim))
        .map(|(x, y)| cosine(&centering.apply(x), &centering.apply(y)))
        .collect())
}

/// `cos(x_i, train[nn[i]])`: each sample (`[M, dim]`) against the training image `nn[i]` (e.g. its
/// nearest neighbour, [`crate::nn::Neighbours::indices_at`]`(0)`) of `train` (`[N, dim]`).
pub fn nn_cosine(
    samples: &[f32],
    train: &[f32],
    dim: usize,
    nn: &[usize],
    centering: Centering,
) -> Result<Vec<f64>> {
    let (m, n) = (
        rows("samples", samples, dim)?,
        rows("training set", train, dim)?,
    );
    if nn.len() != m {
        return Err(MetricsError::Invalid(format!(
            "{} neighbour indices for {m} samples",
            nn.len()
        )));
    }
    if let Some(&bad) = nn.iter().find(|&&j| j >= n) {
        return Err(MetricsError::Invalid(format!(
            "neighbour index {bad} >= N = {n}"
        )));
    }
    check_centering(&centering, dim)?;
    Ok(samples
        .chunks(dim)
        .zip(nn)
        .map(|(x, &j)| {
            cosine(
                &centering.apply(x),
                &centering.apply(&train[j * dim..(j + 1) * dim]),
            )
        })
        .collect())
}

/// Agreement metrics of two models, as written to metrics.json (Kadkhodaie et al., arXiv
/// 2310.02557).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementSummary {
    /// M, the number of sample pairs (a_i, b_i) generated from the same noise.
    pub num_pairs: usize,
    /// What "mean-removed" subtracts: `per-sample` (each image's mean pixel), `image` (a fixed
    /// mean image) or `none`.
    pub centering: String,
    /// Distribution over pairs of cos(a_i - m, b_i - m); `mean` is the headline agreement.
    pub cosine: DistributionSummary,
    /// Distribution of cos(a_i - m, NN_A(a_i) - m), model A's samples against their nearest
    /// image in A's training set, if computed.
    pub nn_cosine_a: Option<DistributionSummary>,
    /// The same for model B against B's training set, if computed.
    pub nn_cosine_b: Option<DistributionSummary>,
}

/// Summarise per-pair similarities and, optionally, each model's sample-to-nearest-training
/// similarities.
pub fn summarize(
    paired: &[f64],
    nn_a: Option<&[f64]>,
    nn_b: Option<&[f64]>,
    centering: Centering,
) -> AgreementSummary {
    AgreementSummary {
        num_pairs: paired.len(),
        centering: centering.name().to_string(),
        cosine: DistributionSummary::of(paired),
        nn_cosine_a: nn_a.map(DistributionSummary::of),
        nn_cosine_b: nn_b.map(DistributionSummary::of),
    }
}

#[cfg(test)]
mod tests;
