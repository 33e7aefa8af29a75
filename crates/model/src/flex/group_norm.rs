//! GroupNorm (Wu and He 2018), optionally followed by SiLU, as one flex op per direction,
//! where burn composes it from a dozen tensor operations (mean, subtract, square, mean, sqrt,
//! divide, reshape, multiply, add, then the SiLU) each with its own backward.
//!
//! For image b and group k of n = (C / G) H W values (contiguous in NCHW):
//! mu = mean(x), var = mean((x - mu)^2), r = 1 / sqrt(var + eps), xhat = (x - mu) r,
//! z = gamma_c xhat + beta_c, y = silu(z) (or z).
//! Backward, with dz = dy silu'(z) (or dy):
//! dbeta_c = sum dz, dgamma_c = sum dz xhat (over batch and positions), and
//! dx = r (gamma_c dz - mean_k(gamma dz) - xhat mean_k(gamma dz xhat)).
//! The statistics are recomputed in the backward (two passes over x) rather than stored.

use super::{OnFlex, build_chunks, downcast, simd, values};
use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::nn::GroupNorm;
use burn::tensor::{Shape, Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

/// `norm.forward(x)`, then SiLU if `act`: diffmem's kernel for affine GroupNorm of f32 4-D
/// tensors on flex, burn's ops elsewhere.
pub fn group_norm(norm: &GroupNorm, x: Tensor<4>, act: bool) -> Tensor<4> {
    let fallback = |x| {
        let y = norm.forward(x);
        if act {
            burn::tensor::activation::silu(y)
        } else {
            y
        }
    };
    let (Some(gamma), Some(beta)) = (&norm.gamma, &norm.beta) else {
        return fallback(x);
    };
    if !super::enabled(super::Kernel::GroupNorm) {
        return fallback(x);
    }
    let spec = Spec {
        groups: norm.num_groups,
        eps: norm.epsilon,
        act,
    };
    match (
        downcast(x.clone()),
        downcast(gamma.val()),
        downcast(beta.val()),
    ) {
        (Ok(OnFlex::Autodiff(x)), Ok(OnFlex::Autodiff(g)), Ok(OnFlex::Autodiff(b))) => {
            Tensor::from_primitive::<Autodiff<Flex>>(tracked(x, g, b, spec))
        }
        (Ok(OnFlex::Plain(x)), Ok(OnFlex::Plain(g)), Ok(OnFlex::Plain(b))) => {
            Tensor::from_primitive::<Flex>(forward(&x, &g, &b, spec))
        }
        _ => fallback(x),
    }
}

/// The op's settings.
#[derive(Clone, Copy, Debug)]
struct Spec {
    groups: usize,
    eps: f64,
    act: bool,
}

/// Mean and 1 / sqrt(var + eps) of one group: two passes (the variance around the mean, not
/// E[x^2] - mean^2), f32 values summed in 4 f64 lanes, in its AVX2 copy when the CPU has it.
fn stats(x: &[f32], eps: f64) -> (f32, f32) {
    let n = x.len() as f64;
    let mean = sum_f64_run(x, 0.0, false) / n;
    let var = sum_f64_run(x, mean, true) / n;
    (mean as f32, (1.0 / (var + eps).sqrt()) as f32)
}

/// The sum of x (or of (x - mean)^2 when `squares`) in f64, in 4 lanes plus the rest in order.
#[inline(always)]
fn sum_f64(x: &[f32], mean: f64, squares: bool) -> f64 {
    let f = |v: f32| {
        let d = v as f64 - mean;
        if squares { d * d } else { v as f64 }
    };
    let mut acc = [0.0f64; 4];
    let chunks = x.chunks_exact(4);
    let rest: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for c in chunks {
        for l in 0..4 {
            acc[l] += f(c[l]);
        }
    }
    acc.iter().sum::<f64>() + rest
}

simd::wide_copy!(
    /// [`sum_f64`], in its AVX2 copy when the CPU has it.
    fn sum_f64_run(x: &[f32], mean: f64, squares: bool) -> f64 = sum_f64;
);

/// z = a x + b over one channel (a = gamma r, b = beta - mu a), then SiLU if `act`.
#[inline(always)]
fn affine(x: &[f32], a: f32, b: f32, act: bool, out: &mut [f32]) {
    let out = &mut out[..x.len()];
    if act {
        for i in 0..x.len() {
            let z = x[i] * a + b;
            out[i] = z * simd::sigmoid(z);
        }
    } else {
        for i in 0..x.len() {
            out[i] = x[i] * a + b;
        }
    }
}

simd::wide_copy!(
    /// [`affine`], in its AVX2 copy when the CPU has it.
    fn affine_run(x: &[f32], a: f32, b: f32, act: bool, out: &mut [f32]) = affine;
);

/// Lanes of the partial sums: summing into 8 independent accumulators (then adding them)
/// lets LLVM vectorise a float reduction, which it may not reorder by itself.
const LANES: usize = 8;

/// dz = dy silu'(z) (z = a x + b) or dy, written to `dz`; returns (sum dz, sum dz xhat) with
/// xhat = (x - mu) r.
#[inline(always)]
fn dz_sums(x: &[f32], dy: &[f32], k: [f32; 4], act: bool, dz: &mut [f32]) -> (f32, f32) {
    let [a, b, mu, r] = k;
    let n = x.len();
    let (dy, dz) = (&dy[..n], &mut dz[..n]);
    let one = |xi: f32, dyi: f32| {
        if act {
            let z = xi * a + b;
            let s = simd::sigmoid(z);
            dyi * s * (1.0 + z * (1.0 - s))
        } else {
            dyi
        }
    };
    for i in 0..n {
        dz[i] = one(x[i], dy[i]);
    }
    let (mut s1, mut s2) = ([0.0f32; LANES], [0.0f32; LANES]);
    let (dzc, xc) = (dz.chunks_exact(LANES), x.chunks_exact(LANES));
    for (&d, &xi) in dzc.remainder().iter().zip(xc.remainder()) {
        s1[0] += d;
        s2[0] += d * ((xi - mu) * r);
    }
    for (d, xi) in dzc.zip(xc) {
        for l in 0..LANES {
            s1[l] += d[l];
            s2[l] += d[l] * ((xi[l] - mu) * r);
        }
    }
    (s1.iter().sum(), s2.iter().sum())
}

simd::wide_copy!(
    /// [`dz_sums`], in its AVX2 copy when the CPU has it.
    fn dz_sums_run(x: &[f32], dy: &[f32], k: [f32; 4], act: bool, dz: &mut [f32]) -> (f32, f32) = dz_sums;
);

/// dx = r (gamma dz - m1 - xhat m2) over one channel, in place over dz (xhat = (x - mu) r;
/// k = [gamma, r, mu, m1, m2]).
#[inline(always)]
fn dx_from_dz(x: &[f32], k: [f32; 5], dx: &mut [f32]) {
    let [gamma, r, mu, m1, m2] = k;
    let dx = &mut dx[..x.len()];
    for i in 0..x.len() {
        dx[i] = r * (gamma * dx[i] - m1 - (x[i] - mu) * r * m2);
    }
}

simd::wide_copy!(
    /// [`dx_from_dz`], in its AVX2 copy when the CPU has it.
    fn dx_from_dz_run(x: &[f32], k: [f32; 5], dx: &mut [f32]) = dx_from_dz;
);

/// The sizes: batch, channels, positions per channel.
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let d = x.shape();
    let d = d.as_slice();
    (d[0], d[1], d[2..].iter().product())
}

fn forward(x: &FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, s: Spec) -> FlexTensor {
    let (_, c, hw) = dims(x);
    let (xv, gv, bv) = (values(x), values(gamma), values(beta));
    let per_group = c / s.groups;
    let work = 4 * x.shape().num_elements();
    build_chunks(
        x.shape(),
        c * hw,
        work,
        || (),
        |_, b, out_b| {
            let x_b = &xv[b * c * hw..(b + 1) * c * hw];
            for k in 0..s.groups {
                let span = k * per_group * hw..(k + 1) * per_group * hw;
                let (mu, r) = stats(&x_b[span], s.eps);
                for ch in k * per_group..(k + 1) * per_group {
                    let a = gv[ch] * r;
                    let off = bv[ch] - mu * a;
                    let (xs, os) = (
                        &x_b[ch * hw..(ch + 1) * hw],
                        &mut out_b[ch * hw..(ch + 1) * hw],
                    );
                    affine_run(xs, a, off, s.act, os);
                }
            }
        },
    )
}

/// (dx, dgamma, dbeta) from the upstream gradient `dy`.
fn backward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    dy: &FlexTensor,
    s: Spec,
) -> [FlexTensor; 3] {
    let (batch, c, hw) = dims(x);
    let (xv, gv, bv, dyv) = (values(x), values(gamma), values(beta), values(dy));
    let per_group = c / s.groups;
    let chw = c * hw;
    // Two passes of a few operations per element.
    let (dx, partials) = super::batch_runs_zeroed(batch, chw, 8 * batch * chw, |images, dx_run| {
        let dx_run = dx_run.expect("dx is always computed");
        let (mut dgamma, mut dbeta) = (vec![0.0f32; c], vec![0.0f32; c]);
        for b in images.clone() {
            let dx_b = &mut dx_run[(b - images.start) * chw..][..chw];
            let x_b = &xv[b * c * hw..(b + 1) * c * hw];
            let dy_b = &dyv[b * c * hw..(b + 1) * c * hw];
            for k in 0..s.groups {
                let chans = k * per_group..(k + 1) * per_group;
                let (mu, r) = stats(&x_b[chans.start * hw..chans.end * hw], s.eps);
                // Pass 1: dz (into dx) and the per-channel sums.
                let (mut m1, mut m2) = (0.0f32, 0.0f32);
                for ch in chans.clone() {
                    let a = gv[ch] * r;
                    let coef = [a, bv[ch] - mu * a, mu, r];
                    let at = ch * hw..(ch + 1) * hw;
                    let (xs, dys) = (&x_b[at.clone()], &dy_b[at.clone()]);
                    let dz = &mut dx_b[at];
                    let (s1, s2) = dz_sums_run(xs, dys, coef, s.act, dz);
                    dbeta[ch] += s1;
                    dgamma[ch] += s2;
                    m1 += gv[ch] * s1;
                    m2 += gv[ch] * s2;
                }
                let n = (per_group * hw) as f32;
                let (m1, m2) = (m1 / n, m2 / n);
                // Pass 2: dx = r (gamma dz - m1 - xhat m2), in place over dz.
                for ch in chans {
                    let at = ch * hw..(ch + 1) * hw;
                    dx_from_dz_run(&x_b[at.clone()], [gv[ch], r, mu, m1, m2], &mut dx_b[at]);
                }
            }
        }
        (dgamma, dbeta)
    });
    let (dgs, dbs): (Vec<_>, Vec<_>) = partials.into_iter().unzip();
    let (dgamma, dbeta) = (super::add_in_order(dgs, c), super::add_in_order(dbs, c));
    let t = |v: Vec<f32>, s: Shape| FlexTensor::from_data(TensorData::new(v, s));
    [
        t(dx, x.shape()),
        t(dgamma, Shape::new([c])),
        t(dbeta, Shape::new([c])),
    ]
}

/// The backward step; its state is the input, gamma, beta and the settings.
#[derive(Debug)]
struct GroupNormBackward;

impl Backward<Flex, 3> for GroupNormBackward {
    type State = (FlexTensor, FlexTensor, FlexTensor, Spec);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, gamma, beta, spec) = ops.state;
        let out = backward(&x, &gamma, &beta, &dy, spec);
        for (parent, grad) in ops.parents.iter().zip(out) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// The op as a node of burn's autodiff graph.
fn tracked(
    x: FloatTensor<Autodiff<Flex>>,
    gamma: FloatTensor<Autodiff<Flex>>,
    beta: FloatTensor<Autodiff<Flex>>,
    spec: Spec,
) -> FloatTensor<Autodiff<Flex>> {
    let out = forward(x.primitive(), gamma.primitive(), beta.primitive(), spec);
    match GroupNormBackward
        .prepare::<NoCheckpointing>([x.node(), gamma.node(), beta.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let state = (
                x.primitive().clone(),
                gamma.primitive().clone(),
                beta.primitive().clone(),
                spec,
            );
            prep.finish(state, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, output_weights};
    use super::*;
    use burn::nn::GroupNormConfig;
    use burn::tensor::{Device, Distribution};

    /// Output and the gradients of x, gamma and beta equal burn's GroupNorm (then burn's
    /// SiLU) through a loss that weights each output differently, with and without the
    /// SiLU, for 1, 2 and 8 groups, random affine parameters and an input far from zero
    /// mean (the centring matters); and the kernel, not the fallback, ran.
    #[test]
    fn matches_burn_group_norm_values_and_gradients() {
        let dev = Device::flex().autodiff();
        for (b, c, h, w, groups) in [(3, 16, 5, 7, 8), (2, 6, 4, 4, 2), (1, 4, 9, 3, 1)] {
            let mut norm = GroupNormConfig::new(groups, c).init(&dev);
            let rand =
                |n: usize, m: f64| Tensor::<1>::random([n], Distribution::Normal(m, 0.5), &dev);
            norm.gamma = Some(burn::module::Param::from_tensor(rand(c, 1.0)));
            norm.beta = Some(burn::module::Param::from_tensor(rand(c, 0.0)));
            let x0 = Tensor::<4>::random([b, c, h, w], Distribution::Normal(3.0, 2.0), &dev);
            for act in [false, true] {
                let run = |ours: bool| {
                    let norm = norm.clone();
                    let x = x0.clone().require_grad();
                    let y = if ours {
                        let (y, ran) =
                            super::super::testing::kernel_ran(|| group_norm(&norm, x.clone(), act));
                        assert!(ran, "the flex kernel did not run");
                        y
                    } else {
                        let y = norm.forward(x.clone());
                        if act {
                            burn::tensor::activation::silu(y)
                        } else {
                            y
                        }
                    };
                    let weights = output_weights(&y);
                    let grads = (y.clone() * weights).sum().backward();
                    let g = |p: &Option<burn::module::Param<Tensor<1>>>| {
                        p.as_ref().unwrap().val().grad(&grads).unwrap()
                    };
                    (y, x.grad(&grads).unwrap(), g(&norm.gamma), g(&norm.beta))
                };
                let (ours, theirs) = (run(true), run(false));
                let case = format!("b{b} c{c} {h}x{w} g{groups} silu {act}");
                assert_close(&format!("{case} y"), ours.0, theirs.0, 1e-5);
                assert_close(&format!("{case} dx"), ours.1, theirs.1, 1e-4);
                assert_close(&format!("{case} dgamma"), ours.2, theirs.2, 1e-4);
                assert_close(&format!("{case} dbeta"), ours.3, theirs.3, 1e-4);
            }
        }
    }

    /// dx, dgamma and dbeta are the same bit for bit with 1 and with 3 threads.
    #[test]
    fn gradients_do_not_depend_on_the_thread_count() {
        let dev = Device::flex();
        let flex = |t: Tensor<1>| t.try_into_primitive::<Flex>().unwrap();
        let x = Tensor::<4>::random([19, 8, 5, 5], Distribution::Normal(1.0, 2.0), &dev);
        let dy = Tensor::<4>::random([19, 8, 5, 5], Distribution::Normal(0.0, 1.0), &dev);
        let (x, dy) = (
            x.try_into_primitive::<Flex>().unwrap(),
            dy.try_into_primitive::<Flex>().unwrap(),
        );
        let gamma = flex(Tensor::random([8], Distribution::Normal(1.0, 0.3), &dev));
        let beta = flex(Tensor::random([8], Distribution::Normal(0.0, 0.3), &dev));
        let spec = Spec {
            groups: 4,
            eps: 1e-5,
            act: true,
        };
        let run = |threads| {
            super::super::testing::with_threads(threads, || {
                backward(&x, &gamma, &beta, &dy, spec)
                    .map(|t| super::super::testing::flex_values(&t))
            })
        };
        assert_eq!(run(1), run(3));
    }

    /// Without autodiff (sampling) the kernel gives burn's values too.
    #[test]
    fn plain_forward_matches() {
        let dev = Device::flex();
        let norm = GroupNormConfig::new(4, 8).init(&dev);
        let x = Tensor::<4>::random([2, 8, 6, 5], Distribution::Normal(-1.0, 3.0), &dev);
        let (ours, ran) = super::super::testing::kernel_ran(|| group_norm(&norm, x.clone(), true));
        assert!(ran);
        assert_close(
            "plain",
            ours,
            burn::tensor::activation::silu(norm.forward(x)),
            1e-5,
        );
    }
}
