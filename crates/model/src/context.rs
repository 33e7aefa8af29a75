//! The context of every library call on a model: which denoiser, under which diffusion, on
//! which device. A call then takes this context and a job that says what to do (draw samples,
//! score rows), instead of a long list of loose arguments.

use crate::denoiser::Denoiser;
use crate::diffusion::Diffusion;
use burn::prelude::Device;

/// A denoiser with its diffusion (schedule and objective) and the device it runs on.
#[derive(Clone, Copy)]
pub struct ModelContext<'a> {
    /// The denoiser evaluated.
    pub model: &'a dyn Denoiser,
    /// Its noise schedule and training objective.
    pub diffusion: &'a Diffusion,
    /// Where its tensors live.
    pub device: &'a Device,
}

impl<'a> ModelContext<'a> {
    /// `model` under `diffusion` on `device`.
    pub fn new(model: &'a dyn Denoiser, diffusion: &'a Diffusion, device: &'a Device) -> Self {
        ModelContext {
            model,
            diffusion,
            device,
        }
    }
}
