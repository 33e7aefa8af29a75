//! SiLU on flex: one pass with the vectorised kernels of [`super::simd`] forward and
//! backward, where burn composes it from a sigmoid (a scalar libm `exp` per element) and a
//! multiply, each with its own backward.

use super::{OnFlex, build, downcast, simd, values};
use burn::backend::TensorMetadata;
use burn::tensor::Tensor;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn_flex::{Flex, FlexTensor};

/// SiLU, x * sigmoid(x), element-wise: diffmem's kernel on flex, burn's
/// `activation::silu` elsewhere.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !super::enabled(super::Kernel::Silu) {
        return burn::tensor::activation::silu(x);
    }
    match downcast(x) {
        Ok(OnFlex::Autodiff(t)) => {
            Tensor::from_primitive::<burn_autodiff::Autodiff<Flex>>(tracked(t))
        }
        Ok(OnFlex::Plain(t)) => Tensor::from_primitive::<Flex>(forward(&t)),
        Err(x) => burn::tensor::activation::silu(x),
    }
}

fn forward(x: &FlexTensor) -> FlexTensor {
    let v = values(x);
    build(x.shape(), |out| simd::silu_forward(&v, out))
}

/// The backward of SiLU; its state is the input.
#[derive(Debug)]
struct SiluBackward;

impl Backward<Flex, 1> for SiluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |g| {
            let (xv, gv) = (values(&x), values(&g));
            build(x.shape(), |out| simd::silu_backward(&xv, &gv, out))
        });
    }
}

fn tracked(
    x: burn::backend::tensor::FloatTensor<burn_autodiff::Autodiff<Flex>>,
) -> burn::backend::tensor::FloatTensor<burn_autodiff::Autodiff<Flex>> {
    match SiluBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let input = x.primitive().clone();
            let out = forward(&input);
            prep.finish(input, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn close(a: &Tensor<2>, b: &Tensor<2>, tol: f32) {
        let (a, b) = (
            a.to_data().try_to_vec::<f32>().unwrap(),
            b.to_data().try_to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    /// Values and input gradients of the kernel equal burn's composite SiLU on the same flex
    /// autodiff tensors, through a loss that weights each output differently; also on a
    /// transposed (strided) input and without autodiff.
    #[test]
    fn matches_burn_silu_values_and_gradients() {
        let dev = Device::flex().autodiff();
        let x = Tensor::<2>::random([96, 1500], Distribution::Normal(0.0, 4.0), &dev);
        let w = Tensor::<2>::random([96, 1500], Distribution::Normal(0.0, 1.0), &dev);
        for input in [
            x.clone(),
            x.clone().transpose().transpose(),
            x.clone().transpose(),
        ] {
            let w = if input.dims() == w.dims() {
                w.clone()
            } else {
                w.clone().transpose()
            };
            let a = input.clone().require_grad();
            let ya = silu(a.clone());
            let ga = (ya.clone() * w.clone()).sum().backward();
            let b = input.clone().require_grad();
            let yb = burn::tensor::activation::silu(b.clone());
            let gb = (yb.clone() * w.clone()).sum().backward();
            close(&ya, &yb, 1e-6);
            close(&a.grad(&ga).unwrap(), &b.grad(&gb).unwrap(), 2e-6);
        }
        let plain = Tensor::<2>::random([7, 33], Distribution::Normal(0.0, 3.0), &Device::flex());
        close(
            &silu(plain.clone()),
            &burn::tensor::activation::silu(plain),
            1e-6,
        );
    }

    /// The kernel, not burn's fallback, runs on flex tensors with and without autodiff: the
    /// outputs are bit for bit the kernel's.
    #[test]
    fn flex_tensors_take_the_kernel() {
        let x = Tensor::<2>::random([64, 300], Distribution::Normal(0.0, 3.0), &Device::flex());
        let xs = x.to_data().try_to_vec::<f32>().unwrap();
        let mut want = vec![0.0; xs.len()];
        simd::silu_forward(&xs, &mut want);
        let ad = Tensor::<2>::from_data(x.to_data(), &Device::flex().autodiff()).require_grad();
        for y in [silu(x), silu(ad)] {
            assert_eq!(y.to_data().try_to_vec::<f32>().unwrap(), want);
        }
    }

    /// A second use of the same input adds both gradients, as burn's composite op does.
    #[test]
    fn gradient_accumulates_over_two_uses() {
        let dev = Device::flex().autodiff();
        let x = Tensor::<2>::random([4, 9], Distribution::Normal(0.0, 2.0), &dev).require_grad();
        let y = silu(x.clone()) * 2.0 + silu(x.clone()) * 3.0;
        let g = y.sum().backward();
        let x2 = x.clone().detach().require_grad();
        let y2 = burn::tensor::activation::silu(x2.clone()) * 5.0;
        let g2 = y2.sum().backward();
        close(&x.grad(&g).unwrap(), &x2.grad(&g2).unwrap(), 2e-6);
    }
}
