//! The two-Gaussian mixture of Bonnaire, Urfin, Biroli & Mezard (arXiv 2505.17638, the
//! authors' `generate_GMM`): x = s m + sigma z with s = +1 or -1 with probability 1/2 each,
//! m = sep (1, ..., 1) and z ~ N(0, I_d).
//!
//! Its first two moments are closed-form: E\[x\] = 0 (equal weights) and
//! Cov\[x\] = sigma^2 I + m m^T, whose eigenvector m / |m| has eigenvalue sigma^2 + d sep^2 and
//! whose d - 1 others have sigma^2. The distribution is not Gaussian: its [`Truth`] carries
//! a [`MixtureTruth`] so that nothing downstream reads the mean and covariance as a
//! Gaussian's (a Gaussian KL to the truth or the linear theory refuses it).
//!
//! Each row draws one u64 (its component: the lowest bit, 1 = the + side) and then d
//! standard normals from the sample stream, so row k of a stream is always the same sample.
//! Unlike the authors' generator (exactly n/2 rows per component), the component of each
//! row is drawn independently.

use super::rotation::normals;
use crate::covariance::Covariance;
use crate::dataset::{MixtureTruth, Truth};
use crate::error::DataError;
use rand::Rng;
use std::fmt;

/// Parameters of the mixture (the `mixture:` data spec).
#[derive(Clone, Debug, PartialEq)]
pub struct MixtureSpec {
    /// Dimension d.
    pub d: usize,
    /// Every coordinate of the + mean (the - mean is its negative); the paper's mu = 1.
    pub sep: f64,
    /// Standard deviation of each component along every axis; the paper's sigma = 1.
    pub sigma: f64,
    /// Seed of the sample streams (the mixture has no random structure).
    pub seed: u64,
}

impl MixtureSpec {
    /// The paper's mixture in dimension `d`: sep = 1, sigma = 1, seed 0.
    pub fn paper(d: usize) -> MixtureSpec {
        MixtureSpec {
            d,
            sep: 1.0,
            sigma: 1.0,
            seed: 0,
        }
    }

    /// Checks d >= 1, a finite separation and a positive sigma.
    pub fn validate(&self, spec: &str) -> Result<(), DataError> {
        if self.d == 0 {
            return Err(DataError::BadSize {
                what: "d".into(),
                value: 0,
            });
        }
        let bad = |msg: String| DataError::BadSpec {
            spec: spec.into(),
            msg,
        };
        if !self.sep.is_finite() {
            return Err(bad(format!("`sep={}` must be finite", self.sep)));
        }
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            return Err(bad(format!("`sigma={}` must be positive", self.sigma)));
        }
        Ok(())
    }
}

impl fmt::Display for MixtureSpec {
    /// The canonical body of a `mixture:` spec, every key explicit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "d={},sep={},sigma={},seed={}",
            self.d, self.sep, self.sigma, self.seed
        )
    }
}

/// The mixture ready to sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Mixture {
    /// The parameters it was built from.
    pub spec: MixtureSpec,
}

impl Mixture {
    /// Checks the parameters.
    pub fn new(spec: &MixtureSpec) -> Result<Mixture, DataError> {
        spec.validate(&format!("mixture:{spec}"))?;
        Ok(Mixture { spec: spec.clone() })
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.spec.d
    }

    /// The + mean m = sep (1, ..., 1).
    pub fn center(&self) -> Vec<f64> {
        vec![self.spec.sep; self.spec.d]
    }

    /// Mean 0 and covariance sigma^2 I + m m^T (factored by the Householder reflection that
    /// maps e_1 to m / |m|), with the components in [`MixtureTruth`].
    pub fn truth(&self) -> Truth {
        let (d, s2, sep) = (self.spec.d, self.spec.sigma.powi(2), self.spec.sep);
        let mut variances = vec![s2; d];
        variances[0] = s2 + d as f64 * sep * sep;
        let m = self.center();
        Truth {
            mean: vec![0.0; d],
            cov: Covariance {
                variances,
                basis: Some(householder_to_ones(d)),
            },
            blocks: None,
            ambient_std: None,
            mixture: Some(MixtureTruth {
                means: vec![m.clone(), m.iter().map(|v| -v).collect()],
                weights: vec![0.5, 0.5],
                sigma: self.spec.sigma,
            }),
        }
    }

    /// Skips `skip` rows of `rng`'s stream and returns the next `n`, row-major.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, skip: usize, n: usize) -> Vec<f32> {
        let (d, sep, sigma) = (self.spec.d, self.spec.sep, self.spec.sigma);
        let mut out = Vec::with_capacity(n * d);
        for k in 0..skip + n {
            let side = if rng.next_u64() & 1 == 1 { sep } else { -sep };
            let z = normals(rng, d);
            if k >= skip {
                out.extend(z.iter().map(|z| (side + sigma * z) as f32));
            }
        }
        out
    }
}

/// H = I - 2 v v^T / |v|^2 with v = e_1 - u, u = (1, ..., 1) / sqrt(d): symmetric,
/// orthogonal, and its first column is u (H = I when d = 1). Row-major d x d.
fn householder_to_ones(d: usize) -> Vec<f64> {
    let u = 1.0 / (d as f64).sqrt();
    let mut v = vec![-u; d];
    v[0] += 1.0;
    let vv: f64 = v.iter().map(|x| x * x).sum();
    (0..d * d)
        .map(|k| {
            let (i, j) = (k / d, k % d);
            let eye = if i == j { 1.0 } else { 0.0 };
            if vv == 0.0 {
                eye
            } else {
                eye - 2.0 * v[i] * v[j] / vv
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};
    use crate::testutil::assert_moments;

    fn spec(d: usize, sep: f64, sigma: f64) -> MixtureSpec {
        MixtureSpec {
            d,
            sep,
            sigma,
            seed: 3,
        }
    }

    #[test]
    fn covariance_is_sigma2_identity_plus_m_m_transposed() {
        let m = Mixture::new(&spec(5, 0.7, 1.3)).unwrap();
        let cov = m.truth().cov.dense();
        for i in 0..5 {
            for j in 0..5 {
                let want = 0.49 + if i == j { 1.69 } else { 0.0 };
                assert!((cov[i * 5 + j] - want).abs() < 1e-12, "{i},{j}");
            }
        }
        assert_eq!(householder_to_ones(1), vec![1.0]);
    }

    #[test]
    fn sample_moments_match_the_closed_form() {
        // assert_moments: 5 standard errors per entry, estimated from the data.
        for (d, sep, sigma) in [(8, 1.0, 1.0), (3, 2.0, 0.5)] {
            let m = Mixture::new(&spec(d, sep, sigma)).unwrap();
            let t = m.truth();
            let x = m.sample(&mut stream(1, Purpose::TrainSamples, 3), 0, 20000);
            assert_moments(&x, d, &t.mean, &t.cov.dense());
        }
    }

    #[test]
    fn half_of_the_rows_are_on_the_plus_side() {
        // sep = 4 sigma: the sign of the coordinate sum names the component except with
        // probability Phi(-4 sqrt(d)) = 1e-15 at d = 4. Binomial(n, 1/2): 4 standard errors.
        let n = 20000;
        let m = Mixture::new(&spec(4, 1.0, 0.25)).unwrap();
        let x = m.sample(&mut stream(7, Purpose::TrainSamples, 3), 0, n);
        let plus = x.chunks(4).filter(|r| r.iter().sum::<f32>() > 0.0).count();
        let se = (0.25 / n as f64).sqrt();
        let frac = plus as f64 / n as f64;
        assert!((frac - 0.5).abs() <= 4.0 * se, "{frac} (se {se})");
    }

    #[test]
    fn row_k_is_fixed_whatever_is_skipped() {
        let m = Mixture::new(&spec(6, 1.0, 1.0)).unwrap();
        let all = m.sample(&mut stream(2, Purpose::TrainSamples, 3), 0, 50);
        let tail = m.sample(&mut stream(2, Purpose::TrainSamples, 3), 20, 30);
        assert_eq!(&all[20 * 6..], &tail[..]);
        let test = m.sample(&mut stream(2, Purpose::TestSamples, 3), 0, 50);
        assert_ne!(all, test);
    }

    #[test]
    fn invalid_parameters_are_refused() {
        assert!(matches!(
            Mixture::new(&spec(0, 1.0, 1.0)),
            Err(DataError::BadSize { .. })
        ));
        let e = Mixture::new(&spec(4, 1.0, 0.0)).unwrap_err().to_string();
        assert!(e.contains("sigma"), "{e}");
        assert!(Mixture::new(&spec(4, f64::NAN, 1.0)).is_err());
    }
}
