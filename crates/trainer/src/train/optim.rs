//! The optimiser of a run (Adam with L2 weight decay, or AdamW).

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
