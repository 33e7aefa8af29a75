//! The devices this binary can open, each tried the way `--device` opens it, with what it is
//! or why it cannot be used.

use diffmem_model::{DeviceChoice, select_device};
use serde::Serialize;

/// One backend and whether it opens here.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceStatus {
    /// The `--device` name.
    pub name: String,
    /// Whether it opened.
    pub available: bool,
    /// What it is (when available) or why not.
    pub detail: String,
}

/// Every concrete backend, opened once (a GPU runtime stays open for the rest of the process:
/// `select_device` caches it, so the check then reuses it).
pub fn list() -> Vec<DeviceStatus> {
    [
        DeviceChoice::Flex,
        DeviceChoice::Wgpu,
        DeviceChoice::Cuda,
        DeviceChoice::Ndarray,
    ]
    .into_iter()
    .map(|c| match select_device(c) {
        Ok(d) => DeviceStatus {
            name: c.to_string(),
            available: true,
            detail: describe(&d),
        },
        Err(e) => DeviceStatus {
            name: c.to_string(),
            available: false,
            detail: e.to_string(),
        },
    })
    .collect()
}

/// The description, the driver and, for a software adapter, that `auto` passes it over.
pub fn describe(d: &diffmem_model::SelectedDevice) -> String {
    let mut s = d.description.clone();
    if !d.driver.is_empty() {
        s.push_str(&format!(", driver {}", d.driver));
    }
    if d.kind == DeviceChoice::Wgpu && d.description.contains("[Cpu,") {
        s.push_str(" (a software rasteriser: `--device auto` passes it over)");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// flex is always there; every backend is listed once with a reason when it is missing.
    #[test]
    fn flex_is_listed_and_every_backend_says_why_not() {
        let l = list();
        let names: Vec<&str> = l.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["flex", "wgpu", "cuda", "ndarray"]);
        assert!(l[0].available && l[0].detail.starts_with("flex"), "{l:?}");
        for d in &l {
            assert!(!d.detail.is_empty(), "{d:?}");
        }
        if !cfg!(feature = "cuda") {
            assert!(
                !l[2].available && l[2].detail.contains("--features cuda"),
                "{l:?}"
            );
        }
    }
}
