//! The optimal affine eps-denoiser W_t*, b_t* of a Gaussian (docs/theory.md §1, Merger & Goldt
//! arXiv 2505.24769), diagonal in the eigenbasis of Sigma0:
//!
//!   W_t* = sqrt(1 - abar_t) [abar_t Sigma0 + (1 - abar_t + lambda) I]^-1,
//!   b_t* = -sqrt(abar_t) W_t* mu0.

use super::moments::GaussianMoments;
use crate::schedule::NoiseLevel;

/// a_t(l) = abar_t l + 1 - abar_t + lambda: the curvature of the ridge eps-loss along an
/// eigendirection of Sigma0 with eigenvalue `l`.
pub fn curvature(level: NoiseLevel, l: f64, lambda: f64) -> f64 {
    level.abar * l + level.one_minus_abar + lambda
}

/// w_t(l) = sqrt(1 - abar_t) / a_t(l): the eigenvalue of W_t* along an eigendirection of
/// Sigma0 with eigenvalue `l`.
pub fn optimum_gain(level: NoiseLevel, l: f64, lambda: f64) -> f64 {
    level.one_minus_abar.sqrt() / curvature(level, l, lambda)
}

impl GaussianMoments {
    /// The eigenvalues w_t,i of W_t*, in the order of `eigen.values`.
    pub fn optimum_gains(&self, level: NoiseLevel, lambda: f64) -> Vec<f64> {
        self.eigen
            .values
            .iter()
            .map(|&l| optimum_gain(level, l, lambda))
            .collect()
    }

    /// W_t* = U diag(w_t) U^T as a dense row-major `d x d` matrix.
    pub fn optimum_weight(&self, level: NoiseLevel, lambda: f64) -> Vec<f64> {
        self.eigen.compose(&self.optimum_gains(level, lambda))
    }

    /// b_t = -sqrt(abar_t) U diag(g) U^T mu0 for per-direction gains `g` (b_t* for the
    /// optimum gains).
    pub fn bias_for_gains(&self, level: NoiseLevel, gains: &[f64]) -> Vec<f64> {
        let y = self.eigen.to_basis(&self.mean);
        let a = level.abar.sqrt();
        let scaled: Vec<f64> = y.iter().zip(gains).map(|(v, g)| -a * g * v).collect();
        self.eigen.from_basis(&scaled)
    }

    /// b_t* = -sqrt(abar_t) W_t* mu0.
    pub fn optimum_bias(&self, level: NoiseLevel, lambda: f64) -> Vec<f64> {
        self.bias_for_gains(level, &self.optimum_gains(level, lambda))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;
    use faer::Mat;
    use faer::linalg::solvers::Solve;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn moments(d: usize, n: usize, seed: u64) -> (GaussianMoments, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs: Vec<f64> = (0..n * d)
            .map(|k| {
                let z: f64 = StandardNormal.sample(&mut rng);
                z * (1.0 + (k % d) as f64) + 0.3 * (k % d) as f64
            })
            .collect();
        let (_, cov) = super::super::sample_mean_cov(&xs, d).unwrap();
        (GaussianMoments::from_samples(&xs, d).unwrap(), cov)
    }

    /// W_t* and b_t* against a dense LU solve of the defining linear system.
    #[test]
    fn optimum_equals_direct_solve() {
        let d = 5;
        let s = Schedule::linear(1e-4, 2e-2, 60).unwrap();
        for n in [3, 40] {
            let (m, cov) = moments(d, n, 1);
            for lambda in [0.0, 0.05] {
                for i in [0, 7, 59] {
                    let (a, om) = (s.abar[i], 1.0 - s.abar[i]);
                    let sys = Mat::from_fn(d, d, |r, c| {
                        a * cov[r * d + c] + if r == c { om + lambda } else { 0.0 }
                    });
                    let rhs = Mat::from_fn(d, d, |r, c| if r == c { om.sqrt() } else { 0.0 });
                    let direct = sys.partial_piv_lu().solve(&rhs);
                    let w = m.optimum_weight(s.level(i), lambda);
                    let b = m.optimum_bias(s.level(i), lambda);
                    for r in 0..d {
                        let want_b: f64 =
                            -(0..d).map(|c| direct[(r, c)] * m.mean[c]).sum::<f64>() * a.sqrt();
                        assert!((b[r] - want_b).abs() < 1e-9 * want_b.abs().max(1.0));
                        for c in 0..d {
                            let scale = direct[(r, r)].abs().max(1.0);
                            assert!(
                                (w[r * d + c] - direct[(r, c)]).abs() < 1e-9 * scale,
                                "N {n}, t index {i}, lambda {lambda}: {} vs {}",
                                w[r * d + c],
                                direct[(r, c)]
                            );
                        }
                    }
                }
            }
        }
    }
}
