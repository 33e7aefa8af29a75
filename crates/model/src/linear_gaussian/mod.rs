//! The one float64 linear-Gaussian core of the project (docs/theory.md §1; Merger & Goldt,
//! arXiv 2505.24769), shared by the `linear-exact` denoiser and the exact theory engine
//! (`diffmem_metrics::theory`).
//!
//! From a training set (or any Gaussian) with mean mu0 and covariance Sigma0 (1/N
//! normalisation), ONE eigendecomposition Sigma0 = U diag(l) U^T gives the optimal affine
//! eps-denoiser of every timestep:
//!
//!   W_t* = sqrt(1 - abar_t) [abar_t Sigma0 + (1 - abar_t + lambda) I]^-1 = U diag(w_t) U^T,
//!   w_t,i = sqrt(1 - abar_t) / (abar_t l_i + 1 - abar_t + lambda),
//!   b_t* = -sqrt(abar_t) W_t* mu0,
//!
//! with 1 - abar_t taken from the exact table of [`crate::schedule::Schedule`].
//!
//! Conventions (one for every user):
//! - eigenvalues are sorted in decreasing order, U's column j belongs to `values[j]`;
//! - eigenvalues of Sigma0 that are zero up to rounding (at most d * 64 * eps * the largest
//!   one; Sigma0 has rank <= N - 1) are set to exactly 0, and negative rounding is clamped to 0,
//!   so that directions absent from the data are exactly absent.

pub mod eigen;
pub mod moments;
pub mod optimum;

pub use eigen::Eigen;
pub use moments::{GaussianMoments, sample_mean_cov};
pub use optimum::{curvature, optimum_gain};
