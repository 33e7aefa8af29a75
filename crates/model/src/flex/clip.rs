//! Gradient clipping by the global norm (as PyTorch's `clip_grad_norm_`) on flex, in place:
//!
//!   norm = sqrt(sum_p ||g_p||^2),   g_p <- g_p min(1, max_norm / (norm + 1e-6)).
//!
//! burn's tensor form (`crate::step`) squares each gradient into a new tensor, sums it, and
//! multiplies each gradient by the factor into another new tensor, every op on one thread. Here
//! the squares are summed in f64 in one read per gradient and the factor is applied in the
//! gradient's own buffer, both split across rayon for long gradients. The factor is the same
//! to float rounding (f64 sums instead of flex's f32 ones), and a factor of exactly 1 leaves
//! the gradients untouched, as the multiplication would.

use super::{OnFlex, downcast};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

/// Elements per rayon task of both passes.
const CHUNK: usize = super::simd::CHUNK;

/// sum_i x_i^2 in f64 (8 independent lanes, so LLVM vectorises the f32 -> f64 squares).
#[inline(always)]
fn sum_squares_body(x: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += f64::from(*v) * f64::from(*v);
        }
    }
    let tail: f64 = chunks
        .remainder()
        .iter()
        .map(|v| f64::from(*v) * f64::from(*v))
        .sum();
    lanes.iter().sum::<f64>() + tail
}

super::simd::wide_copy!(fn sum_squares_run(x: &[f32]) -> f64 = sum_squares_body;);

#[inline(always)]
fn scale_body(x: &mut [f32], factor: f32) {
    for v in x {
        *v *= factor;
    }
}

super::simd::wide_copy!(fn scale_run(x: &mut [f32], factor: f32) = scale_body;);

/// sum_i x_i^2 of a slice, across rayon in [`CHUNK`]s when long (chunk sums added in order,
/// so the result does not depend on the thread count).
fn sum_squares(x: &[f32]) -> f64 {
    if x.len() <= CHUNK {
        return sum_squares_run(x);
    }
    let parts: Vec<f64> = x.par_chunks(CHUNK).map(sum_squares_run).collect();
    parts.iter().sum()
}

/// Collects each gradient's squared norm; stops (sets `off`) at a gradient not on flex.
struct Squares<'a> {
    grads: &'a GradientsParams,
    total: f64,
    off: bool,
}

impl ModuleVisitor for Squares<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        if self.off {
            return;
        }
        let Some(g) = self.grads.get::<D>(p.id) else {
            return;
        };
        match downcast(g) {
            Ok(OnFlex::Plain(t)) => self.total += sum_squares(&super::values(&t)),
            _ => self.off = true,
        }
    }
}

/// Multiplies each gradient by `factor` in its own buffer.
struct ScaleInPlace<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for ScaleInPlace<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let Some(g) = self.grads.remove::<D>(p.id) else {
            return;
        };
        let mut t: FlexTensor = match downcast(g) {
            Ok(OnFlex::Plain(t)) if t.is_contiguous() && t.layout().start_offset() == 0 => t,
            Ok(OnFlex::Plain(t)) => t.to_contiguous(),
            _ => unreachable!("ScaleInPlace: every gradient was checked to be on flex"),
        };
        // storage_mut copies the buffer only if something else still holds it.
        let x = t.storage_mut::<f32>();
        let (factor, n) = (self.factor, x.len());
        super::for_each_chunk(x, CHUNK, n, || (), |_, _, c| scale_run(c, factor));
        self.grads
            .register::<D>(p.id, Tensor::<D>::from_primitive::<Flex>(t));
    }
}

/// Clips `grads` to the global norm `max_norm` in place when every gradient of `model` is a
/// flex f32 tensor, and returns whether it did (false: nothing was touched, so the caller
/// runs the tensor form).
pub fn clip_global_norm_flex<M: Module>(
    model: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> bool {
    if !super::enabled(super::Kernel::Clip) {
        return false;
    }
    let mut squares = Squares {
        grads,
        total: 0.0,
        off: false,
    };
    model.visit(&mut squares);
    if squares.off {
        return false;
    }
    #[cfg(test)]
    super::testing::note_built();
    // The tensor form's arithmetic: (norm + 1e-6)^-1 max_norm, clamped to at most 1, in f32.
    let norm = squares.total.sqrt() as f32;
    let factor = ((norm + 1e-6).recip() * max_norm as f32).min(1.0);
    if factor != 1.0 {
        model.visit(&mut ScaleInPlace { grads, factor });
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flex::testing::{kernel_ran, with_threads};
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Distribution};

    /// A two-layer net's gradients on flex (inner backend, as `GradientsParams` holds them).
    fn setup(scale: f32) -> (Vec<Linear>, GradientsParams) {
        let device = Device::flex().autodiff();
        device.seed(3);
        let layers: Vec<Linear> = vec![
            LinearConfig::new(300, 257).init(&device),
            LinearConfig::new(257, 5).init(&device),
        ];
        let x = Tensor::<2>::random([7, 300], Distribution::Normal(0.0, 1.0), &device);
        let y = layers[1].forward(layers[0].forward(x));
        let loss = (y * scale).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &layers);
        (layers, grads)
    }

    /// Every gradient's values, in visiting order.
    fn all(layers: &Vec<Linear>, grads: &GradientsParams) -> Vec<f32> {
        struct Collect<'a>(&'a GradientsParams, Vec<f32>);
        impl ModuleVisitor for Collect<'_> {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                if let Some(g) = self.0.get::<D>(p.id) {
                    self.1.extend(g.into_data().try_to_vec::<f32>().unwrap());
                }
            }
        }
        let mut c = Collect(grads, Vec::new());
        layers.visit(&mut c);
        c.1
    }

    /// Clipped in place, the gradients equal the tensor form's (burn's ops, f64 reference of
    /// the norm) to float rounding, at 1 and 3 threads, and their global norm is max_norm.
    #[test]
    fn matches_the_tensor_form() {
        for threads in [1, 3] {
            let (layers, mut ours) = setup(10.0);
            let (_, mut theirs) = setup(10.0);
            let before = all(&layers, &ours);
            let norm64 = before
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(norm64 > 2.0, "the test needs clipping: norm {norm64}");
            let (did, ran) = with_threads(threads, || {
                kernel_ran(|| clip_global_norm_flex(&layers, &mut ours, 2.0))
            });
            assert!(did && ran);
            crate::step::clip_global_norm_tensor(&layers, &mut theirs, 2.0);
            let (a, b) = (all(&layers, &ours), all(&layers, &theirs));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{x} vs {y}");
            }
            let after = a.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
            assert!((after - 2.0).abs() < 1e-5, "{after}");
            for (x, y) in a.iter().zip(&before) {
                assert!((f64::from(*x) - f64::from(*y) * 2.0 / norm64).abs() < 1e-6);
            }
        }
    }

    /// Below the threshold the gradients are left bit for bit as they were.
    #[test]
    fn small_gradients_are_untouched() {
        let (layers, mut grads) = setup(1e-4);
        let before = all(&layers, &grads);
        assert!(clip_global_norm_flex(&layers, &mut grads, 1e3));
        assert_eq!(all(&layers, &grads), before);
    }

    /// The f64 sum of squares against a plain f64 loop, long enough for the rayon path.
    #[test]
    fn sum_of_squares_is_exact_enough() {
        let x: Vec<f32> = (0..3 * CHUNK + 11)
            .map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0)
            .collect();
        let want: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let got = with_threads(3, || sum_squares(&x));
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    }
}
