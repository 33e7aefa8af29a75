//! burn's CUDA runtime (cubecl-cuda), opened once per process, behind the cargo feature `cuda`.
//!
//! cubecl-cuda loads the NVIDIA driver (`libcuda`) and NVRTC (`libnvrtc`) at run time through
//! cudarc, compiles its kernels with NVRTC against the CUDA headers it finds through
//! `CUDA_PATH`, `/usr/local/cuda` or `/opt/cuda`, and `unwrap`s or `expect`s every failure on
//! the way. So before calling into it we check each prerequisite ourselves and say which one is
//! missing and how to get it; the first use of the device (which JIT-compiles a kernel) then
//! runs under `catch_unwind` as a last resort, so no path ends in a panic.

use super::Opened;
use std::sync::OnceLock;

/// Whether this build has the CUDA backend (cargo feature `cuda`).
pub(super) const COMPILED: bool = cfg!(feature = "cuda");

/// Opens CUDA device 0 on the first call; later calls return the same result.
pub(super) fn open() -> Result<Opened, String> {
    static OPENED: OnceLock<Result<Opened, String>> = OnceLock::new();
    OPENED.get_or_init(open_uncached).clone()
}

#[cfg(not(feature = "cuda"))]
fn open_uncached() -> Result<Opened, String> {
    Err("this build has no CUDA backend: rebuild with \
         `cargo build --release --features cuda` (no CUDA toolkit needed to build)"
        .into())
}

#[cfg(feature = "cuda")]
fn open_uncached() -> Result<Opened, String> {
    use super::MatmulPrecision;
    use super::panics::catch_quietly;
    use burn::prelude::{Device, Tensor};

    let found = catch_quietly(probe::run)
        .map_err(|p| format!("probing the CUDA driver panicked: {p}"))??;
    let device = Device::cuda(0);
    // The first kernel: allocates on the device and JIT-compiles through NVRTC with the headers.
    let smoke = catch_quietly(|| {
        let t = Tensor::<1>::from_floats([1.0, 2.0], &device);
        crate::diffusion::to_vec(t.clone() + t)
    })
    .map_err(|p| {
        format!(
            "the CUDA runtime failed on its first kernel ({}): {p}",
            found.name
        )
    })?;
    if smoke != [2.0, 4.0] {
        return Err(format!(
            "the CUDA runtime computed 1+1, 2+2 = {smoke:?} on {}",
            found.name
        ));
    }
    // cubek-matmul promotes f32 operands to TF32 on tensor cores from compute capability 8.0.
    let matmul = if found.capability.0 >= 8 {
        MatmulPrecision::Tf32
    } else {
        MatmulPrecision::F32
    };
    Ok(Opened {
        device,
        description: format!(
            "cuda: {} (sm_{}{}, driver for CUDA {}, f32 matmul: {matmul})",
            found.name,
            found.capability.0,
            found.capability.1,
            cuda_version(found.driver_version)
        ),
        real_gpu: true,
        matmul,
        driver: format!(
            "NVIDIA driver for CUDA {}",
            cuda_version(found.driver_version)
        ),
    })
}

/// `12080` -> `12.8`.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
fn cuda_version(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

#[cfg(feature = "cuda")]
mod probe {
    //! The prerequisites of cubecl-cuda, checked in the order it would trip over them.
    use super::cuda_version;
    use cudarc::driver::{result as drv, sys};

    /// What the probe found on CUDA device 0.
    pub(super) struct Found {
        pub name: String,
        pub capability: (i32, i32),
        pub driver_version: i32,
    }

    pub(super) fn run() -> Result<Found, String> {
        // SAFETY: only tries to dlopen the candidate library names.
        if !unsafe { sys::is_culib_present() } {
            return Err(
                "the NVIDIA driver library (libcuda.so) was not found: install the NVIDIA \
                 driver (check with `nvidia-smi`); in a container run with `--gpus all`"
                    .into(),
            );
        }
        drv::init().map_err(|e| {
            format!("the NVIDIA driver did not initialise ({e}): check `nvidia-smi` and CUDA_VISIBLE_DEVICES")
        })?;
        let mut driver_version = 0;
        // SAFETY: cuDriverGetVersion writes one int into a live local.
        unsafe { sys::cuDriverGetVersion(&mut driver_version) }
            .result()
            .map_err(|e| format!("cannot read the NVIDIA driver's CUDA version ({e})"))?;
        let built = sys::CUDA_VERSION as i32;
        if driver_version < built {
            return Err(format!(
                "the NVIDIA driver supports CUDA {} but this binary was built for CUDA {}: update \
                 the driver, or rebuild with `CUDARC_CUDA_VERSION={driver_version} cargo build \
                 --release --features cuda`",
                cuda_version(driver_version),
                cuda_version(built)
            ));
        }
        let count =
            drv::device::get_count().map_err(|e| format!("cannot count CUDA devices ({e})"))?;
        if count < 1 {
            return Err(
                "the NVIDIA driver sees no CUDA device: check `nvidia-smi` and CUDA_VISIBLE_DEVICES"
                    .into(),
            );
        }
        let dev = drv::device::get(0).map_err(|e| format!("cannot open CUDA device 0 ({e})"))?;
        let name = drv::device::get_name(dev).unwrap_or_else(|_| "CUDA device 0".into());
        let attr = |a| {
            // SAFETY: `dev` came from `device::get`.
            unsafe { drv::device::get_attribute(dev, a) }.unwrap_or(0)
        };
        let capability = (
            attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
            attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
        );
        // SAFETY: only tries to dlopen the candidate library names.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(
                "NVRTC (libnvrtc.so), the CUDA run-time compiler, was not found: install it \
                 (e.g. `apt install cuda-nvrtc-12-8`, or `pip install nvidia-cuda-nvrtc-cu12`) \
                 and add its directory to LD_LIBRARY_PATH"
                    .into(),
            );
        }
        headers()?;
        Ok(Found {
            name,
            capability,
            driver_version,
        })
    }

    /// The kernels include `cuda_fp16.h` and friends from the toolkit that cubecl-cuda finds
    /// (it panics when it finds none).
    fn headers() -> Result<(), String> {
        let root = cubecl_cuda::install::cuda_path().ok_or_else(|| {
            "the CUDA headers were not found (NVRTC compiles the kernels against them): set \
             CUDA_PATH to the CUDA toolkit's root (the directory holding include/cuda_fp16.h), \
             or install the toolkit headers under /usr/local/cuda"
                .to_string()
        })?;
        let header = root.join("include").join("cuda_fp16.h");
        if !header.is_file() {
            return Err(format!(
                "the CUDA headers were not found: {} does not exist; set CUDA_PATH to the CUDA \
                 toolkit's root (the directory holding include/cuda_fp16.h)",
                header.display()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_print_as_major_minor() {
        assert_eq!(cuda_version(12080), "12.8");
        assert_eq!(cuda_version(13000), "13.0");
        assert_eq!(cuda_version(11040), "11.4");
    }

    /// On a machine without the NVIDIA driver (CI), `cuda` fails with a message naming what is
    /// missing, and does not panic; with the feature off it says how to rebuild.
    #[test]
    fn missing_cuda_is_a_clear_error() {
        let has_driver = std::path::Path::new("/proc/driver/nvidia").exists();
        match open() {
            Ok(o) => assert!(has_driver, "opened {} without a driver", o.description),
            Err(e) if !COMPILED => assert!(e.contains("--features cuda"), "{e}"),
            Err(e) => assert!(
                e.contains("libcuda")
                    || e.contains("NVRTC")
                    || e.contains("CUDA headers")
                    || e.contains("driver"),
                "{e}"
            ),
        }
    }
}
