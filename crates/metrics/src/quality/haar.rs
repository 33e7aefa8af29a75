//! The orthonormal Haar wavelet packet transform of images, the feature map of the Frechet
//! Wavelet Distance (Veeramacheneni et al., arXiv 2312.15289).
//!
//! One level of the 1-D Haar transform of a signal of even length n maps pairs to
//! lows (x_2i + x_2i+1) / sqrt 2 (first half) and highs (x_2i - x_2i+1) / sqrt 2 (second
//! half). The packet transform to level L applies it again to *every* band (lows and highs),
//! L times: the result is n / 2^L coefficients in each of 2^L bands, an orthogonal map P_L.
//! In 2-D it is separable, C = P_L X P_L^T, and the 4^L packets are the blocks
//! (p, q) of C: band p of the rows and band q of the columns.

/// One in-place level of 1-D Haar on each band of width `band` within `x` (length a multiple
/// of `band`; `band` even). `tmp` is scratch of length `band`.
fn haar_level(x: &mut [f64], band: usize, tmp: &mut [f64]) {
    let half = band / 2;
    let s = std::f64::consts::FRAC_1_SQRT_2;
    for chunk in x.chunks_mut(band) {
        for i in 0..half {
            tmp[i] = (chunk[2 * i] + chunk[2 * i + 1]) * s;
            tmp[half + i] = (chunk[2 * i] - chunk[2 * i + 1]) * s;
        }
        chunk.copy_from_slice(&tmp[..band]);
    }
}

/// The 1-D Haar packet transform P_L x of `x` to `level` in place (length divisible by 2^L):
/// band p occupies `p * n / 2^L ..(p + 1) * n / 2^L`.
pub fn packets_1d(x: &mut [f64], level: usize) {
    let mut tmp = vec![0.0; x.len()];
    let mut band = x.len();
    for _ in 0..level {
        haar_level(x, band, &mut tmp);
        band /= 2;
    }
}

/// The largest level L <= `max_level` with both sides divisible by 2^L.
pub fn max_level(h: usize, w: usize, max_level: usize) -> usize {
    let mut l = 0;
    while l < max_level && h.is_multiple_of(2 << l) && w.is_multiple_of(2 << l) {
        l += 1;
    }
    l
}

/// The 2-D packet transform C = P_L X P_L^T of one `h x w` row-major channel, in place.
pub fn packets_2d(x: &mut [f64], h: usize, w: usize, level: usize) {
    for row in x.chunks_mut(w) {
        packets_1d(row, level);
    }
    let mut col = vec![0.0; h];
    for j in 0..w {
        for i in 0..h {
            col[i] = x[i * w + j];
        }
        packets_1d(&mut col, level);
        for i in 0..h {
            x[i * w + j] = col[i];
        }
    }
}

/// Per-packet feature vectors of one (C, H, W) image: `4^L` vectors, packet (p, q) at index
/// p * 2^L + q, each the block (p, q) of every channel's C = P_L X P_L^T, channels
/// concatenated (length C * (H / 2^L) * (W / 2^L)), as in the authors' code.
pub fn packet_features(image: &[f32], c: usize, h: usize, w: usize, level: usize) -> Vec<Vec<f64>> {
    let bands = 1usize << level;
    let (bh, bw) = (h / bands, w / bands);
    let mut out = vec![Vec::with_capacity(c * bh * bw); bands * bands];
    let mut buf = vec![0.0; h * w];
    for ch in 0..c {
        for (b, v) in buf.iter_mut().zip(&image[ch * h * w..(ch + 1) * h * w]) {
            *b = f64::from(*v);
        }
        packets_2d(&mut buf, h, w, level);
        for p in 0..bands {
            for q in 0..bands {
                let f = &mut out[p * bands + q];
                for i in 0..bh {
                    let r = (p * bh + i) * w + q * bw;
                    f.extend_from_slice(&buf[r..r + bw]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The explicit n x n matrix of one Haar level on bands of width `band`.
    fn level_matrix(n: usize, band: usize) -> Vec<f64> {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let mut m = vec![0.0; n * n];
        for start in (0..n).step_by(band) {
            for i in 0..band / 2 {
                let (lo, hi) = (start + i, start + band / 2 + i);
                let (a, b) = (start + 2 * i, start + 2 * i + 1);
                m[lo * n + a] = s;
                m[lo * n + b] = s;
                m[hi * n + a] = s;
                m[hi * n + b] = -s;
            }
        }
        m
    }

    fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                for j in 0..n {
                    c[i * n + j] += a[i * n + k] * b[k * n + j];
                }
            }
        }
        c
    }

    /// P_L as a product of explicit level matrices.
    fn packet_matrix(n: usize, level: usize) -> Vec<f64> {
        let mut p: Vec<f64> = (0..n * n)
            .map(|k| f64::from(u8::from(k / n == k % n)))
            .collect();
        for l in 0..level {
            p = matmul(&level_matrix(n, n >> l), &p, n);
        }
        p
    }

    #[test]
    fn packet_matrix_is_orthogonal_and_matches_the_fast_transform() {
        let (n, level) = (8, 3);
        let p = packet_matrix(n, level);
        let pt: Vec<f64> = (0..n * n).map(|k| p[(k % n) * n + k / n]).collect();
        let eye = matmul(&p, &pt, n);
        for (k, v) in eye.iter().enumerate() {
            let want = f64::from(u8::from(k / n == k % n));
            assert!((v - want).abs() < 1e-12);
        }
        let x: Vec<f64> = (0..n * n).map(|k| ((k * 37 % 11) as f64) - 4.5).collect();
        let want = matmul(&matmul(&p, &x, n), &pt, n);
        let mut got = x.clone();
        packets_2d(&mut got, n, n, level);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12);
        }
    }

    #[test]
    fn features_preserve_energy_and_split_into_blocks() {
        let (c, h, w, level) = (2, 8, 4, 2);
        let img: Vec<f32> = (0..c * h * w)
            .map(|k| ((k * 13 % 7) as f32) * 0.3 - 1.0)
            .collect();
        let f = packet_features(&img, c, h, w, level);
        assert_eq!(f.len(), 16);
        assert!(f.iter().all(|v| v.len() == c * 2));
        let e_in: f64 = img.iter().map(|&v| f64::from(v).powi(2)).sum();
        let e_out: f64 = f.iter().flatten().map(|v| v * v).sum();
        assert!((e_in - e_out).abs() < 1e-9 * e_in);
        // Packet (0, 0) is the average of each 4x2 block times 2^L: a constant image puts all
        // its energy there.
        let ones = vec![1.0f32; h * w];
        let f1 = packet_features(&ones, 1, h, w, level);
        assert!(f1[0].iter().all(|v| (v - 4.0).abs() < 1e-12));
        assert!(f1[1..].iter().flatten().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn level_is_capped_by_divisibility() {
        assert_eq!(max_level(28, 28, 4), 2);
        assert_eq!(max_level(32, 32, 4), 4);
        assert_eq!(max_level(32, 32, 9), 5);
        assert_eq!(max_level(7, 8, 4), 0);
    }
}
