//! SimA, the single-query membership statistic of Rao, Qu & Moyer, "Score-based Membership
//! Inference on Diffusion Models", arXiv 2509.25003 (authors' code github.com/mx-ethan-rao/SimA,
//! `DDPM/components.py`, class `SimA`, and `DDPM/attack.py`).
//!
//! As in the authors' code, the *clean* query x_0 is fed to the denoiser unchanged (not noised)
//! with timestep t, and the statistic is the 4th power of the 4-norm of the predicted noise,
//!
//! ```text
//! s_t(x_0) = sum_i |eps_theta(x_0, t)_i|^4         (code: (eps.abs()**4).flatten(2).sum(-1))
//! ```
//!
//! Near a training point the denoiser points to it and its predicted noise is small, so a
//! member has the smaller s; the membership score is -s_t. The code queries the 0-based steps
//! 0, 10, ..., 200 of T = 1000 (`--interval 10 --attack_num 20` in its README) and reports the
//! best AUC over them; [`sima_grid`] scales that grid to a schedule of T steps.
//!
//! For an eps-predicting model eps_theta is its output; for x_0- and v-objectives the implied
//! eps ([`diffmem_model::Diffusion::predict_eps`]).

use diffmem_model::ModelContext;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};

/// 0-based steps the authors' code queries at T = 1000 (`k * 10`, k = 0..=20).
pub const CODE_STEPS: [usize; 21] = [
    0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200,
];

/// The authors' grid scaled to `t_max` steps: round(s * t_max / 1000) for s in
/// [`CODE_STEPS`], capped at t_max - 1, without repeats.
pub fn sima_grid(t_max: usize) -> Vec<usize> {
    let mut g: Vec<usize> = CODE_STEPS
        .iter()
        .map(|&s| ((s * t_max) as f64 / 1000.0).round() as usize)
        .map(|s| s.min(t_max.saturating_sub(1)))
        .collect();
    g.dedup();
    g
}

/// s_t(x_0) = sum_i |e_i|^4 of each row of `eps` (`[M, dim]`).
pub fn sima_statistic(eps: &[f32], dim: usize) -> Vec<f64> {
    eps.chunks_exact(dim.max(1))
        .map(|r| r.iter().map(|&e| f64::from(e).powi(4)).sum())
        .collect()
}

/// `out[j][m]` = `s_{grid[j]}(row m)` for every row of `rows` (`[M, dim]`), `batch` rows a batch.
pub fn sima_scores(
    ctx: ModelContext,
    rows: &[f32],
    dim: usize,
    grid: &[usize],
    batch: usize,
) -> Vec<Vec<f64>> {
    let ModelContext {
        model,
        diffusion,
        device,
    } = ctx;
    let m = rows.len() / dim.max(1);
    let batch = batch.max(1);
    grid.iter()
        .map(|&t| {
            let mut s = Vec::with_capacity(m);
            for start in (0..m).step_by(batch) {
                let b = batch.min(m - start);
                let x0 = matrix(&rows[start * dim..(start + b) * dim], b, dim, device);
                let eps = diffusion.predict_eps(model, x0, &timesteps(&vec![t; b], device));
                s.extend(sima_statistic(&to_vec(eps), dim));
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::{auc, auc_null_sd};
    use diffmem_model::burn::prelude::*;
    use diffmem_model::denoiser::{Empirical, LinearExact};
    use diffmem_model::noise::HostNoise;
    use diffmem_model::{Denoiser, Diffusion, Objective, Schedule, ScheduleKind};

    #[test]
    fn statistic_is_the_fourth_power_of_the_four_norm() {
        assert_eq!(
            sima_statistic(&[1.0, -2.0, 0.5, 0.0], 2),
            vec![17.0, 0.0625]
        );
    }

    #[test]
    fn grid_follows_the_authors_steps() {
        assert_eq!(sima_grid(1000), CODE_STEPS.to_vec());
        assert_eq!(sima_grid(100), (0..=20).collect::<Vec<_>>());
        assert_eq!(sima_grid(20), vec![0, 1, 2, 3, 4]);
    }

    fn diffusion(device: &Device) -> Diffusion {
        let schedule = Schedule::new(ScheduleKind::default(), 200).unwrap();
        Diffusion::new(schedule, Objective::Eps, None, device)
    }

    /// Rows of N(0, diag(1, 0.5, 0.2, 0.1)).
    fn rows(n: usize, seed: u64) -> Vec<f32> {
        let scale = [1.0, 0.5, 0.2, 0.1];
        HostNoise::seeded(seed)
            .next_vec(n * 4)
            .iter()
            .enumerate()
            .map(|(i, v)| v * scale[i % 4])
            .collect()
    }

    /// Known answers: the exact Gaussian fit at N >> d cannot tell its training rows from
    /// fresh rows of the same Gaussian (AUC 1/2 within three null standard deviations); the
    /// empirical score, whose predicted noise vanishes on its training points, tells them
    /// apart perfectly.
    #[test]
    fn chance_for_a_gaussian_fit_and_perfect_for_the_empirical_score() {
        let device = Device::flex();
        let diff = diffusion(&device);
        let (train, held) = (rows(3000, 1), rows(1000, 2));
        let grid = [0usize, 10];
        let lin = LinearExact::fit(&train, 4, 0.0, &diff, &device).unwrap();
        let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<f64>>();
        let score = |m: &dyn Denoiser, r: &[f32]| {
            sima_scores(ModelContext::new(m, &diff, &device), r, 4, &grid, 512)
        };
        let (a, b) = (score(&lin, &train[..1000 * 4]), score(&lin, &held));
        let sd = auc_null_sd(1000, 1000);
        for j in 0..grid.len() {
            let got = auc(&neg(&a[j]), &neg(&b[j])).unwrap();
            assert!(
                (got - 0.5).abs() < 3.0 * sd,
                "t={}: AUC {got}, sd {sd}",
                grid[j]
            );
        }
        let (small, held) = (&train[..50 * 4], &held[..50 * 4]);
        let emp = Empirical::new(small, 4, &diff, 64, &device);
        let (a, b) = (score(&emp, small), score(&emp, held));
        assert_eq!(auc(&neg(&a[0]), &neg(&b[0])).unwrap(), 1.0);
    }
}
