//! Errors of the model crate.

/// Everything that can go wrong while building or running a denoiser.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration that cannot work (bad bin count, unsupported image size...).
    #[error("invalid model configuration: {0}")]
    Config(String),
    /// The parameters (plus gradients and optimiser state) would not fit in memory.
    #[error(
        "the `linear` model with {bins} bin(s) at D = {dim} needs {need_gb:.1} GB for parameters, \
         gradients and Adam state, but only {avail_gb:.1} GB are available; \
         use --bins {suggest} (or fewer) to fit"
    )]
    TooLarge {
        /// Requested number of timestep bins.
        bins: usize,
        /// Data dimension D.
        dim: usize,
        /// Estimated memory need in GB.
        need_gb: f64,
        /// Memory available in GB.
        avail_gb: f64,
        /// A bin count that fits.
        suggest: usize,
    },
    /// No device of the requested kind could be opened.
    #[error("device: {0}")]
    Device(String),
    /// An input that cannot give a meaningful result (empty sample set, wrong dimension...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A linear-algebra step of an exact denoiser failed.
    #[error("linear algebra: {0}")]
    Linalg(String),
    /// Loading or saving a record failed.
    #[error("{path}: {msg}")]
    Record {
        /// The record file.
        path: String,
        /// What went wrong.
        msg: String,
    },
}

/// Result alias of the model crate.
pub type Result<T> = std::result::Result<T, ModelError>;
