//! Denoising loss of a model on a data set at a fixed grid of timesteps with fixed noise
//! draws, so that the training set and a held-out set are compared on identical noise
//! (the generalisation gap of docs/theory.md §3).
//!
//!   L(t) = 1/M sum_m 1/D || eps_m - eps_theta(sqrt(abar_t) x_m + sqrt(1 - abar_t) eps_m, t) ||^2
//!
//! (mean over coordinates; multiply by D for docs/theory.md §1's sum over coordinates). Sample m
//! at grid point j always gets the same eps, whichever set it comes from.
//!
//! [`LossUnits::Objective`] measures instead the squared error of the training objective
//! (eps, x_0 or v, with its min-SNR weight): the units of the training loss, so that the
//! training monitor compares like with like. For an x_0 objective the eps error is the x_0
//! error times abar_t / (1 - abar_t), which is huge at small t (1e4 at t = 1 with beta_1 = 1e-4).

use diffmem_model::ModelContext;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::HostNoise;

/// `k` timesteps spread evenly over 0..t_max (midpoints of k equal bins).
pub fn timestep_grid(t_max: usize, k: usize) -> Vec<usize> {
    let k = k.clamp(1, t_max);
    (0..k)
        .map(|j| (((j as f64 + 0.5) * t_max as f64 / k as f64) as usize).min(t_max - 1))
        .collect()
}

/// Which squared error a denoising loss measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossUnits {
    /// The eps-prediction error whatever the objective: comparable across objectives (`eval`).
    Eps,
    /// The training objective's own error (min-SNR weighted when `diffusion` carries the
    /// weight): the units of the training loss.
    Objective,
}

/// What to score: the `[M, dim]` `rows` at each timestep of `grid`, with noise from
/// `noise_seed`, at most `batch` rows per model evaluation, in `units`.
#[derive(Clone, Copy, Debug)]
pub struct LossJob<'a> {
    /// The rows, flattened.
    pub rows: &'a [f32],
    /// Dimension of one row.
    pub dim: usize,
    /// 0-based timesteps at which the loss is measured.
    pub grid: &'a [usize],
    /// Seed of the noise draws (row m at grid point j gets the same eps in every set).
    pub noise_seed: u64,
    /// Most rows per model evaluation (at least 1).
    pub batch: usize,
    /// Which squared error is measured.
    pub units: LossUnits,
}

/// Per-timestep loss of `job` (mean over coordinates and rows) of `ctx.model`.
pub fn per_timestep_loss(ctx: ModelContext, job: &LossJob) -> Vec<f64> {
    per_example_loss(ctx, job)
        .iter()
        .map(|l| l.iter().sum::<f64>() / l.len().max(1) as f64)
        .collect()
}

/// The loss of every row separately: `out[j][m]` = 1/D || eps_m - eps_theta(x_t, t) ||^2 at
/// timestep `grid[j]` for row m (in `units`), with the same noise draws as
/// [`per_timestep_loss`] (whose values are the means of these). The per-example losses of
/// membership inference.
pub fn per_example_loss(ctx: ModelContext, job: &LossJob) -> Vec<Vec<f64>> {
    let LossJob {
        rows,
        dim,
        grid,
        noise_seed,
        batch,
        units,
    } = *job;
    let ModelContext {
        model,
        diffusion,
        device,
    } = ctx;
    let m = rows.len() / dim.max(1);
    let mut noise = HostNoise::seeded(noise_seed);
    let batch = batch.max(1);
    let mut out = Vec::with_capacity(grid.len());
    for &t in grid {
        let mut losses = Vec::with_capacity(m);
        for start in (0..m).step_by(batch) {
            let b = batch.min(m - start);
            let x0 = matrix(&rows[start * dim..(start + b) * dim], b, dim, device);
            let eps = matrix(&noise.next_vec(b * dim), b, dim, device);
            let tt = timesteps(&vec![t; b], device);
            let per_row: Vec<f32> = match units {
                LossUnits::Eps => {
                    let xt = diffusion.q_sample(x0, &tt, eps.clone());
                    let pred = diffusion.predict_eps(model, xt, &tt);
                    let sq = (pred - eps).powi_scalar(2).sum_dim(1);
                    to_vec(sq).iter().map(|v| v / dim.max(1) as f32).collect()
                }
                // per_sample_loss is already a mean over the coordinates.
                LossUnits::Objective => to_vec(diffusion.per_sample_loss(model, x0, &tt, eps)),
            };
            losses.extend(per_row.iter().map(|&v| f64::from(v)));
        }
        out.push(losses);
    }
    out
}

/// The normalised loss gap: the mean over timesteps of (held-out(t) - train(t)) / held-out(t),
/// over the timesteps whose held-out loss is positive and finite (None when none is).
///
/// The plain mean gap, mean_t held-out(t) - mean_t train(t), is dominated by the lowest
/// timesteps, whose eps-loss is largest; each term here is a fraction of its own timestep's
/// loss, so every timestep weighs the same. A per-timestep weight cancels in the ratio, so the
/// value is the same in eps, x0 or v units (x0_err = sqrt((1 - abar_t) / abar_t) eps_err): the
/// one gap `train` and `eval` print alike.
pub fn normalised_gap(train: &[f64], heldout: &[f64]) -> Option<f64> {
    let terms: Vec<f64> = train
        .iter()
        .zip(heldout)
        .filter(|(t, h)| t.is_finite() && h.is_finite() && **h > 0.0)
        .map(|(t, h)| (h - t) / h)
        .collect();
    (!terms.is_empty()).then(|| terms.iter().sum::<f64>() / terms.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::burn::prelude::*;
    use diffmem_model::denoiser::LinearExact;
    use diffmem_model::{Diffusion, Objective, Schedule, ScheduleKind};

    #[test]
    fn grid_is_spread_and_in_range() {
        assert_eq!(
            timestep_grid(1000, 10),
            vec![50, 150, 250, 350, 450, 550, 650, 750, 850, 950]
        );
        assert_eq!(timestep_grid(3, 10), vec![0, 1, 2]);
    }

    /// For the exact optimum on its own Gaussian training set, the per-coordinate loss is
    /// 1/D Tr[Sigma0 (Sigma0 + c_t I)^-1] (docs/theory.md §1, L_train), here checked by Monte Carlo.
    #[test]
    fn exact_linear_training_loss_matches_closed_form() {
        let device = Device::flex();
        let d = 3;
        let diffusion = Diffusion::new(
            Schedule::new(ScheduleKind::default(), 1000).unwrap(),
            Objective::Eps,
            None,
            &device,
        );
        let mut noise = HostNoise::seeded(1);
        let rows: Vec<f32> = noise
            .next_vec(2000 * d)
            .iter()
            .enumerate()
            .map(|(i, v)| v * [1.0, 0.5, 0.2][i % 3])
            .collect();
        let model = LinearExact::fit(&rows, d, 0.0, &diffusion, &device).unwrap();
        let grid = [100usize, 500];
        let job = LossJob {
            rows: &rows,
            dim: d,
            grid: &grid,
            noise_seed: 9,
            batch: 700,
            units: LossUnits::Eps,
        };
        let got = per_timestep_loss(ModelContext::new(&model, &diffusion, &device), &job);
        for (g, &t) in got.iter().zip(&grid) {
            let abar = diffusion.schedule.abar[t];
            let c = (1.0 - abar) / abar;
            let want: f64 = model
                .moments
                .eigen
                .values
                .iter()
                .map(|l| l / (l + c))
                .sum::<f64>()
                / d as f64;
            assert!((g - want).abs() < 0.05 * want, "t={t}: {g} vs {want}");
        }
    }

    /// For an x_0 objective the eps error is the x_0 error times sqrt(abar) / sqrt(1 - abar)
    /// (eps = (x_t - sqrt(abar) x0_hat) / sqrt(1 - abar)), so the two units differ by
    /// abar_t / (1 - abar_t) at every t, draw for draw.
    #[test]
    fn objective_units_are_the_x0_error_for_an_x0_objective() {
        let device = Device::flex();
        let d = 4;
        let diffusion = Diffusion::new(
            Schedule::new(ScheduleKind::default(), 20).unwrap(),
            Objective::X0,
            None,
            &device,
        );
        let rows = HostNoise::seeded(3).next_vec(50 * d);
        let model = LinearExact::fit(&rows[..30 * d], d, 0.0, &diffusion, &device).unwrap();
        let grid = [0usize, 5, 19];
        let ctx = ModelContext::new(&model, &diffusion, &device);
        let loss = |units| {
            let job = LossJob {
                rows: &rows,
                dim: d,
                grid: &grid,
                noise_seed: 4,
                batch: 16,
                units,
            };
            per_timestep_loss(ctx, &job)
        };
        let (eps, x0) = (loss(LossUnits::Eps), loss(LossUnits::Objective));
        for ((e, x), &t) in eps.iter().zip(&x0).zip(&grid) {
            let abar = diffusion.schedule.abar[t];
            let want = e * (1.0 - abar) / abar;
            assert!(
                (x - want).abs() <= 1e-3 * want.max(1e-6),
                "t={t}: {x} vs {want}"
            );
        }
        // At t = 0 the eps units blow the same error up ~1e4 times.
        assert!(eps[0] > 1e3 * x0[0], "{eps:?} vs {x0:?}");
    }

    #[test]
    fn normalised_gap_weighs_every_timestep_alike() {
        // By hand: (2 - 1) / 2 = 0.5, (0.11 - 0.1) / 0.11 = 1/11, (0.01 - 0.01) / 0.01 = 0;
        // mean (0.5 + 1/11 + 0) / 3 = 0.19697. The plain mean gap, (2.12 - 1.11) / 3 = 0.3367,
        // is almost all the first timestep's.
        let g = normalised_gap(&[1.0, 0.1, 0.01], &[2.0, 0.11, 0.01]).unwrap();
        assert!((g - (0.5 + 1.0 / 11.0) / 3.0).abs() < 1e-12, "{g}");
        // Scaling each timestep (another objective's units) leaves it unchanged.
        let w = [3.0, 0.5, 7.0];
        let s = |v: &[f64]| -> Vec<f64> { v.iter().zip(&w).map(|(a, b)| a * b).collect() };
        let scaled = normalised_gap(&s(&[1.0, 0.1, 0.01]), &s(&[2.0, 0.11, 0.01])).unwrap();
        assert!((scaled - g).abs() < 1e-12);
        // Timesteps without a positive finite held-out loss are left out.
        assert_eq!(normalised_gap(&[1.0, 0.5], &[0.0, 1.0]), Some(0.5));
        assert_eq!(normalised_gap(&[1.0], &[f64::NAN]), None);
    }
}
