//! Sinusoidal timestep embedding (Vaswani et al. 2017; as used by Ho et al. 2020):
//! emb(t)_j = sin(t w_j), emb(t)_{j + dim/2} = cos(t w_j), w_j = 10000^(-j / (dim/2 - 1)).

use burn::prelude::*;

/// Embeds integer timesteps `[batch]` into `[batch, dim]` (dim even).
pub fn sinusoidal(t: Tensor<1, Int>, dim: usize) -> Tensor<2> {
    let device = t.device();
    let [b] = t.dims();
    let half = dim / 2;
    let denom = (half.max(2) - 1) as f64;
    let freqs: Vec<f32> = (0..half)
        .map(|j| (-(10000f64.ln()) * j as f64 / denom).exp() as f32)
        .collect();
    let freqs = Tensor::<1>::from_data(TensorData::new(freqs, [half]), &device).reshape([1, half]);
    let args = t.float().reshape([b, 1]) * freqs;
    Tensor::cat(vec![args.clone().sin(), args.cos()], 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_formula() {
        let device = Device::flex();
        let t = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 7, 999], [3]), &device);
        let e = sinusoidal(t, 8).into_data().try_to_vec::<f32>().unwrap();
        for (row, tv) in [0f64, 7.0, 999.0].iter().enumerate() {
            for j in 0..4 {
                let w = (-(10000f64.ln()) * j as f64 / 3.0).exp();
                assert!((e[row * 8 + j] as f64 - (tv * w).sin()).abs() < 1e-3);
                assert!((e[row * 8 + 4 + j] as f64 - (tv * w).cos()).abs() < 1e-3);
            }
        }
    }
}
