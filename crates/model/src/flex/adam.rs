//! Adam (Kingma and Ba 2015, Algorithm 1, with burn's epsilon placement) as one fused pass
//! over each parameter on flex, instead of burn's thirteen tensor operations (each a full read
//! and write of the parameter's size, and a fresh allocation). Same state type and record as
//! burn's `Adam`, same arithmetic in the same order: on flex the results equal burn's to the
//! last bit (tested), and on other backends (or with amsgrad) burn's `Adam` runs.

use super::{OnFlex, downcast};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::tensor::{Device, Tensor};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

/// Adam's settings (burn's `AdamConfig` fields, without amsgrad).
#[derive(Clone, Copy, Debug)]
pub struct FusedAdamConfig {
    /// Decay of the first moment (beta_1).
    pub beta_1: f32,
    /// Decay of the second moment (beta_2).
    pub beta_2: f32,
    /// epsilon, added to sqrt(v_hat).
    pub epsilon: f32,
    /// L2 penalty added to the gradient (Adam's "weight decay"); 0 for none.
    pub weight_decay: f32,
}

impl Default for FusedAdamConfig {
    fn default() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl FusedAdamConfig {
    /// burn's `Adam` with the same settings (the fallback, and the reference in tests).
    pub fn burn_adam(&self) -> Adam {
        AdamConfig::new()
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
            .with_weight_decay(
                (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay)),
            )
            .build()
    }

    /// The optimiser, ready for `ModuleOptimizer::step`.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(FusedAdam {
            config: *self,
            burn: self.burn_adam(),
        })
    }
}

/// Adam with a fused flex update; see the module doc.
#[derive(Clone)]
pub struct FusedAdam {
    config: FusedAdamConfig,
    burn: Adam,
}

/// The scalars of one update at step t (1-based): c2 = sqrt(1 - beta_2^t),
/// factor = c2 / (1 - beta_1^t), eps_hat = epsilon c2, as burn computes them.
#[derive(Clone, Copy)]
struct StepScalars {
    b1: f32,
    b2: f32,
    wd: f32,
    factor: f32,
    eps_hat: f32,
    lr: f32,
}

impl StepScalars {
    fn new(c: &FusedAdamConfig, t: usize, lr: LearningRate) -> Self {
        let t = t as i32;
        let c2 = (1.0 - c.beta_2.powi(t)).sqrt();
        Self {
            b1: c.beta_1,
            b2: c.beta_2,
            wd: c.weight_decay,
            factor: c2 / (1.0 - c.beta_1.powi(t)),
            eps_hat: c.epsilon * c2,
            // burn multiplies by the f64 rate as an f32 scalar.
            lr: lr as f32,
        }
    }
}

/// The update of one chunk, in burn's operation order:
/// g' = p wd + g; m = m b1 + g' (1 - b1); v = v b2 + g'^2 (1 - b2);
/// p = p - (m factor / (sqrt(v) + eps_hat)) lr. First step: m and v start at 0, which gives
/// burn's m = g' (1 - b1), v = g'^2 (1 - b2) exactly (0 * b + x = x).
#[inline(always)]
fn update(k: StepScalars, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
    let n = p.len();
    let (m, v, g) = (&mut m[..n], &mut v[..n], &g[..n]);
    for i in 0..n {
        let gi = if k.wd != 0.0 {
            p[i] * k.wd + g[i]
        } else {
            g[i]
        };
        m[i] = m[i] * k.b1 + gi * (1.0 - k.b1);
        v[i] = v[i] * k.b2 + (gi * gi) * (1.0 - k.b2);
        p[i] -= (m[i] * k.factor / (v[i].sqrt() + k.eps_hat)) * k.lr;
    }
}

super::simd::wide_copy!(
    /// [`update`], in its AVX2 copy when the CPU has it.
    fn update_chunk(k: StepScalars, p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) = update;
);

/// Whether `t` is a plain flex f32 tensor (the probe's clone is dropped at once, so `t` stays
/// the only owner of its buffer).
fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    matches!(downcast(t.clone()), Ok(OnFlex::Plain(_)))
}

/// The flex buffer of a tensor that [`on_flex`] accepted, contiguous and (if nobody else holds
/// it) not copied.
fn take<const D: usize>(t: Tensor<D>) -> FlexTensor {
    match downcast(t) {
        Ok(OnFlex::Plain(f)) if f.is_contiguous() && f.layout().start_offset() == 0 => f,
        Ok(OnFlex::Plain(f)) => f.to_contiguous(),
        _ => unreachable!("take: checked by on_flex"),
    }
}

impl FusedAdam {
    /// The fused step, when the parameter, its gradient and its moments all live on flex
    /// (and amsgrad's extra moment is absent).
    fn fusable<const D: usize>(
        tensor: &Tensor<D>,
        grad: &Tensor<D>,
        state: Option<&AdamState<D>>,
    ) -> bool {
        super::enabled(super::Kernel::Adam)
            && on_flex(tensor)
            && on_flex(grad)
            && state.is_none_or(|s| {
                s.momentum.max_moment_2.is_none()
                    && on_flex(&s.momentum.moment_1)
                    && on_flex(&s.momentum.moment_2)
            })
    }

    fn step_flex<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, AdamState<D>) {
        #[cfg(test)]
        super::testing::note_built();
        let mut p = take(tensor);
        let (t, mut m, mut v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                take(s.momentum.moment_1),
                take(s.momentum.moment_2),
            ),
            None => {
                let zeros = || FlexTensor::zeros(p.layout().shape().clone(), p.dtype());
                (1, zeros(), zeros())
            }
        };
        let k = StepScalars::new(&self.config, t, lr);
        let g = take(grad);
        let gv = super::values(&g);
        // storage_mut copies a buffer only if something else still holds it.
        let (ps, ms, vs) = (
            p.storage_mut::<f32>(),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
        );
        let chunk = super::simd::CHUNK;
        if ps.len() <= chunk {
            update_chunk(k, ps, ms, vs, &gv);
        } else {
            ps.par_chunks_mut(chunk)
                .zip(ms.par_chunks_mut(chunk))
                .zip(vs.par_chunks_mut(chunk))
                .zip(gv.par_chunks(chunk))
                .for_each(|(((p, m), v), g)| update_chunk(k, p, m, v, g));
        }
        let wrap = |t: FlexTensor| Tensor::<D>::from_primitive::<Flex>(t);
        let momentum = AdaptiveMomentumState::new(t, wrap(m), wrap(v));
        (wrap(p), AdamState::new(momentum))
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if Self::fusable(&tensor, &grad, state.as_ref()) {
            let (t, s) = self.step_flex(lr, tensor, grad, state);
            (t, Some(s))
        } else {
            self.burn.step(lr, tensor, grad, state)
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        <Adam as Optimizer>::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::tensor::Distribution;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.to_data().try_to_vec::<f32>().unwrap()
    }

    /// Six steps of the fused Adam and of burn's Adam on the same layer and gradients give
    /// the same weights to the last bit, with and without the L2 penalty; the 300 x 250
    /// weight (75 000 values) takes the split (rayon) path, the bias the single-chunk one.
    #[test]
    fn equals_burn_adam_bit_for_bit() {
        let dev = Device::flex().autodiff();
        for weight_decay in [0.0, 1e-2] {
            let config = FusedAdamConfig {
                weight_decay,
                ..Default::default()
            };
            let start: Linear = LinearConfig::new(300, 250).init(&dev);
            let (mut ours, mut theirs) = (start.clone(), start);
            let mut fused = config.init();
            let mut reference = ModuleOptimizer::from(config.burn_adam());
            for step in 0..6 {
                let x = Tensor::<2>::random([8, 300], Distribution::Normal(0.0, 1.0), &dev);
                let grads = |m: &Linear| {
                    GradientsParams::from_grads(
                        m.forward(x.clone()).powi_scalar(2).sum().backward(),
                        m,
                    )
                };
                let lr = 1e-2 / (1.0 + step as f64);
                let (g_ours, g_theirs) = (grads(&ours), grads(&theirs));
                let (next, ran) =
                    super::super::testing::kernel_ran(|| fused.step(lr, ours, g_ours));
                assert!(ran, "the fused update did not run");
                ours = next;
                theirs = reference.step(lr, theirs, g_theirs);
            }
            assert_eq!(
                values(ours.weight.val()),
                values(theirs.weight.val()),
                "wd {weight_decay}"
            );
            let bias = |m: &Linear| values(m.bias.as_ref().unwrap().val());
            assert_eq!(bias(&ours), bias(&theirs));
            assert_ne!(
                values(ours.weight.val()),
                values(LinearConfig::new(300, 250).init(&dev).weight.val())
            );
        }
    }
}
