//! Linear manifold data (THEORY.md section 2): latent blocks of (dim, std) embedded by
//! orthonormal directions (Haar-random, or the first coordinates when `axis`), the remaining
//! d - sum(dim) directions with the ambient std, optionally every sample scaled to unit norm.
//!
//! [`Truth`] of a manifold: `mean` is zero; `blocks` hold each block's orthonormal basis
//! (d x dim) and std, `ambient_std` the ambient std, all describing the generator BEFORE
//! normalisation. `cov` is the covariance of the data actually produced: Q diag(std^2) Q^T
//! without normalisation; with `normalize=true` it is the exact covariance of x/|x|, which
//! has the same eigenvectors but eigenvalues E[y_i^2/|y|^2] (computed by quadrature, summing
//! to 1), not the block formula.

use super::linear::LinearGaussian;
use super::rotation::haar_orthogonal;
use crate::dataset::{ManifoldBlock, Truth};
use crate::error::DataError;
use crate::rng::{Purpose, stream};
use rand::Rng;

/// Parameters of a linear manifold (the `manifold:` data spec).
#[derive(Clone, Debug, PartialEq)]
pub struct ManifoldSpec {
    /// Ambient dimension d.
    pub d: usize,
    /// Latent blocks as (number of directions, std), in order.
    pub blocks: Vec<(usize, f64)>,
    /// Std of the d - sum(dim) ambient directions.
    pub ambient: f64,
    /// Scale every sample to unit Euclidean norm.
    pub normalize: bool,
    /// Use coordinate axes (block 1 = first coordinates, ...) instead of a random embedding.
    pub axis: bool,
    /// Structure seed (the random embedding).
    pub seed: u64,
}

impl ManifoldSpec {
    /// The paper's configuration (Achilli et al.): d = 30, 2 directions with std 1.0, 5 with
    /// std 0.3, the other 23 with std 0.01; random embedding, not normalised, seed 0.
    pub fn paper() -> ManifoldSpec {
        ManifoldSpec {
            d: 30,
            blocks: vec![(2, 1.0), (5, 0.3)],
            ambient: 0.01,
            normalize: false,
            axis: false,
            seed: 0,
        }
    }

    /// Total number of latent (block) directions.
    pub fn latent_dim(&self) -> usize {
        self.blocks.iter().map(|b| b.0).sum()
    }

    /// Checks the block structure fits in d with positive stds.
    pub fn validate(&self, spec: &str) -> Result<(), DataError> {
        let bad = |msg: String| DataError::BadSpec {
            spec: spec.into(),
            msg,
        };
        if self.d == 0 {
            return Err(DataError::BadSize {
                what: "d".into(),
                value: 0,
            });
        }
        if self.blocks.is_empty() {
            return Err(bad(
                "at least one block is needed, e.g. blocks=2x1.0+5x0.3".into()
            ));
        }
        if let Some(b) = self.blocks.iter().find(|b| b.0 == 0 || !(b.1 > 0.0)) {
            return Err(bad(format!(
                "block {}x{} needs at least one direction and a positive std",
                b.0, b.1
            )));
        }
        if self.latent_dim() > self.d {
            return Err(bad(format!(
                "the blocks have {} directions but d = {}",
                self.latent_dim(),
                self.d
            )));
        }
        if !(self.ambient >= 0.0) || !self.ambient.is_finite() {
            return Err(bad(format!("ambient std {} must be >= 0", self.ambient)));
        }
        Ok(())
    }

    /// The blocks as text, e.g. `2x1+5x0.3`.
    pub fn blocks_string(&self) -> String {
        let parts: Vec<String> = self
            .blocks
            .iter()
            .map(|(n, s)| format!("{n}x{s}"))
            .collect();
        parts.join("+")
    }
}

impl std::fmt::Display for ManifoldSpec {
    /// The canonical body of a `manifold:` spec, every key explicit.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "d={},blocks={},ambient={},normalize={},axis={},seed={}",
            self.d,
            self.blocks_string(),
            self.ambient,
            self.normalize,
            self.axis,
            self.seed
        )
    }
}

/// A linear manifold ready to sample, with its block bases and true covariance.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifold {
    /// The parameters it was built from.
    pub spec: ManifoldSpec,
    core: LinearGaussian,
}

impl Manifold {
    /// Builds the manifold: draws the embedding from the seed (unless `axis`).
    pub fn new(spec: &ManifoldSpec) -> Result<Manifold, DataError> {
        spec.validate(&format!("manifold:{spec}"))?;
        let d = spec.d;
        let basis =
            (!spec.axis).then(|| haar_orthogonal(d, &mut stream(spec.seed, Purpose::Structure, 0)));
        let mut scales: Vec<f64> = spec
            .blocks
            .iter()
            .flat_map(|&(n, s)| std::iter::repeat_n(s, n))
            .collect();
        scales.resize(d, spec.ambient);
        Ok(Manifold {
            spec: spec.clone(),
            core: LinearGaussian {
                mean: vec![0.0; d],
                basis,
                scales,
                normalize: spec.normalize,
            },
        })
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.spec.d
    }

    /// The blocks with their orthonormal bases (d x dim row-major).
    pub fn blocks(&self) -> Vec<ManifoldBlock> {
        let d = self.dim();
        let mut first = 0;
        self.spec
            .blocks
            .iter()
            .map(|&(dim, std)| {
                let cols: Vec<Vec<f64>> = (first..first + dim)
                    .map(|j| self.core.direction(j))
                    .collect();
                first += dim;
                let basis = (0..d * dim).map(|k| cols[k % dim][k / dim]).collect();
                ManifoldBlock { dim, std, basis }
            })
            .collect()
    }

    /// Variance of the produced data along each principal direction (blocks first, then
    /// ambient); equals std^2 unless `normalize`.
    pub fn variances(&self) -> Vec<f64> {
        self.core.variances()
    }

    /// Mean (zero), covariance of the produced data, blocks and ambient std (see the module
    /// documentation for what `cov` means when normalising).
    pub fn truth(&self) -> Truth {
        Truth {
            mean: self.core.mean.clone(),
            cov: self.core.covariance(),
            blocks: Some(self.blocks()),
            ambient_std: Some(self.spec.ambient),
        }
    }

    /// Skips `skip` samples of `rng`'s stream and returns the next `n`, row-major.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, skip: usize, n: usize) -> Vec<f32> {
        self.core.sample(rng, skip, n)
    }
}
