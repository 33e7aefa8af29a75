//! The one sampling loop, generic over the sampler: draw x_T ~ N(0, I), then for each visited
//! timestep evaluate the model's eps prediction and apply the sampler's step.

use super::{SamplerConfig, SamplerStep, StepNoise};
use crate::context::ModelContext;
use crate::diffusion::{timesteps, to_vec};
use crate::error::Result;
use crate::noise::NoiseSource;
use burn::prelude::*;

/// How many samples to draw and how: `n` samples of dimension `dim`, `batch` at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleJob {
    /// Number of samples.
    pub n: usize,
    /// Dimension of one sample (the flattened image size for images).
    pub dim: usize,
    /// Samples drawn per model evaluation (at least 1).
    pub batch: usize,
}

/// Draws `job.n` samples from `ctx.model` with the sampler of `config`, its predicted x0
/// clamped to [-c, c] when `clip_x0 = Some(c)`. Noise (initial, then one draw per stochastic
/// step) comes from `noise`; `progress(done, n)` after each batch.
pub fn sample(
    ctx: ModelContext,
    config: &SamplerConfig,
    clip_x0: Option<f64>,
    job: SampleJob,
    noise: &mut dyn NoiseSource,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<f32>> {
    let sampler = config.build(&ctx.diffusion.schedule, clip_x0)?;
    Ok(sample_with(ctx, &*sampler, job, noise, progress))
}

/// [`sample`] with any sampler: `job.n` samples in batches of `job.batch`, `progress(done, n)`
/// after each batch.
pub fn sample_with(
    ctx: ModelContext,
    sampler: &dyn SamplerStep,
    job: SampleJob,
    noise: &mut dyn NoiseSource,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<f32> {
    let SampleJob { n, dim, batch } = job;
    let batch = batch.max(1);
    let mut out = Vec::with_capacity(n * dim);
    let mut done = 0;
    while done < n {
        let b = batch.min(n - done);
        let x = run_batch(ctx, sampler, [b, dim], noise);
        out.extend(to_vec(x));
        done += b;
        progress(done, n);
    }
    out
}

/// Draws one batch of `shape = [b, dim]` samples with the sampler of `config`; returns the
/// device tensor.
pub fn sample_batch(
    ctx: ModelContext,
    config: &SamplerConfig,
    clip_x0: Option<f64>,
    shape: [usize; 2],
    noise: &mut dyn NoiseSource,
) -> Result<Tensor<2>> {
    let sampler = config.build(&ctx.diffusion.schedule, clip_x0)?;
    Ok(run_batch(ctx, &*sampler, shape, noise))
}

/// The sampling loop for one batch of `shape = [b, dim]` samples: x_T from `noise`, then one
/// model evaluation and one `sampler.step` per visited timestep.
pub fn run_batch(
    ctx: ModelContext,
    sampler: &dyn SamplerStep,
    shape: [usize; 2],
    noise: &mut dyn NoiseSource,
) -> Tensor<2> {
    let b = shape[0];
    let mut noise = StepNoise::new(noise, shape, ctx.device);
    let mut x = noise.draw();
    let ts = sampler.timesteps();
    for (k, &i) in ts.iter().enumerate() {
        let t = timesteps(&vec![i; b], ctx.device);
        let eps = ctx.diffusion.predict_eps(ctx.model, x.clone(), &t);
        x = sampler.step(x, eps, i, ts.get(k + 1).copied(), &mut noise);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denoiser::Denoiser;
    use crate::diffusion::Diffusion;
    use crate::noise::HostNoise;
    use crate::schedule::{Schedule, ScheduleKind};
    use crate::{Objective, sampler::predict_x0};
    use std::cell::RefCell;

    /// A denoiser that predicts eps = 0 everywhere.
    struct Zero;

    impl Denoiser for Zero {
        fn forward(&self, x: Tensor<2>, _t: Tensor<1, Int>) -> Tensor<2> {
            x.zeros_like()
        }
    }

    /// A test-only sampler defined in this file alone: two visits, each x -> x0_hat / 2 + z.
    /// It needs no change anywhere else, which is the point of the interface.
    struct Toy<'a> {
        schedule: &'a Schedule,
        calls: RefCell<Vec<(usize, Option<usize>)>>,
    }

    impl SamplerStep for Toy<'_> {
        fn timesteps(&self) -> Vec<usize> {
            vec![self.schedule.len() - 1, 3]
        }

        fn step(
            &self,
            x: Tensor<2>,
            eps: Tensor<2>,
            t: usize,
            t_prev: Option<usize>,
            noise: &mut StepNoise,
        ) -> Tensor<2> {
            self.calls.borrow_mut().push((t, t_prev));
            predict_x0(x, eps, self.schedule.abar[t]) * 0.5 + noise.draw()
        }
    }

    #[test]
    fn the_driver_runs_any_sampler_step() {
        let device = Device::flex();
        let schedule = Schedule::new(ScheduleKind::default(), 10).unwrap();
        let diffusion = Diffusion::new(schedule.clone(), Objective::Eps, None, &device);
        let toy = Toy {
            schedule: &schedule,
            calls: RefCell::new(Vec::new()),
        };
        let (n, d) = (5, 3);
        let mut seen = Vec::new();
        let got = sample_with(
            ModelContext::new(&Zero, &diffusion, &device),
            &toy,
            SampleJob {
                n,
                dim: d,
                batch: 2,
            },
            &mut HostNoise::seeded(4),
            &mut |done, total| seen.push((done, total)),
        );
        assert_eq!(seen, vec![(2, 5), (4, 5), (5, 5)]);
        assert_eq!(toy.calls.borrow()[..2], [(9, Some(3)), (3, None)]);
        assert_eq!(toy.calls.borrow().len(), 6, "two steps per batch");
        // Independent computation on the host: per batch, x = z0; x = x / sqrt(abar_9) / 2 + z1;
        // x = x / sqrt(abar_3) / 2 + z2, with z0, z1, z2 consecutive draws of one stream.
        let mut host = HostNoise::seeded(4);
        let mut want = Vec::new();
        for b in [2, 2, 1] {
            let mut x = host.next_vec(b * d);
            for i in [9, 3] {
                let z = host.next_vec(b * d);
                let a = schedule.abar[i].sqrt() as f32;
                x = x.iter().zip(&z).map(|(v, z)| v / a * 0.5 + z).collect();
            }
            want.extend(x);
        }
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
}
