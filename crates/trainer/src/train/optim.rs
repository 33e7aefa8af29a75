//! The optimiser of a run (Adam with L2 weight decay, or AdamW) and the EMA's decay schedule.

use crate::run::config::{OptimSection, OptimizerKind};
use diffmem_model::burn::optim::{AdamWConfig, ModuleOptimizer};
use diffmem_model::flex::FusedAdamConfig;

/// The configured optimiser (epsilon from the config: burn's own default is 1e-5, PyTorch's
/// 1e-8). Adam is burn's, with its update fused into one pass on the CPU (`flex::adam`).
pub fn build(o: &OptimSection) -> ModuleOptimizer {
    match o.kind {
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_beta_1(o.beta1 as f32)
            .with_beta_2(o.beta2 as f32)
            .with_epsilon(o.eps as f32)
            .with_weight_decay(o.weight_decay as f32)
            .init(),
        OptimizerKind::Adam => FusedAdamConfig {
            beta_1: o.beta1 as f32,
            beta_2: o.beta2 as f32,
            epsilon: o.eps as f32,
            weight_decay: o.weight_decay.max(0.0) as f32,
        }
        .init(),
    }
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
