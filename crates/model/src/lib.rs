//! diffmem-model: noise schedules, the forward process and objectives, samplers, and the
//! denoiser family (`linear`, `mlp`, `unet`, `linear-exact`, `empirical`) on burn 0.22.
//! Tensors at the boundary are flat `[batch, D]`; timesteps are indices in `0..T`.

pub mod context;
pub mod denoiser;
pub mod device;
pub mod diffusion;
pub mod ema;
pub mod error;
pub mod flex;
pub mod linear_gaussian;
pub mod memory_limit;
pub mod noise;
pub mod sampler;
pub mod schedule;
pub mod spec;
pub mod step;
pub mod tensor;

pub use context::ModelContext;
pub use denoiser::{Denoiser, Net};
pub use device::{DeviceChoice, MatmulPrecision, SelectedDevice, select_device};
pub use diffusion::{Diffusion, Objective};
pub use error::{ModelError, Result};
pub use linear_gaussian::{Eigen, GaussianMoments};
pub use sampler::{DdpmVariance, SamplerConfig, SamplerStep};
pub use schedule::{NoiseLevel, Schedule, ScheduleKind};
pub use spec::ModelSpec;

/// Re-export of burn so dependants use the exact same version.
pub use burn;
