//! Score-level agreement of two denoisers (Kadkhodaie, Guth, Simoncelli, Mallat, arXiv
//! 2310.02557, compare two networks trained on disjoint halves through their denoised images;
//! Garnier-Brun et al., arXiv 2603.03469, follow it along training). Both denoisers see the
//! very same noised inputs x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (one host noise
//! stream); each gives its denoised estimate
//!
//! ```text
//! x0_hat(x_t) = (x_t - sqrt(1 - abar_t) eps_hat(x_t, t)) / sqrt(abar_t)
//! ```
//!
//! (the posterior mean, i.e. the score up to an affine map at fixed t), and the agreement is
//! the mean over inputs of the mean-removed cosine of the two estimates
//! ([`crate::agreement::paired_cosine`]). Two networks that generalise learn the same score and
//! agree; two that memorise their own halves do not.

use crate::Result;
use crate::agreement::{Centering, paired_cosine};
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::HostNoise;
use diffmem_model::{Denoiser, Diffusion};

/// The denoised estimates x0_hat of `rows` (`[M, dim]`) noised at timestep `t` (0-based) with
/// the host noise stream `noise_seed`.
pub fn denoised(
    model: &dyn Denoiser,
    diffusion: &Diffusion,
    rows: &[f32],
    dim: usize,
    t: usize,
    noise_seed: u64,
    device: &Device,
) -> Vec<f32> {
    let m = rows.len() / dim.max(1);
    let eps = HostNoise::seeded(noise_seed).next_vec(m * dim);
    let x0 = matrix(&rows[..m * dim], m, dim, device);
    let eps = matrix(&eps, m, dim, device);
    let tt = timesteps(&vec![t; m], device);
    let xt = diffusion.q_sample(x0, &tt, eps);
    let eps_hat = diffusion.predict_eps(model, xt.clone(), &tt);
    let (a, s) = diffusion.coefficients(&tt);
    to_vec((xt - eps_hat * s) / a)
}

/// Mean mean-removed cosine between the denoised estimates of `a` and `b` (each with its own
/// diffusion, i.e. its own objective) on the same noised `rows` at timestep `t`.
pub fn score_cosine(
    a: (&dyn Denoiser, &Diffusion),
    b: (&dyn Denoiser, &Diffusion),
    rows: &[f32],
    dim: usize,
    t: usize,
    noise_seed: u64,
    device: &Device,
) -> Result<f64> {
    let xa = denoised(a.0, a.1, rows, dim, t, noise_seed, device);
    let xb = denoised(b.0, b.1, rows, dim, t, noise_seed, device);
    let c = paired_cosine(&xa, &xb, dim, Centering::PerSample)?;
    Ok(c.iter().sum::<f64>() / c.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::denoiser::{Empirical, LinearExact};
    use diffmem_model::{Objective, Schedule, ScheduleKind};

    fn setup() -> (Device, Diffusion, Vec<f32>) {
        let device = Device::flex();
        let diffusion = Diffusion::new(
            Schedule::new(ScheduleKind::default(), 1000).unwrap(),
            Objective::Eps,
            None,
            &device,
        );
        // 4000 rows of a 4-d Gaussian with unequal variances.
        let rows: Vec<f32> = HostNoise::seeded(3)
            .next_vec(4000 * 4)
            .iter()
            .enumerate()
            .map(|(i, v)| v * [1.0, 0.7, 0.4, 0.2][i % 4])
            .collect();
        (device, diffusion, rows)
    }

    #[test]
    fn denoised_inverts_the_noise_of_a_perfect_eps_oracle() {
        // An oracle that returns the true eps recovers x_0 exactly.
        struct Oracle(Vec<f32>, usize);
        impl Denoiser for Oracle {
            fn forward(&self, x: Tensor<2>, _t: Tensor<1, Int>) -> Tensor<2> {
                let m = x.dims()[0];
                matrix(&self.0[..m * self.1], m, self.1, &x.device())
            }
        }
        let (device, diffusion, rows) = setup();
        let rows = &rows[..40 * 4];
        let eps = HostNoise::seeded(8).next_vec(40 * 4);
        let x = denoised(&Oracle(eps, 4), &diffusion, rows, 4, 300, 8, &device);
        let err = x
            .iter()
            .zip(rows)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-3, "{err}");
    }

    #[test]
    fn a_model_agrees_with_itself_and_generalising_halves_agree() {
        let (device, diffusion, rows) = setup();
        let (ha, hb) = rows.split_at(2000 * 4);
        let a = LinearExact::fit(ha, 4, 0.0, &diffusion, &device).unwrap();
        let b = LinearExact::fit(hb, 4, 0.0, &diffusion, &device).unwrap();
        let probe = &rows[..200 * 4];
        let own = score_cosine(
            (&a, &diffusion),
            (&a, &diffusion),
            probe,
            4,
            500,
            1,
            &device,
        );
        assert!((own.unwrap() - 1.0).abs() < 1e-6);
        // Two Gaussian fits on 2000 rows each: nearly the same linear denoiser.
        let ab = score_cosine(
            (&a, &diffusion),
            (&b, &diffusion),
            probe,
            4,
            100,
            1,
            &device,
        );
        let ab = ab.unwrap();
        assert!(ab > 0.98, "{ab}");
        // Two empirical optima on 5 disjoint rows each copy their own rows at small t:
        // far less agreement than the two Gaussian fits.
        let ea = Empirical::new(&ha[..20], 4, &diffusion, 64, &device);
        let eb = Empirical::new(&hb[..20], 4, &diffusion, 64, &device);
        let e = score_cosine(
            (&ea, &diffusion),
            (&eb, &diffusion),
            probe,
            4,
            20,
            1,
            &device,
        );
        let e = e.unwrap();
        assert!(e < 0.7, "{e}");
    }
}
