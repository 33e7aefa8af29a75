//! One optimisation step of a trainable denoiser: loss, backward, gradient clipping by the
//! GLOBAL norm (as PyTorch's `clip_grad_norm_`; burn's own clipping is per parameter), and
//! the optimiser update. Nothing is read back from the device.

use crate::denoiser::Net;
use crate::diffusion::Diffusion;
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(p.id) {
            let s = g.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Tensor<1>,
    ids: Vec<ParamId>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(p.id) {
            let f = self.factor.clone().reshape([1usize; D]);
            self.grads.register::<D>(p.id, g * f);
            self.ids.push(p.id);
        }
    }
}

/// Global gradient norm sqrt(sum_p ||g_p||^2) as a device scalar `[1]`.
pub fn global_norm<M: Module>(model: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    let mut v = SquaredNorm { grads, total: None };
    model.visit(&mut v);
    v.total.map(|t| t.sqrt())
}

/// Scales all gradients by min(1, max_norm / (norm + 1e-6)): in place on flex
/// ([`crate::flex::clip::clip_global_norm_flex`]), else as tensor ops on the device.
pub fn clip_global_norm<M: Module>(model: &M, grads: &mut GradientsParams, max_norm: f64) {
    if !crate::flex::clip::clip_global_norm_flex(model, grads, max_norm) {
        clip_global_norm_tensor(model, grads, max_norm);
    }
}

/// [`clip_global_norm`] as tensor ops, the factor computed on the device (nothing is read
/// back): any backend.
pub fn clip_global_norm_tensor<M: Module>(model: &M, grads: &mut GradientsParams, max_norm: f64) {
    let Some(norm) = global_norm(model, grads) else {
        return;
    };
    let factor = ((norm + 1e-6).recip() * max_norm).clamp_max(1.0);
    let mut s = Scale {
        grads,
        factor,
        ids: Vec::new(),
    };
    model.visit(&mut s);
}

/// One optimisation step's job: the batch `x0` with its timesteps `t` and noise `eps` (all on
/// the autodiff device of the network), the learning rate, and the global gradient-norm clip.
pub struct TrainJob {
    /// Clean training rows, `[B, D]`.
    pub x0: Tensor<2>,
    /// One 0-based timestep per row.
    pub t: Tensor<1, Int>,
    /// The noise added to each row, `[B, D]`.
    pub eps: Tensor<2>,
    /// Learning rate of this step.
    pub lr: f64,
    /// Largest global gradient norm (None: no clipping).
    pub clip: Option<f64>,
}

/// One training step of `net` under `diffusion` on `job`. Returns the updated network and the
/// (device) loss.
pub fn train_step(
    net: Net,
    optim: &mut ModuleOptimizer,
    diffusion: &Diffusion,
    job: TrainJob,
) -> (Net, Tensor<1>) {
    let TrainJob {
        x0,
        t,
        eps,
        lr,
        clip,
    } = job;
    let loss = diffusion.loss(&net, x0, &t, eps);
    let mut grads = GradientsParams::from_grads(loss.backward(), &net);
    if let Some(c) = clip {
        clip_global_norm(&net, &mut grads, c);
    }
    let net = optim.step(lr, net, grads);
    (net, loss.inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denoiser::LinearConfig;

    #[test]
    fn global_clipping_scales_all_gradients_by_one_factor() {
        let device = Device::flex().autodiff();
        let m = LinearConfig { bins: Some(1) }.init(3, 10, &device).unwrap();
        let x = Tensor::<2>::from_data(TensorData::new(vec![3f32, 4., 0.], [1, 3]), &device);
        let t = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64], [1]), &device);
        // loss = sum(W x + b) => dL/dW_ij = x_j, dL/db_i = 1: global norm sqrt(3*25 + 3).
        let loss = m.forward(x, t).sum();
        let mut grads = GradientsParams::from_grads(loss.backward(), &m);
        let norm: f32 = global_norm(&m, &grads).unwrap().into_scalar();
        assert!((norm - 78f32.sqrt()).abs() < 1e-4, "{norm}");
        clip_global_norm(&m, &mut grads, 1.0);
        let after: f32 = global_norm(&m, &grads).unwrap().into_scalar();
        assert!((after - 1.0).abs() < 1e-4, "{after}");
        let gb = grads
            .get::<2>(m.bias.id)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!((gb[0] - 1.0 / 78f32.sqrt()).abs() < 1e-5);
        // Below the threshold nothing changes.
        clip_global_norm(&m, &mut grads, 10.0);
        let same: f32 = global_norm(&m, &grads).unwrap().into_scalar();
        assert!((same - 1.0).abs() < 1e-4);
    }
}
