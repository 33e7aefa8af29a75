//! How closely a denoiser follows a reference denoiser (Kamb & Ganguli, arXiv 2412.20292, who
//! compare trained UNets with their equivariant local score machine by r^2; Wang & Vastola,
//! arXiv 2412.09726, and Lukoianov et al., arXiv 2509.09672, for the Gaussian/linear
//! reference at high noise). Both outputs are compared as denoised images x0_hat on the same
//! noised inputs at one timestep:
//!
//!   r^2  = 1 - sum_{i,k} (f_ik - g_ik)^2 / sum_{i,k} (g_ik - gbar)^2,
//!   nmse = sum_{i,k} (f_ik - g_ik)^2 / sum_{i,k} g_ik^2,
//!
//! with f the model, g the reference, i the rows, k the pixels and gbar the reference's mean
//! over rows and pixels: the pixel-wise r^2 of Kamb & Ganguli, pooled over images. r^2 = 1
//! exactly when the model equals the reference; r^2 = 0 when it does no better than a flat
//! grey image. (Centring per pixel instead would leave, at high noise, only the tiny
//! row-to-row variation of a posterior mean near the data mean in the denominator, and every
//! reference would score far below 0.)

/// Running sums for r^2 and nmse of one (set, reference, timestep), fed row blocks.
#[derive(Clone, Debug, Default)]
pub struct Agreement {
    resid: f64,
    sum: f64,
    sum_sq: f64,
    count: usize,
}

impl Agreement {
    /// Adds rows of the model output `f` and the reference `g` (`[b, d]` row-major each).
    pub fn add(&mut self, f: &[f64], g: &[f64], d: usize) {
        for (fr, gr) in f.chunks(d).zip(g.chunks(d)) {
            for k in 0..d {
                self.resid += (fr[k] - gr[k]).powi(2);
                self.sum += gr[k];
                self.sum_sq += gr[k] * gr[k];
            }
            self.count += d;
        }
    }

    /// r^2 (module docs); NaN without rows or when the reference is constant.
    pub fn r_squared(&self) -> f64 {
        let n = self.count as f64;
        let tot = self.sum_sq - self.sum * self.sum / n;
        match tot > 0.0 {
            true => 1.0 - self.resid / tot,
            false => f64::NAN,
        }
    }

    /// nmse (module docs).
    pub fn nmse(&self) -> f64 {
        self.resid / self.sum_sq
    }
}

/// The noise band of a timestep index `t` of `t_max`: 0 = low (t < T/3), 1 = middle,
/// 2 = high (t >= 2T/3).
pub fn band(t: usize, t_max: usize) -> usize {
    (3 * t / t_max.max(1)).min(2)
}

/// Names of the bands of [`band`].
pub const BANDS: [&str; 3] = ["low", "middle", "high"];

/// For each band, the index of the reference with the highest mean r^2 over the band's
/// timesteps (`r2[reference][j]` at timestep index `t[j]`), and that mean; None for an
/// empty band or when every mean is NaN.
pub fn followed(r2: &[Vec<f64>], t: &[usize], t_max: usize) -> [Option<(usize, f64)>; 3] {
    std::array::from_fn(|b| {
        let idx: Vec<usize> = (0..t.len()).filter(|&j| band(t[j], t_max) == b).collect();
        r2.iter()
            .enumerate()
            .filter_map(|(r, v)| {
                let vals: Vec<f64> = idx
                    .iter()
                    .map(|&j| v[j])
                    .filter(|x| x.is_finite())
                    .collect();
                (!vals.is_empty()).then(|| (r, vals.iter().sum::<f64>() / vals.len() as f64))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_outputs_give_one_and_the_grand_mean_gives_zero() {
        let g = [1.0, 2.0, 3.0, 5.0, 0.0, -1.0];
        let mut a = Agreement::default();
        a.add(&g, &g, 2);
        assert_eq!(a.r_squared(), 1.0);
        assert_eq!(a.nmse(), 0.0);
        // The mean over rows and pixels of g: 10/6.
        let mean = [10.0 / 6.0; 6];
        let mut b = Agreement::default();
        b.add(&mean, &g, 2);
        assert!(b.r_squared().abs() < 1e-12);
    }

    /// Blocks accumulate to the same value as one pass, which matches a direct formula.
    #[test]
    fn blocks_match_a_direct_computation() {
        let g: Vec<f64> = (0..12).map(|k| ((k * 5 % 7) as f64) - 3.0).collect();
        let f: Vec<f64> = g
            .iter()
            .enumerate()
            .map(|(k, v)| v + 0.1 * (k % 3) as f64)
            .collect();
        let d = 3;
        let mut a = Agreement::default();
        a.add(&f[..6], &g[..6], d);
        a.add(&f[6..], &g[6..], d);
        let m: f64 = g.iter().sum::<f64>() / 12.0;
        let tot: f64 = g.iter().map(|v| (v - m).powi(2)).sum();
        let res: f64 = f.iter().zip(&g).map(|(x, y)| (x - y).powi(2)).sum();
        assert!((a.r_squared() - (1.0 - res / tot)).abs() < 1e-12);
        let energy: f64 = g.iter().map(|v| v * v).sum();
        assert!((a.nmse() - res / energy).abs() < 1e-12);
    }

    #[test]
    fn bands_pick_the_best_reference() {
        assert_eq!(
            (band(0, 900), band(299, 900), band(300, 900), band(899, 900)),
            (0, 0, 1, 2)
        );
        let t = [10, 400, 800];
        let r2 = vec![vec![0.2, 0.9, 0.99], vec![0.95, 0.5, f64::NAN]];
        let f = followed(&r2, &t, 900);
        assert_eq!(f[0].unwrap().0, 1);
        assert_eq!(f[1].unwrap().0, 0);
        assert_eq!(f[2].unwrap().0, 0);
        assert!(followed(&r2, &[10, 20, 30], 900)[2].is_none());
    }
}
