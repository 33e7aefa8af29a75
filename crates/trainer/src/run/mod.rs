//! A run directory: its typed config, its data, checkpoints, and loading a trained run back.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod dir;
mod load;
mod model_layer;
pub mod or_none;
mod section;

pub use load::{LoadedRun, Weights, load, weights_dir};
