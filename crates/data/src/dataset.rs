//! The `Dataset` type every loader and generator produces.

use crate::covariance::Covariance;
use serde::{Deserialize, Serialize};

/// Shape of one sample: an image (channels, height, width) or a flat vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SampleShape {
    /// An image with `c` channels of `h` x `w` pixels, stored channel-major (C, H, W).
    Image {
        /// Channels (1 grey, 3 RGB).
        c: usize,
        /// Height in pixels.
        h: usize,
        /// Width in pixels.
        w: usize,
    },
    /// A flat vector of dimension `d`.
    Flat {
        /// Dimension.
        d: usize,
    },
}

impl SampleShape {
    /// Number of scalars per sample, D = C*H*W or d.
    pub fn dim(&self) -> usize {
        match *self {
            SampleShape::Image { c, h, w } => c * h * w,
            SampleShape::Flat { d } => d,
        }
    }
}

/// Where a dataset came from: the source description and the indices of the original
/// source that each row is (row i is original sample `indices[i]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Human-readable source, e.g. `mnist-5k (bundled) train` or `gaussian:d=100,...`.
    pub source: String,
    /// Original index of each row.
    pub indices: Vec<usize>,
}

/// One block of a linear manifold: `basis` is d x dim row-major (columns orthonormal),
/// samples have standard deviation `std` along each basis direction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifoldBlock {
    /// Number of latent directions in this block.
    pub dim: usize,
    /// Standard deviation along each direction of the block.
    pub std: f64,
    /// Orthonormal basis, d x dim, row-major.
    pub basis: Vec<f64>,
}

/// The true distribution of synthetic data, when it is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// True mean mu (length d).
    pub mean: Vec<f64>,
    /// True covariance Sigma, in factored form (`cov.dense()` for the d x d matrix).
    pub cov: Covariance,
    /// For linear manifolds: the blocks (the ambient directions are the complement).
    pub blocks: Option<Vec<ManifoldBlock>>,
    /// For linear manifolds: standard deviation of the ambient directions.
    pub ambient_std: Option<f64>,
    /// For Gaussian mixtures: the components. `mean` and `cov` are then the mixture's first
    /// two moments, not the parameters of a Gaussian (see [`Truth::not_gaussian`]).
    #[serde(default)]
    pub mixture: Option<MixtureTruth>,
}

/// The components of a Gaussian mixture with isotropic components N(mean_k, sigma^2 I).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixtureTruth {
    /// The component means, each of length d.
    pub means: Vec<Vec<f64>>,
    /// The component weights (summing to 1).
    pub weights: Vec<f64>,
    /// Standard deviation of every component along every axis.
    pub sigma: f64,
}

impl Truth {
    /// Why this truth is not a Gaussian N(mean, cov), or None when it is one (a Gaussian, or
    /// a linear manifold, whose `cov` is the one Gaussian-based metrics compare with). A
    /// Gaussian KL to the truth or the linear theory must refuse a truth that is not.
    pub fn not_gaussian(&self) -> Option<&'static str> {
        self.mixture.as_ref().map(|_| {
            "the data are a Gaussian mixture (mixture:...): its mean and covariance are known, \
             but it is not the Gaussian N(mean, cov)"
        })
    }
}

/// A dataset of `n` samples of dimension D stored as f32 `[n, D]` row-major.
/// Image data live in [-1, 1]; synthetic data are unbounded.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Row-major samples, length n * D.
    pub samples: Vec<f32>,
    /// Shape of one sample.
    pub shape: SampleShape,
    /// Optional class labels, one per sample.
    pub labels: Option<Vec<u32>>,
    /// Where the samples came from.
    pub provenance: Provenance,
    /// True distribution, for synthetic data.
    pub truth: Option<Truth>,
}

impl Dataset {
    /// Number of samples N.
    pub fn len(&self) -> usize {
        self.samples.len() / self.shape.dim().max(1)
    }

    /// True if the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Dimension D of one sample.
    pub fn dim(&self) -> usize {
        self.shape.dim()
    }

    /// Sample `i` as a slice of length D.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.samples[i * d..(i + 1) * d]
    }

    /// A new dataset made of rows `rows` (in that order); provenance indices follow the rows.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        let d = self.dim();
        let mut samples = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            samples.extend_from_slice(self.row(r));
        }
        Dataset {
            samples,
            shape: self.shape,
            labels: self
                .labels
                .as_ref()
                .map(|l| rows.iter().map(|&r| l[r]).collect()),
            provenance: Provenance {
                source: self.provenance.source.clone(),
                indices: rows.iter().map(|&r| self.provenance.indices[r]).collect(),
            },
            truth: self.truth.clone(),
        }
    }
}
