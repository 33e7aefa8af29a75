//! The check `train` runs before training on a GPU (`wgpu`, `cuda`): a short doctor, once per
//! device, driver and diffmem version. A pass is remembered in
//! `$XDG_CACHE_HOME/diffmem/doctor/` (else `~/.cache/diffmem/doctor/`), keyed by a hash of the
//! device's description and driver, the diffmem version and `CUBECL_AUTOTUNE_LEVEL`; a failure
//! is not remembered, so the check runs again after a fix. `--no-doctor` skips it.

use super::{Settings, check, report::Report};
use anyhow::{Result, bail};
use diffmem_model::{DeviceChoice, ModelSpec, SelectedDevice};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The short check before training `model`: few steps (enough for a wrong kernel or a NaN burst
/// to show; `diffmem doctor` runs the long one) of the family being trained, the UNet for a
/// UNet (convolutions, GroupNorm, attention), else the MLP (matmuls): on a software adapter
/// each family's kernels take minutes to compile.
pub fn settings(model: &ModelSpec) -> Settings {
    let unet = matches!(model, ModelSpec::Unet(_));
    Settings {
        steps: 20,
        batch: 16,
        mlp_width: if unet { 0 } else { 64 },
        unet_base: if unet { 8 } else { 0 },
        seed: 0,
    }
}

/// The cache file of `device`'s check of the settings `s` (`None` when neither XDG_CACHE_HOME
/// nor HOME is set).
pub fn cache_file(device: &SelectedDevice, s: &Settings) -> Option<PathBuf> {
    let dir = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    let autotune = std::env::var("CUBECL_AUTOTUNE_LEVEL").unwrap_or_default();
    let key = format!(
        "{}\n{}\n{}\n{}\n{autotune}\n{:?}",
        device.kind,
        device.description,
        device.driver,
        crate::VERSION,
        s
    );
    let hash: String = Sha256::digest(key.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(
        dir.join("diffmem/doctor")
            .join(format!("{}-{hash}.json", device.kind)),
    )
}

/// Before training `model` on `device`: nothing on the CPU or with `skip`; otherwise the cached
/// pass, or the short check (remembered when it passes, an error with the fixes when it does
/// not).
pub fn before_training(device: &SelectedDevice, model: &ModelSpec, skip: bool) -> Result<()> {
    if skip || !matches!(device.kind, DeviceChoice::Wgpu | DeviceChoice::Cuda) {
        return Ok(());
    }
    let s = settings(model);
    let cache = cache_file(device, &s);
    if let Some(f) = cache.as_ref().filter(|f| f.is_file()) {
        eprintln!("doctor: {} checked before ({})", device.kind, f.display());
        return Ok(());
    }
    eprintln!(
        "doctor: checking {} against the CPU once for this device and driver (--no-doctor skips)",
        device.kind
    );
    let checks = check(device, &s)?;
    let report = Report::new(Vec::new(), device, &s, checks);
    if !report.passed {
        bail!(
            "{}\nlikely fixes:\n  {}\n(diffmem doctor --device {} gives the full report; \
             --no-doctor trains anyway)",
            report.verdict(),
            report.fixes.join("\n  "),
            device.kind
        );
    }
    let secs: f64 = report.checks.iter().map(|c| c.first_step_seconds).sum();
    eprintln!(
        "doctor: {} ({secs:.1} s of kernel compilation)",
        report.verdict()
    );
    if let Some(f) = cache {
        let saved = f
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let text = serde_json::to_string_pretty(&report.json())?;
                crate::io::atomic::write_atomic(&f, text.as_bytes())
            });
        if let Err(e) = saved {
            eprintln!(
                "warning: cannot remember the device check in {}: {e:#}",
                f.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::{MatmulPrecision, select_device};

    fn fake(kind: DeviceChoice, description: &str, driver: &str) -> SelectedDevice {
        SelectedDevice {
            kind,
            description: description.into(),
            driver: driver.into(),
            matmul: MatmulPrecision::F32,
            ..select_device(DeviceChoice::Flex).unwrap()
        }
    }

    /// Another adapter or another driver is another cache entry; the same one is the same.
    #[test]
    fn the_cache_key_follows_adapter_and_driver() {
        let a = fake(DeviceChoice::Wgpu, "wgpu: GPU A", "Mesa 23.2");
        let s = settings(&ModelSpec::Mlp(Default::default()));
        let f = |d: &SelectedDevice| cache_file(d, &s).unwrap();
        assert_eq!(f(&a), f(&a.clone()));
        assert_ne!(
            f(&a),
            f(&fake(DeviceChoice::Wgpu, "wgpu: GPU B", "Mesa 23.2"))
        );
        assert_ne!(
            f(&a),
            f(&fake(DeviceChoice::Wgpu, "wgpu: GPU A", "Mesa 24.0"))
        );
        let name = f(&a).file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("wgpu-") && name.ends_with(".json"),
            "{name}"
        );
        assert!(f(&a).to_string_lossy().contains("diffmem/doctor"));
        let unet = settings(&ModelSpec::Unet(Default::default()));
        assert_ne!(
            f(&a),
            cache_file(&a, &unet).unwrap(),
            "the UNet's check is another"
        );
        assert_eq!((unet.mlp_width, s.unet_base), (0, 0));
    }

    /// The CPU needs no check, and `--no-doctor` skips it: nothing runs, nothing is written.
    #[test]
    fn cpu_and_no_doctor_skip_the_check() {
        let flex = select_device(DeviceChoice::Flex).unwrap();
        let mlp = ModelSpec::Mlp(Default::default());
        assert!(before_training(&flex, &mlp, false).is_ok());
        let gpu = fake(DeviceChoice::Wgpu, "wgpu: never opened", "none");
        assert!(before_training(&gpu, &mlp, true).is_ok());
    }
}
