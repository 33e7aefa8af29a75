//! Haar-distributed random orthogonal matrices: QR of a Gaussian matrix with the signs of
//! R's diagonal moved into Q (Mezzadri 2007), so the result is uniform on O(d).

use faer::Mat;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `n` standard normal draws, in stream order.
pub fn normals<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// A Haar-random orthogonal d x d matrix, row-major. The Gaussian matrix is drawn row by
/// row from `rng` (d^2 draws).
pub fn haar_orthogonal<R: Rng + ?Sized>(d: usize, rng: &mut R) -> Vec<f64> {
    let g = normals(rng, d * d);
    let gm = Mat::from_fn(d, d, |i, j| g[i * d + j]);
    let qr = gm.qr();
    let q = qr.compute_Q();
    let r = qr.R();
    let mut out = vec![0.0; d * d];
    for j in 0..d {
        let sign = if r[(j, j)] < 0.0 { -1.0 } else { 1.0 };
        for i in 0..d {
            out[i * d + j] = sign * q[(i, j)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    #[test]
    fn rotation_is_orthogonal_and_seeded() {
        let d = 40;
        let q = haar_orthogonal(d, &mut stream(3, Purpose::Structure, 0));
        for a in 0..d {
            for b in 0..d {
                let dot: f64 = (0..d).map(|i| q[i * d + a] * q[i * d + b]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "Q^T Q [{a},{b}] = {dot}");
            }
        }
        assert_eq!(q, haar_orthogonal(d, &mut stream(3, Purpose::Structure, 0)));
        assert_ne!(q, haar_orthogonal(d, &mut stream(4, Purpose::Structure, 0)));
    }

    #[test]
    fn rotation_is_not_biased_to_the_identity() {
        // For Haar Q, E[Q_11] = 0 and E[Q_11^2] = 1/d. Over 400 draws with d = 4 the mean of
        // Q_11 has std sqrt(1/(4*400)) = 0.025; allow 5 std. A QR sign convention left in
        // place (e.g. R with a positive diagonal) would bias the diagonal of Q.
        let (d, reps) = (4, 400);
        let mut rng = stream(9, Purpose::Structure, 0);
        let m: f64 = (0..reps)
            .map(|_| haar_orthogonal(d, &mut rng)[0])
            .sum::<f64>()
            / reps as f64;
        assert!(m.abs() < 0.125, "mean Q_11 = {m}");
    }
}
