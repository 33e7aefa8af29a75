//! diffmem-metrics: memorisation metrics, score spectra, Gaussian diagnostics and the exact
//! theory of linear diffusion (docs/theory.md).

pub mod agreement;
pub mod denoising_loss;
pub mod dynamics;
pub mod error;
pub mod gaussian;
pub mod membership;
pub mod memorization;
pub mod nn;
pub mod nn_figure;
pub mod nn_grid;
pub mod plot;
pub mod points;
pub mod quality;
pub mod reference;
pub mod sample_health;
pub mod score_agreement;
pub mod sima;
pub mod spectrum;
pub mod summary;
#[cfg(test)]
mod test_data;
pub mod theory;

pub use error::{MetricsError, Result};
