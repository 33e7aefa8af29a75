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

thread_local! {
    /// Tensors built (or parameters updated) by the kernels on this thread: tests check that
    /// a kernel, not burn's fallback, ran.
    static BUILT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one kernel result on this thread (called by the kernels in test builds).
pub fn note_built() {
    BUILT.with(|n| n.set(n.get() + 1));
}

/// Runs `f` and says whether a flex kernel built its result on this thread.
pub fn kernel_ran<T>(f: impl FnOnce() -> T) -> (T, bool) {
    let before = BUILT.with(|n| n.get());
    let out = f();
    (out, BUILT.with(|n| n.get()) > before)
}

/// Runs `f` in a rayon pool of `threads` threads (tests of thread-count independence).
pub fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The f32 values of a flex tensor.
pub fn flex_values(t: &burn_flex::FlexTensor) -> Vec<f32> {
    super::values(t).into_owned()
}
