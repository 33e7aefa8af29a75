//! One training run of the check: a network trained from given initial weights on batches
//! drawn as `train` draws them (pure functions of seed and step), on one device, with the loss
//! of every step, the final parameters and the timings.

use super::compare::{Params, Trace};
use crate::run::config::OptimSection;
use crate::train::batches::Batches;
use crate::train::optim;
use diffmem_model::burn::module::{Module, ModuleVisitor, Param};
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::HostNoise;
use diffmem_model::step::{TrainJob, train_step};
use diffmem_model::{Diffusion, Net, Objective, Schedule, ScheduleKind};
use std::time::Instant;

/// The data and the optimisation every device of one check trains on.
pub struct Problem {
    /// Training rows `[n * dim]`, row-major.
    pub rows: Vec<f32>,
    /// Number of rows.
    pub n: usize,
    /// Values per row.
    pub dim: usize,
    /// Diffusion timesteps T.
    pub t_max: usize,
    /// Batch size.
    pub batch: usize,
    /// Optimisation steps.
    pub steps: usize,
    /// Seed of the data, batches, timesteps and noise.
    pub seed: u64,
    /// Learning rate (constant: a schedule would only rescale the steps).
    pub lr: f64,
}

impl Problem {
    /// `n` rows of dimension `dim`, tanh of standard normal values (in (-1, 1) like images).
    pub fn new(n: usize, dim: usize, batch: usize, steps: usize, seed: u64) -> Self {
        let rows = HostNoise::seeded(seed)
            .next_vec(n * dim)
            .iter()
            .map(|v| v.tanh())
            .collect();
        Self {
            rows,
            n,
            dim,
            t_max: 100,
            batch,
            steps,
            seed,
            lr: 1e-3,
        }
    }

    /// The same problem with every training value scaled by (1 + `rel`): differences of the
    /// size rounding makes (rel ~ 1e-7) or larger.
    #[cfg(test)]
    pub fn perturbed(&self, rel: f32) -> Self {
        Self {
            rows: self.rows.iter().map(|v| v * (1.0 + rel)).collect(),
            ..*self
        }
    }

    /// Step `step`'s host batch: clean rows, timesteps and noise, as `train` draws them.
    fn batch(&self, batches: &mut Batches, step: usize) -> (Vec<f32>, Vec<usize>, Vec<f32>) {
        let x0 = batches
            .indices(step)
            .iter()
            .flat_map(|&i| &self.rows[i * self.dim..(i + 1) * self.dim])
            .copied()
            .collect();
        let (t, eps) = batches.timesteps_and_noise(step, self.t_max, self.dim);
        (x0, t, eps)
    }
}

/// A trace with its timings and memory.
pub struct Timed {
    /// Losses and final parameters.
    pub trace: Trace,
    /// Seconds of the first step (upload, kernel compilation and autotuning, the step itself).
    pub first_step_s: f64,
    /// Steps per second after the first.
    pub steps_per_s: f64,
    /// Bytes the device's allocator held at the end (`None` where burn does not report it).
    pub device_bytes: Option<u64>,
}

/// Adam's epsilon in the check: 1e-5 (burn's default) instead of `train`'s 1e-8. A parameter
/// the loss does not depend on (a convolution's bias before a GroupNorm, which removes it) has
/// a gradient that is rounding noise, ~1e-9; with epsilon 1e-8 Adam normalises that noise to
/// steps of order the learning rate, in a direction that differs between devices, and the final
/// parameters of two correct devices then differ by ~1% of their travel after 20 steps
/// (measured on lavapipe: UNet 8.9e-3, MLP 7e-7). With 1e-5 such noise moves nothing while
/// real gradients (>= 1e-4) keep their full steps.
pub const ADAM_EPSILON: f64 = 1e-5;

/// Trains `net` (already initialised) on `device` for the problem's steps with `train`'s
/// optimiser (Adam, epsilon [`ADAM_EPSILON`], global-norm clipping at 1).
pub fn train_on(net: &Net, device: &Device, p: &Problem) -> Timed {
    let ad = device.clone().autodiff();
    let mut net = net.clone().fork(&ad).train();
    let schedule = Schedule::new(ScheduleKind::default(), p.t_max).expect("T = 100 is valid");
    let diffusion = Diffusion::new(schedule, Objective::Eps, None, &ad);
    let mut optim = optim::build(&OptimSection {
        eps: ADAM_EPSILON,
        ..OptimSection::default()
    });
    let mut batches = Batches::new(p.seed, p.n, p.batch);
    let mut losses = Vec::with_capacity(p.steps);
    let started = Instant::now();
    let mut first_step_s = 0.0;
    for step in 0..p.steps {
        let (x0, t, eps) = p.batch(&mut batches, step);
        let x0 = matrix(&x0, p.batch, p.dim, &ad);
        let eps = matrix(&eps, p.batch, p.dim, &ad);
        let loss;
        let job = TrainJob {
            x0,
            t: timesteps(&t, &ad),
            eps,
            lr: p.lr,
            clip: Some(1.0),
        };
        (net, loss) = train_step(net, &mut optim, &diffusion, job);
        losses.push(loss);
        if step == 0 {
            // Read back: the first step's kernels have compiled and run.
            let _ = to_vec(losses[0].clone());
            first_step_s = started.elapsed().as_secs_f64();
        }
    }
    let losses = match losses.is_empty() {
        true => Vec::new(),
        false => to_vec(Tensor::cat(losses, 0)),
    };
    let rest = started.elapsed().as_secs_f64() - first_step_s;
    let params = snapshot(&net);
    Timed {
        trace: Trace { losses, params },
        first_step_s,
        steps_per_s: p.steps.saturating_sub(1) as f64 / rest.max(1e-9),
        device_bytes: ad.memory_pool_usage().map(|u| u.bytes_reserved),
    }
}

/// Every float parameter of `net` on the host, named by its module path (reading them also
/// initialises lazily initialised parameters where they are).
pub fn snapshot(net: &Net) -> Params {
    let mut v = Snapshot {
        path: Vec::new(),
        out: Vec::new(),
    };
    net.visit(&mut v);
    v.out
}

struct Snapshot {
    path: Vec<String>,
    out: Params,
}

impl ModuleVisitor for Snapshot {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let name = match self.path.is_empty() {
            true => format!("param{}", self.out.len()),
            false => self.path.join("."),
        };
        self.out.push((name, to_vec(p.val())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::compare::{Tolerance, compare};
    use diffmem_model::denoiser::MlpConfig;

    fn mlp(seed: u64, dim: usize) -> Net {
        let flex = Device::flex();
        flex.seed(seed);
        let net = Net::Mlp(
            MlpConfig {
                width: 16,
                depth: 1,
                temb: 8,
            }
            .init(dim, &flex),
        );
        let _ = snapshot(&net);
        net
    }

    /// The tolerance the doctor applies to f32 devices.
    fn tol() -> Tolerance {
        crate::doctor::tolerance(diffmem_model::MatmulPrecision::F32)
    }

    /// Two runs on the CPU from the same weights and batches agree exactly, and leave the shared
    /// start untouched.
    #[test]
    fn the_same_run_twice_is_identical() {
        let p = Problem::new(16, 12, 4, 20, 3);
        let net = mlp(1, 12);
        let start = snapshot(&net);
        let (a, b) = (
            train_on(&net, &Device::flex(), &p),
            train_on(&net, &Device::flex(), &p),
        );
        assert_eq!(a.trace.losses.len(), 20);
        assert_eq!(snapshot(&net), start, "training changed the shared start");
        let c = compare(&start, &a.trace, &b.trace, tol());
        assert!(c.passed() && c.loss_rel_diff == 0.0, "{c:?}");
        assert!(a.trace.params != start, "the weights did not move");
        assert!(a.trace.losses.iter().all(|l| l.is_finite() && *l > 0.0));
    }

    /// Differences of the size f32 rounding makes (the data scaled by 1 + 1e-6, ten f32 ulps)
    /// carried through 60 steps stay below a tenth of the tolerance for both models, including
    /// the UNet's biases before a GroupNorm that the loss does not see (measured: losses 8e-7,
    /// parameters 2e-5 of their travel); a subtle wrong kernel (the data scaled by 1 + 1e-2:
    /// losses 3e-4 to 7e-3, parameters 7e-3 to 4e-2) is caught.
    #[test]
    fn rounding_sized_differences_pass_and_larger_ones_do_not() {
        let shape = diffmem_data::SampleShape::Image { c: 1, h: 8, w: 8 };
        let unet = diffmem_model::denoiser::UnetConfig {
            base: 4,
            mults: vec![1, 2],
            attn_res: vec![4],
        };
        let flex = Device::flex();
        flex.seed(5);
        let nets = [
            mlp(5, 64),
            diffmem_model::ModelSpec::Unet(unet)
                .init_net(shape, 100, &flex)
                .unwrap()
                .unwrap(),
        ];
        let p = Problem::new(32, 64, 8, 60, 4);
        for net in &nets {
            let start = snapshot(net);
            let cpu = train_on(net, &flex, &p).trace;
            let near = compare(
                &start,
                &cpu,
                &train_on(net, &flex, &p.perturbed(1e-6)).trace,
                tol(),
            );
            assert!(near.passed(), "{near:?}");
            assert!(near.loss_rel_diff < tol().loss / 10.0, "{near:?}");
            assert!(near.param_rel_diff < tol().params / 10.0, "{near:?}");
            let far = compare(
                &start,
                &cpu,
                &train_on(net, &flex, &p.perturbed(1e-2)).trace,
                tol(),
            );
            assert!(!far.passed(), "{far:?}");
        }
    }

    /// A run that differs as a wrong kernel would (another learning rate: a gradient scaled
    /// by 1.5 through Adam's normalisation) is caught, and so is another initialisation.
    #[test]
    fn a_real_disagreement_is_caught() {
        let p = Problem::new(16, 12, 4, 20, 3);
        let net = mlp(1, 12);
        let start = snapshot(&net);
        let cpu = train_on(&net, &Device::flex(), &p).trace;
        let off = Problem { lr: 1.5e-3, ..p };
        let c = compare(
            &start,
            &cpu,
            &train_on(&net, &Device::flex(), &off).trace,
            tol(),
        );
        assert!(!c.passed(), "{c:?}");
        let other = train_on(
            &mlp(2, 12),
            &Device::flex(),
            &Problem::new(16, 12, 4, 20, 3),
        );
        let c = compare(&start, &cpu, &other.trace, tol());
        assert!(!c.passed(), "{c:?}");
    }
}
