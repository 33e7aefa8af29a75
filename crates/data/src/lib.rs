//! diffmem-data: turns any supported source into a [`Dataset`] of f32 samples.

pub mod dataset;

pub use dataset::{Dataset, ManifoldBlock, Provenance, SampleShape, Truth};
