//! Synthetic Gaussian N(mu, Sigma) with Sigma = Q diag(lambda) Q^T: lambda from a
//! [`Spectrum`], Q the identity or Haar-random, mu zero, constant or random.
//!
//! Structure (Q, then a random mu) is drawn from the structure seed, in that order; samples
//! come from separate streams (see [`super::Generator`]), so the same structure seed always
//! gives the same mu and Sigma whatever samples are drawn.

use super::linear::LinearGaussian;
use super::rotation::{haar_orthogonal, normals};
use super::spectrum::{Spectrum, parse_real};
use crate::dataset::Truth;
use crate::error::DataError;
use crate::rng::{Purpose, stream};
use rand::Rng;
use std::fmt;

/// The mean of a synthetic Gaussian.
#[derive(Clone, Debug, PartialEq)]
pub enum MeanSpec {
    /// Every coordinate equal to this value (`mean=0` is the default).
    Constant(f64),
    /// mu = scale * N(0, I), drawn from the structure seed (`mean=randn:SCALE`).
    Randn(f64),
}

impl MeanSpec {
    /// Parses `C` (a number) or `randn:SCALE`.
    pub fn parse(s: &str) -> Result<MeanSpec, DataError> {
        match s.strip_prefix("randn:") {
            Some(scale) => Ok(MeanSpec::Randn(parse_real(s, "mean scale", scale)?)),
            None => Ok(MeanSpec::Constant(parse_real(s, "mean", s)?)),
        }
    }
}

impl fmt::Display for MeanSpec {
    /// `C` or `randn:SCALE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MeanSpec::Constant(c) => write!(f, "{c}"),
            MeanSpec::Randn(s) => write!(f, "randn:{s}"),
        }
    }
}

/// Parameters of a synthetic Gaussian (the `gaussian:` data spec).
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianSpec {
    /// Dimension d.
    pub d: usize,
    /// Eigenvalues of Sigma.
    pub spectrum: Spectrum,
    /// Rotate the eigenbasis by a Haar-random orthogonal matrix (else axis-aligned).
    pub rotate: bool,
    /// The mean.
    pub mean: MeanSpec,
    /// Structure seed (rotation and random mean).
    pub seed: u64,
}

impl fmt::Display for GaussianSpec {
    /// The canonical body of a `gaussian:` spec, every key explicit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "d={},spectrum={},rotate={},mean={},seed={}",
            self.d, self.spectrum, self.rotate, self.mean, self.seed
        )
    }
}

/// A synthetic Gaussian ready to sample, with its true mean and covariance.
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    /// The parameters it was built from.
    pub spec: GaussianSpec,
    /// Eigenvalues lambda of Sigma (in the order of the columns of Q).
    pub eigenvalues: Vec<f64>,
    core: LinearGaussian,
}

impl Gaussian {
    /// Builds the distribution: evaluates the spectrum and draws Q and mu from the seed.
    pub fn new(spec: &GaussianSpec) -> Result<Gaussian, DataError> {
        let eigenvalues = spec.spectrum.values(spec.d)?;
        let mut rng = stream(spec.seed, Purpose::Structure, 0);
        let basis = spec.rotate.then(|| haar_orthogonal(spec.d, &mut rng));
        let mean = match spec.mean {
            MeanSpec::Constant(c) => vec![c; spec.d],
            MeanSpec::Randn(s) => normals(&mut rng, spec.d).iter().map(|z| s * z).collect(),
        };
        Ok(Gaussian {
            spec: spec.clone(),
            core: LinearGaussian {
                mean,
                basis,
                scales: eigenvalues.iter().map(|l| l.sqrt()).collect(),
                normalize: false,
            },
            eigenvalues,
        })
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.spec.d
    }

    /// The rotation Q (d x d row-major, columns = eigenvectors), if `rotate` is on.
    pub fn rotation(&self) -> Option<&[f64]> {
        self.core.basis.as_deref()
    }

    /// True mu and Sigma (no blocks).
    pub fn truth(&self) -> Truth {
        Truth {
            mean: self.core.mean.clone(),
            cov: self.core.covariance(),
            blocks: None,
            ambient_std: None,
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

    fn spec(rotate: bool, mean: MeanSpec) -> GaussianSpec {
        GaussianSpec {
            d: 6,
            spectrum: Spectrum::Power(1.0),
            rotate,
            mean,
            seed: 11,
        }
    }

    #[test]
    fn empirical_moments_match_truth() {
        for (rotate, mean) in [
            (false, MeanSpec::Constant(0.0)),
            (true, MeanSpec::Randn(2.0)),
            (true, MeanSpec::Constant(-0.5)),
        ] {
            let g = Gaussian::new(&spec(rotate, mean)).unwrap();
            let t = g.truth();
            let x = g.sample(&mut stream(1, Purpose::TrainSamples, 11), 0, 20000);
            assert_moments(&x, 6, &t.mean, &t.cov.dense());
        }
    }

    #[test]
    fn truth_is_the_requested_spectrum() {
        let g = Gaussian::new(&spec(true, MeanSpec::Randn(1.0))).unwrap();
        let t = g.truth();
        let (d, cov) = (6, t.cov.dense());
        let trace: f64 = (0..d).map(|i| cov[i * d + i]).sum();
        assert!((trace - 6.0).abs() < 1e-9, "trace {trace}");
        // Q^T Sigma Q = diag(lambda).
        let q = g.rotation().unwrap();
        for a in 0..d {
            for b in 0..d {
                let v: f64 = (0..d)
                    .flat_map(|i| (0..d).map(move |j| (i, j)))
                    .map(|(i, j)| q[i * d + a] * cov[i * d + j] * q[j * d + b])
                    .sum();
                let want = if a == b { g.eigenvalues[a] } else { 0.0 };
                assert!((v - want).abs() < 1e-9);
            }
        }
        // Structure depends only on the structure seed.
        assert_eq!(
            Gaussian::new(&spec(true, MeanSpec::Randn(1.0)))
                .unwrap()
                .truth(),
            t
        );
        let mut other = spec(true, MeanSpec::Randn(1.0));
        other.seed = 12;
        assert_ne!(Gaussian::new(&other).unwrap().truth().cov, t.cov);
    }
}
