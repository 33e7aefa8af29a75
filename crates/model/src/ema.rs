//! Exponential moving average of a module's PARAMETERS (never of constant tensors such as
//! schedules, which are not parameters): ema <- decay ema + (1 - decay) model.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use std::collections::HashMap;

struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let t = p.val().inner();
        let n = t.shape().num_elements();
        self.0.insert(p.id, t.reshape([n]));
    }
}

struct Update {
    src: HashMap<ParamId, Tensor<1>>,
    decay: f64,
    missing: usize,
}

impl ModuleMapper for Update {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        match self.src.remove(&p.id) {
            Some(s) => {
                let d = self.decay;
                p.map(|e| {
                    let shape = e.shape();
                    e * d + s.reshape(shape) * (1.0 - d)
                })
            }
            None => {
                self.missing += 1;
                p
            }
        }
    }
}

/// Updates `ema` towards `model` (matched by parameter id); returns the new EMA and the
/// number of parameters that could not be matched (0 when both come from the same module).
pub fn update<M: Module>(ema: M, model: &M, decay: f64) -> (M, usize) {
    let mut c = Collect(HashMap::new());
    model.visit(&mut c);
    let mut u = Update {
        src: c.0,
        decay,
        missing: 0,
    };
    let ema = ema.map(&mut u);
    (ema, u.missing + u.src.len())
}
/// The EMA decay used after optimisation step `step` (0-based). With warm-up it is
/// min(decay, (1 + s) / (10 + s)) (TensorFlow's `ExponentialMovingAverage` with
/// `num_updates`): without it the average starts at the first network and after S steps still
/// holds a fraction decay^S of it (22% at S = 1500 for decay 0.999).
pub fn ema_decay(decay: f64, warmup: bool, step: usize) -> f64 {
    if !warmup {
        return decay;
    }
    let s = step as f64;
    decay.min((1.0 + s) / (10.0 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weight left on the first network after S updates, multiplied out, against the
    /// closed form of the warm-up product: prod_{s=1}^{S-1} (1+s)/(10+s) = 10 prod_{k=1}^{9}
    /// k/(S+k) (it telescopes), valid while (1+s)/(10+s) < decay.
    #[test]
    fn warmup_forgets_the_initial_network() {
        let first_weight = |warmup: bool, steps: usize| {
            // The EMA starts as the step-0 network; update s (1..steps) keeps decay_s of it.
            (1..steps)
                .map(|s| ema_decay(0.999, warmup, s))
                .product::<f64>()
        };
        assert!((first_weight(false, 1500) - 0.999f64.powi(1499)).abs() < 1e-12);
        assert!(first_weight(false, 1500) > 0.2);
        let closed = |big_s: usize| {
            10.0 * (1..=9)
                .map(|k| k as f64 / (big_s as f64 + k as f64))
                .product::<f64>()
        };
        let w = first_weight(true, 100);
        assert!(
            (w - closed(100)).abs() < 1e-20 + 1e-9 * w,
            "{w} {}",
            closed(100)
        );
        assert!(first_weight(true, 100) < 1e-10);
        assert_eq!(ema_decay(0.999, true, 100_000), 0.999);
    }
}
