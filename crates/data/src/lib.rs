//! diffmem-data: turns any supported source into a [`Dataset`] of f32 samples.
//!
//! - [`DataSpec`] parses the data spec grammar (`mnist-5k`, `mnist:PATH`, `cifar10:PATH`,
//!   `celeba:PATH,size=64`, `gaussian:d=100,spectrum=power:1`, `manifold:paper`, ...) and
//!   loads splits ([`DataSpec::load`], [`DataSpec::load_n`], [`DataSpec::catalog`]).
//! - [`train_and_heldout`] draws a seeded (class-balanced, A/B) training subset and its
//!   held-out set in one call.
//! - [`synthetic`] holds the Gaussian and linear-manifold generators with their [`Truth`].
//! - [`grid`] writes PNG grids of samples.
//! - Every failure is a [`DataError`] naming the file and the problem, with a
//!   [`DataError::hint`].

#![warn(missing_docs)]

pub mod bundled;
pub mod catalog;
pub mod celeba;
pub mod cifar;
pub mod covariance;
pub mod dataset;
pub mod error;
pub mod files;
pub mod folder;
pub mod grid;
pub mod idx;
pub mod imagepipe;
pub mod rng;
mod source;
pub mod spec;
pub mod split;
pub mod stats;
pub mod subset;
pub mod synthetic;

pub use bundled::bundled_mnist_5k;
pub use catalog::Catalog;
pub use covariance::Covariance;
pub use dataset::{Dataset, ManifoldBlock, MixtureTruth, Provenance, SampleShape, Truth};
pub use error::{DataError, check_size};
pub use grid::{render_grid, write_grid};
pub use imagepipe::ImageOptions;
pub use spec::DataSpec;
pub use split::Split;
pub use stats::Stats;
pub use subset::{Half, RowPlan, SubsetSpec, plan_rows, train_and_heldout};

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod testutil;
