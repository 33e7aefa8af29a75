//! Critical noise levels of geometric memorisation (Achilli et al., "Losing dimensions",
//! arXiv 2410.08727; docs/theory.md §2).
//!
//! Variance-exploding picture x = x^1 + sigma z near a training point. The softmax weights of
//! the empirical score are w_mu ∝ exp(E_mu) with, up to mu-independent terms,
//! E_mu = (x . x^mu - ||x^mu||^2 / 2) / sigma^2. Along a direction i of data variance s_i^2 the
//! random-energy-model (REM) argument says the N energies condense on one training point once
//! their variance over mu exceeds 2 ln N. For sigma^2 >> s_i^2 that variance is
//!
//!   V_i(sigma^2) = s_i^2 / sigma^2 + (sum_j s_j^4) / (2 sigma^4),
//!
//! the first term from x_i x_i^mu, the second from the fluctuations of ||x^mu||^2 (absent for
//! normalised data, ||x^mu|| = const). Solving V_i = 2 ln N gives the critical levels below.
//! Higher-variance directions collapse at larger sigma, i.e. first.

use crate::error::{MetricsError, Result};
use diffmem_data::synthetic::unit_norm::unit_norm_variances;
use serde::Serialize;

/// The REM energy variance V_i(sigma^2) along direction i (module docs); `sum_s4` is
/// sum_j s_j^4 over all directions, ignored when `normalized`.
pub fn energy_variance(s2: f64, sum_s4: f64, sigma2: f64, normalized: bool) -> f64 {
    let norm_term = if normalized {
        0.0
    } else {
        sum_s4 / (2.0 * sigma2 * sigma2)
    };
    s2 / sigma2 + norm_term
}

/// Normalised data: sigma^2_c,i = s_i^2 / (2 ln N) (docs/theory.md §2).
pub fn critical_sigma2_normalized(s2: f64, n: f64) -> f64 {
    s2 / (2.0 * n.ln())
}

/// Unnormalised data: sigma^2_c,i = [s_i^2 + sqrt(s_i^4 + 4 ln N sum_j s_j^4)] / (4 ln N)
/// (docs/theory.md §2); tends to the normalised level as sum_j s_j^4 -> 0.
pub fn critical_sigma2(s2: f64, sum_s4: f64, n: f64) -> f64 {
    let ln_n = n.ln();
    (s2 + (s2 * s2 + 4.0 * ln_n * sum_s4).sqrt()) / (4.0 * ln_n)
}

/// Normalised data: the training-set size at which direction i collapses at noise sigma^2,
/// N_c,i = exp(s_i^2 / (2 sigma^2)).
pub fn critical_n_normalized(s2: f64, sigma2: f64) -> f64 {
    (s2 / (2.0 * sigma2)).exp()
}

/// One group of equal-variance directions and its critical level for a training-set size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CriticalLevel {
    /// Training-set size N.
    pub n: usize,
    /// Data variance s_i^2 of the directions in the group.
    pub s2: f64,
    /// Number of directions with this variance.
    pub count: usize,
    /// Critical VE noise level sigma^2_c.
    pub sigma2_c: f64,
    /// First DDPM timestep t whose (1 - abar_t)/abar_t reaches sigma^2_c (None beyond T).
    pub ddpm_step: Option<usize>,
}

/// Critical levels of every distinct variance for each N in `ns`, normalised or not; DDPM
/// steps from `schedule`.
///
/// `spectrum` holds the variances s_i^2 of the centred Gaussian that generates the data
/// (principal axes; grouped when equal up to 1e-9 times the largest, so that eigenvalues of a
/// rotated covariance group). With `normalized` the data are that Gaussian with every sample
/// scaled to unit norm, y = x / |x|, whose variances are E[x_i^2 / |x|^2] (exact quadrature,
/// [`unit_norm_variances`]); the normalised formula is applied to those. (A plain rescaling
/// s_i^2 / sum_j s_j^2 is wrong: for the paper's manifold it puts block 2 at 0.037 instead
/// of 0.059, 38% low, because small-norm samples give the small directions more weight.)
pub fn critical_levels(
    spectrum: &[f64],
    ns: &[usize],
    normalized: bool,
    schedule: &diffmem_model::Schedule,
) -> Result<Vec<CriticalLevel>> {
    if spectrum.is_empty() || spectrum.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(MetricsError::Invalid(
            "critical levels need a non-empty spectrum of finite variances >= 0".into(),
        ));
    }
    if let Some(n) = ns.iter().find(|&&n| n < 2) {
        return Err(MetricsError::Invalid(format!(
            "critical levels need N >= 2 (ln N > 0), got {n}"
        )));
    }
    let variances: Vec<f64> = if normalized {
        let scales: Vec<f64> = spectrum.iter().map(|v| v.sqrt()).collect();
        unit_norm_variances(&scales)
    } else {
        spectrum.to_vec()
    };
    let mut sorted = variances;
    sorted.sort_by(|a, b| b.total_cmp(a));
    let tol = 1e-9 * sorted.first().copied().unwrap_or(0.0);
    let mut groups: Vec<(f64, usize)> = Vec::new();
    for v in sorted {
        match groups.last_mut() {
            Some((g, k)) if (*g - v).abs() <= tol => *k += 1,
            _ => groups.push((v, 1)),
        }
    }
    let sum_s4: f64 = groups.iter().map(|(v, k)| *k as f64 * v * v).sum();
    Ok(ns
        .iter()
        .flat_map(|&n| {
            groups.iter().map(move |&(s2, count)| {
                let nf = n as f64;
                let sigma2_c = if normalized {
                    critical_sigma2_normalized(s2, nf)
                } else {
                    critical_sigma2(s2, sum_s4, nf)
                };
                CriticalLevel {
                    n,
                    s2,
                    count,
                    sigma2_c,
                    ddpm_step: schedule.step_at_ve_sigma2(sigma2_c),
                }
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::Schedule;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// Root of V(sigma^2) = 2 ln N by bisection in ln sigma^2 (V decreases in sigma^2).
    fn root(s2: f64, sum_s4: f64, n: f64, normalized: bool) -> f64 {
        let target = 2.0 * n.ln();
        let (mut lo, mut hi) = (-60.0_f64, 60.0_f64);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if energy_variance(s2, sum_s4, mid.exp(), normalized) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (0.5 * (lo + hi)).exp()
    }

    #[test]
    fn closed_forms_solve_the_rem_condition() {
        let spectrum = [1.0, 1.0, 0.09, 0.09, 0.09, 1e-4];
        let sum_s4: f64 = spectrum.iter().map(|v| v * v).sum();
        for n in [250.0, 500.0, 20000.0] {
            for &s2 in &spectrum {
                let a = critical_sigma2(s2, sum_s4, n);
                assert!((a / root(s2, sum_s4, n, false) - 1.0).abs() < 1e-10);
                let b = critical_sigma2_normalized(s2, n);
                assert!((b / root(s2, sum_s4, n, true) - 1.0).abs() < 1e-10);
                assert!((critical_n_normalized(s2, b) / n - 1.0).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn unnormalised_level_tends_to_normalised_without_norm_fluctuations() {
        for n in [250.0, 20000.0] {
            let s2 = 0.7;
            let lim = critical_sigma2(s2, 1e-14, n);
            assert!((lim / critical_sigma2_normalized(s2, n) - 1.0).abs() < 1e-9);
            // Norm fluctuations always raise the critical level (collapse happens earlier).
            assert!(critical_sigma2(s2, 1.0, n) > critical_sigma2_normalized(s2, n));
        }
    }

    #[test]
    fn energy_variance_matches_monte_carlo_of_the_rem_energies() {
        // E_mu along direction i: (sigma z_i x_i^mu - ||x^mu||^2 / 2) / sigma^2 over mu, with the
        // query at large noise (x_i ≈ sigma z_i, E z_i^2 = 1).
        let s2 = [1.0, 0.3, 0.3, 0.05];
        let sum_s4: f64 = s2.iter().map(|v| v * v).sum();
        let sigma2 = 4.0_f64;
        let sigma = sigma2.sqrt();
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let m = 400_000;
        for (i, &si2) in s2.iter().enumerate() {
            let mut vals = Vec::with_capacity(m);
            for _ in 0..m {
                let z: f64 = StandardNormal.sample(&mut rng);
                let x: Vec<f64> = s2
                    .iter()
                    .map(|v| {
                        let g: f64 = StandardNormal.sample(&mut rng);
                        v.sqrt() * g
                    })
                    .collect();
                let norm2: f64 = x.iter().map(|v| v * v).sum();
                vals.push((sigma * z * x[i] - 0.5 * norm2) / sigma2);
            }
            let mean = vals.iter().sum::<f64>() / m as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m as f64;
            let expected = energy_variance(si2, sum_s4, sigma2, false);
            assert!(
                (var / expected - 1.0).abs() < 0.02,
                "dir {i}: {var} vs {expected}"
            );
        }
    }

    #[test]
    fn normalised_levels_use_the_variances_of_unit_norm_samples() {
        // Monte Carlo: the paper's generator (stds 1, 0.3, 0.01 on axes), rows scaled to unit
        // norm, variance per coordinate averaged over each group.
        let stds = [(2usize, 1.0f64), (5, 0.3), (23, 0.01)];
        let scales: Vec<f64> = stds
            .iter()
            .flat_map(|&(k, s)| std::iter::repeat_n(s, k))
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let m = 100_000;
        let mut second = [0.0f64; 3];
        for _ in 0..m {
            let x: Vec<f64> = scales
                .iter()
                .map(|s| {
                    let g: f64 = StandardNormal.sample(&mut rng);
                    s * g
                })
                .collect();
            let n2: f64 = x.iter().map(|v| v * v).sum();
            let mut first = 0;
            for (g, &(k, _)) in stds.iter().enumerate() {
                second[g] += x[first..first + k].iter().map(|v| v * v).sum::<f64>() / n2 / k as f64;
                first += k;
            }
        }
        let spectrum: Vec<f64> = scales.iter().map(|s| s * s).collect();
        let sch = Schedule::merger_goldt();
        let lv = critical_levels(&spectrum, &[500], true, &sch).unwrap();
        assert_eq!(lv.len(), 3);
        for (g, l) in lv.iter().enumerate() {
            let mc = second[g] / m as f64;
            assert!(
                (l.s2 / mc - 1.0).abs() < 0.02,
                "group {g}: {} vs {mc}",
                l.s2
            );
            assert!((l.sigma2_c / critical_sigma2_normalized(mc, 500.0) - 1.0).abs() < 0.02);
        }
        // Block 2 is far above the plain rescaling 0.09 / sum s^2.
        let total: f64 = spectrum.iter().sum();
        assert!(lv[1].s2 > 1.4 * 0.09 / total, "{}", lv[1].s2);
    }

    #[test]
    fn paper_manifold_loses_the_high_variance_subspace_first() {
        let mut spectrum = vec![1.0; 2];
        spectrum.extend([0.09; 5]);
        spectrum.extend([1e-4; 23]);
        let sch = Schedule::merger_goldt();
        for normalized in [false, true] {
            let lv = critical_levels(&spectrum, &[250, 500, 20000], normalized, &sch).unwrap();
            assert_eq!(lv.len(), 9);
            assert_eq!((lv[0].count, lv[1].count, lv[2].count), (2, 5, 23));
            assert!(lv[0].sigma2_c > lv[1].sigma2_c && lv[1].sigma2_c > lv[2].sigma2_c);
            // Larger N: collapse at smaller noise.
            assert!(lv[6].sigma2_c < lv[0].sigma2_c);
        }
        assert!(critical_levels(&spectrum, &[1], false, &sch).is_err());
    }
}
