//! A sampler update in one pass on flex: x' = f(x, eps) + sigma z, written into x's own
//! buffer with the noise z drawn into the batch's reused host buffer ([`StepNoise`]), where
//! burn's ops would make four to six passes and as many fresh tensors. `f` is the sampler's
//! element-wise rule written with the same f32 operations, in the same order, as its tensor
//! form (each f64 coefficient rounded to f32 as burn rounds a scalar), so on the same noise
//! the two agree bit for bit (tested). Runs only on plain (non-autodiff) flex tensors with the
//! `sample` kernel on (`crate::flex::Kernel`); anywhere else the tensor form runs.

use super::StepNoise;
use crate::flex::{Kernel, OnFlex, downcast, enabled, values};
use burn::prelude::*;
use burn_flex::{Flex, FlexTensor};

/// x' = `rule(x, eps)` + `sigma` z (no noise when `sigma` is `None`): on flex in one pass with
/// the element-wise `each`, elsewhere with the tensor form `rule`. `each` and `rule` must
/// be the same arithmetic (see the module doc).
// The Err of the local Results is the caller's tensor handed back, not an error (as in
// `flex::downcast`).
#[allow(clippy::result_large_err)]
pub fn update(
    x: Tensor<2>,
    eps: Tensor<2>,
    sigma: Option<f64>,
    noise: &mut StepNoise,
    each: impl Fn(f32, f32) -> f32 + Copy,
    rule: impl FnOnce(Tensor<2>, Tensor<2>) -> Tensor<2>,
) -> Tensor<2> {
    let flex = |r: Result<OnFlex, Tensor<2>>| match r {
        Ok(OnFlex::Plain(t)) => Ok(t),
        Ok(OnFlex::Autodiff(t)) => Err(Tensor::from_primitive::<burn_autodiff::Autodiff<Flex>>(t)),
        Err(t) => Err(t),
    };
    let on_flex = enabled(Kernel::Sample) && !x.device().is_autodiff();
    let pair = if on_flex {
        (flex(downcast(x)), flex(downcast(eps)))
    } else {
        (Err(x), Err(eps))
    };
    match pair {
        (Ok(x), Ok(e)) => Tensor::from_primitive::<Flex>(one_pass(x, &e, sigma, noise, each)),
        (x, e) => {
            let back = |r: Result<FlexTensor, Tensor<2>>| match r {
                Ok(t) => Tensor::from_primitive::<Flex>(t),
                Err(t) => t,
            };
            let y = rule(back(x), back(e));
            match sigma {
                Some(s) => y + noise.draw() * s,
                None => y,
            }
        }
    }
}

/// The flex pass: x's buffer (copied only if shared or strided) becomes x'.
fn one_pass(
    x: FlexTensor,
    e: &FlexTensor,
    sigma: Option<f64>,
    noise: &mut StepNoise,
    each: impl Fn(f32, f32) -> f32 + Copy,
) -> FlexTensor {
    #[cfg(test)]
    crate::flex::testing::note_built();
    let mut x = if x.is_contiguous() && x.layout().start_offset() == 0 {
        x
    } else {
        x.to_contiguous()
    };
    let ev = values(e);
    let n = ev.len();
    let out = &mut x.storage_mut::<f32>()[..n];
    match sigma {
        None => pass(out, &ev, &[], 0.0, each),
        Some(s) => {
            let z = noise.host_draw();
            // burn rounds the scalar to f32 before multiplying: so does this.
            pass(out, &ev, &z, s as f32, each);
        }
    }
    x
}

/// out[i] = each(out[i], e[i]) (+ z[i] * s when z is not empty), in an AVX2 + FMA copy when
/// the CPU has them. Not fused multiply-adds: Rust keeps each product rounded, as burn's ops.
fn pass(out: &mut [f32], e: &[f32], z: &[f32], s: f32, each: impl Fn(f32, f32) -> f32 + Copy) {
    #[inline(always)]
    fn body(out: &mut [f32], e: &[f32], z: &[f32], s: f32, each: impl Fn(f32, f32) -> f32) {
        let n = out.len();
        let e = &e[..n];
        if z.is_empty() {
            for i in 0..n {
                out[i] = each(out[i], e[i]);
            }
        } else {
            let z = &z[..n];
            for i in 0..n {
                out[i] = each(out[i], e[i]) + z[i] * s;
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn wide(out: &mut [f32], e: &[f32], z: &[f32], s: f32, each: impl Fn(f32, f32) -> f32) {
        body(out, e, z, s, each)
    }
    #[cfg(target_arch = "x86_64")]
    if crate::flex::simd::wide() {
        // SAFETY: the CPU has the features `wide` was compiled for.
        return unsafe { wide(out, e, z, s, each) };
    }
    body(out, e, z, s, each)
}

#[cfg(test)]
mod tests {
    use crate::flex::testing::kernel_ran;
    use crate::noise::{DeviceNoise, HostNoise, NoiseSource};
    use crate::sampler::{Ddim, Ddpm, DdpmVariance, SamplerStep, StepNoise, predict_x0};
    use crate::schedule::{Schedule, ScheduleKind};
    use burn::prelude::*;

    fn matrix(v: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    fn bytes(t: Tensor<2>) -> Vec<u32> {
        crate::tensor::to_vec(t)
            .iter()
            .map(|v| v.to_bits())
            .collect()
    }

    /// One fused step of DDPM and of DDIM (eta 0.5) equals, bit for bit, the tensor form of
    /// the same step on the same host noise, and the fused pass (not the fallback) ran.
    #[test]
    fn fused_steps_equal_the_tensor_form() {
        let device = Device::flex();
        let s = Schedule::new(ScheduleKind::default(), 100).unwrap();
        let shape = [5, 7];
        let mut data = HostNoise::seeded(1);
        let x = matrix(data.next_vec(35), shape, &device);
        let e = matrix(data.next_vec(35), shape, &device);
        let (i, j) = (40, 39);
        let ddpm = Ddpm {
            schedule: &s,
            variance: DdpmVariance::Beta,
            last_noise: true,
            clip_x0: None,
        };
        let ddim = Ddim::new(&s, 50, 0.5, None).unwrap();
        let mut src = HostNoise::seeded(2);
        let mut noise = StepNoise::new(&mut src, shape, &device);
        let (got, ran) = kernel_ran(|| ddpm.step(x.clone(), e.clone(), i, Some(j), &mut noise));
        assert!(ran, "the fused DDPM pass ran");
        let got_ddim = ddim.step(x.clone(), e.clone(), i, Some(j), &mut noise);
        let mut z = HostNoise::seeded(2);
        let coef = s.betas[i] / (1.0 - s.abar[i]).sqrt();
        let want = (x.clone() - e.clone() * coef) / s.alphas[i].sqrt()
            + z.next(shape, &device) * s.betas[i].sqrt();
        assert_eq!(bytes(got), bytes(want));
        let (abar, prev) = (s.abar[i], s.abar[j]);
        let sigma = 0.5 * ((1.0 - prev) / (1.0 - abar)).sqrt() * (1.0 - abar / prev).sqrt();
        let dir = (1.0 - prev - sigma * sigma).sqrt();
        let want =
            predict_x0(x, e.clone(), abar) * prev.sqrt() + e * dir + z.next(shape, &device) * sigma;
        assert_eq!(bytes(got_ddim), bytes(want));
    }

    /// A deterministic step draws nothing; a shared x is not overwritten.
    #[test]
    fn shared_input_is_left_alone() {
        let device = Device::flex();
        let s = Schedule::new(ScheduleKind::default(), 10).unwrap();
        let ddim = Ddim::new(&s, 5, 0.0, None).unwrap();
        let x = matrix(vec![1.0; 6], [2, 3], &device);
        let mut src = DeviceNoise::seeded(&device, 0);
        let mut noise = StepNoise::new(&mut src, [2, 3], &device);
        let y = ddim.step(x.clone(), x.zeros_like(), 9, Some(6), &mut noise);
        assert_eq!(crate::tensor::to_vec(x), vec![1.0; 6]);
        let k = (s.abar[6] / s.abar[9]).sqrt() as f32;
        assert!(
            crate::tensor::to_vec(y)
                .iter()
                .all(|v| (v - k).abs() < 1e-6)
        );
    }

    /// Sampling records no autodiff graph: the noise of a batch refuses an autodiff device.
    #[test]
    #[should_panic(expected = "plain device")]
    fn sampling_refuses_an_autodiff_device() {
        let device = Device::flex().autodiff();
        let mut src = HostNoise::seeded(0);
        let _ = StepNoise::new(&mut src, [1, 1], &device);
    }
}
