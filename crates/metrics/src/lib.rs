//! diffmem-metrics: memorisation metrics, score spectra, Gaussian diagnostics and the exact
//! theory of linear diffusion (THEORY.md).

pub mod error;
pub mod gaussian;
pub mod plot;
pub mod spectrum;
pub mod theory;

pub use error::{MetricsError, Result};
