//! Exact second moments of a unit-normalised centred Gaussian.
//!
//! For y_i = s_i z_i (z standard normal) and S = sum_j y_j^2, using 1/S = int_0^inf e^{-tS} dt
//! and E[y_i^2 e^{-t S}] = s_i^2 (1 + 2 t s_i^2)^{-3/2} prod_{j != i} (1 + 2 t s_j^2)^{-1/2}:
//!
//! ```text
//! E[y_i^2 / S] = int_0^inf s_i^2 / (1 + 2 t s_i^2) * prod_j (1 + 2 t s_j^2)^{-1/2} dt.
//! ```
//!
//! With t = e^u the integrand is analytic and decays exponentially at both ends, so the
//! trapezoid rule in u converges geometrically; the values sum to 1 (the trace of the
//! covariance of a unit vector) up to ~1e-12.

/// E[y_i^2 / |y|^2] for y ~ N(0, diag(scales^2)), i.e. the covariance eigenvalues of y/|y|.
/// Zero scales give zero; if every scale is zero, all values are zero.
pub fn unit_norm_variances(scales: &[f64]) -> Vec<f64> {
    let sq: Vec<f64> = scales.iter().map(|s| s * s).collect();
    let positive = sq.iter().copied().filter(|&v| v > 0.0);
    let (Some(min), Some(max)) = (
        positive.clone().reduce(f64::min),
        positive.clone().reduce(f64::max),
    ) else {
        return vec![0.0; scales.len()];
    };
    let k = positive.count() as f64;
    // Below u_lo the integrand is below ~1e-12 relative; above u_hi the product has decayed
    // like e^{-k/2 (u - u0)} to below e^{-30}.
    let u_lo = (1e-13f64).ln() - max.ln();
    let u_hi = -(2.0 * min).ln() + 60.0 / k + 5.0;
    let h = 0.02;
    let steps = ((u_hi - u_lo) / h).ceil() as usize;
    let mut acc = vec![0.0; sq.len()];
    for m in 0..=steps {
        let u = u_lo + m as f64 * h;
        let t = u.exp();
        let weight = if m == 0 || m == steps { 0.5 } else { 1.0 };
        let log_prod: f64 = sq.iter().map(|&v| -0.5 * (2.0 * t * v).ln_1p()).sum();
        let common = weight * h * t * log_prod.exp();
        for (a, &v) in acc.iter_mut().zip(&sq) {
            *a += common * v / (1.0 + 2.0 * t * v);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cases() {
        // One dimension: y/|y| = +-1.
        assert!((unit_norm_variances(&[0.3])[0] - 1.0).abs() < 1e-10);
        // Isotropic in d dims: each coordinate has second moment 1/d.
        for v in unit_norm_variances(&[2.0; 5]) {
            assert!((v - 0.2).abs() < 1e-10);
        }
        // Sums to one, ordered like the scales.
        let v = unit_norm_variances(&[1.0, 1.0, 0.3, 0.3, 0.3, 0.3, 0.3, 0.01, 0.01]);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-10);
        assert!(v[0] > v[2] && v[2] > v[7]);
        assert_eq!(unit_norm_variances(&[0.0, 0.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn two_dims_closed_form() {
        // For scales (a, b): E[y1^2/S] = a / (a + b) (classical result for the angle of an
        // elliptical Gaussian).
        let (a, b) = (2.0f64, 0.5f64);
        let v = unit_norm_variances(&[a, b]);
        assert!((v[0] - a / (a + b)).abs() < 1e-10, "{v:?}");
    }
}
