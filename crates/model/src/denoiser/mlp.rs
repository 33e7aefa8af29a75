//! `mlp`: a residual MLP denoiser with a sinusoidal time embedding and SiLU.
//!
//!   e = SiLU(Linear(sinusoidal(t)))                       time embedding, `temb` wide
//!   h = Linear(x)                                          D -> width
//!   h = h + Linear_k(SiLU(h + Linear_tk(e)))               k = 1..depth residual blocks
//!   out = Linear(SiLU(h))                                  width -> D
//!
//! depth = 1 with width 512 and temb 128 is the 784-512-512-784 benchmark network.

mod export;

pub use export::NamedTensor;

use super::time_embedding::sinusoidal;
use crate::flex::{linear_module, silu};
use burn::nn::{Linear, LinearConfig as NnLinearConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Configuration of the `mlp` denoiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Hidden width.
    pub width: usize,
    /// Number of residual blocks.
    pub depth: usize,
    /// Width of the time embedding (even).
    pub temb: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self {
            width: 512,
            depth: 2,
            temb: 128,
        }
    }
}

impl MlpConfig {
    /// Builds the network for data dimension `dim`.
    pub fn init(&self, dim: usize, device: &Device) -> Mlp {
        let lin = |i, o| NnLinearConfig::new(i, o).init(device);
        Mlp {
            temb_proj: lin(self.temb, self.temb),
            input: lin(dim, self.width),
            blocks: (0..self.depth)
                .map(|_| lin(self.width, self.width))
                .collect(),
            time_blocks: (0..self.depth)
                .map(|_| lin(self.temb, self.width))
                .collect(),
            output: lin(self.width, dim),
            temb: self.temb,
        }
    }
}

/// The residual MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    temb_proj: Linear,
    input: Linear,
    blocks: Vec<Linear>,
    time_blocks: Vec<Linear>,
    output: Linear,
    temb: usize,
}

impl Mlp {
    /// Forward pass on `[batch, D]`.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let e = silu(linear_module(&self.temb_proj, sinusoidal(t, self.temb)));
        let mut h = linear_module(&self.input, x);
        for (block, tb) in self.blocks.iter().zip(&self.time_blocks) {
            h = h.clone() + linear_module(block, silu(h + linear_module(tb, e.clone())));
        }
        linear_module(&self.output, silu(h))
    }
}
