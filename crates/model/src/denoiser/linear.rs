//! `linear`: an affine denoiser per bin of timesteps, eps = W_k x + b_k (Merger & Goldt,
//! arXiv 2505.24769). Bin k holds timesteps t with floor(t K / T) = k; K = T (the default)
//! gives one map per timestep. W and b start at zero, the initial condition of the paper's
//! gradient-flow analysis.

use crate::error::{ModelError, Result};
use burn::module::Param;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Configuration of the `linear` denoiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearConfig {
    /// Number of timestep bins K (None: one per timestep).
    pub bins: Option<usize>,
}

/// Bytes per parameter during Adam training: value, gradient and two moments in f32.
const TRAIN_BYTES_PER_PARAM: f64 = 16.0;

/// Memory available to this process in bytes (MemAvailable on Linux, else 8 GiB).
pub fn available_memory() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(8.0 * (1u64 << 30) as f64, |kb| kb * 1024.0)
}

impl LinearConfig {
    /// Resolved bin count for `t_max` timesteps.
    pub fn bins(&self, t_max: usize) -> usize {
        self.bins.unwrap_or(t_max)
    }

    /// Checks the bin count and that K D (D + 1) parameters fit in `avail_bytes`
    /// (with gradients and Adam state; half of what is available, leaving room for
    /// activations), suggesting a bin count that fits when they do not.
    pub fn check(&self, dim: usize, t_max: usize, avail_bytes: f64) -> Result<usize> {
        let k = self.bins(t_max);
        if k == 0 || k > t_max {
            return Err(ModelError::Config(format!(
                "--bins must be between 1 and T = {t_max} (got {k})"
            )));
        }
        let per_bin = (dim * (dim + 1)) as f64 * TRAIN_BYTES_PER_PARAM;
        let budget = avail_bytes / 2.0;
        let need = per_bin * k as f64;
        if need > budget {
            let gb = (1u64 << 30) as f64;
            return Err(ModelError::TooLarge {
                bins: k,
                dim,
                need_gb: need / gb,
                avail_gb: avail_bytes / gb,
                suggest: ((budget / per_bin).floor() as usize).max(1),
            });
        }
        Ok(k)
    }

    /// Builds the zero-initialised model after [`LinearConfig::check`].
    pub fn init(&self, dim: usize, t_max: usize, device: &Device) -> Result<LinearDenoiser> {
        let bins = self.check(dim, t_max, available_memory())?;
        Ok(LinearDenoiser {
            weight: Param::from_tensor(Tensor::zeros([bins, dim, dim], device)),
            bias: Param::from_tensor(Tensor::zeros([bins, dim], device)),
            bins,
            t_max,
        })
    }
}

/// eps = W_k x + b_k with k the bin of t.
#[derive(Module, Debug)]
pub struct LinearDenoiser {
    /// W_k, `[K, D, D]` (row-major: output index first).
    pub weight: Param<Tensor<3>>,
    /// b_k, `[K, D]`.
    pub bias: Param<Tensor<2>>,
    /// Number of bins K.
    pub bins: usize,
    /// Number of timesteps T.
    pub t_max: usize,
}

impl LinearDenoiser {
    /// Bin index floor(t K / T) of each timestep, on the device.
    fn bin(&self, t: Tensor<1, Int>) -> Tensor<1, Int> {
        if self.bins == self.t_max {
            t
        } else {
            (t * self.bins as i64).div_scalar(self.t_max as i64)
        }
    }

    /// Forward pass: gathers each sample's W_k and b_k and applies them.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let [b, d] = x.dims();
        let k = self.bin(t);
        let w = self.weight.val().select(0, k.clone()); // [b, D, D]
        let bias = self.bias.val().select(0, k); // [b, D]
        let y = w.matmul(x.reshape([b, d, 1])).reshape([b, d]);
        y + bias
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_configs_that_do_not_fit_and_suggests_bins() {
        let cfg = LinearConfig { bins: None };
        // D = 3072 (CIFAR), T = 1000 bins: 3072*3073*16*1000 bytes ~ 141 GiB.
        let err = cfg
            .check(3072, 1000, 24.0 * (1u64 << 30) as f64)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("--bins"), "{msg}");
        match err {
            ModelError::TooLarge { suggest, .. } => {
                assert!(suggest >= 1 && suggest < 1000);
                assert!(cfg_fits(3072, suggest));
            }
            other => panic!("unexpected {other}"),
        }
        assert_eq!(cfg.check(20, 1000, 1e9).unwrap(), 1000);
        assert!(LinearConfig { bins: Some(0) }.check(20, 1000, 1e9).is_err());
        assert!(
            LinearConfig { bins: Some(2000) }
                .check(20, 1000, 1e9)
                .is_err()
        );
    }

    fn cfg_fits(dim: usize, bins: usize) -> bool {
        LinearConfig { bins: Some(bins) }
            .check(dim, 1000, 24.0 * (1u64 << 30) as f64)
            .is_ok()
    }

    #[test]
    fn applies_the_map_of_each_sample_bin() {
        let device = Device::flex();
        let m = LinearConfig { bins: Some(2) }.init(2, 10, &device).unwrap();
        // W_0 = I, b_0 = 0; W_1 = 2I, b_1 = (1, -1).
        let w = Tensor::<3>::from_data(
            TensorData::new(vec![1f32, 0., 0., 1., 2., 0., 0., 2.], [2, 2, 2]),
            &device,
        );
        let bias =
            Tensor::<2>::from_data(TensorData::new(vec![0f32, 0., 1., -1.], [2, 2]), &device);
        let m = LinearDenoiser {
            weight: Param::from_tensor(w),
            bias: Param::from_tensor(bias),
            ..m
        };
        let x = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2., 1., 2.], [2, 2]), &device);
        let t = Tensor::<1, Int>::from_data(TensorData::new(vec![4i64, 5], [2]), &device);
        let y = m.forward(x, t).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(y, vec![1., 2., 3., 3.]);
    }
}
