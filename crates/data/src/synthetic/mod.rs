//! Synthetic data with a known distribution: Gaussians with a chosen spectrum, linear
//! manifolds and the two-Gaussian mixture. Each exposes its true mean and covariance as a
//! [`Truth`] (the mixture's marks itself as not Gaussian).
//!
//! Streams: structure (rotation, random mean) comes from the spec's own `seed`; samples come
//! from a ChaCha8 stream keyed by (sample seed, train or test, structure seed). Train and test
//! streams are independent, and row k of a stream is always the same sample, so halves A and
//! B are rows 0..N and N..2N of the train stream and held-out rows come from the test stream.

pub mod gaussian;
mod linear;
pub mod manifold;
pub mod mixture;
pub mod rotation;
pub mod spectrum;
pub mod unit_norm;

pub use gaussian::{Gaussian, GaussianSpec, MeanSpec};
pub use manifold::{Manifold, ManifoldSpec};
pub use mixture::{Mixture, MixtureSpec};
pub use rotation::haar_orthogonal;
pub use spectrum::{Spectrum, parse_spectrum};

use crate::dataset::{Dataset, Provenance, SampleShape, Truth};
use crate::rng::{Purpose, stream};
use crate::split::Split;
use std::ops::Range;

/// One of the synthetic generators.
#[derive(Clone, Debug, PartialEq)]
pub enum Generator {
    /// A Gaussian with a chosen spectrum.
    Gaussian(Gaussian),
    /// A linear manifold.
    Manifold(Manifold),
    /// The two-Gaussian mixture.
    Mixture(Mixture),
}

impl Generator {
    /// Dimension d.
    pub fn dim(&self) -> usize {
        match self {
            Generator::Gaussian(g) => g.dim(),
            Generator::Manifold(m) => m.dim(),
            Generator::Mixture(m) => m.dim(),
        }
    }

    /// Structure seed of the distribution.
    pub fn structure_seed(&self) -> u64 {
        match self {
            Generator::Gaussian(g) => g.spec.seed,
            Generator::Manifold(m) => m.spec.seed,
            Generator::Mixture(m) => m.spec.seed,
        }
    }

    /// The true distribution.
    pub fn truth(&self) -> Truth {
        match self {
            Generator::Gaussian(g) => g.truth(),
            Generator::Manifold(m) => m.truth(),
            Generator::Mixture(m) => m.truth(),
        }
    }

    /// Rows `rows` of the `split` stream for sample seed `seed`, as a flat dataset with
    /// provenance indices = stream positions and the truth attached.
    pub fn dataset(&self, split: Split, seed: u64, rows: Range<usize>, source: String) -> Dataset {
        let purpose = match split {
            Split::Train => Purpose::TrainSamples,
            Split::Test => Purpose::TestSamples,
        };
        let mut rng = stream(seed, purpose, self.structure_seed());
        let (skip, n) = (rows.start, rows.len());
        let samples = match self {
            Generator::Gaussian(g) => g.sample(&mut rng, skip, n),
            Generator::Manifold(m) => m.sample(&mut rng, skip, n),
            Generator::Mixture(m) => m.sample(&mut rng, skip, n),
        };
        Dataset {
            samples,
            shape: SampleShape::Flat { d: self.dim() },
            labels: None,
            provenance: Provenance {
                source,
                indices: rows.collect(),
            },
            truth: Some(self.truth()),
        }
    }
}
