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
pub mod linear;
pub mod losses;
pub mod overlay;
pub mod sampling;
pub mod split_agreement;

pub use curves::{
    CurveConfig, FlowPoint, LinearPoint, PointStats, Summary, Truth, flow_curve, linear_curve,
    parse_grid, parse_n_grid,
};
pub use diffmem_model::linear_gaussian::{Eigen, GaussianMoments};
pub use diffmem_model::{NoiseLevel, Schedule};
pub use linear::LinearDenoiser;
pub use sampling::{SampledGaussian, sampled_distribution};
