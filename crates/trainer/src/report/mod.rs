//! `diffmem report SWEEP_DIR`: merges the run directories of a sweep into `report.csv`,
//! `report.json`, plots against N and a self-contained `report.html`.
//!
//! - [`collect`]: the runs, their axes, status, config and scalar metrics ([`flatten`]);
//! - [`accounting`]: every grid point of the spec accounted for, and the runs outside it;
//! - [`aggregate`]: lines of a plot (mean and spread over seeds at each N), crossings;
//! - [`theory`]: the linear-diffusion KL curve for Gaussian sweeps;
//! - [`plots`]: the PNG plots; [`science`]: those of membership inference, sample quality and
//!   reference following; [`table`]: the CSV files; [`html`]: the page.

pub mod accounting;
pub mod aggregate;
pub mod collect;
pub mod dynamics;
pub mod flatten;
pub mod html;
pub mod plots;
pub mod points;
pub mod science;
pub mod table;
pub mod theory;
