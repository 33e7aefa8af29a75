//! Opening the compute device of a command. The model crate opens each backend once per
//! process (`select_device` caches it); this prints the choice once per process too, although
//! a command may select its device in several stages (`train`, then its sample grid; `eval`
//! of a run and of the `--against` run).

use anyhow::Result;
use diffmem_model::{DeviceChoice, SelectedDevice, select_device};
use std::sync::Once;

/// Opens `choice` and, the first time in this process, prints `device: DESCRIPTION` on stderr.
pub fn open(choice: DeviceChoice) -> Result<SelectedDevice> {
    static ANNOUNCED: Once = Once::new();
    let device = select_device(choice)?;
    ANNOUNCED.call_once(|| eprintln!("device: {}", device.description));
    Ok(device)
}
