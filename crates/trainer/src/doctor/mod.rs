//! `diffmem doctor`: is a device's training what the CPU's would be?
//!
//! A small MLP and a small UNet are trained on the chosen device and on the `flex` CPU backend
//! from the same initial weights (drawn once on the CPU and copied to the device) and on the
//! same batches, timesteps and noise (drawn on the host as `train` draws them), with `train`'s
//! optimiser; the loss of every step and the final parameters are compared ([`compare`]).
//!
//! Tolerance, relative (see [`tolerance`]): losses within 1e-4 at every step, final parameters
//! within 1e-3 of the distance they travelled. f32 arithmetic on two devices differs by the
//! order of its reductions (matmul, conv and norm sums, split differently across threads and
//! GPU workgroups), about 1e-7 relative per operation, which training then carries step by
//! step: on the CPU, data scaled by 1 + 1e-6 (ten ulps) moves the losses by at most 8e-7 and the
//! parameters by 2e-5 of their travel over 20 to 200 steps, linearly (no chaotic growth at the
//! check's sizes), and lavapipe against flex differs by 2e-7 in the losses. A wrong kernel (a
//! wrong autotuned matmul, a NaN burst, a dropped gradient) moves a loss by percents; even the
//! data scaled by 1 + 1e-2 moves the losses by 3e-4 to 8e-3 and the parameters by 7e-3 to
//! 4e-2, and is caught (`trace.rs` tests). Adam's epsilon is 1e-5 in the check, so that
//! parameters the loss does not see are not driven by rounding noise
//! ([`trace::ADAM_EPSILON`]). TF32 tensor cores (CUDA, compute capability >= 8) round matmul
//! inputs to 10-bit mantissas (2^-11 ~ 5e-4 relative per product): their tolerance is 30 times
//! larger (not yet measured on such a GPU).

pub mod compare;
pub mod devices;
pub mod gate;
pub mod report;
pub mod trace;

use anyhow::{Result, bail};
use compare::{Comparison, Tolerance};
use diffmem_data::SampleShape;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::prelude::Device;
use diffmem_model::denoiser::{MlpConfig, UnetConfig};
use diffmem_model::{MatmulPrecision, ModelSpec, Net, SelectedDevice};
use serde::Serialize;
use trace::Problem;

/// What the check trains, and for how long.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Optimisation steps of each model.
    pub steps: usize,
    /// Batch size.
    pub batch: usize,
    /// Hidden width of the MLP (depth 2, time embedding 32); 0 leaves the MLP out.
    pub mlp_width: usize,
    /// Base channels of the UNet (mults 1,2, attention at 4x4); 0 leaves the UNet out.
    pub unet_base: usize,
    /// Seed of the weights, data, batches and noise.
    pub seed: u64,
}

impl Settings {
    /// Refuses settings the check cannot run, naming the flag.
    pub fn validate(&self) -> Result<()> {
        if !(1..=100_000).contains(&self.steps) {
            bail!("--steps must be in 1..=100000 (got {})", self.steps);
        }
        if !(1..=1024).contains(&self.batch) {
            bail!("--batch-size must be in 1..=1024 (got {})", self.batch);
        }
        if self.mlp_width > 4096 {
            bail!("--mlp-width must be at most 4096, or 0 to leave the MLP out");
        }
        if self.unet_base % 2 == 1 || self.unet_base > 256 {
            bail!(
                "--unet-base must be even and at most 256, or 0 to leave the UNet out (got {})",
                self.unet_base
            );
        }
        if self.mlp_width == 0 && self.unet_base == 0 {
            bail!("--mlp-width 0 and --unet-base 0 leave nothing to check: keep one model");
        }
        Ok(())
    }

    /// The models to check: (name, spec).
    fn models(&self) -> Vec<(&'static str, ModelSpec)> {
        let mut m = Vec::new();
        if self.mlp_width > 0 {
            let c = MlpConfig {
                width: self.mlp_width,
                depth: 2,
                temb: 32,
            };
            m.push(("mlp", ModelSpec::Mlp(c)));
        }
        if self.unet_base > 0 {
            let c = UnetConfig {
                base: self.unet_base,
                mults: vec![1, 2],
                attn_res: vec![4],
            };
            m.push(("unet", ModelSpec::Unet(c)));
        }
        m
    }
}

/// The images the check trains on: 1 x 8 x 8 (64 values; the MLP sees them flat).
const SHAPE: SampleShape = SampleShape::Image { c: 1, h: 8, w: 8 };
/// Training rows.
const ROWS: usize = 64;

/// The tolerance for a device whose f32 matmuls have precision `matmul` (module docs).
pub fn tolerance(matmul: MatmulPrecision) -> Tolerance {
    let t = Tolerance {
        loss: 1e-4,
        params: 1e-3,
    };
    match matmul {
        MatmulPrecision::F32 => t,
        MatmulPrecision::Tf32 => Tolerance {
            loss: 30.0 * t.loss,
            params: 30.0 * t.params,
        },
    }
}

/// One model's check: its comparison and both devices' speed.
#[derive(Clone, Debug, Serialize)]
pub struct ModelCheck {
    /// `mlp` or `unet`.
    pub model: String,
    /// Trainable parameters.
    pub params: usize,
    /// The device's trace against the CPU's.
    pub comparison: Comparison,
    /// Seconds of the device's first step (kernel compilation included).
    pub first_step_seconds: f64,
    /// The device's steps per second after the first.
    pub steps_per_second: f64,
    /// The CPU's (flex) steps per second after the first.
    pub cpu_steps_per_second: f64,
    /// Bytes the device's allocator held after training (`None` where burn does not say).
    pub device_memory_bytes: Option<u64>,
}

/// Trains every model of `s` on `device` and on the CPU and compares them.
pub fn check(device: &SelectedDevice, s: &Settings) -> Result<Vec<ModelCheck>> {
    s.validate()?;
    let tol = tolerance(device.matmul);
    let problem = Problem::new(ROWS, SHAPE.dim(), s.batch, s.steps, s.seed);
    let mut out = Vec::new();
    for (name, spec) in s.models() {
        let flex = Device::flex();
        flex.seed(s.seed);
        let net: Net = spec
            .init_net(SHAPE, problem.t_max, &flex)?
            .ok_or_else(|| anyhow::anyhow!("{name} is not trainable"))?;
        // Materialise the lazily initialised weights on the CPU, before any copy.
        let start = trace::snapshot(&net);
        let cpu = trace::train_on(&net, &flex, &problem);
        let dev = trace::train_on(&net, &device.device, &problem);
        out.push(ModelCheck {
            model: name.to_string(),
            params: net.num_params(),
            comparison: compare::compare(&start, &cpu.trace, &dev.trace, tol),
            first_step_seconds: dev.first_step_s,
            steps_per_second: dev.steps_per_s,
            cpu_steps_per_second: cpu.steps_per_s,
            device_memory_bytes: dev.device_bytes,
        });
    }
    Ok(out)
}

/// The likely fixes when `device` disagrees with the CPU, most likely first.
pub fn fixes(device: &SelectedDevice) -> Vec<String> {
    use diffmem_model::DeviceChoice::{Cuda, Wgpu};
    let mut f = Vec::new();
    let autotune = std::env::var("CUBECL_AUTOTUNE_LEVEL").unwrap_or_default();
    if matches!(device.kind, Wgpu | Cuda) && autotune != "minimal" {
        f.push(format!(
            "export CUBECL_AUTOTUNE_LEVEL=minimal and run `diffmem doctor --device {}` again \
             (autotuning can pick a kernel that computes a wrong result on some drivers)",
            device.kind
        ));
    }
    if matches!(device.kind, Wgpu | Cuda) {
        f.push(format!(
            "update the GPU driver ({}), then run the doctor again",
            match device.driver.as_str() {
                "" => "none reported",
                d => d,
            }
        ));
    }
    if device.kind == Cuda {
        f.push("try `--device wgpu` (another compiler for the same GPU)".into());
    }
    f.push(
        "train on the CPU with `--device flex` (slower, the reference this check compares with)"
            .into(),
    );
    f
}

/// Peak resident memory of this process (VmHWM of /proc/self/status), if the system says.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::{DeviceChoice, select_device};

    /// flex against itself: both models, every difference exactly zero.
    #[test]
    fn flex_agrees_with_itself_exactly() {
        let s = Settings {
            steps: 6,
            batch: 4,
            mlp_width: 16,
            unet_base: 4,
            seed: 0,
        };
        let flex = select_device(DeviceChoice::Flex).unwrap();
        let checks = check(&flex, &s).unwrap();
        assert_eq!(checks.len(), 2);
        for c in &checks {
            assert!(c.comparison.passed(), "{c:?}");
            assert_eq!(c.comparison.loss_rel_diff, 0.0, "{c:?}");
            assert_eq!(c.comparison.param_rel_diff, 0.0, "{c:?}");
            assert_eq!(c.comparison.steps, 6);
            assert!(c.params > 0 && c.steps_per_second > 0.0);
        }
    }

    #[test]
    fn bad_settings_name_their_flag() {
        let ok = Settings {
            steps: 5,
            batch: 4,
            mlp_width: 8,
            unet_base: 4,
            seed: 0,
        };
        assert!(ok.validate().is_ok());
        for (s, flag) in [
            (
                Settings {
                    steps: 0,
                    ..ok.clone()
                },
                "--steps",
            ),
            (
                Settings {
                    unet_base: 3,
                    ..ok.clone()
                },
                "--unet-base",
            ),
            (
                Settings {
                    batch: 0,
                    ..ok.clone()
                },
                "--batch-size",
            ),
            (
                Settings {
                    mlp_width: 0,
                    unet_base: 0,
                    ..ok.clone()
                },
                "nothing to check",
            ),
        ] {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(flag), "{e}");
        }
    }

    #[test]
    fn tf32_is_looser_and_fixes_end_with_the_cpu() {
        assert!(tolerance(MatmulPrecision::Tf32).loss > tolerance(MatmulPrecision::F32).loss);
        let flex = select_device(DeviceChoice::Flex).unwrap();
        let f = fixes(&flex);
        assert!(f.last().unwrap().contains("--device flex"), "{f:?}");
        assert!(peak_rss_bytes().is_some_and(|b| b > 0));
    }
}
