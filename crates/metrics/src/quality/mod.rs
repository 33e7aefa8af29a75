//! Sample quality without downloaded networks: the Frechet Wavelet Distance ([`fwd`], on Haar
//! wavelet packets, [`haar`]) and the Kernel Inception Distance's unbiased MMD estimator on the
//! samples' own coordinates ([`kid`]), both built on float64 linear algebra (faer).

pub mod frechet;
pub mod fwd;
pub mod haar;
pub mod kid;
