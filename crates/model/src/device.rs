//! Device selection: `auto` prefers a real GPU adapter through wgpu, else the `flex` CPU
//! backend. The choice is returned with a description so callers can print it.

use crate::error::{ModelError, Result};
use burn::prelude::Device;
use std::fmt;
use std::str::FromStr;

/// Which compute device to use (`--device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A real GPU adapter if wgpu finds one, else `flex`.
    #[default]
    Auto,
    /// burn's wgpu backend (WGSL); any adapter, including software ones like lavapipe.
    Wgpu,
    /// burn's `flex` CPU backend.
    Flex,
    /// burn-ndarray CPU backend (cargo feature `ndarray`).
    Ndarray,
}

impl FromStr for DeviceChoice {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "wgpu" => Ok(Self::Wgpu),
            "flex" | "cpu" => Ok(Self::Flex),
            "ndarray" => Ok(Self::Ndarray),
            other => Err(ModelError::Device(format!(
                "unknown device `{other}`: use auto, wgpu, flex or ndarray"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Wgpu => "wgpu",
            Self::Flex => "flex",
            Self::Ndarray => "ndarray",
        })
    }
}

/// An opened device and a one-line description of what it is.
#[derive(Clone, Debug)]
pub struct SelectedDevice {
    /// The burn device (without autodiff).
    pub device: Device,
    /// The concrete backend used (never `Auto`).
    pub kind: DeviceChoice,
    /// Human-readable description, e.g. `wgpu: llvmpipe (LLVM 15) [Cpu, Vulkan]`.
    pub description: String,
}

/// Information about the wgpu adapter, if one could be opened.
#[cfg(feature = "wgpu")]
fn open_wgpu() -> std::result::Result<(Device, String, bool), String> {
    use burn::tensor::wgpu::wgpu::DeviceType;
    let (device, setup) = Device::wgpu_options()
        .init_with_setup()
        .map_err(|e| format!("no wgpu adapter: {e}"))?;
    let info = setup.adapter.get_info();
    let real_gpu = !matches!(info.device_type, DeviceType::Cpu | DeviceType::Other);
    let desc = format!(
        "wgpu: {} [{:?}, {:?}]",
        info.name, info.device_type, info.backend
    );
    Ok((device, desc, real_gpu))
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu() -> std::result::Result<(Device, String, bool), String> {
    Err("this build has no wgpu support (cargo feature `wgpu`)".into())
}

fn flex() -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        kind: DeviceChoice::Flex,
        description: format!(
            "flex (CPU, {} threads)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
    }
}

/// Opens the requested device. `Auto` uses wgpu only when the adapter is a real GPU
/// (not a software rasteriser such as lavapipe), otherwise `flex`.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
    match choice {
        DeviceChoice::Flex => Ok(flex()),
        DeviceChoice::Wgpu => {
            let (device, description, _) = open_wgpu().map_err(ModelError::Device)?;
            Ok(SelectedDevice {
                device,
                kind: DeviceChoice::Wgpu,
                description,
            })
        }
        DeviceChoice::Auto => match open_wgpu() {
            Ok((device, description, true)) => Ok(SelectedDevice {
                device,
                kind: DeviceChoice::Wgpu,
                description,
            }),
            Ok((_, description, false)) => {
                let mut d = flex();
                d.description = format!("{} (auto: {description} is not a GPU)", d.description);
                Ok(d)
            }
            Err(why) => {
                let mut d = flex();
                d.description = format!("{} (auto: {why})", d.description);
                Ok(d)
            }
        },
        DeviceChoice::Ndarray => ndarray(),
    }
}

#[cfg(feature = "ndarray")]
fn ndarray() -> Result<SelectedDevice> {
    #[allow(deprecated)]
    let device = Device::ndarray();
    Ok(SelectedDevice {
        device,
        kind: DeviceChoice::Ndarray,
        description: "ndarray (CPU)".into(),
    })
}

#[cfg(not(feature = "ndarray"))]
fn ndarray() -> Result<SelectedDevice> {
    Err(ModelError::Device(
        "this build has no ndarray backend: rebuild with `--features ndarray`".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!("flex".parse::<DeviceChoice>().unwrap(), DeviceChoice::Flex);
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        let e = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(e.contains("tpu") && e.contains("flex"), "{e}");
    }

    #[test]
    fn flex_always_opens() {
        let d = select_device(DeviceChoice::Flex).unwrap();
        assert_eq!(d.kind, DeviceChoice::Flex);
        assert!(d.description.starts_with("flex"));
    }
}
