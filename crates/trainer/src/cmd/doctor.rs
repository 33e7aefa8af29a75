//! `diffmem doctor`: which devices open here, and whether training on one gives what the CPU
//! gives (see `crate::doctor`). Exits non-zero, with the likely fixes, when it does not.

use crate::doctor::{self, Settings, devices, report::Report};
use anyhow::{Result, bail};
use clap::Args;
use diffmem_model::DeviceChoice;

/// Arguments of `diffmem doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The device to check against the CPU (flex): auto, wgpu, cuda, flex or ndarray.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// Training steps of each model.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Batch size.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Hidden width of the MLP (0 leaves it out).
    #[arg(long, default_value_t = 64)]
    pub mlp_width: usize,
    /// Base channels of the UNet (even; 0 leaves it out).
    #[arg(long, default_value_t = 8)]
    pub unet_base: usize,
    /// Seed of the weights, data, batches and noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `diffmem doctor`.
pub fn run(a: &DoctorArgs) -> Result<()> {
    let s = Settings {
        steps: a.steps,
        batch: a.batch_size,
        mlp_width: a.mlp_width,
        unet_base: a.unet_base,
        seed: a.seed,
    };
    s.validate()?;
    let listed = devices::list();
    let device = crate::run::device::open(a.device)?;
    let checks = doctor::check(&device, &s)?;
    let report = Report::new(listed, &device, &s, checks);
    if a.json {
        crate::io::print_json(&report.json());
    } else {
        print!("{}", report.text());
    }
    if !report.passed {
        bail!(
            "{}; likely fixes: {}",
            report.verdict(),
            report.fixes.join("; or ")
        );
    }
    Ok(())
}
