//! A fully connected layer on flex, forward and backward, for x `[B, I]`, weight W `[I, O]`
//! (burn's `Linear` layout) and bias b `[O]`:
//!
//! - forward: out `[B, O]` = x W + b, the bias written into the output rows first and the gemm
//!   accumulating onto it (no separate broadcast add);
//! - input gradient dx = dOut W^T and weight gradient dW = x^T dOut, each one gemm on the
//!   operands' own strides (no transposed copies); bias gradient: the column sums of dOut.
//!
//! Against flex's `matmul` plus a broadcast add it saves, per product, the zero-filled
//! `Vec<u8>` that flex allocates for the output and then copies into a 16-byte-aligned buffer
//! (`Bytes::from_bytes_vec`: a memset and a memmove of every output, a tenth of an MLP step),
//! and the single-threaded bias add and batch sum. The gemms are those flex runs (same crate,
//! same kernels), split across rayon above `flex::PARALLEL_WORK` multiply-adds.

use super::{OnFlex, downcast, gemm, gemm_new, gemm_new_by_columns, values, worth_splitting};
use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::nn::Linear;
use burn::tensor::{Shape, Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops};
use burn_flex::{Flex, FlexTensor};

/// `module.forward(x)` of a burn `Linear` on a `[B, I]` input: diffmem's kernel on flex,
/// burn's op elsewhere (or with the kernel switched off).
pub fn linear_module(module: &Linear, x: Tensor<2>) -> Tensor<2> {
    if !super::enabled(super::Kernel::Linear) {
        return module.forward(x);
    }
    let (weight, bias) = (module.weight.val(), module.bias.as_ref().map(|b| b.val()));
    // The bias (if any) must live where x and the weight do; Some(None) means it does not.
    let bias_on = bias.clone().map(|b| downcast(b).ok());
    match (downcast(x.clone()), downcast(weight)) {
        (Ok(OnFlex::Autodiff(xt)), Ok(OnFlex::Autodiff(wt))) => {
            match bias_on.map(|b| b.and_then(OnFlex::autodiff)) {
                Some(None) => module.forward(x),
                b => Tensor::from_primitive::<Autodiff<Flex>>(tracked(xt, wt, b.flatten())),
            }
        }
        (Ok(OnFlex::Plain(xt)), Ok(OnFlex::Plain(wt))) => {
            match bias_on.map(|b| b.and_then(OnFlex::plain)) {
                Some(None) => module.forward(x),
                b => Tensor::from_primitive::<Flex>(forward(&xt, &wt, b.flatten().as_ref())),
            }
        }
        _ => module.forward(x),
    }
}

/// (B, I, O) of x `[B, I]` times W `[I, O]`.
fn dims(x: &FlexTensor, w: &FlexTensor) -> (usize, usize, usize) {
    let (xs, ws) = (x.shape(), w.shape());
    assert_eq!(
        xs[1], ws[0],
        "linear: input width {} vs weight rows {}",
        xs[1], ws[0]
    );
    (xs[0], xs[1], ws[1])
}

/// A flex tensor of `v` with `shape`, without copying.
fn tensor(v: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// out = x W (+ b) of flex tensors.
fn forward(x: &FlexTensor, w: &FlexTensor, bias: Option<&FlexTensor>) -> FlexTensor {
    #[cfg(test)]
    super::testing::note_built();
    let (b, i, o) = dims(x, w);
    let (xv, wv) = (values(x), values(w));
    let parallel = worth_splitting(b * i * o);
    let out = match bias {
        // The bias rows first (no zero-fill), the gemm adding onto them.
        Some(bias) => {
            let bv = values(bias);
            let mut out = bv.repeat(b);
            gemm(
                (b, o, i),
                &mut out,
                (o, 1),
                true,
                &xv,
                (i, 1),
                &wv,
                (o, 1),
                parallel,
            );
            out
        }
        None => gemm_new((b, o, i), &xv, (i, 1), &wv, (o, 1), parallel),
    };
    tensor(out, Shape::new([b, o]))
}

/// Gradients of one layer: each only when asked for.
struct Grads {
    x: Option<FlexTensor>,
    weight: Option<FlexTensor>,
    bias: Option<FlexTensor>,
}

/// dx, dW and db from the upstream gradient `gout` `[B, O]`.
fn backward(x: &FlexTensor, w: &FlexTensor, gout: &FlexTensor, want: [bool; 3]) -> Grads {
    let (b, i, o) = dims(x, w);
    let gv = values(gout);
    let parallel = worth_splitting(b * i * o);
    let dx = want[0].then(|| {
        let wv = values(w);
        // dx [B, I] = dOut [B, O] W^T, W^T(r, c) = W[c O + r].
        let dx = gemm_new_by_columns((b, i, o), &gv, (o, 1), &wv, (1, o), parallel);
        tensor(dx, x.shape())
    });
    let weight = want[1].then(|| {
        let xv = values(x);
        // dW [I, O] = x^T [I, B] dOut [B, O], x^T(r, c) = x[c I + r].
        let dw = gemm_new((i, o, b), &xv, (1, i), &gv, (o, 1), parallel);
        tensor(dw, w.shape())
    });
    let bias = want[2].then(|| {
        // Rows added in order: the same sums at any thread count.
        let mut db = vec![0.0f32; o];
        for row in gv.chunks_exact(o.max(1)) {
            for (d, g) in db.iter_mut().zip(row) {
                *d += g;
            }
        }
        tensor(db, Shape::new([o]))
    });
    Grads {
        x: dx,
        weight,
        bias,
    }
}

/// The backward step; its state is the input and the weight.
#[derive(Debug)]
struct LinearBackward;

type State = (FlexTensor, FlexTensor);

/// Registers the gradients asked for by the parents (x, weight, and bias when there is one).
fn register<const N: usize>(ops: Ops<State, N>, grads: &mut Gradients) {
    super::node::register(ops, grads, |(x, w), gout, want| {
        let g = backward(&x, &w, gout, want);
        [g.x, g.weight, g.bias]
    })
}

impl Backward<Flex, 3> for LinearBackward {
    type State = State;
    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        register(ops, grads)
    }
}

impl Backward<Flex, 2> for LinearBackward {
    type State = State;
    fn backward(self, ops: Ops<State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        register(ops, grads)
    }
}

/// The layer as a node of burn's autodiff graph.
fn tracked(
    x: FloatTensor<Autodiff<Flex>>,
    w: FloatTensor<Autodiff<Flex>>,
    bias: Option<FloatTensor<Autodiff<Flex>>>,
) -> FloatTensor<Autodiff<Flex>> {
    let out = forward(
        x.primitive(),
        w.primitive(),
        bias.as_ref().map(|b| b.primitive()),
    );
    let state = || (x.primitive().clone(), w.primitive().clone());
    super::node::track(LinearBackward, (&x, &w, bias.as_ref()), state, out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, kernel_ran, output_weights, with_threads};
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution};

    /// Output and the gradients of input, weight and bias equal burn's `Linear` (flex's
    /// matmul and broadcast add, burn's backward) through a loss that weights each output
    /// differently, with and without bias, at 1 and 3 threads, and the kernel ran.
    #[test]
    fn matches_burn_linear_values_and_gradients() {
        let device = Device::flex().autodiff();
        for (bias, threads) in [(true, 1), (true, 3), (false, 1)] {
            device.seed(5);
            let layer = LinearConfig::new(37, 23).with_bias(bias).init(&device);
            let x = Tensor::<2>::random([9, 37], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let ((ours, ran), theirs) = with_threads(threads, || {
                (
                    kernel_ran(|| linear_module(&layer, x.clone())),
                    layer.forward(x.clone()),
                )
            });
            assert!(ran, "the kernel ran");
            assert_close("output", ours.clone(), theirs.clone(), 1e-5);
            let weights = output_weights(&theirs);
            let g1 = (ours * weights.clone()).sum().backward();
            let g2 = (theirs * weights).sum().backward();
            let grad = |t: &Tensor<2>, g| t.grad(g).unwrap();
            assert_close("dx", grad(&x, &g1), grad(&x, &g2), 1e-5);
            let w = layer.weight.val();
            assert_close("dW", grad(&w, &g1), grad(&w, &g2), 1e-5);
            if let Some(b) = &layer.bias {
                let b = b.val();
                assert_close("db", b.grad(&g1).unwrap(), b.grad(&g2).unwrap(), 1e-5);
            }
        }
    }

    /// Without autodiff (sampling, evaluation) the forward equals burn's too.
    #[test]
    fn plain_forward_matches() {
        let device = Device::flex();
        device.seed(2);
        let layer = LinearConfig::new(64, 70).init(&device);
        let x = Tensor::<2>::random([5, 64], Distribution::Normal(0.0, 1.0), &device);
        let (ours, ran) = kernel_ran(|| linear_module(&layer, x.clone()));
        assert!(ran);
        assert_close("output", ours, layer.forward(x), 1e-5);
    }
}
