//! Where a sampler's Gaussian noise comes from. Two models compared on the same noise
//! (Kadkhodaie et al., arXiv 2310.02557) need identical initial and per-step draws, so the
//! sampler takes them from a [`NoiseSource`] that the caller may own.

use burn::prelude::*;
use burn::tensor::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal};

/// A stream of standard normal `[n, d]` tensors.
pub trait NoiseSource {
    /// The next draw.
    fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2>;
}

/// Noise from the device RNG, seeded once at construction: fast; identical for the same seed
/// on the same backend.
pub struct DeviceNoise;

impl DeviceNoise {
    /// Seeds `device` and returns the source.
    pub fn seeded(device: &Device, seed: u64) -> Self {
        device.seed(seed);
        DeviceNoise
    }
}

impl NoiseSource for DeviceNoise {
    fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }
}

/// Noise drawn on the host from ChaCha8 and uploaded: identical on every backend and
/// machine for the same seed (used to compare flex with wgpu, and models with each other).
pub struct HostNoise(ChaCha8Rng);

impl HostNoise {
    /// A stream for `seed`.
    pub fn seeded(seed: u64) -> Self {
        HostNoise(ChaCha8Rng::seed_from_u64(seed))
    }

    /// The next draw as host values.
    pub fn next_vec(&mut self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| StandardNormal.sample(&mut self.0))
            .collect()
    }
}

impl NoiseSource for HostNoise {
    fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2> {
        let v = self.next_vec(shape[0] * shape[1]);
        Tensor::from_data(TensorData::new(v, shape), device)
    }
}
