//! Monte Carlo over training sets for the tests of [`super::kappa`],
//! [`super::spectral_contour`] and [`super::split_rmt`]: sample covariances, fitted linear
//! denoisers and the exact (noise-averaged) disagreement of two DDPM samplers, all in f64.

use super::split_agreement::source_variance;
use super::split_rmt::{SourceValues, sources_at};
use diffmem_model::Schedule;
use diffmem_model::linear_gaussian::{Eigen, GaussianMoments};
use faer::c64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// lambda_j proportional to 1/j, normalised to trace d (the `power:1` spectrum of the data crate).
pub fn spectrum(d: usize) -> Vec<f64> {
    let raw: Vec<f64> = (1..=d).map(|j| 1.0 / j as f64).collect();
    let sum: f64 = raw.iter().sum();
    raw.iter().map(|l| l * d as f64 / sum).collect()
}

/// `n` rows of N(mean, diag(spectrum)), row-major.
fn rows(spectrum: &[f64], mean: &[f64], n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let d = spectrum.len();
    (0..n * d)
        .map(|k| {
            let z: f64 = StandardNormal.sample(rng);
            mean[k % d] + spectrum[k % d].sqrt() * z
        })
        .collect()
}

/// The diagonal of a (S + a)^-1 averaged over `draws` sample covariances S = (1/m) Z^T Z of
/// m centred rows of N(0, diag(spectrum)), with the standard error of each average.
pub fn resolvent_diag(
    spectrum: &[f64],
    m: usize,
    a: f64,
    draws: usize,
    seed: u64,
) -> Vec<(f64, f64)> {
    let d = spectrum.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let zero = vec![0.0; d];
    let mut acc = vec![(0.0, 0.0); d];
    for _ in 0..draws {
        let z = rows(spectrum, &zero, m, &mut rng);
        let mut s = vec![0.0; d * d];
        for row in z.chunks(d) {
            for r in 0..d {
                for c in 0..d {
                    s[r * d + c] += row[r] * row[c] / m as f64;
                }
            }
        }
        let e = Eigen::of_symmetric(&s, d).unwrap();
        let g: Vec<f64> = e.values.iter().map(|v| a / (v.max(0.0) + a)).collect();
        let w = e.compose(&g);
        for (i, acc) in acc.iter_mut().enumerate() {
            acc.0 += w[i * d + i];
            acc.1 += w[i * d + i].powi(2);
        }
    }
    let k = draws as f64;
    acc.iter()
        .map(|&(s, s2)| {
            (
                s / k,
                ((s2 / k - (s / k).powi(2)).max(0.0) / (k - 1.0)).sqrt(),
            )
        })
        .collect()
}

/// The fitted moments (diffmem's 1/N covariance about the sample mean) of `n` fresh rows.
pub fn fit(spectrum: &[f64], mean: &[f64], n: usize, rng: &mut ChaCha8Rng) -> GaussianMoments {
    GaussianMoments::from_samples(&rows(spectrum, mean, n, rng), spectrum.len()).unwrap()
}

/// U diag(g) U^T v for a fitted eigenbasis.
fn apply(e: &Eigen, g: &[f64], v: &[f64]) -> Vec<f64> {
    let y: Vec<f64> = e.to_basis(v).iter().zip(g).map(|(y, g)| y * g).collect();
    e.from_basis(&y)
}

/// ||D_A(y) - D_B(y)||^2 / d for the denoisers D(y) = mu + S (S + sigma2)^-1 (y - mu) of two fits.
pub fn denoiser_pair(a: &GaussianMoments, b: &GaussianMoments, sigma2: f64, y: &[f64]) -> f64 {
    let out = |m: &GaussianMoments| {
        let g: Vec<f64> = m.eigen.values.iter().map(|l| l / (l + sigma2)).collect();
        let centred: Vec<f64> = y.iter().zip(&m.mean).map(|(y, mu)| y - mu).collect();
        let w = apply(&m.eigen, &g, &centred);
        w.iter()
            .zip(&m.mean)
            .map(|(w, mu)| w + mu)
            .collect::<Vec<_>>()
    };
    let (p, q) = (out(a), out(b));
    p.iter().zip(&q).map(|(p, q)| (p - q).powi(2)).sum::<f64>() / y.len() as f64
}

/// Every source's g_s and h at each eigenvalue of a fit (index [s][j]; the last row is h).
fn source_table(m: &GaussianMoments, s: &Schedule, lambda: f64) -> Vec<Vec<f64>> {
    let per: Vec<SourceValues> = m
        .eigen
        .values
        .iter()
        .map(|&l| sources_at(s, c64::new(l, 0.0), lambda))
        .collect();
    let mut table: Vec<Vec<f64>> = (0..=s.len())
        .map(|k| per.iter().map(|p| p.0[k].re).collect())
        .collect();
    table.push(per.iter().map(|p| p.1.re).collect());
    table
}

/// E over the shared sampler noise of ||x_A - x_B||^2 / d for the DDPM samples of two exact
/// linear models: sum_s v_s ||g_s(S_A) - g_s(S_B)||_F^2 + ||h(S_A) mu_A - h(S_B) mu_B||^2.
pub fn sampler_pair(
    a: &GaussianMoments,
    b: &GaussianMoments,
    s: &Schedule,
    lambda: f64,
    last: bool,
) -> f64 {
    let d = a.d();
    let (ua, ub) = (&a.eigen.vectors, &b.eigen.vectors);
    let overlap: Vec<f64> = (0..d * d)
        .map(|k| {
            let (i, j) = (k / d, k % d);
            (0..d)
                .map(|r| ua[r * d + i] * ub[r * d + j])
                .sum::<f64>()
                .powi(2)
        })
        .collect();
    let (ta, tb) = (source_table(a, s, lambda), source_table(b, s, lambda));
    let mut total = 0.0;
    for k in 0..=s.len() {
        let (ga, gb) = (&ta[k], &tb[k]);
        let cross: f64 = (0..d * d)
            .map(|ij| ga[ij / d] * overlap[ij] * gb[ij % d])
            .sum();
        let sq = |g: &[f64]| g.iter().map(|x| x * x).sum::<f64>();
        total += source_variance(s, k, last) * (sq(ga) + sq(gb) - 2.0 * cross);
    }
    let (ha, hb) = (apply(&a.eigen, &ta[s.len() + 1], &a.mean), {
        apply(&b.eigen, &tb[s.len() + 1], &b.mean)
    });
    total += ha
        .iter()
        .zip(&hb)
        .map(|(p, q)| (p - q).powi(2))
        .sum::<f64>();
    total / d as f64
}

/// The average of `pair` over `pairs` pairs of independent fits of `n` rows.
pub fn average_over_pairs(
    spectrum: &[f64],
    mean: &[f64],
    n: usize,
    pairs: usize,
    seed: u64,
    pair: impl Fn(&GaussianMoments, &GaussianMoments) -> f64,
) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..pairs)
        .map(|_| {
            let a = fit(spectrum, mean, n, &mut rng);
            let b = fit(spectrum, mean, n, &mut rng);
            pair(&a, &b)
        })
        .sum::<f64>()
        / pairs as f64
}
