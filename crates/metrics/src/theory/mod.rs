//! The exact theory of linear diffusion, in float64 (THEORY.md).
//!
//! - §1 (Merger & Goldt, arXiv 2505.24769): the optimal and gradient-flow linear denoisers
//!   ([`linear`]), the exact distribution of their DDPM samples ([`sampling`]), per-timestep
//!   losses ([`losses`]), KL divergences, the Wishart expectation and the best isotropic c
//!   ([`divergence`]), and curves over N or tau averaged over seeds ([`curves`]).
//! - §2 (Achilli et al., arXiv 2410.08727): critical noise levels of geometric memorisation
//!   ([`critical`]).
//! - §3 (Biroli et al., arXiv 2402.18491): collapse and speciation times ([`collapse`]).
//!
//! The theory is rotation invariant: a Gaussian truth can be given in its eigenbasis,
//! N(0, diag(spectrum)).

pub mod collapse;
pub mod critical;
pub mod curves;
pub mod divergence;
pub mod eigen;
pub mod linear;
pub mod losses;
pub mod sampling;
pub mod schedule;

pub use curves::{
    CurveConfig, FlowPoint, LinearPoint, PointStats, Summary, Truth, flow_curve, linear_curve,
    parse_grid, parse_n_grid,
};
pub use eigen::{Eigen, TrainingSet};
pub use linear::LinearDenoiser;
pub use sampling::{SampledGaussian, sampled_distribution};
pub use schedule::LinearSchedule;
