//! Where a sampler's Gaussian noise comes from. Two models compared on the same noise
//! (Kadkhodaie et al., arXiv 2310.02557) need identical initial and per-step draws, so the
//! sampler takes them from a [`NoiseSource`] that the caller may own.

use crate::flex::normal::NormalStream;
use crate::flex::{Kernel, enabled};
use burn::prelude::*;
use burn::tensor::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal};

/// A stream of standard normal `[n, d]` tensors.
pub trait NoiseSource {
    /// The next draw.
    fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2>;

    /// The next draw of `out.len()` values written into `out` on the host, the same values
    /// [`NoiseSource::next`] would give, when this source makes them on the host; `false`
    /// (and `out` untouched) when it draws on the device.
    fn fill_host(&mut self, _out: &mut [f32]) -> bool {
        false
    }
}

/// Noise from the device's generator, seeded once at construction: fast; identical for the
/// same seed on the same backend. On flex (with the `sample` kernel, see
/// `crate::flex::Kernel`) that generator is diffmem's vectorised [`NormalStream`] rather than
/// flex's `Tensor::random`: a different stream for the same seed (runs before it are repeated
/// with `DIFFMEM_FLEX_KERNELS` excluding `sample`), and still a function of the seed alone.
pub struct DeviceNoise(Option<NormalStream>);

impl DeviceNoise {
    /// Seeds `device`'s generator and returns the source.
    pub fn seeded(device: &Device, seed: u64) -> Self {
        // Seeded either way, so that anything else drawing from the device RNG repeats too.
        device.seed(seed);
        let own = device.clone().inner() == Device::flex() && enabled(Kernel::Sample);
        DeviceNoise(own.then(|| NormalStream::seeded(seed)))
    }
}

impl NoiseSource for DeviceNoise {
    fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2> {
        match &mut self.0 {
            Some(stream) => {
                let mut v = vec![0.0f32; shape[0] * shape[1]];
                stream.fill(&mut v);
                Tensor::from_data(TensorData::new(v, shape), device)
            }
            None => Tensor::random(shape, Distribution::Normal(0.0, 1.0), device),
        }
    }

    fn fill_host(&mut self, out: &mut [f32]) -> bool {
        self.0.as_mut().map(|s| s.fill(out)).is_some()
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
        let mut v = vec![0.0f32; len];
        self.fill_host(&mut v);
        v
    }
}

impl NoiseSource for HostNoise {
    fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2> {
        let v = self.next_vec(shape[0] * shape[1]);
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    fn fill_host(&mut self, out: &mut [f32]) -> bool {
        out.iter_mut()
            .for_each(|v| *v = StandardNormal.sample(&mut self.0));
        true
    }
}
