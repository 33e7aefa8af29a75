//! Memorisation along training time (`eval --along-training`): the percentile bootstrap of a
//! memorised fraction, the onset times tau_mem and tau_gen, and the power law tau_mem ~ N^a.
//!
//! - **Bootstrap** (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13): the
//!   M samples are drawn again with replacement B times; the 2.5% and 97.5% percentiles of the
//!   statistic over the resamples are its 95% interval. The samples of every snapshot come
//!   from the same noise, so one resample (one multiset of sample indices) is applied to every
//!   snapshot: the curve r_mem(step), and its crossing time, are resampled together.
//! - **tau_mem**: the first snapshot step at which r_mem exceeds a threshold (0.1 by default),
//!   interpolated linearly in log(step) between that snapshot and the one before it
//!   (Bonnaire, Urfin, Biroli, Mezard, arXiv 2505.17638, measure the onset the same way on a
//!   log time axis). Not reached: `None`, never a number.
//! - **tau_gen**: the first snapshot step at which the held-out loss (and the sample-quality
//!   distance FWD, when measured) is within a relative tolerance of its lowest value over all
//!   snapshots.
//! - **Power law**: least squares of log y on log x, y = c x^a, with a Student-t interval for a
//!   and R^2 (Bonnaire et al. find tau_mem proportional to N, a = 1).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A two-sided interval [lo, hi]; a bound that is not reached (a crossing time beyond the last
/// snapshot) is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub lo: Option<f64>,
    /// Upper bound.
    pub hi: Option<f64>,
}

/// B resamples of M indices drawn uniformly with replacement from 0..M, from a ChaCha8 stream
/// seeded by `seed` (the same resamples on every machine).
pub fn resamples(m: usize, b: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    if m == 0 {
        return vec![Vec::new(); b];
    }
    (0..b)
        .map(|_| (0..m).map(|_| rng.random_range(0..m)).collect())
        .collect()
}

/// The `q`-quantile (0..=1) of `v` by linear interpolation between order statistics (type 7,
/// R's default); +inf values take part in the order (a censored time sorts last). None for an
/// empty list or a quantile that lands on +inf.
pub fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let (i, f) = (h.floor() as usize, h - h.floor());
    let x = if f == 0.0 || i + 1 >= s.len() {
        s[i]
    } else if s[i + 1].is_infinite() {
        f64::INFINITY
    } else {
        s[i] + f * (s[i + 1] - s[i])
    };
    x.is_finite().then_some(x)
}

/// The central `level` interval (e.g. 0.95) of the bootstrap replicates `v`.
pub fn percentile_interval(v: &[f64], level: f64) -> Interval {
    let a = (1.0 - level) / 2.0;
    Interval {
        lo: quantile(v, a),
        hi: quantile(v, 1.0 - a),
    }
}

/// Fraction of true flags over the indices `idx`.
fn fraction(flags: &[bool], idx: &[usize]) -> f64 {
    idx.iter().filter(|&&i| flags[i]).count() as f64 / idx.len().max(1) as f64
}

/// Percentile-bootstrap interval at `level` of the fraction of true `flags` over the resamples.
pub fn fraction_interval(flags: &[bool], res: &[Vec<usize>], level: f64) -> Interval {
    let reps: Vec<f64> = res.iter().map(|idx| fraction(flags, idx)).collect();
    percentile_interval(&reps, level)
}

/// First step at which `values` exceeds `threshold` (strictly), interpolated linearly in
/// log(step) between that snapshot and the previous one; the first step itself when the first
/// value already exceeds it. None when no value does. `steps` must be positive and increasing.
pub fn crossing_time(steps: &[usize], values: &[f64], threshold: f64) -> Option<f64> {
    let i = values.iter().position(|&v| v > threshold)?;
    let s1 = *steps.get(i)? as f64;
    if i == 0 {
        return Some(s1);
    }
    let (s0, v0, v1) = (steps[i - 1] as f64, values[i - 1], values[i]);
    let f = if v0.is_finite() && v1 > v0 {
        ((threshold - v0) / (v1 - v0)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Some((s0.ln() + f * (s1.ln() - s0.ln())).exp())
}

/// tau_mem of per-snapshot memorisation flags (`flags[snapshot][sample]`, every snapshot
/// evaluated on the same noise) and its percentile-bootstrap interval over `res`: a resample
/// whose curve never crosses counts as +inf, so an upper bound beyond the last snapshot is None.
pub fn tau_mem(
    steps: &[usize],
    flags: &[Vec<bool>],
    threshold: f64,
    res: &[Vec<usize>],
    level: f64,
) -> (Option<f64>, Interval) {
    let all: Vec<usize> = (0..flags.first().map_or(0, Vec::len)).collect();
    let curve = |idx: &[usize]| -> Vec<f64> { flags.iter().map(|f| fraction(f, idx)).collect() };
    let point = crossing_time(steps, &curve(&all), threshold);
    let reps: Vec<f64> = res
        .iter()
        .map(|idx| crossing_time(steps, &curve(idx), threshold).unwrap_or(f64::INFINITY))
        .collect();
    (point, percentile_interval(&reps, level))
}

/// tau_gen: the first step whose `loss` is at most best + `tol` |best|, with best the lowest
/// finite loss. None when no loss is finite.
pub fn tau_gen(steps: &[usize], loss: &[f64], tol: f64) -> Option<usize> {
    tau_gen_joint(steps, &[loss], tol)
}

/// tau_gen of several lower-is-better curves at once (the held-out loss and, when measured, the
/// sample-quality distance FWD): the first step at which EVERY curve with a finite value is at
/// most its best + `tol` |best|. A curve without any finite value is ignored; a step where a
/// curve that counts is not finite does not qualify. None when no curve has a finite value.
pub fn tau_gen_joint(steps: &[usize], curves: &[&[f64]], tol: f64) -> Option<usize> {
    let bounds: Vec<(&[f64], f64)> = curves
        .iter()
        .filter_map(|c| {
            let best = c
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .min_by(f64::total_cmp)?;
            Some((*c, best + tol * best.abs()))
        })
        .collect();
    if bounds.is_empty() {
        return None;
    }
    let ok = |i: usize| {
        bounds
            .iter()
            .all(|(c, b)| c.get(i).is_some_and(|&v| v.is_finite() && v <= *b))
    };
    let i = (0..steps.len()).find(|&i| ok(i))?;
    steps.get(i).copied()
}

/// A fitted power law y = c x^a.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerLaw {
    /// The exponent a.
    pub a: f64,
    /// 95% Student-t interval of a (None with fewer than 3 points).
    pub a_interval: Option<(f64, f64)>,
    /// The prefactor c.
    pub c: f64,
    /// R^2 of the fit of log y on log x.
    pub r2: f64,
    /// Points used (those with x > 0 and y > 0, both finite).
    pub n: usize,
}

/// Least-squares fit of log y = log c + a log x over the points with positive finite x and y.
/// None with fewer than 2 such points or when every x is the same.
pub fn fit_power_law(x: &[f64], y: &[f64]) -> Option<PowerLaw> {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite() && **a > 0.0 && **b > 0.0)
        .map(|(a, b)| (a.ln(), b.ln()))
        .collect();
    let n = pts.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / nf,
        pts.iter().map(|p| p.1).sum::<f64>() / nf,
    );
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let a = sxy / sxx;
    let b = my - a * mx;
    let sse: f64 = pts.iter().map(|p| (p.1 - b - a * p.0).powi(2)).sum();
    let r2 = if syy > 0.0 { 1.0 - sse / syy } else { 1.0 };
    let a_interval = (n >= 3).then(|| {
        let se = (sse / (nf - 2.0) / sxx).sqrt();
        let t = StudentsT::new(0.0, 1.0, nf - 2.0)
            .map(|d| d.inverse_cdf(0.975))
            .unwrap_or(f64::NAN);
        (a - t * se, a + t * se)
    });
    Some(PowerLaw {
        a,
        a_interval,
        c: b.exp(),
        r2,
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn bootstrap_interval_covers_the_true_fraction() {
        // 200 synthetic experiments of M = 200 Bernoulli(0.3) flags: the 95% interval must
        // cover 0.3 in about 95% of them (binomial sd of the coverage over 200 trials: 1.5%).
        let (p, m, trials) = (0.3, 200, 200);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let res = resamples(m, 400, 5);
        let covered = (0..trials)
            .filter(|_| {
                let flags: Vec<bool> = (0..m).map(|_| rng.random::<f64>() < p).collect();
                let iv = fraction_interval(&flags, &res, 0.95);
                iv.lo.unwrap() <= p && p <= iv.hi.unwrap()
            })
            .count() as f64
            / trials as f64;
        assert!((0.89..=0.99).contains(&covered), "coverage {covered}");
    }

    #[test]
    fn bootstrap_width_matches_the_binomial_standard_error() {
        // Independent check: for M = 400 and a fraction of 1/2, the interval spans about
        // 2 * 1.96 * sqrt(p (1 - p) / M) = 0.098.
        let flags: Vec<bool> = (0..400).map(|i| i % 2 == 0).collect();
        let iv = fraction_interval(&flags, &resamples(400, 2000, 1), 0.95);
        let width = iv.hi.unwrap() - iv.lo.unwrap();
        assert!((width - 0.098).abs() < 0.012, "{width}");
    }

    #[test]
    fn quantile_of_known_lists() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[0.0, 10.0], 0.25), Some(2.5));
        assert_eq!(quantile(&[1.0, f64::INFINITY], 1.0), None);
        assert_eq!(quantile(&[1.0, 2.0, f64::INFINITY], 0.0), Some(1.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn crossing_time_interpolates_on_the_log_axis() {
        let steps = [10, 100, 1000];
        // Halfway between 0.05 and 0.15 at 100 and 1000: 10^2.5.
        let t = crossing_time(&steps, &[0.0, 0.05, 0.15], 0.1).unwrap();
        assert!((t - 10f64.powf(2.5)).abs() < 1e-9, "{t}");
        assert_eq!(crossing_time(&steps, &[0.2, 0.3, 0.4], 0.1), Some(10.0));
        assert_eq!(crossing_time(&steps, &[0.0, 0.1, 0.05], 0.1), None);
        // Exactly at a snapshot's value: strict excess is needed, the next one crosses.
        let t = crossing_time(&steps, &[0.1, 0.1, 1.0], 0.1).unwrap();
        assert!((t - 100.0).abs() < 1e-9);
    }

    #[test]
    fn tau_mem_of_a_curve_and_never() {
        let steps = [10, 100, 1000];
        let m = 100;
        // r_mem = 0, 0.05, 0.5: crosses 0.1 between 100 and 1000.
        let flags: Vec<Vec<bool>> = [0, 5, 50]
            .iter()
            .map(|&k| (0..m).map(|i| i < k).collect())
            .collect();
        let res = resamples(m, 300, 2);
        let (t, iv) = tau_mem(&steps, &flags, 0.1, &res, 0.95);
        let t = t.unwrap();
        let f = (0.1f64 - 0.05) / 0.45;
        assert!((t - (100f64.ln() + f * 10f64.ln()).exp()).abs() < 1e-6);
        let (lo, hi) = (iv.lo.unwrap(), iv.hi.unwrap());
        assert!(lo <= t && t <= hi && lo >= 100.0 && hi <= 1000.0, "{iv:?}");
        let never = vec![vec![false; m]; 3];
        let (t, iv) = tau_mem(&steps, &never, 0.1, &res, 0.95);
        assert_eq!((t, iv.lo, iv.hi), (None, None, None));
    }

    #[test]
    fn tau_gen_is_the_first_step_near_the_best_loss() {
        let steps = [1, 2, 4, 8, 16];
        let loss = [1.0, 0.5, 0.31, 0.30, 0.35];
        assert_eq!(tau_gen(&steps, &loss, 0.05), Some(4));
        assert_eq!(tau_gen(&steps, &loss, 0.0), Some(8));
        assert_eq!(tau_gen(&steps, &[f64::NAN; 5], 0.05), None);
    }

    #[test]
    fn joint_tau_gen_waits_for_every_curve() {
        let steps = [1, 2, 4, 8, 16];
        let loss = [1.0, 0.5, 0.31, 0.30, 0.35];
        // The loss alone is near its best at step 4; the FWD (best 2.0, bound 2.1) only at 8.
        let fwd = [9.0, 5.0, 3.0, 2.05, 2.0];
        assert_eq!(tau_gen_joint(&steps, &[&loss, &fwd], 0.05), Some(8));
        assert_eq!(tau_gen_joint(&steps, &[&fwd, &loss], 0.05), Some(8));
        // A curve that was not measured (all NaN) does not count.
        assert_eq!(
            tau_gen_joint(&steps, &[&loss, &[f64::NAN; 5]], 0.05),
            Some(4)
        );
        // A missing value at a step keeps that step out.
        let gap = [1.0, 0.5, f64::NAN, 0.30, 0.35];
        assert_eq!(tau_gen_joint(&steps, &[&gap], 0.05), Some(8));
        assert_eq!(tau_gen_joint(&steps, &[], 0.05), None);
    }

    #[test]
    fn power_law_fit_recovers_a_known_exponent() {
        let x = [64.0, 128.0, 256.0, 512.0, 1024.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| 3.0 * v.powf(1.5)).collect();
        let f = fit_power_law(&x, &y).unwrap();
        assert!((f.a - 1.5).abs() < 1e-9 && (f.c - 3.0).abs() < 1e-6 && f.r2 > 1.0 - 1e-12);
        // With log-normal noise the 95% interval covers the exponent in most fits.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let covered = (0..200)
            .filter(|_| {
                let y: Vec<f64> = x
                    .iter()
                    .map(|v: &f64| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        2.0 * v.powf(0.8) * (0.2 * z).exp()
                    })
                    .collect();
                let (lo, hi) = fit_power_law(&x, &y).unwrap().a_interval.unwrap();
                lo <= 0.8 && 0.8 <= hi
            })
            .count();
        assert!((180..=198).contains(&covered), "{covered}");
        assert!(fit_power_law(&[1.0], &[1.0]).is_none());
        assert!(fit_power_law(&[2.0, 2.0], &[1.0, 3.0]).is_none());
        assert!(
            fit_power_law(&[1.0, 2.0], &[1.0, 2.0])
                .unwrap()
                .a_interval
                .is_none()
        );
    }
}
