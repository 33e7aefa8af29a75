//! Helpers shared by the kernels' tests.

use burn::tensor::{Tensor, TensorData};

/// Asserts |a - b| <= tol * max(1, max |b|) element-wise.
pub fn assert_close<const D: usize>(what: &str, a: Tensor<D>, b: Tensor<D>, tol: f32) {
    let a = a.to_data().try_to_vec::<f32>().unwrap();
    let b = b.to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len(), "{what}");
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

/// Fixed weights in [-1, 1] that differ between neighbouring outputs, for a loss
/// sum(y * weights) whose gradient tests every output's backward.
pub fn output_weights<const D: usize>(y: &Tensor<D>) -> Tensor<D> {
    let n = y.shape().num_elements();
    let w: Vec<f32> = (0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
    Tensor::from_data(TensorData::new(w, y.shape()), &y.device())
}
