//! Host <-> device tensor helpers shared by every module: timesteps as Int tensors, f32
//! matrices from host slices, and reading a tensor back.

use burn::prelude::*;

/// Timesteps as an Int tensor on `device`.
pub fn timesteps(t: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = t.iter().map(|&x| x as i64).collect();
    Tensor::<1, Int>::from_data(TensorData::new(v, [t.len()]), device)
}

/// A `[rows, cols]` f32 tensor from a host slice.
pub fn matrix(data: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(data.to_vec(), [rows, cols]), device)
}

/// Reads a tensor back to the host as f32.
pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}
