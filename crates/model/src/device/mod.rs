//! Device selection, once per process. `auto` prefers a CUDA device (cargo feature `cuda`),
//! then a real GPU adapter through wgpu, else the `flex` CPU backend.
//!
//! Every GPU runtime is opened at most once per process and the opened device is cached
//! (`wgpu`, `cuda`): a runtime registers process-global state (wgpu refuses a second
//! registration with "Service already initialized"), so a command that selects its device
//! again in a later stage (`train` then its sample grid, `eval` of a second run) gets the same
//! device back. The choice is returned with a description so callers can print it once.

mod cuda;
mod driver_env;
mod panics;
mod wgpu;

use crate::error::{ModelError, Result};
use burn::prelude::Device;
pub use driver_env::quiet_driver_env;
use std::fmt;
use std::str::FromStr;

/// Which compute device to use (`--device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A CUDA device if one works, else a real GPU adapter through wgpu, else `flex`.
    #[default]
    Auto,
    /// burn's wgpu backend (WGSL/SPIR-V); any adapter, including software ones like lavapipe.
    Wgpu,
    /// burn's CUDA backend (cubecl-cuda, cargo feature `cuda`): NVIDIA driver + NVRTC.
    Cuda,
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
            "cuda" => Ok(Self::Cuda),
            "flex" | "cpu" => Ok(Self::Flex),
            "ndarray" => Ok(Self::Ndarray),
            other => Err(ModelError::Device(format!(
                "unknown device `{other}`: use auto, wgpu, cuda, flex or ndarray"
            ))),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::Flex => "flex",
            Self::Ndarray => "ndarray",
        })
    }
}

/// The arithmetic the backend may use for f32 matrix products.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatmulPrecision {
    /// Full IEEE f32 multiply-accumulate.
    F32,
    /// TF32 tensor cores (10-bit mantissa inputs, f32 accumulation) may be used: on CUDA with
    /// compute capability >= 8.0, burn 0.22.1 autotunes f32 matmuls among tensor-core (TF32)
    /// and full-f32 kernels and has no switch to exclude the former.
    Tf32,
}

impl fmt::Display for MatmulPrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Tf32 => "tf32",
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
    /// The precision of f32 matrix products on this device (record it with the run).
    pub matmul: MatmulPrecision,
    /// The driver behind the device (wgpu: the adapter's driver and its version, e.g.
    /// `llvmpipe Mesa 23.2.1`; cuda: the CUDA version the driver supports); empty on the CPU.
    pub driver: String,
}

/// A GPU runtime opened once per process (cached by [`wgpu`] and [`cuda`]).
#[derive(Clone, Debug)]
struct Opened {
    device: Device,
    description: String,
    /// False for software adapters (lavapipe), which `auto` passes over.
    real_gpu: bool,
    matmul: MatmulPrecision,
    driver: String,
}

impl Opened {
    fn selected(self, kind: DeviceChoice) -> SelectedDevice {
        SelectedDevice {
            device: self.device,
            kind,
            description: self.description,
            matmul: self.matmul,
            driver: self.driver,
        }
    }
}

fn flex() -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        kind: DeviceChoice::Flex,
        description: format!(
            "flex (CPU, {} threads)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
        matmul: MatmulPrecision::F32,
        driver: String::new(),
    }
}

/// Opens the requested device, or returns the one this process already opened for it.
/// `Auto` tries CUDA (when compiled in), then wgpu when its adapter is a real GPU (not a
/// software rasteriser such as lavapipe), otherwise `flex`.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
    quiet_driver_env();
    match choice {
        DeviceChoice::Flex => Ok(flex()),
        DeviceChoice::Wgpu => Ok(wgpu::open()
            .map_err(ModelError::Device)?
            .selected(DeviceChoice::Wgpu)),
        DeviceChoice::Cuda => Ok(cuda::open()
            .map_err(ModelError::Device)?
            .selected(DeviceChoice::Cuda)),
        DeviceChoice::Auto => Ok(auto()),
        DeviceChoice::Ndarray => ndarray(),
    }
}

/// `auto`: the first of CUDA, a real wgpu GPU and `flex` that opens, with the reasons the
/// others were passed over in the description.
fn auto() -> SelectedDevice {
    let mut passed_over = Vec::new();
    if cuda::COMPILED {
        match cuda::open() {
            Ok(o) => return o.selected(DeviceChoice::Cuda),
            Err(why) => passed_over.push(format!("cuda: {why}")),
        }
    }
    match wgpu::open() {
        Ok(o) if o.real_gpu => return o.selected(DeviceChoice::Wgpu),
        Ok(o) => passed_over.push(format!("{} is not a GPU", o.description)),
        Err(why) => passed_over.push(why),
    }
    let mut d = flex();
    d.description = format!("{} (auto: {})", d.description, passed_over.join("; "));
    d
}

#[cfg(feature = "ndarray")]
fn ndarray() -> Result<SelectedDevice> {
    #[allow(deprecated)]
    let device = Device::ndarray();
    Ok(SelectedDevice {
        device,
        kind: DeviceChoice::Ndarray,
        description: "ndarray (CPU)".into(),
        matmul: MatmulPrecision::F32,
        driver: String::new(),
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
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda);
        let e = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(e.contains("tpu") && e.contains("flex"), "{e}");
        for c in [
            DeviceChoice::Auto,
            DeviceChoice::Wgpu,
            DeviceChoice::Cuda,
            DeviceChoice::Flex,
            DeviceChoice::Ndarray,
        ] {
            assert_eq!(c.to_string().parse::<DeviceChoice>().unwrap(), c);
        }
    }

    #[test]
    fn flex_always_opens() {
        let d = select_device(DeviceChoice::Flex).unwrap();
        assert_eq!(d.kind, DeviceChoice::Flex);
        assert_eq!(d.matmul, MatmulPrecision::F32);
        assert!(d.description.starts_with("flex"));
    }

    /// `auto` never fails: whatever it picks is a concrete backend.
    #[test]
    fn auto_resolves_to_a_concrete_backend() {
        let d = select_device(DeviceChoice::Auto).unwrap();
        assert_ne!(d.kind, DeviceChoice::Auto);
        assert!(!d.description.is_empty());
    }
}
