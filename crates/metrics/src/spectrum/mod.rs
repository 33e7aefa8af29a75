//! Score geometry: Jacobian spectra and the latent dimension of trained and exact denoisers
//! (Achilli et al., "Losing dimensions: geometric memorization in generative diffusion",
//! arXiv 2410.08727; docs/theory.md §2).
//!
//! The score of an eps-denoiser at DDPM timestep index t is s(x, t) = -eps(x, t) / sqrt(1 - abar_t).
//! Its Jacobian J = ds/dx tells which directions a model keeps: for an exact score of data
//! with variance l_i along direction i, -J has the eigenvalue 1 / (1 - abar_t + abar_t l_i)
//! (the variance-exploding 1 / (sigma^2 + s_i^2) with the DDPM scaling, see [`analytic`]);
//! a normal or memorised direction gives the largest value 1 / (1 - abar_t). Sorted in
//! descending order, the spectrum drops at a cliff after the normal directions; the number of
//! values after the cliff is the latent dimension.
//!
//! - [`field`]: the [`ScoreField`] interface (score and Jacobian at host points) and the noise
//!   levels of a schedule.
//! - [`jacobian`]: any burn [`Denoiser`](diffmem_model::Denoiser) as a score field; its exact
//!   Jacobian by batched vector-Jacobian products.
//! - [`analytic`]: closed-form scores and Jacobians of the `empirical` and `linear-exact`
//!   denoisers, in float64.
//! - [`exact`]: the float64 field of an exact model spec, used by `eval` for those models.
//! - [`score_matrix`]: the authors' method, singular values of scores at orthogonal
//!   perturbations of a point.
//! - [`svd`]: singular values and symmetric-part eigenvalues with faer, and the authors'
//!   normalisation.
//! - [`latent_dim`]: the cliff (second difference) and largest-gap estimators.
//! - [`manifold`]: for linear-manifold data, the spectrum projected on each block and the
//!   theory's critical noise level per block.
//! - [`report`]: the analysis over timesteps and point sets ([`report::analyse`]).
//! - [`summary`]: averages over points with spread, per-block collapse levels.
//! - [`headline`]: the latent dimension at the papers' noise levels (median and IQR over
//!   points) and each block's collapse level: what `eval` prints.
//! - [`output`]: `spectra.csv`, `dims.csv`, `blocks.csv` and plots ([`output::write_report`]).

pub mod analytic;
pub mod exact;
pub mod field;
pub mod headline;
pub mod jacobian;
pub mod latent_dim;
pub mod manifold;
pub mod output;
pub mod report;
pub mod score_matrix;
pub mod summary;
pub mod svd;

pub use analytic::{EmpiricalScore, GaussianScore};
pub use exact::exact_score_field;
pub use field::{NoiseLevels, ScoreField};
pub use headline::Headline;
pub use jacobian::ModelScore;
pub use latent_dim::{DimParams, Dims};
pub use manifold::ManifoldBlocks;
pub use output::write_report;
pub use report::{
    Analysis, Method, PointSet, Probe, ProbeConfig, SpectrumConfig, TimeGrid, analyse,
};
pub use score_matrix::{Perturbation, ScoreMatrixConfig};
pub use summary::SpectrumSummary;
