//! burn's wgpu runtime, opened once per process.
//!
//! `Device::wgpu_options().init_with_setup()` registers the runtime globally and fails with
//! "Service already initialized" when called a second time, so the first outcome (device or
//! reason) is kept in a `OnceLock` and handed out again to every later caller.

use super::Opened;
use std::sync::OnceLock;

/// Opens the default wgpu adapter on the first call; later calls return the same result.
pub(super) fn open() -> Result<Opened, String> {
    static OPENED: OnceLock<Result<Opened, String>> = OnceLock::new();
    OPENED.get_or_init(open_uncached).clone()
}

#[cfg(feature = "wgpu")]
fn open_uncached() -> Result<Opened, String> {
    use super::MatmulPrecision;
    use burn::prelude::Device;
    use burn::tensor::wgpu::wgpu::DeviceType;
    super::quiet_driver_env();
    let (device, setup) = super::panics::catch_quietly(|| Device::wgpu_options().init_with_setup())
        .map_err(|panic| format!("the wgpu runtime panicked while opening an adapter: {panic}"))?
        .map_err(|e| format!("no wgpu adapter: {e}"))?;
    let info = setup.adapter.get_info();
    let real_gpu = !matches!(info.device_type, DeviceType::Cpu | DeviceType::Other);
    Ok(Opened {
        device,
        description: format!(
            "wgpu: {} [{:?}, {:?}]",
            info.name, info.device_type, info.backend
        ),
        real_gpu,
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        // cubecl-wgpu has no TF32 type: f32 matmuls stay f32.
        matmul: MatmulPrecision::F32,
    })
}

#[cfg(not(feature = "wgpu"))]
fn open_uncached() -> Result<Opened, String> {
    Err("this build has no wgpu support: rebuild with the cargo feature `wgpu`".into())
}
