//! The Frechet (2-Wasserstein) distance between Gaussians, the core of FID and FWD
//! (Dowson & Landau 1982; Heusel et al., arXiv 1706.08500):
//!
//!   d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2}),
//!
//! with both square roots taken from symmetric eigendecompositions (faer, float64), clipping
//! the tiny negative eigenvalues of rank-deficient covariances to 0.

use crate::{MetricsError, Result};
use faer::{Mat, Side};

/// Mean and unbiased (1 / (n - 1)) covariance of `n` feature vectors of length `d`, as the
/// authors' code (`torch.cov`) does. The covariance is a faer matrix.
pub fn moments(rows: &[Vec<f64>]) -> Result<(Vec<f64>, Mat<f64>)> {
    let n = rows.len();
    let d = rows.first().map_or(0, Vec::len);
    if n < 2 || d == 0 || rows.iter().any(|r| r.len() != d) {
        return Err(MetricsError::Invalid(format!(
            "moments need at least 2 feature vectors of one length (got {n})"
        )));
    }
    let mut mean = vec![0.0; d];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v / n as f64;
        }
    }
    let centred = Mat::<f64>::from_fn(n, d, |i, j| rows[i][j] - mean[j]);
    let cov = centred.transpose() * &centred * faer::Scale(1.0 / (n - 1) as f64);
    Ok((mean, cov))
}

/// Eigenvalues and eigenvectors of the symmetric part of `m`.
fn sym_eigen(m: &Mat<f64>) -> Result<(Vec<f64>, Mat<f64>)> {
    let d = m.nrows();
    let s = Mat::<f64>::from_fn(d, d, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    if (0..d).any(|i| (0..d).any(|j| !s[(i, j)].is_finite())) {
        return Err(MetricsError::Linalg("covariance is not finite".into()));
    }
    let evd = s
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| MetricsError::Linalg(format!("eigendecomposition failed: {e:?}")))?;
    let vals = (0..d).map(|j| evd.S().column_vector()[j]).collect();
    Ok((vals, evd.U().to_owned()))
}

/// The squared Frechet distance d^2 between N(mu_1, S_1) and N(mu_2, S_2) (module docs);
/// never negative (round-off below 0 is clipped).
pub fn frechet_distance(mu1: &[f64], s1: &Mat<f64>, mu2: &[f64], s2: &Mat<f64>) -> Result<f64> {
    let d = mu1.len();
    if mu2.len() != d || s1.nrows() != d || s1.ncols() != d || s2.nrows() != d || s2.ncols() != d {
        return Err(MetricsError::Invalid(format!(
            "Frechet distance of mismatched shapes: means {d} and {}, covariances {}x{} and {}x{}",
            mu2.len(),
            s1.nrows(),
            s1.ncols(),
            s2.nrows(),
            s2.ncols()
        )));
    }
    let (l1, u1) = sym_eigen(s1)?;
    let root1 = Mat::<f64>::from_fn(d, d, |i, j| {
        (0..d)
            .map(|k| u1[(i, k)] * l1[k].max(0.0).sqrt() * u1[(j, k)])
            .sum()
    });
    let inner = &root1 * s2 * &root1;
    let (li, _) = sym_eigen(&inner)?;
    let tr_cross: f64 = li.iter().map(|v| v.max(0.0).sqrt()).sum();
    let tr = |s: &Mat<f64>| (0..d).map(|i| s[(i, i)]).sum::<f64>();
    let dm: f64 = mu1.iter().zip(mu2).map(|(a, b)| (a - b).powi(2)).sum();
    Ok((dm + tr(s1) + tr(s2) - 2.0 * tr_cross).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(d: usize, seed: u64) -> Mat<f64> {
        let a = Mat::<f64>::from_fn(d, d, |i, j| {
            (((i * 7 + j * 3 + seed as usize) % 11) as f64 - 5.0) / 5.0
        });
        &a * a.transpose() + Mat::<f64>::identity(d, d) * faer::Scale(0.1)
    }

    #[test]
    fn identical_gaussians_are_at_distance_zero() {
        let s = spd(5, 1);
        let mu = vec![0.3, -1.0, 2.0, 0.0, 1.5];
        let d = frechet_distance(&mu, &s, &mu, &s).unwrap();
        assert!(d.abs() < 1e-9, "{d}");
    }

    /// Commuting (here diagonal) covariances: d^2 = ||dmu||^2 + sum (sqrt a_i - sqrt b_i)^2.
    #[test]
    fn diagonal_gaussians_match_the_closed_form() {
        let a = [1.0, 4.0, 0.25];
        let b = [9.0, 1.0, 0.25];
        let diag = |v: &[f64]| Mat::<f64>::from_fn(3, 3, |i, j| if i == j { v[i] } else { 0.0 });
        let got =
            frechet_distance(&[0.0, 1.0, 0.0], &diag(&a), &[1.0, 1.0, 2.0], &diag(&b)).unwrap();
        let want = 1.0 + 4.0 + (1.0f64 - 3.0).powi(2) + (2.0f64 - 1.0).powi(2);
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    /// Non-commuting covariances in 2-D against the closed form of Tr sqrt(M) for a 2x2
    /// positive M: sqrt(Tr M + 2 sqrt(det M)), and det(S1^1/2 S2 S1^1/2) = det S1 det S2,
    /// Tr(S1^1/2 S2 S1^1/2) = Tr(S1 S2).
    #[test]
    fn two_dimensional_gaussians_match_the_closed_form() {
        let s1 = spd(2, 3);
        let s2 = spd(2, 8);
        let det = |s: &Mat<f64>| s[(0, 0)] * s[(1, 1)] - s[(0, 1)] * s[(1, 0)];
        let tr = |s: &Mat<f64>| s[(0, 0)] + s[(1, 1)];
        let tr_prod = tr(&(&s1 * &s2));
        let tr_root = (tr_prod + 2.0 * (det(&s1) * det(&s2)).sqrt()).sqrt();
        let want = tr(&s1) + tr(&s2) - 2.0 * tr_root;
        let got = frechet_distance(&[0.0; 2], &s1, &[0.0; 2], &s2).unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    }

    #[test]
    fn moments_are_unbiased() {
        let rows = vec![vec![1.0, 2.0], vec![3.0, 2.0], vec![2.0, 5.0]];
        let (m, c) = moments(&rows).unwrap();
        assert_eq!(m, vec![2.0, 3.0]);
        assert!((c[(0, 0)] - 1.0).abs() < 1e-12);
        assert!((c[(1, 1)] - 3.0).abs() < 1e-12);
        assert!((c[(0, 1)] - 0.0).abs() < 1e-12);
        assert!(moments(&rows[..1]).is_err());
    }
}
