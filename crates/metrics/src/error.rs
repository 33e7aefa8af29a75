//! Errors of the metrics crate.

use std::path::PathBuf;

/// Everything that can go wrong while computing or writing metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// An input that cannot give a meaningful result (empty set, wrong dimension, bad grid...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A linear-algebra step failed (non-positive-definite covariance, failed decomposition).
    #[error("linear algebra: {0}")]
    Linalg(String),
    /// Writing a plot failed.
    #[error("plot {path}: {msg}")]
    Plot {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model-crate computation failed (the linear-Gaussian core, a schedule).
    #[error(transparent)]
    Model(#[from] diffmem_model::ModelError),
    /// A computation on a burn device failed, or its result could not be read back.
    #[error("device: {0}")]
    Device(String),
}

/// Result alias of the metrics crate.
pub type Result<T> = std::result::Result<T, MetricsError>;
