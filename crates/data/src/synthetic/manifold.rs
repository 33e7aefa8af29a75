//! Linear manifold data (docs/theory.md section 2): latent blocks of (dim, std) embedded by
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
    /// The paper's configuration (Achilli et al., arXiv 2410.08727; authors' generator
    /// `generate_linear_model_spectrum` in `synthetic-experiments/synthetic_score_common.py`
    /// of github beatriceachilli/losing-dimensions, `is_normalized=True` in every figure):
    /// d = 30, 2 directions with std 1.0, 5 with std 0.3, the other 23 with std 0.01, every
    /// sample scaled to unit norm; random embedding, seed 0. The data spec `manifold:paper`.
    pub fn paper() -> ManifoldSpec {
        ManifoldSpec {
            normalize: true,
            ..ManifoldSpec::paper_raw()
        }
    }

    /// The paper's configuration WITHOUT the unit-norm scaling (the data spec
    /// `manifold:paper-raw`, equal to `manifold:paper,normalize=false`). Its two blocks have
    /// nearly equal critical levels (docs/theory.md section 2, unnormalised formula), so the paper's
    /// central effect, the high-variance block collapsing first, barely shows.
    pub fn paper_raw() -> ManifoldSpec {
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
        if let Some(b) = self
            .blocks
            .iter()
            .find(|b| b.0 == 0 || b.1.is_nan() || b.1 <= 0.0)
        {
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
        if !self.ambient.is_finite() || self.ambient < 0.0 {
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
            mixture: None,
        }
    }

    /// Skips `skip` samples of `rng`'s stream and returns the next `n`, row-major.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, skip: usize, n: usize) -> Vec<f32> {
        self.core.sample(rng, skip, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::assert_moments;

    /// Variance of the samples along unit direction `u`.
    fn var_along(x: &[f32], d: usize, u: &[f64]) -> f64 {
        let p: Vec<f64> = x
            .chunks(d)
            .map(|r| r.iter().zip(u).map(|(a, b)| f64::from(*a) * b).sum())
            .collect();
        let m = p.iter().sum::<f64>() / p.len() as f64;
        p.iter().map(|v| (v - m).powi(2)).sum::<f64>() / p.len() as f64
    }

    #[test]
    fn paper_rows_have_unit_norm() {
        // The authors normalise every row (`is_normalized=True`); so does `manifold:paper`.
        let m = Manifold::new(&ManifoldSpec::paper()).unwrap();
        let x = m.sample(&mut stream(0, Purpose::TrainSamples, 0), 0, 500);
        for r in x.chunks(30) {
            let norm = r.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-6, "{norm}");
        }
        let raw = Manifold::new(&ManifoldSpec::paper_raw()).unwrap();
        let y = raw.sample(&mut stream(0, Purpose::TrainSamples, 0), 0, 500);
        assert!(y.chunks(30).any(|r| {
            let n2: f32 = r.iter().map(|v| v * v).sum();
            (n2.sqrt() - 1.0).abs() > 0.1
        }));
        // Same generator before the scaling: the rows are parallel.
        for (a, b) in x.chunks(30).zip(y.chunks(30)).take(20) {
            let nb: f32 = b.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!(a.iter().zip(b).all(|(p, q)| (p - q / nb).abs() < 1e-5));
        }
    }

    #[test]
    fn paper_raw_per_block_variances() {
        let m = Manifold::new(&ManifoldSpec::paper_raw()).unwrap();
        let n = 20000;
        let x = m.sample(&mut stream(0, Purpose::TrainSamples, 0), 0, n);
        let blocks = m.blocks();
        assert_eq!(blocks.len(), 2);
        // A sample variance of a Gaussian has relative std sqrt(2/n) = 1%; allow 5%.
        for b in &blocks {
            for j in 0..b.dim {
                let u: Vec<f64> = (0..30).map(|i| b.basis[i * b.dim + j]).collect();
                let v = var_along(&x, 30, &u);
                assert!(
                    (v / (b.std * b.std) - 1.0).abs() < 0.05,
                    "std {} var {v}",
                    b.std
                );
            }
        }
        // Ambient directions: the remaining principal directions.
        let vars = m.variances();
        assert_eq!(vars[7..], [1e-4; 23]);
        let t = m.truth();
        assert_moments(&x, 30, &t.mean, &t.cov.dense());
        assert_eq!(t.ambient_std, Some(0.01));
        let trace: f64 = (0..30).map(|i| t.cov.dense()[i * 30 + i]).sum();
        assert!((trace - (2.0 + 5.0 * 0.09 + 23.0 * 1e-4)).abs() < 1e-9);
    }

    #[test]
    fn bases_are_orthonormal_and_axis_mode_uses_coordinates() {
        let m = Manifold::new(&ManifoldSpec::paper()).unwrap();
        let cols: Vec<Vec<f64>> = m
            .blocks()
            .iter()
            .flat_map(|b| {
                (0..b.dim)
                    .map(|j| (0..30).map(|i| b.basis[i * b.dim + j]).collect())
                    .collect::<Vec<Vec<f64>>>()
            })
            .collect();
        for (a, u) in cols.iter().enumerate() {
            for (b, v) in cols.iter().enumerate() {
                let dot: f64 = u.iter().zip(v).map(|(x, y)| x * y).sum();
                assert!((dot - f64::from(u8::from(a == b))).abs() < 1e-12);
            }
        }
        let axis = Manifold::new(&ManifoldSpec {
            axis: true,
            ..ManifoldSpec::paper_raw()
        })
        .unwrap();
        let b = &axis.blocks()[1];
        // Block 2 = coordinates 2..7; basis column 0 is e_2.
        assert_eq!(b.basis[2 * 5], 1.0);
        assert_eq!(b.basis.iter().filter(|&&v| v != 0.0).count(), 5);
        let t = axis.truth();
        assert_eq!(t.cov.dense()[0], 1.0);
        assert!((t.cov.dense()[3 * 30 + 3] - 0.09).abs() < 1e-15);
    }

    #[test]
    fn normalised_samples_have_unit_norm_and_the_stated_covariance() {
        let spec = ManifoldSpec {
            d: 8,
            blocks: vec![(1, 1.0), (2, 0.3)],
            ambient: 0.05,
            normalize: true,
            axis: false,
            seed: 5,
        };
        let m = Manifold::new(&spec).unwrap();
        let x = m.sample(&mut stream(2, Purpose::TrainSamples, 5), 0, 20000);
        for r in x.chunks(8) {
            let norm: f32 = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5);
        }
        let t = m.truth();
        let trace: f64 = (0..8).map(|i| t.cov.dense()[i * 8 + i]).sum();
        assert!((trace - 1.0).abs() < 1e-9);
        assert_moments(&x, 8, &t.mean, &t.cov.dense());
    }

    #[test]
    fn invalid_structures() {
        let mut s = ManifoldSpec::paper();
        s.d = 5;
        assert!(matches!(Manifold::new(&s), Err(DataError::BadSpec { .. })));
        s.d = 0;
        assert!(matches!(Manifold::new(&s), Err(DataError::BadSize { .. })));
    }
}
