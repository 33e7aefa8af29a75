//! `local`: the equivariant local score (ELS) machine of Kamb & Ganguli (arXiv 2412.20292), an
//! exact, training-free patch denoiser. At timestep t with a = sqrt(abar_t), s = sqrt(1 - abar_t)
//! and patch size P_t, each pixel position x of the noisy image has the P_t x P_t patch
//! q_x (all channels, zero padding outside the image). Its denoised value is the posterior mean
//! of the centre of a training patch p under the Gaussian noise model q_x = a p + s z:
//!
//!   x0_hat(x) = sum_p softmax_p(-||q_x - a p||^2 / (2 s^2)) centre(p),
//!   eps(x) = (x_t - a x0_hat) / s,
//!
//! where p runs over the training patches at *every* position (equivariant: the ELS machine)
//! or only at position x itself (`equivariant = false`: the local, non-equivariant machine).
//! With P_t >= 2 max(H, W) - 1 the local machine sees whole images and equals `empirical`.
//!
//! P_t is piecewise constant in t: `patch = [P_1, ..., P_K]` over K equal bins of 0..T.
//! Evaluated on the device with streamed log-sum-exp over chunks of training images, and
//! query rows in sub-batches, so that memory stays below [`MAX_ELEMENTS`] logits at a time.

use burn::prelude::*;
use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;

/// Largest number of logits held at once per chunk.
pub const MAX_ELEMENTS: usize = 1 << 24;

/// The ELS (or local) denoiser of one training set.
#[derive(Clone, Debug)]
pub struct LocalScore {
    train: Vec<f32>,
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    patch: Vec<usize>,
    equivariant: bool,
    abar: Vec<f64>,
}

/// Streaming softmax state per query group: max, denominator, weighted sum of centres.
struct Stream {
    m: Tensor<3>,
    z: Tensor<3>,
    acc: Tensor<3>,
}

impl Stream {
    fn new(g: usize, b: usize, c: usize, device: &Device) -> Self {
        Stream {
            m: Tensor::full([g, b, 1], f32::NEG_INFINITY, device),
            z: Tensor::zeros([g, b, 1], device),
            acc: Tensor::zeros([g, b, c], device),
        }
    }

    /// Adds keys `[g, K, M]` with norms `[g, 1, M]` and centres `[g, M, C]` for queries
    /// `[g, B, K]`.
    fn add(
        &mut self,
        q: &Tensor<3>,
        keys: Tensor<3>,
        norms: Tensor<3>,
        vals: Tensor<3>,
        a: f64,
        s: f64,
    ) {
        let inv2s2 = 1.0 / (2.0 * s * s);
        let logits = (q.clone().matmul(keys) * (2.0 * a) - norms * (a * a)) * inv2s2;
        let new_m = self.m.clone().max_pair(logits.clone().max_dim(2));
        let rescale = (self.m.clone() - new_m.clone()).exp();
        let w = (logits - new_m.clone()).exp();
        self.z = self.z.clone() * rescale.clone() + w.clone().sum_dim(2);
        self.acc = self.acc.clone() * rescale + w.matmul(vals);
        self.m = new_m;
    }
}

impl LocalScore {
    /// The machine for training rows `[N, C*H*W]` (channel-major images), patch sizes per bin
    /// of timesteps (odd, >= 1) and the schedule's abar.
    pub fn new(
        rows: &[f32],
        (c, h, w): (usize, usize, usize),
        patch: Vec<usize>,
        equivariant: bool,
        abar: Vec<f64>,
    ) -> crate::error::Result<Self> {
        let d = c * h * w;
        if d == 0 || rows.is_empty() || !rows.len().is_multiple_of(d) {
            return Err(crate::error::ModelError::Config(
                "local needs a non-empty image training set".into(),
            ));
        }
        if patch.is_empty() || patch.iter().any(|p| p % 2 == 0) {
            return Err(crate::error::ModelError::Config(format!(
                "--patch needs odd patch sizes, one per bin of timesteps (got {patch:?})"
            )));
        }
        Ok(Self {
            train: rows.to_vec(),
            n: rows.len() / d,
            c,
            h,
            w,
            patch,
            equivariant,
            abar,
        })
    }

    /// P_t for timestep index t.
    pub fn patch_at(&self, t: usize) -> usize {
        let k = self.patch.len();
        let bin = t * k / self.abar.len().max(1);
        self.patch[bin.min(k - 1)]
    }

    fn unfold(&self, x: Tensor<4>, p: usize) -> Tensor<3> {
        let pad = p / 2;
        unfold4d(x, [p, p], UnfoldOptions::new([1, 1], [pad, pad], [1, 1]))
    }

    /// x0_hat of `[b, D]` rows all at timestep `t`.
    fn denoise_at(&self, x: Tensor<2>, t: usize) -> Tensor<2> {
        let [b, d] = x.dims();
        let device = x.device();
        let (c, h, w) = (self.c, self.h, self.w);
        let l = h * w;
        let p = self.patch_at(t);
        let k = c * p * p;
        let a = self.abar[t].sqrt();
        let s = (1.0 - self.abar[t]).sqrt();
        let q = self.unfold(x.reshape([b, c, h, w]), p); // [b, K, L]
        // Training images per chunk, and query rows per sub-batch, within MAX_ELEMENTS logits.
        let (qb, nb) = if self.equivariant {
            let per = l * l;
            let nb = (MAX_ELEMENTS / (per * b.min(8))).clamp(1, self.n);
            ((MAX_ELEMENTS / (per * nb)).clamp(1, b), nb)
        } else {
            (b, (MAX_ELEMENTS / (l * b)).clamp(1, self.n))
        };
        let mut outs = Vec::new();
        for q0 in (0..b).step_by(qb) {
            let bq = qb.min(b - q0);
            let qs = q.clone().slice([q0..q0 + bq, 0..k, 0..l]);
            let (g, qg) = match self.equivariant {
                // One group; every (row, position) a query: [1, bq*L, K].
                true => (1, qs.permute([0, 2, 1]).reshape([1, bq * l, k])),
                // One group per position: [L, bq, K].
                false => (l, qs.permute([2, 0, 1])),
            };
            let rows_per_group = if self.equivariant { bq * l } else { bq };
            let mut st = Stream::new(g, rows_per_group, c, &device);
            for n0 in (0..self.n).step_by(nb) {
                let nn = nb.min(self.n - n0);
                let imgs = Tensor::<4>::from_data(
                    TensorData::new(self.train[n0 * d..(n0 + nn) * d].to_vec(), [nn, c, h, w]),
                    &device,
                );
                let centres = imgs.clone().reshape([nn, c, l]); // [n, C, L]
                let tr = self.unfold(imgs, p); // [n, K, L]
                let norms = tr.clone().powi_scalar(2).sum_dim(1); // [n, 1, L]
                let (keys, nrm, vals) = match self.equivariant {
                    true => (
                        tr.permute([1, 0, 2]).reshape([1, k, nn * l]),
                        norms.reshape([1, 1, nn * l]),
                        centres.permute([0, 2, 1]).reshape([1, nn * l, c]),
                    ),
                    false => (
                        tr.permute([2, 1, 0]),      // [L, K, n]
                        norms.permute([2, 1, 0]),   // [L, 1, n]
                        centres.permute([2, 0, 1]), // [L, n, C]
                    ),
                };
                st.add(&qg, keys, nrm, vals, a, s);
            }
            let mean = st.acc / st.z; // [g, rows, C]
            let img = match self.equivariant {
                true => mean.reshape([bq, l, c]).permute([0, 2, 1]),
                false => mean.permute([1, 2, 0]), // [bq, C, L]
            };
            outs.push(img.reshape([bq, d]));
        }
        Tensor::cat(outs, 0)
    }

    /// eps(x) = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t), rows grouped by timestep.
    pub fn eps(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let [b, d] = x.dims();
        let device = x.device();
        let ts: Vec<usize> = t
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let mut order: Vec<usize> = (0..b).collect();
        order.sort_by_key(|&i| ts[i]);
        let mut parts = Vec::new();
        let mut i = 0;
        while i < b {
            let tv = ts[order[i]];
            let j = (i..b).find(|&j| ts[order[j]] != tv).unwrap_or(b);
            let idx: Vec<i64> = order[i..j].iter().map(|&r| r as i64).collect();
            let sel = Tensor::<1, Int>::from_data(TensorData::new(idx, [j - i]), &device);
            let xs = x.clone().select(0, sel);
            let x0 = self.denoise_at(xs.clone(), tv);
            let (a, s) = (self.abar[tv].sqrt(), (1.0 - self.abar[tv]).sqrt());
            parts.push((xs - x0 * a) / s);
            i = j;
        }
        // Back to the input order.
        let mut inverse = vec![0i64; b];
        for (pos, &r) in order.iter().enumerate() {
            inverse[r] = pos as i64;
        }
        let inv = Tensor::<1, Int>::from_data(TensorData::new(inverse, [b]), &device);
        Tensor::cat(parts, 0).select(0, inv).reshape([b, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denoiser::Empirical;
    use crate::diffusion::{Diffusion, Objective, matrix, timesteps, to_vec};
    use crate::noise::HostNoise;
    use crate::schedule::{Schedule, ScheduleKind};

    /// The machine by its definition, one pixel at a time, in f64.
    // The definition's own symbols, one parameter each, so the test reads like the formula.
    #[allow(clippy::too_many_arguments)]
    fn direct(
        train: &[f32],
        n: usize,
        (c, h, w): (usize, usize, usize),
        x: &[f32],
        p: usize,
        a: f64,
        s: f64,
        equi: bool,
    ) -> Vec<f64> {
        let r = (p / 2) as isize;
        let px = |img: &[f32], ch: usize, i: isize, j: isize| -> f64 {
            if i < 0 || j < 0 || i >= h as isize || j >= w as isize {
                0.0
            } else {
                f64::from(img[ch * h * w + i as usize * w + j as usize])
            }
        };
        let d = c * h * w;
        let mut out = vec![0.0; d];
        for i in 0..h as isize {
            for j in 0..w as isize {
                let mut logits = Vec::new();
                let mut centres = Vec::new();
                for m in 0..n {
                    let img = &train[m * d..(m + 1) * d];
                    let positions: Vec<(isize, isize)> = match equi {
                        true => (0..h as isize)
                            .flat_map(|u| (0..w as isize).map(move |v| (u, v)))
                            .collect(),
                        false => vec![(i, j)],
                    };
                    for (u, v) in positions {
                        let mut dist = 0.0;
                        for ch in 0..c {
                            for di in -r..=r {
                                for dj in -r..=r {
                                    let q = px(x, ch, i + di, j + dj);
                                    let k = px(img, ch, u + di, v + dj);
                                    dist += (q - a * k).powi(2);
                                }
                            }
                        }
                        logits.push(-dist / (2.0 * s * s));
                        centres.push((0..c).map(|ch| px(img, ch, u, v)).collect::<Vec<_>>());
                    }
                }
                let mx = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let ws: Vec<f64> = logits.iter().map(|l| (l - mx).exp()).collect();
                let z: f64 = ws.iter().sum();
                for ch in 0..c {
                    out[ch * h * w + i as usize * w + j as usize] = ws
                        .iter()
                        .zip(&centres)
                        .map(|(wt, cv)| wt * cv[ch])
                        .sum::<f64>()
                        / z;
                }
            }
        }
        out
    }

    fn setup() -> (Vec<f32>, Vec<f32>, Diffusion, Device) {
        let device = Device::flex();
        let diffusion = Diffusion::new(
            Schedule::new(ScheduleKind::default(), 100).unwrap(),
            Objective::Eps,
            None,
            &device,
        );
        let mut noise = HostNoise::seeded(3);
        let train: Vec<f32> = noise
            .next_vec(3 * 2 * 4 * 5)
            .iter()
            .map(|v| v.tanh())
            .collect();
        let x: Vec<f32> = noise.next_vec(2 * 2 * 4 * 5);
        (train, x, diffusion, device)
    }

    #[test]
    fn matches_the_direct_definition_in_both_modes() {
        let (train, x, diffusion, device) = setup();
        let shape = (2, 4, 5);
        for equi in [false, true] {
            let m = LocalScore::new(
                &train,
                shape,
                vec![1, 3, 5],
                equi,
                diffusion.schedule.abar.clone(),
            )
            .unwrap();
            for t in [10usize, 50, 90] {
                let xt = matrix(&x, 2, 40, &device);
                let got = to_vec(m.eps(xt, timesteps(&[t, t], &device)));
                let (a, s) = (
                    diffusion.schedule.abar[t].sqrt(),
                    (1.0 - diffusion.schedule.abar[t]).sqrt(),
                );
                for r in 0..2 {
                    let x0 = direct(
                        &train,
                        3,
                        shape,
                        &x[r * 40..(r + 1) * 40],
                        m.patch_at(t),
                        a,
                        s,
                        equi,
                    );
                    for k in 0..40 {
                        let want = (f64::from(x[r * 40 + k]) - a * x0[k]) / s;
                        let g = f64::from(got[r * 40 + k]);
                        assert!(
                            (g - want).abs() < 1e-3 * (1.0 + want.abs()),
                            "equi={equi} t={t}: {g} vs {want}"
                        );
                    }
                }
            }
        }
    }

    /// Whole-image patches at the same position: the local machine is the empirical score;
    /// rows at different timesteps in one batch come back in their order.
    #[test]
    fn whole_image_patches_give_the_empirical_score() {
        let (train, x, diffusion, device) = setup();
        let m = LocalScore::new(
            &train,
            (2, 4, 5),
            vec![9],
            false,
            diffusion.schedule.abar.clone(),
        )
        .unwrap();
        let emp = Empirical::new(&train, 40, &diffusion, 2, &device);
        let ts = [70usize, 5];
        let a = to_vec(m.eps(matrix(&x, 2, 40, &device), timesteps(&ts, &device)));
        let b = to_vec(emp.eps(matrix(&x, 2, 40, &device), timesteps(&ts, &device)));
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-3 * (1.0 + q.abs()), "{p} vs {q}");
        }
    }

    #[test]
    fn even_patches_are_rejected() {
        assert!(LocalScore::new(&[0.0; 4], (1, 2, 2), vec![2], true, vec![0.5]).is_err());
        assert!(LocalScore::new(&[0.0; 4], (1, 2, 2), vec![], true, vec![0.5]).is_err());
    }
}
