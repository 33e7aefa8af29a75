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

/// Memory this process may still use, in bytes: the smallest of the machine's available
/// memory, the address-space limit and the memory cgroup's limit
/// ([`crate::memory_limit::available`]).
pub fn available_memory() -> f64 {
    crate::memory_limit::available().bytes
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

    /// Forward pass: on a CPU backend (flex, ndarray) one matmul per bin present in the batch
    /// ([`LinearDenoiser::forward_grouped`]); on a GPU the per-sample gather
    /// ([`LinearDenoiser::forward_gather`]), which needs no read-back of `t` to the host.
    /// `DIFFMEM_LINEAR_PATH=gather|grouped` forces one path (for benchmarks).
    pub fn forward(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let grouped = match linear_path_override() {
            Some(g) => g,
            None => on_host(&x.device()),
        };
        if grouped {
            self.forward_grouped(x, t)
        } else {
            self.forward_gather(x, t)
        }
    }

    /// Gathers each sample's W_k and b_k (a `[B, D, D]` copy of the weights; its backward
    /// scatters B gradients of D x D) and applies them.
    pub fn forward_gather(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let [b, d] = x.dims();
        let k = self.bin(t);
        let w = self.weight.val().select(0, k.clone()); // [b, D, D]
        let bias = self.bias.val().select(0, k); // [b, D]
        let y = w.matmul(x.reshape([b, d, 1])).reshape([b, d]);
        y + bias
    }

    /// Groups the batch by bin (the bins are read back to the host once): the P bins present
    /// are gathered once (`[P, D, D]`), each bin's rows are stacked into a `[P, m, D]` block
    /// (m = the largest group; short groups are padded with one of their own rows, whose
    /// outputs are dropped and so get no gradient), one batched matmul computes every bin's
    /// W_k X_k^T, and a final row gather puts the outputs back in batch order. Same values
    /// and gradients as [`LinearDenoiser::forward_gather`].
    pub fn forward_grouped(&self, x: Tensor<2>, t: Tensor<1, Int>) -> Tensor<2> {
        let [_, d] = x.dims();
        let device = x.device();
        let k = self.bin(t);
        let bins: Vec<usize> = k
            .clone()
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("bin indices are integers")
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let plan = BinGroups::new(&bins);
        let (p, m) = (plan.present.len(), plan.width);
        let index = |v: &[usize]| {
            let v: Vec<i64> = v.iter().map(|&i| i as i64).collect();
            let n = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), &device)
        };
        let w = self.weight.val().select(0, index(&plan.present)); // [P, D, D]
        let xs = x.select(0, index(&plan.rows)).reshape([p, m, d]); // [P, m, D]
        let ys = w.matmul(xs.swap_dims(1, 2)).swap_dims(1, 2); // [P, m, D]
        let y = ys.reshape([p * m, d]).select(0, index(&plan.slot));
        y + self.bias.val().select(0, k)
    }
}

/// How [`LinearDenoiser::forward_grouped`] lays a batch out by bin.
#[derive(Debug, PartialEq)]
struct BinGroups {
    /// The bins present, ascending (P of them).
    present: Vec<usize>,
    /// The largest group size m.
    width: usize,
    /// P m batch rows: group p's rows, padded to m with its first row.
    rows: Vec<usize>,
    /// For each batch row, its position p m + j in the padded layout.
    slot: Vec<usize>,
}

impl BinGroups {
    fn new(bins: &[usize]) -> Self {
        let mut present: Vec<usize> = bins.to_vec();
        present.sort_unstable();
        present.dedup();
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); present.len()];
        let mut slot = vec![0; bins.len()];
        let mut within = vec![0; bins.len()];
        for (i, k) in bins.iter().enumerate() {
            let p = present.binary_search(k).expect("present holds every bin");
            within[i] = groups[p].len();
            groups[p].push(i);
        }
        let width = groups.iter().map(Vec::len).max().unwrap_or(0);
        for (i, k) in bins.iter().enumerate() {
            let p = present.binary_search(k).expect("present holds every bin");
            slot[i] = p * width + within[i];
        }
        let rows = groups
            .iter()
            .flat_map(|g| (0..width).map(move |j| *g.get(j).unwrap_or(&g[0])))
            .collect();
        Self {
            present,
            width,
            rows,
            slot,
        }
    }
}

/// Whether `device` (or the device under its autodiff wrapper) is a CPU backend (flex, ndarray).
fn on_host(device: &Device) -> bool {
    // burn does not re-export its dispatch enum: its Debug form names the variant.
    let name = format!("{:?}", device.clone().inner().as_dispatch());
    name.starts_with("Flex") || name.starts_with("NdArray")
}

/// `DIFFMEM_LINEAR_PATH`: `grouped` or `gather` forces that forward path (read once).
fn linear_path_override() -> Option<bool> {
    static PATH: std::sync::OnceLock<Option<bool>> = std::sync::OnceLock::new();
    *PATH.get_or_init(
        || match std::env::var("DIFFMEM_LINEAR_PATH").ok().as_deref() {
            Some("grouped") => Some(true),
            Some("gather") => Some(false),
            _ => None,
        },
    )
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
                assert!((1..1000).contains(&suggest));
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

    #[test]
    fn groups_rows_by_bin_with_padding() {
        let g = BinGroups::new(&[3, 0, 3, 3, 1]);
        assert_eq!(g.present, vec![0, 1, 3]);
        assert_eq!(g.width, 3);
        // bin 0: row 1 (+2 pads), bin 1: row 4 (+2 pads), bin 3: rows 0, 2, 3.
        assert_eq!(g.rows, vec![1, 1, 1, 4, 4, 4, 0, 2, 3]);
        assert_eq!(g.slot, vec![6, 0, 7, 8, 3]);
    }

    /// A seeded pseudo-random vector (values in [-1, 1)).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn to_vec<const N: usize>(t: Tensor<N>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    #[test]
    fn grouped_forward_matches_the_gather_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        let (k, t_max, d) = (5, 20, 3);
        // Bins floor(t K / T) = floor(t / 4): 0, 0, 3, 1, 3, 3, 0 (bins 2 and 4 empty).
        let ts = vec![1i64, 3, 13, 6, 12, 15, 0];
        let b = ts.len();
        let model = || LinearDenoiser {
            weight: Param::from_tensor(Tensor::<3>::from_data(
                TensorData::new(values(k * d * d, 1), [k, d, d]),
                &device,
            )),
            bias: Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(values(k * d, 2), [k, d]),
                &device,
            )),
            bins: k,
            t_max,
        };
        let x = Tensor::<2>::from_data(TensorData::new(values(b * d, 3), [b, d]), &device);
        let c = Tensor::<2>::from_data(TensorData::new(values(b * d, 4), [b, d]), &device);
        let t = Tensor::<1, Int>::from_data(TensorData::new(ts, [b]), &device);
        let run = |grouped: bool| {
            let m = model();
            let y = if grouped {
                m.forward_grouped(x.clone(), t.clone())
            } else {
                m.forward_gather(x.clone(), t.clone())
            };
            let grads = (y.clone() * c.clone()).sum().backward();
            let gw = m.weight.val().grad(&grads).unwrap();
            let gb = m.bias.val().grad(&grads).unwrap();
            (to_vec(y), to_vec(gw), to_vec(gb))
        };
        let (y0, gw0, gb0) = run(false);
        let (y1, gw1, gb1) = run(true);
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            for (i, (u, v)) in a.iter().zip(b).enumerate() {
                assert!(
                    (u - v).abs() <= 1e-6 * (1.0 + u.abs()),
                    "{what}[{i}]: {u} vs {v}"
                );
            }
        };
        close(&y0, &y1, "output");
        close(&gw0, &gw1, "weight gradient");
        close(&gb0, &gb1, "bias gradient");
        assert!(on_host(&device) && on_host(&Device::flex()));
        // Empty bins (2 and 4) get zero gradient; a present one does not.
        assert!(gw1[2 * d * d..3 * d * d].iter().all(|&g| g == 0.0));
        assert!(gw1[4 * d * d..].iter().all(|&g| g == 0.0));
        assert!(gw1[3 * d * d..4 * d * d].iter().any(|&g| g != 0.0));
        // Independent check of one output row: y_2 = W_3 x_2 + b_3.
        let (w, bias, xv) = (values(k * d * d, 1), values(k * d, 2), values(b * d, 3));
        for r in 0..d {
            let want: f32 = (0..d)
                .map(|j| w[3 * d * d + r * d + j] * xv[2 * d + j])
                .sum::<f32>()
                + bias[3 * d + r];
            assert!((y1[2 * d + r] - want).abs() < 1e-5, "row 2[{r}]");
        }
    }
}
