//! Where UNet training time goes on a backend: forward alone, forward + backward, and the
//! same for its building blocks (3x3 conv, GroupNorm) at the UNet's largest activation.
//! Run: `cargo run --release -p diffmem-model --example unet_profile [-- flex|wgpu]`.

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{GroupNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::Distribution;
use diffmem_model::burn;
use diffmem_model::denoiser::UnetConfig;
use diffmem_model::{DeviceChoice, select_device};
use std::time::Instant;

fn time<F: FnMut()>(label: &str, reps: usize, mut f: F) {
    f();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    println!(
        "{label:<44} {:>8.1} ms",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
}

fn main() {
    let choice: DeviceChoice = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "flex".into())
        .parse()
        .unwrap();
    let dev = select_device(choice).unwrap();
    println!("device: {}", dev.description);
    let plain = dev.device.clone();
    let ad = plain.clone().autodiff();
    let b = 64;
    let unet = UnetConfig::default().init(1, 28, &ad).unwrap();
    let x = Tensor::<2>::random([b, 784], Distribution::Normal(0.0, 1.0), &ad);
    let t =
        Tensor::<1, Int>::from_data(TensorData::new((0..b as i64).collect::<Vec<_>>(), [b]), &ad);
    let valid = unet.valid();
    time("unet forward (no autodiff), batch 64", 3, || {
        let _ = valid
            .forward(x.clone().inner(), t.clone().inner())
            .sum()
            .into_scalar::<f32>();
    });
    time("unet forward + backward, batch 64", 3, || {
        let _ = unet
            .forward(x.clone(), t.clone())
            .powi_scalar(2)
            .mean()
            .backward();
    });
    // Building blocks at the top resolution: [64, 32, 32, 32].
    let conv = Conv2dConfig::new([32, 32], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&ad);
    let h =
        Tensor::<4>::random([b, 32, 32, 32], Distribution::Normal(0.0, 1.0), &ad).require_grad();
    time("conv3x3 32->32 @32x32 forward", 5, || {
        let _ = conv
            .valid()
            .forward(h.clone().inner())
            .sum()
            .into_scalar::<f32>();
    });
    time("conv3x3 32->32 @32x32 forward + backward", 5, || {
        let _ = conv.forward(h.clone()).sum().backward();
    });
    let gn = GroupNormConfig::new(8, 32).init(&ad);
    time("groupnorm 32ch @32x32 forward + backward", 5, || {
        let _ = gn.forward(h.clone()).sum().backward();
    });
    let a = Tensor::<2>::random([b * 1024, 288], Distribution::Default, &ad).require_grad();
    let w = Tensor::<2>::random([288, 32], Distribution::Default, &ad).require_grad();
    time("same FLOPs as matmul [65536x288]x[288x32] f+b", 5, || {
        let _ = a.clone().matmul(w.clone()).sum().backward();
    });
}
