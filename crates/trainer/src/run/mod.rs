//! A run directory: its typed config, its data, checkpoints, and loading a trained run back.

pub mod checkpoint;
#[cfg(test)]
mod checkpoint_fuzz;
pub mod checksum;
pub mod config;
pub mod data;
pub mod device;
pub mod dir;
mod fork;
pub mod layout;
mod load;
pub mod lock;
pub mod memory;
mod model_layer;
pub mod or_none;
pub mod restart;
mod section;
pub mod signals;
pub mod snapshots;

pub use layout::{RunDir, WeightFile};
pub use load::{LoadedRun, Weights, load, load_net};
