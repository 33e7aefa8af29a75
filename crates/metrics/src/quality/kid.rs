//! Kernel Inception Distance without Inception (Binkowski et al., arXiv 1801.01401): the
//! unbiased squared maximum mean discrepancy between two sets of feature vectors (here the
//! samples' own coordinates) under the polynomial kernel
//!
//!   k(x, y) = (x . y / d + 1)^3,
//!
//!   MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
//!             - 2/m^2 sum_{i,j} k(x_i, y_j),
//!
//! averaged over random subsets of m points of each set (drawn without replacement, as
//! torch-fidelity does). The spread of the subset values gives the interval. The three kernel
//! matrices are computed once (faer, float64); each subset only gathers from them.

use crate::{MetricsError, Result};
use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// KID estimate over subsets.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Kid {
    /// Mean of MMD^2_u over the subsets (an unbiased estimate of MMD^2).
    pub mean: f64,
    /// Standard deviation of the subset values.
    pub std: f64,
    /// 2.5% quantile of the subset values.
    pub lo: f64,
    /// 97.5% quantile of the subset values.
    pub hi: f64,
    /// Number of subsets.
    pub subsets: usize,
    /// Points per set in each subset.
    pub subset_size: usize,
}

/// The kernel matrix k(a_i, b_j) = (a_i . b_j / d + 1)^3 of `[n, d]` and `[m, d]` rows.
pub fn kernel_matrix(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    let d = a.ncols().max(1) as f64;
    let g = a * b.transpose();
    Mat::<f64>::from_fn(g.nrows(), g.ncols(), |i, j| (g[(i, j)] / d + 1.0).powi(3))
}

/// MMD^2_u of the subsets `sx`, `sy` (equal sizes m >= 2) from precomputed kernel matrices.
fn mmd2_subset(kxx: &Mat<f64>, kyy: &Mat<f64>, kxy: &Mat<f64>, sx: &[usize], sy: &[usize]) -> f64 {
    let m = sx.len() as f64;
    let off_diag = |k: &Mat<f64>, s: &[usize]| {
        let mut t = 0.0;
        for (a, &i) in s.iter().enumerate() {
            for &j in &s[a + 1..] {
                t += k[(i, j)];
            }
        }
        2.0 * t / (m * (m - 1.0))
    };
    let mut cross = 0.0;
    for &i in sx {
        for &j in sy {
            cross += kxy[(i, j)];
        }
    }
    off_diag(kxx, sx) + off_diag(kyy, sy) - 2.0 * cross / (m * m)
}

fn to_mat(rows: &[f32], d: usize) -> Mat<f64> {
    Mat::<f64>::from_fn(rows.len() / d, d, |i, j| f64::from(rows[i * d + j]))
}

/// The default subset size for sets of `n` and `m` points: half the smaller set, at most 1000
/// (torch-fidelity's default), so that subsets differ and their spread means something.
pub fn default_subset_size(n: usize, m: usize) -> usize {
    (n.min(m) / 2).clamp(2, 1000)
}

/// KID between the `[n, d]` rows `x` and `[m, d]` rows `y`: `subsets` random subsets of
/// `subset_size` points of each, drawn with the seeded ChaCha8 stream `seed`.
pub fn kid(
    x: &[f32],
    y: &[f32],
    d: usize,
    subsets: usize,
    subset_size: usize,
    seed: u64,
) -> Result<Kid> {
    let (n, m) = (x.len() / d.max(1), y.len() / d.max(1));
    if d == 0 || subsets == 0 || subset_size < 2 || subset_size > n.min(m) {
        return Err(MetricsError::Invalid(format!(
            "KID needs d > 0, at least one subset and 2 <= subset size <= min(n, m) \
             (got d = {d}, {subsets} subsets of {subset_size}, n = {n}, m = {m})"
        )));
    }
    let (xm, ym) = (to_mat(x, d), to_mat(y, d));
    let (kxx, kyy, kxy) = (
        kernel_matrix(&xm, &xm),
        kernel_matrix(&ym, &ym),
        kernel_matrix(&xm, &ym),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vals: Vec<f64> = (0..subsets)
        .map(|_| {
            let sx = rand::seq::index::sample(&mut rng, n, subset_size).into_vec();
            let sy = rand::seq::index::sample(&mut rng, m, subset_size).into_vec();
            mmd2_subset(&kxx, &kyy, &kxy, &sx, &sy)
        })
        .collect();
    let k = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / k;
    let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0).max(1.0)).sqrt();
    vals.sort_by(f64::total_cmp);
    let q = |p: f64| vals[((p * (k - 1.0)).round() as usize).min(vals.len() - 1)];
    Ok(Kid {
        mean,
        std,
        lo: q(0.025),
        hi: q(0.975),
        subsets,
        subset_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn uniform(n: usize, width: f64, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| (rng.random::<f64>() * width) as f32)
            .collect()
    }

    /// In 1-D, (xy + 1)^3 = x^3 y^3 + 3 x^2 y^2 + 3 x y + 1 has the feature map
    /// (x^3, sqrt3 x^2, sqrt3 x, 1), so MMD^2 = (E X^3 - E Y^3)^2 + 3 (E X^2 - E Y^2)^2
    /// + 3 (E X - E Y)^2. For U(0,1) against U(0,2) (E U(0,a)^k = a^k / (k+1)): 6.8125.
    #[test]
    fn uniforms_match_the_closed_form() {
        let x = uniform(2000, 1.0, 1);
        let y = uniform(2000, 2.0, 2);
        let k = kid(&x, &y, 1, 20, 1000, 3).unwrap();
        assert!((k.mean - 6.8125).abs() < 0.05 * 6.8125, "{k:?}");
        assert!(k.lo <= k.mean && k.mean <= k.hi);
    }

    #[test]
    fn same_distribution_gives_about_zero() {
        let x = uniform(3000, 1.0, 4);
        let y = uniform(3000, 1.0, 5);
        let k = kid(&x, &y, 3, 20, 500, 6).unwrap();
        let far = kid(&x, &uniform(3000, 2.0, 7), 3, 20, 500, 6).unwrap();
        assert!(k.mean.abs() < 0.01 * far.mean, "{k:?} vs {far:?}");
        assert!(k.lo < 0.0 && k.hi > 0.0, "{k:?}");
    }

    /// The unbiased estimator of one subset against a direct double loop.
    #[test]
    fn subset_estimator_matches_direct_sums() {
        let x = uniform(8, 2.0, 8);
        let y = uniform(8, 1.0, 9);
        let d = 2;
        let kf = |a: &[f32], b: &[f32]| {
            let dot: f64 = a
                .iter()
                .zip(b)
                .map(|(p, q)| f64::from(*p) * f64::from(*q))
                .sum();
            (dot / d as f64 + 1.0).powi(3)
        };
        let (xs, ys): (Vec<&[f32]>, Vec<&[f32]>) = (x.chunks(d).collect(), y.chunks(d).collect());
        let m = 4.0;
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        for i in 0..4 {
            for j in 0..4 {
                if i != j {
                    a += kf(xs[i], xs[j]);
                    b += kf(ys[i], ys[j]);
                }
                c += kf(xs[i], ys[j]);
            }
        }
        let want = a / (m * (m - 1.0)) + b / (m * (m - 1.0)) - 2.0 * c / (m * m);
        let (xm, ym) = (to_mat(&x, d), to_mat(&y, d));
        let got = mmd2_subset(
            &kernel_matrix(&xm, &xm),
            &kernel_matrix(&ym, &ym),
            &kernel_matrix(&xm, &ym),
            &[0, 1, 2, 3],
            &[0, 1, 2, 3],
        );
        assert!((got - want).abs() < 1e-9 * want.abs().max(1.0));
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(kid(&[0.0; 4], &[0.0; 4], 2, 10, 3, 0).is_err());
        assert!(kid(&[0.0; 4], &[0.0; 4], 0, 10, 2, 0).is_err());
    }
}
