//! The denoiser family behind one interface.
//!
//! Every denoiser maps `[batch, D]` inputs x_t and one timestep index per sample to a
//! `[batch, D]` output in its objective's units (eps unless configured otherwise).

pub mod empirical;
pub mod linear;
pub mod linear_exact;
pub mod local;
pub mod mlp;
pub mod time_embedding;
pub mod unet;

use burn::prelude::*;

pub use empirical::Empirical;
pub use linear::{LinearConfig, LinearDenoiser};
pub use linear_exact::LinearExact;
pub use local::LocalScore;
pub use mlp::{Mlp, MlpConfig};
pub use unet::{Unet, UnetConfig};

/// One interface for every denoiser: trained networks and exact references.
pub trait Denoiser {
    /// Output for inputs `x` (`[batch, D]`) at timestep indices `t` (`[batch]`, in `0..T`).
    fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2>;
}

/// The trainable denoisers, as one burn module so the optimiser, EMA and records treat
/// them alike.
// burn's Module derive has no impl for Box<M>, and a Net is held once per model, not in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Net {
    /// Affine map per bin of timesteps.
    Linear(LinearDenoiser),
    /// Residual MLP with a sinusoidal time embedding.
    Mlp(Mlp),
    /// Small UNet for images.
    Unet(Unet),
}

impl Denoiser for Net {
    fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        match self {
            Net::Linear(m) => m.forward(x, t),
            Net::Mlp(m) => m.forward(x, t),
            Net::Unet(m) => m.forward(x, t),
        }
    }
}

impl Denoiser for LinearExact {
    fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        self.eps(x, t)
    }
}

impl Denoiser for LocalScore {
    fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        self.eps(x, t)
    }
}

impl Denoiser for Empirical {
    fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        self.eps(x, t)
    }
}
