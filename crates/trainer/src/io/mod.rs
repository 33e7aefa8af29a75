//! Files and the terminal: atomic writes, CSV, `.npy`, progress bars.

pub mod atomic;
pub mod csv;
pub mod npy;
pub mod progress;
pub mod range;
pub mod show;
pub mod summary;
