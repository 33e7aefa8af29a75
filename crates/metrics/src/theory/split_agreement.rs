//! How much two exact linear diffusion models trained on disjoint splits disagree, when both
//! are sampled with the same DDPM noise: a first-order (delta-method) expansion in 1/N derived
//! here for diffmem, valid for N >> d. It is NOT the random-matrix closed form of Wang,
//! Zavatone-Veth & Pehlevan (arXiv 2602.02908), whose equations were not available to us; it
//! answers the same question (agreement across splits as a function of N, d and the spectrum)
//! in the regime where the Marchenko-Pastur corrections are small, and a unit test checks it
//! against a Monte Carlo over training sets and sampler noise.
//!
//! # Derivation
//! Model A is the optimum W_t* of docs/theory.md §1 on N rows with empirical moments (mu_A,
//! Sigma_A), model B the same on N independent rows. With u_t = x_t - sqrt(abar_t) mu0 every
//! DDPM step is u_{t-1} = M_t(Sigma0) u_t + sigma_t z_t, M_t the matrix function of the scalar
//! step factor of [`super::sampling`], so the sample is
//!
//! ```text
//! x_0 = h(Sigma0) mu0 + P(Sigma0) x_T + sum_t G_t(Sigma0) sigma_t z_t,
//! P = prod_{k=1..T} M_k,  G_t = prod_{k<t} M_k,  h = 1 - sqrt(abar_T) P.
//! ```
//!
//! With shared noise (x_T, z_t) the difference of the two samples, averaged over the noise, is
//! E||x_A - x_B||^2 = sum_s v_s ||g_s(Sigma_A) - g_s(Sigma_B)||_F^2 + ||h(Sigma_A) mu_A -
//! h(Sigma_B) mu_B||^2 over the sources s = x_T (v = 1) and z_t (v = sigma_t^2). To first order
//! around the truth (Sigma = U diag(l) U^T, mu with coordinates m_i = (U^T mu)_i), Daleckii-Krein
//! gives `Dg(Sigma)[Delta] = U (g^[1](l_i, l_j) (U^T Delta U)_ij) U^T` with the divided
//! difference `g^[1](a, b) = (g(a) - g(b)) / (a - b)` (g'(a) when a = b); for Gaussian rows the sample
//! covariance has E[(U^T Delta U)_ij^2] = l_i l_j (1 + delta_ij) / N, the sample mean
//! E[(U^T delta)_i^2] = l_i / N, and the two are independent. The two splits are independent,
//! hence the factor 2:
//!
//! ```text
//! E||x_A - x_B||^2 = 2/N [ sum_s v_s S(g_s, 1) + S(h, m^2) + sum_i h(l_i)^2 l_i ] + O(1/N^2),
//! S(g, w) = sum_{i,j} g^[1](l_i, l_j)^2 l_i l_j (1 + delta_ij) w_j.
//! ```
//!
//! Reported per coordinate (divided by d), the mean squared difference of paired samples.

use diffmem_model::Schedule;

/// (g, dg/dl) of a product of step factors, carried together (forward-mode derivative).
#[derive(Clone, Copy, Debug)]
struct Dual(f64, f64);

/// The pieces of the step factor M_i(l) = (abar l + c1) / ((abar l + c2) r) of the exact
/// optimum with ridge `lambda` at 0-based step i: c1 = (1 - beta)(1 - abar_{i-1}) + lambda,
/// c2 = 1 - abar + lambda, r = sqrt(1 - beta). Its pole l = -c2 / abar is on the negative axis.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepCoefficients {
    pub abar: f64,
    pub c1: f64,
    pub c2: f64,
    pub r: f64,
}

/// [`StepCoefficients`] at 0-based step i.
pub(crate) fn step_coefficients(s: &Schedule, i: usize, lambda: f64) -> StepCoefficients {
    let beta = s.betas[i];
    let prev = if i == 0 { 0.0 } else { s.one_minus_abar[i - 1] };
    StepCoefficients {
        abar: s.abar[i],
        c1: (1.0 - beta) * prev + lambda,
        c2: s.one_minus_abar[i] + lambda,
        r: (1.0 - beta).sqrt(),
    }
}

/// The variance v_s of source s: 1 for x_T (s = 0), beta_i for the noise of 0-based step
/// i = s - 1, none at the last step (s = 1) unless `last_step_noise`.
pub(crate) fn source_variance(s: &Schedule, k: usize, last_step_noise: bool) -> f64 {
    match k {
        0 => 1.0,
        1 if !last_step_noise => 0.0,
        k => s.betas[k - 1],
    }
}

/// The step factor M_i(l) and its derivative in the eigenvalue l.
fn step(s: &Schedule, i: usize, l: f64, lambda: f64) -> Dual {
    let StepCoefficients { abar, c1, c2, r } = step_coefficients(s, i, lambda);
    let (num, den) = (abar * l + c1, abar * l + c2);
    Dual(num / (den * r), abar * (c2 - c1) / (den * den * r))
}

/// Every source's (g, g') at eigenvalue l: index 0 is x_T (g = P), index 1 + i the noise added
/// at step i (g = G_i = prod_{k<i} M_k); and h = 1 - sqrt(abar_T) P with h'.
fn sources(s: &Schedule, l: f64, lambda: f64) -> (Vec<Dual>, Dual) {
    let t = s.len();
    let mut out = vec![Dual(0.0, 0.0); t + 1];
    let mut g = Dual(1.0, 0.0);
    for i in 0..t {
        out[1 + i] = g;
        let m = step(s, i, l, lambda);
        g = Dual(g.0 * m.0, g.1 * m.0 + g.0 * m.1);
    }
    out[0] = g;
    let a = s.abar[t - 1].sqrt();
    (out, Dual(1.0 - a * g.0, -a * g.1))
}

/// The divided difference g^[1](a, b).
fn divided(ga: Dual, gb: Dual, a: f64, b: f64) -> f64 {
    if (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs())) {
        0.5 * (ga.1 + gb.1)
    } else {
        (ga.0 - gb.0) / (a - b)
    }
}

/// Two exact linear models (ridge `lambda`) trained on independent sets of `n` rows of
/// N(mu, Sigma) and sampled with shared DDPM noise (sigma_t^2 = beta_t, none at the last step
/// unless `last_step_noise`): what every split-agreement prediction takes. `spectrum` =
/// eigenvalues l_i of Sigma, `mean_coords` = U^T mu (same order; zeros for a centred truth).
#[derive(Clone, Copy, Debug)]
pub struct SplitSetting<'a> {
    /// Eigenvalues l_i of the data covariance.
    pub spectrum: &'a [f64],
    /// The data mean in the eigenbasis, U^T mu.
    pub mean_coords: &'a [f64],
    /// Rows per split.
    pub n: usize,
    /// The sampler's schedule.
    pub schedule: &'a Schedule,
    /// Ridge of the exact models.
    pub lambda: f64,
    /// Whether the last DDPM step adds noise.
    pub last_step_noise: bool,
}

impl<'a> SplitSetting<'a> {
    /// `n` rows per split of data with `spectrum` and `mean_coords`, no ridge, no noise at the
    /// last step.
    pub fn new(
        spectrum: &'a [f64],
        mean_coords: &'a [f64],
        n: usize,
        schedule: &'a Schedule,
    ) -> Self {
        SplitSetting {
            spectrum,
            mean_coords,
            n,
            schedule,
            lambda: 0.0,
            last_step_noise: false,
        }
    }

    /// Whether a prediction can be made: some direction, at least `min_n` rows, a schedule.
    pub fn usable(&self, min_n: usize) -> bool {
        !self.spectrum.is_empty() && self.n >= min_n.max(1) && !self.schedule.is_empty()
    }

    /// Every source's (g, g') and h per eigenvalue ([`sources`]).
    fn per_direction(&self) -> Vec<(Vec<Dual>, Dual)> {
        self.spectrum
            .iter()
            .map(|&l| sources(self.schedule, l, self.lambda))
            .collect()
    }

    /// sum_s v_s g_s^[1](l_i, l_j)^2 + h^[1](l_i, l_j)^2 m_j^2: the (i, j) term of the sums S.
    fn pair_term(&self, per: &[(Vec<Dual>, Dual)], i: usize, j: usize) -> f64 {
        let (li, lj) = (self.spectrum[i], self.spectrum[j]);
        let noise: f64 = (0..=self.schedule.len())
            .map(|k| {
                let v = source_variance(self.schedule, k, self.last_step_noise);
                v * divided(per[i].0[k], per[j].0[k], li, lj).powi(2)
            })
            .sum();
        noise + divided(per[i].1, per[j].1, li, lj).powi(2) * self.mean_coords[j].powi(2)
    }
}

/// The predicted E||x_A - x_B||^2 / d of `s` to first order in 1/N (module docs); NaN when
/// `s` is not usable.
pub fn split_msd(s: &SplitSetting) -> f64 {
    if !s.usable(1) {
        return f64::NAN;
    }
    let (d, l) = (s.spectrum.len(), s.spectrum);
    let per = s.per_direction();
    let mut total = 0.0;
    for i in 0..d {
        for j in 0..d {
            let cov = l[i] * l[j] * if i == j { 2.0 } else { 1.0 };
            total += cov * s.pair_term(&per, i, j);
        }
        total += per[i].1.0.powi(2) * l[i];
    }
    2.0 * total / (s.n as f64 * d as f64)
}

/// The part of [`split_msd`] that the delta_ij of the Gaussian fourth moment adds,
/// 2/(N d) sum_i l_i^2 [sum_s v_s g_s'(l_i)^2 + h'(l_i)^2 m_i^2]: the O(1/d)-relative term that
/// random-matrix deterministic equivalents ([`super::split_rmt`]) leave out for real data.
pub fn diagonal_correction(s: &SplitSetting) -> f64 {
    if !s.usable(1) {
        return f64::NAN;
    }
    let per = s.per_direction();
    let d = s.spectrum.len();
    let total: f64 = (0..d)
        .map(|i| s.spectrum[i].powi(2) * s.pair_term(&per, i, i))
        .sum();
    2.0 * total / (s.n as f64 * d as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::LinearDenoiser;
    use diffmem_model::linear_gaussian::GaussianMoments;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    const SPECTRUM: [f64; 4] = [2.0, 1.0, 0.5, 0.25];
    const MEAN: [f64; 4] = [0.5, -0.3, 0.0, 0.2];

    /// An exact linear model on `n` rows of N(MEAN, diag(SPECTRUM)).
    fn fit(n: usize, s: &Schedule, rng: &mut ChaCha8Rng) -> LinearDenoiser {
        let rows: Vec<f64> = (0..n * 4)
            .map(|k| {
                let z: f64 = StandardNormal.sample(rng);
                MEAN[k % 4] + SPECTRUM[k % 4].sqrt() * z
            })
            .collect();
        let m = GaussianMoments::from_samples(&rows, 4).unwrap();
        LinearDenoiser::optimum(m, s.clone(), 0.0).unwrap()
    }

    /// One DDPM step of a dense linear model on `x`.
    fn ddpm_step(den: &LinearDenoiser, i: usize, x: &[f64], z: &[f64], sd: f64) -> Vec<f64> {
        let s = &den.schedule;
        let (w, b) = (den.weight(i), den.bias(i));
        let k = s.betas[i] / s.one_minus_abar[i].sqrt();
        (0..4)
            .map(|r| {
                let eps = (0..4).map(|c| w[r * 4 + c] * x[c]).sum::<f64>() + b[r];
                (x[r] - k * eps) / (1.0 - s.betas[i]).sqrt() + sd * z[r]
            })
            .collect()
    }

    /// Monte Carlo over pairs of training sets and shared sampler noise, each model sampled by
    /// the dense f64 DDPM sampler: the mean squared difference per coordinate.
    fn monte_carlo(n: usize, s: &Schedule, pairs: usize, draws: usize, last: bool) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        let mut sum = 0.0;
        for _ in 0..pairs {
            let (a, b) = (fit(n, s, &mut rng), fit(n, s, &mut rng));
            for _ in 0..draws {
                let mut xa: Vec<f64> = (0..4).map(|_| StandardNormal.sample(&mut rng)).collect();
                let mut xb = xa.clone();
                for i in (0..s.len()).rev() {
                    let z: Vec<f64> = (0..4).map(|_| StandardNormal.sample(&mut rng)).collect();
                    let sd = if i == 0 && !last {
                        0.0
                    } else {
                        s.betas[i].sqrt()
                    };
                    xa = ddpm_step(&a, i, &xa, &z, sd);
                    xb = ddpm_step(&b, i, &xb, &z, sd);
                }
                sum += xa
                    .iter()
                    .zip(&xb)
                    .map(|(p, q)| (p - q).powi(2))
                    .sum::<f64>()
                    / 4.0;
            }
        }
        sum / (pairs * draws) as f64
    }

    #[test]
    fn first_order_split_disagreement_matches_monte_carlo() {
        let s = Schedule::linear(1e-3, 5e-2, 60).unwrap();
        for (n, last) in [(400, false), (200, true)] {
            let want = split_msd(&SplitSetting {
                last_step_noise: last,
                ..SplitSetting::new(&SPECTRUM, &MEAN, n, &s)
            });
            let got = monte_carlo(n, &s, 300, 20, last);
            assert!(
                (got / want - 1.0).abs() < 0.12,
                "N={n}: MC {got} vs theory {want}"
            );
        }
    }

    /// Doubling N halves the first-order disagreement; identical eigenvalues use the derivative.
    #[test]
    fn scales_as_one_over_n_and_handles_degenerate_spectra() {
        let s = Schedule::linear(1e-3, 5e-2, 60).unwrap();
        let a = split_msd(&SplitSetting::new(&SPECTRUM, &MEAN, 100, &s));
        let b = split_msd(&SplitSetting::new(&SPECTRUM, &MEAN, 200, &s));
        assert!((a / b - 2.0).abs() < 1e-12);
        let flat = split_msd(&SplitSetting::new(&[1.0; 4], &[0.0; 4], 100, &s));
        let near = split_msd(&SplitSetting::new(
            &[1.0, 1.0 + 1e-6, 1.0 - 1e-6, 1.0],
            &[0.0; 4],
            100,
            &s,
        ));
        assert!(
            flat.is_finite() && (flat / near - 1.0).abs() < 1e-4,
            "{flat} {near}"
        );
        assert!(split_msd(&SplitSetting::new(&[], &[], 100, &s)).is_nan());
    }
}
