//! The linear denoiser eps_theta(x, t) = W_t x + b_t of Merger & Goldt (arXiv 2505.24769):
//! its exact optimum and its gradient-flow trajectory, both diagonal in the eigenbasis of
//! Sigma0 and computed from ONE eigendecomposition for every t. The optimum itself is the
//! model crate's linear-Gaussian core ([`diffmem_model::linear_gaussian`]), the one the
//! `linear-exact` denoiser uses; this module adds the gradient-flow fraction.

use crate::error::{MetricsError, Result};
use diffmem_model::Schedule;
use diffmem_model::linear_gaussian::{GaussianMoments, curvature, optimum_gain};

/// A linear denoiser trained on a training set, per timestep: W_t = U diag(w_t) U^T with
/// U the eigenvectors of Sigma0, and b_t = -sqrt(abar_t) W_t mu0.
///
/// With a_t(l0) = abar_t l0 + 1 - abar_t + lambda the per-direction gain is
/// w_t(l0) = sqrt(1 - abar_t) f / a_t(l0), where f = 1 for the optimum
///
///   W_t* = sqrt(1-abar_t) [abar_t Sigma0 + (1 - abar_t + lambda) I]^-1,  b_t* = -sqrt(abar_t) W_t* mu0
///
/// and f = 1 - exp(-2 tau a_t(l0)) for gradient flow on the ridge-regularised eps-loss from W = 0
/// (b held at its optimum given W), W_t(tau) = W_t* [I - exp(-2 tau (A_t + lambda I))],
/// A_t = abar_t Sigma0 + (1 - abar_t) I (docs/theory.md §1; arXiv 2505.24769).
#[derive(Clone, Debug)]
pub struct LinearDenoiser {
    /// The training set (mu0, eigendecomposition of Sigma0).
    pub train: GaussianMoments,
    /// The schedule it was trained for.
    pub schedule: Schedule,
    /// Ridge penalty lambda on W_t (loss + lambda ||W_t||_F^2).
    pub lambda: f64,
    /// Gradient-flow time tau; `None` for the fully trained optimum (tau = infinity).
    pub tau: Option<f64>,
}

impl LinearDenoiser {
    /// The exact optimum W_t*, b_t* with ridge `lambda`.
    pub fn optimum(train: GaussianMoments, schedule: Schedule, lambda: f64) -> Result<Self> {
        LinearDenoiser::build(train, schedule, lambda, None)
    }

    /// The gradient-flow solution at time `tau` from W = 0.
    pub fn gradient_flow(
        train: GaussianMoments,
        schedule: Schedule,
        lambda: f64,
        tau: f64,
    ) -> Result<Self> {
        if !(tau.is_finite() && tau >= 0.0) {
            return Err(MetricsError::Invalid(format!(
                "gradient-flow time tau must be finite and >= 0, got {tau}"
            )));
        }
        LinearDenoiser::build(train, schedule, lambda, Some(tau))
    }

    fn build(
        train: GaussianMoments,
        schedule: Schedule,
        lambda: f64,
        tau: Option<f64>,
    ) -> Result<Self> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(MetricsError::Invalid(format!(
                "ridge lambda must be finite and >= 0, got {lambda}"
            )));
        }
        Ok(LinearDenoiser {
            train,
            schedule,
            lambda,
            tau,
        })
    }

    /// Dimension d.
    pub fn d(&self) -> usize {
        self.train.d()
    }

    /// a_t(l0_j) = abar_t l0_j + 1 - abar_t + lambda at timestep index `i`, direction `j`:
    /// the curvature of the eps-loss along eigendirection j (the core's [`curvature`]).
    pub fn curvature(&self, i: usize, j: usize) -> f64 {
        curvature(
            self.schedule.level(i),
            self.train.eigen.values[j],
            self.lambda,
        )
    }

    /// Fraction f in [0, 1] of the optimal gain learned along direction `j` at index `i`.
    pub fn learned_fraction(&self, i: usize, j: usize) -> f64 {
        match self.tau {
            None => 1.0,
            Some(tau) => -(-2.0 * tau * self.curvature(i, j)).exp_m1(),
        }
    }

    /// Gain w_t(l0_j) = f sqrt(1 - abar_t) / a_t(l0_j): the core's [`optimum_gain`] times f.
    pub fn gain(&self, i: usize, j: usize) -> f64 {
        let l0 = self.train.eigen.values[j];
        optimum_gain(self.schedule.level(i), l0, self.lambda) * self.learned_fraction(i, j)
    }

    /// 1 - sqrt(1 - abar_t) w_t(l0_j) = (abar_t l0_j + lambda + (1 - abar_t)(1 - f)) / a_t,
    /// written without cancellation.
    pub fn residual(&self, i: usize, j: usize) -> f64 {
        let s = &self.schedule;
        let f = self.learned_fraction(i, j);
        (s.abar[i] * self.train.eigen.values[j] + self.lambda + s.one_minus_abar[i] * (1.0 - f))
            / self.curvature(i, j)
    }

    /// All gains at timestep index `i`, in the eigenbasis of Sigma0.
    pub fn gains(&self, i: usize) -> Vec<f64> {
        (0..self.d()).map(|j| self.gain(i, j)).collect()
    }

    /// W_t as a dense row-major `d x d` matrix, U diag(w_t) U^T.
    pub fn weight(&self, i: usize) -> Vec<f64> {
        self.train.eigen.compose(&self.gains(i))
    }

    /// b_t = -sqrt(abar_t) W_t mu0.
    pub fn bias(&self, i: usize) -> Vec<f64> {
        self.train
            .bias_for_gains(self.schedule.level(i), &self.gains(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaussian::Gaussian;
    use faer::Mat;
    use faer::prelude::Solve;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn train(d: usize, n: usize, seed: u64) -> GaussianMoments {
        let truth = Gaussian::new(
            (0..d).map(|i| 0.5 - i as f64 * 0.3).collect(),
            {
                let mut c = vec![0.0; d * d];
                for i in 0..d {
                    for j in 0..d {
                        c[i * d + j] = if i == j { 2.0 / (i + 1) as f64 } else { 0.1 };
                    }
                }
                c
            },
            d,
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        GaussianMoments::from_samples(&truth.sample(n, &mut rng).unwrap(), d).unwrap()
    }

    fn dense_cov(t: &GaussianMoments) -> Vec<f64> {
        t.eigen.compose(&t.eigen.values)
    }

    #[test]
    fn optimum_equals_direct_solve() {
        let d = 5;
        let tr = train(d, 3, 1);
        let sch = Schedule::linear(1e-4, 2e-2, 60).unwrap();
        let cov = dense_cov(&tr);
        for lambda in [0.0, 0.05] {
            let den = LinearDenoiser::optimum(tr.clone(), sch.clone(), lambda).unwrap();
            for i in [0, 7, 59] {
                let (a, om) = (sch.abar[i], sch.one_minus_abar[i]);
                let m = Mat::from_fn(d, d, |r, c| {
                    a * cov[r * d + c] + if r == c { om + lambda } else { 0.0 }
                });
                let rhs = Mat::from_fn(d, d, |r, c| if r == c { om.sqrt() } else { 0.0 });
                let direct = m.partial_piv_lu().solve(&rhs);
                let w = den.weight(i);
                for r in 0..d {
                    for c in 0..d {
                        let scale = direct[(r, r)].abs().max(1.0);
                        assert!(
                            (w[r * d + c] - direct[(r, c)]).abs() < 1e-9 * scale,
                            "t index {i}, lambda {lambda}: {} vs {}",
                            w[r * d + c],
                            direct[(r, c)]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn optimum_equals_least_squares_on_noised_samples() {
        // Regress eps on [x_t, 1] over many (x0 from the training set, eps) draws.
        let d = 3;
        let tr_samples = {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let g = Gaussian::diagonal(vec![1.0, 0.0, -1.0], &[2.0, 1.0, 0.5]).unwrap();
            g.sample(8, &mut rng).unwrap()
        };
        let tr = GaussianMoments::from_samples(&tr_samples, d).unwrap();
        let sch = Schedule::linear(1e-3, 2e-2, 50).unwrap();
        let den = LinearDenoiser::optimum(tr, sch.clone(), 0.0).unwrap();
        let i = 30;
        let (sa, so) = (sch.abar[i].sqrt(), sch.one_minus_abar[i].sqrt());
        let m = 200_000;
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let mut x = Mat::<f64>::zeros(m, d + 1);
        let mut e = Mat::<f64>::zeros(m, d);
        for k in 0..m {
            let mu = k % 8;
            for c in 0..d {
                let eps: f64 = StandardNormal.sample(&mut rng);
                x[(k, c)] = sa * tr_samples[mu * d + c] + so * eps;
                e[(k, c)] = eps;
            }
            x[(k, d)] = 1.0;
        }
        let xtx = x.transpose() * &x;
        let xte = x.transpose() * &e;
        let coef = xtx.partial_piv_lu().solve(&xte); // (d+1) x d, row r = input r
        let (w, b) = (den.weight(i), den.bias(i));
        for r in 0..d {
            for c in 0..d {
                assert!(
                    (coef[(c, r)] - w[r * d + c]).abs() < 0.02,
                    "W[{r},{c}] {} vs {}",
                    coef[(c, r)],
                    w[r * d + c]
                );
            }
            assert!(
                (coef[(d, r)] - b[r]).abs() < 0.02,
                "b[{r}] {} vs {}",
                coef[(d, r)],
                b[r]
            );
        }
    }

    #[test]
    fn gradient_flow_matches_euler_and_converges() {
        let d = 4;
        let tr = train(d, 3, 2);
        let sch = Schedule::linear(1e-3, 2e-2, 20).unwrap();
        let cov = dense_cov(&tr);
        let lambda = 0.01;
        let i = 5;
        let (a, om) = (sch.abar[i], sch.one_minus_abar[i]);
        // Euler on dW/dtau = 2 sqrt(1-abar) I - 2 W (A + lambda I), W(0) = 0.
        let ap = Mat::from_fn(d, d, |r, c| {
            a * cov[r * d + c] + if r == c { om + lambda } else { 0.0 }
        });
        let tau = 3.0;
        let steps = 300_000;
        let h = tau / steps as f64;
        let mut w = Mat::<f64>::zeros(d, d);
        for _ in 0..steps {
            let wa = &w * &ap;
            w = Mat::from_fn(d, d, |r, c| {
                w[(r, c)] + h * 2.0 * (if r == c { om.sqrt() } else { 0.0 } - wa[(r, c)])
            });
        }
        let flow = LinearDenoiser::gradient_flow(tr.clone(), sch.clone(), lambda, tau).unwrap();
        let wf = flow.weight(i);
        for r in 0..d {
            for c in 0..d {
                assert!(
                    (wf[r * d + c] - w[(r, c)]).abs() < 1e-4,
                    "{} vs {}",
                    wf[r * d + c],
                    w[(r, c)]
                );
            }
        }
        let late = LinearDenoiser::gradient_flow(tr.clone(), sch.clone(), lambda, 1e7).unwrap();
        let opt = LinearDenoiser::optimum(tr, sch, lambda).unwrap();
        for (p, q) in late.weight(i).iter().zip(opt.weight(i)) {
            assert!((p - q).abs() < 1e-12);
        }
        assert!(
            LinearDenoiser::gradient_flow(opt.train.clone(), opt.schedule.clone(), 0.0, -1.0)
                .is_err()
        );
    }

    #[test]
    fn residual_is_one_minus_scaled_gain() {
        let tr = train(4, 2, 3);
        let sch = Schedule::linear(1e-4, 2e-2, 30).unwrap();
        for den in [
            LinearDenoiser::optimum(tr.clone(), sch.clone(), 0.0).unwrap(),
            LinearDenoiser::gradient_flow(tr.clone(), sch.clone(), 0.1, 50.0).unwrap(),
        ] {
            for i in 0..30 {
                for j in 0..4 {
                    let direct = 1.0 - sch.one_minus_abar[i].sqrt() * den.gain(i, j);
                    assert!((den.residual(i, j) - direct).abs() < 1e-12);
                }
            }
        }
    }
}
