//! The authors' score-matrix method (Achilli et al., arXiv 2410.08727; code
//! `analyze_spectrum.py` for tabular data, `run_svd.py` for images).
//!
//! At a point x (in the DDPM coordinates of timestep t, sqrt(abar_t) x0 for a data point x0)
//! and sigma = sqrt(1 - abar_t), evaluate the score at K perturbations x + sigma q_j and stack
//! the rows s(x + sigma q_j) / sigma into S (K x D). To first order
//! s(x + sigma q) / sigma = s(x) / sigma + J q, so S = 1 s(x)^T / sigma + Q J^T: apart from
//! the rank-one term (dropped by the normalisation, [`super::svd::normalise`]) its singular
//! values are those of J. With `symmetric` the rows are (s(x + sigma q_j) - s(x - sigma q_j))
//! / (2 sigma) (authors' "symmetrized" variant), which removes the rank-one term and the
//! second-order term; for a linear score, S = Q J^T exactly.
//!
//! Perturbations q_j:
//! - [`Perturbation::Haar`] (tabular data): rows of ceil(K / D) independent Haar-random D x D
//!   orthogonal matrices, K = round(k D) rows in all (authors: K = D).
//! - [`Perturbation::ImageBlocks`] (images, authors' `get_ortho_noise`): each q_j holds, per
//!   channel, an independent Haar-random orthogonal H x W block (the top-left H x W corner of a
//!   max(H, W) square one when H != W); authors: K = 4 D.
//!
//! S is scaled by sqrt(D / sum_j ||q_j||^2) so that E[S^T S] matches J J^T for both kinds:
//! the raw singular values then estimate those of J (the normalised spectrum is unchanged).
//! S is never stored: its Gram matrix S^T S is accumulated over chunks of perturbations.

use super::field::{NoiseLevels, ScoreField};
use super::svd::gram_singular_values;
use crate::{MetricsError, Result};
use diffmem_data::SampleShape;
use diffmem_data::synthetic::haar_orthogonal;
use faer::Mat;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Perturbations evaluated per chunk of the Gram accumulation.
const CHUNK: usize = 1024;

/// How the orthogonal perturbations are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Perturbation {
    /// Rows of Haar-random D x D orthogonal matrices (tabular data).
    Haar,
    /// One Haar-random orthogonal H x W block per channel and perturbation (images).
    ImageBlocks {
        /// Channels C.
        channels: usize,
        /// Height H.
        height: usize,
        /// Width W.
        width: usize,
    },
}

impl Perturbation {
    /// The authors' choice for a sample shape: blocks for images, Haar rows otherwise.
    pub fn for_shape(shape: SampleShape) -> Self {
        match shape {
            SampleShape::Image { c, h, w } => Perturbation::ImageBlocks {
                channels: c,
                height: h,
                width: w,
            },
            SampleShape::Flat { .. } => Perturbation::Haar,
        }
    }

    fn check(&self, d: usize) -> Result<()> {
        match *self {
            Perturbation::Haar => Ok(()),
            Perturbation::ImageBlocks {
                channels,
                height,
                width,
            } if channels * height * width == d && d > 0 => Ok(()),
            Perturbation::ImageBlocks {
                channels,
                height,
                width,
            } => Err(MetricsError::Invalid(format!(
                "image blocks {channels} x {height} x {width} do not match dimension {d}"
            ))),
        }
    }
}

/// Settings of the score-matrix method.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreMatrixConfig {
    /// K = round(k_mult * D) perturbations (authors: 1 for tabular data, 4 for images).
    pub k_mult: f64,
    /// How the perturbations are drawn.
    pub perturbation: Perturbation,
    /// Use the symmetrised difference (s(x + sigma q) - s(x - sigma q)) / 2.
    pub symmetric: bool,
}

impl ScoreMatrixConfig {
    /// Number of perturbations K for dimension `d` (at least 1).
    pub fn count(&self, d: usize) -> usize {
        ((self.k_mult * d as f64).round() as usize).max(1)
    }
}

/// Draws perturbations one D x D (Haar) or one per sample (blocks) at a time.
struct Draws<'r> {
    d: usize,
    kind: Perturbation,
    rng: &'r mut ChaCha8Rng,
    pending: Vec<f64>,
}

impl Draws<'_> {
    /// The next perturbation q (length D).
    fn next(&mut self) -> Vec<f64> {
        let d = self.d;
        match self.kind {
            Perturbation::Haar => {
                if self.pending.is_empty() {
                    self.pending = haar_orthogonal(d, self.rng);
                }
                let rest = self.pending.split_off(d);
                std::mem::replace(&mut self.pending, rest)
            }
            Perturbation::ImageBlocks {
                channels,
                height,
                width,
            } => {
                let m = height.max(width);
                let mut q = Vec::with_capacity(d);
                for _ in 0..channels {
                    let block = haar_orthogonal(m, self.rng);
                    for r in 0..height {
                        q.extend_from_slice(&block[r * m..r * m + width]);
                    }
                }
                q
            }
        }
    }
}

/// Singular values (descending, min(K, D) of them) of the scaled score matrix of `field` at
/// point `x` (length D, DDPM coordinates) and timestep index `t`, perturbations from `rng`.
pub fn score_matrix_singular_values(
    field: &dyn ScoreField,
    x: &[f64],
    t: usize,
    levels: &NoiseLevels,
    cfg: &ScoreMatrixConfig,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f64>> {
    let d = field.dim();
    levels.check(t)?;
    cfg.perturbation.check(d)?;
    if x.len() != d {
        return Err(MetricsError::Invalid(format!(
            "a point of dimension {} for a score of dimension {d}",
            x.len()
        )));
    }
    let sigma = levels.ddpm_sigma2(t).sqrt();
    let count = cfg.count(d);
    let mut draws = Draws {
        d,
        kind: cfg.perturbation,
        rng,
        pending: Vec::new(),
    };
    let mut gram = Mat::<f64>::zeros(d, d);
    let mut q_norm2 = 0.0;
    let mut done = 0;
    while done < count {
        let k = CHUNK.min(count - done);
        let qs: Vec<Vec<f64>> = (0..k).map(|_| draws.next()).collect();
        q_norm2 += qs.iter().flatten().map(|v| v * v).sum::<f64>();
        let shifted = |sign: f64| -> Vec<f64> {
            qs.iter()
                .flat_map(|q| x.iter().zip(q).map(move |(xi, qi)| xi + sign * sigma * qi))
                .collect()
        };
        let plus = field.score(&shifted(1.0), t)?;
        let rows: Vec<f64> = if cfg.symmetric {
            let minus = field.score(&shifted(-1.0), t)?;
            plus.iter()
                .zip(&minus)
                .map(|(p, m)| (p - m) / (2.0 * sigma))
                .collect()
        } else {
            plus.iter().map(|p| p / sigma).collect()
        };
        let s = Mat::<f64>::from_fn(k, d, |i, j| rows[i * d + j]);
        gram += s.transpose() * &s;
        done += k;
    }
    let scale = d as f64 / q_norm2;
    let values = gram_singular_values(&(gram * faer::Scale(scale)), count.min(d))?;
    Ok(values)
}
