//! The exact theory of linear diffusion, in float64 (docs/theory.md).
//!
//! - §1 (Merger & Goldt, arXiv 2505.24769): the optimal and gradient-flow linear denoisers
//!   ([`linear`]), the exact distribution of their DDPM samples ([`sampling`]), per-timestep
//!   losses ([`losses`]), KL divergences, the Wishart expectation and the best isotropic c
//!   ([`divergence`]), and curves over N or tau averaged over seeds ([`curves`]).
//! - Along training time (`eval --along-training`): the gradient-flow prediction of one
//!   run's snapshots ([`overlay`]) and the fit of its clock tau = c * step ([`clock`]).
//! - §2 (Achilli et al., arXiv 2410.08727): critical noise levels of geometric memorisation
//!   ([`critical`]).
//! - §3 (Biroli et al., arXiv 2402.18491): collapse and speciation times ([`collapse`]).
//! - Split agreement of two linear models trained on disjoint splits: to first order in 1/N
//!   ([`split_agreement`]) and in random-matrix theory (Wang, Zavatone-Veth & Pehlevan, arXiv
//!   2602.02908: [`kappa`], [`spectral_contour`], [`split_rmt`]).
//!
//! The linear-Gaussian core (mu0, the eigendecomposition of Sigma0, W_t*) and the float64
//! schedule are the model crate's ([`diffmem_model::linear_gaussian`],
//! [`diffmem_model::Schedule`]), shared with the `linear-exact` denoiser; they are re-exported
//! here.
//!
//! The theory is rotation invariant: a Gaussian truth can be given in its eigenbasis,
//! N(0, diag(spectrum)).

pub mod clock;
pub mod collapse;
pub mod critical;
pub mod curves;
pub mod divergence;
pub mod kappa;
pub mod linear;
pub mod losses;
pub mod overlay;
pub mod sampling;
pub mod spectral_contour;
pub mod split_agreement;
#[cfg(test)]
mod split_mc;
pub mod split_rmt;

pub use curves::{
    CurveConfig, FlowPoint, LinearPoint, PointStats, Summary, Truth, flow_curve, linear_curve,
    parse_grid, parse_n_grid,
};
pub use diffmem_model::linear_gaussian::{Eigen, GaussianMoments};
pub use diffmem_model::{NoiseLevel, Schedule};
pub use linear::LinearDenoiser;
pub use sampling::{SampledGaussian, sampled_distribution};
