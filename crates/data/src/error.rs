//! Typed errors of the data crate: every variant names the file (or spec, or flag) and the
//! problem, and [`DataError::hint`] says what to do about it in one line.

use std::path::PathBuf;

/// Everything that can go wrong while parsing a data spec, reading a dataset or drawing a
/// subset. No loader panics on a bad input file: it returns one of these.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused to open or read `path`.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The file ends before the data its header announces.
    #[error("{} is truncated: expected {expected} bytes, got {got}", path.display())]
    Truncated {
        /// The file (for gzip files: the decompressed content is meant).
        path: PathBuf,
        /// Bytes the header (or the record size) requires.
        expected: u64,
        /// Bytes actually present.
        got: u64,
    },

    /// The file starts with the wrong magic number, i.e. it is not the kind of file expected.
    #[error(
        "{} has the wrong magic number 0x{found:08x} (expected 0x{expected:08x}: {what})",
        path.display()
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number the format requires.
        expected: u32,
        /// The magic number found.
        found: u32,
        /// What kind of file was expected, e.g. "IDX images (ubyte, 3 dims)".
        what: String,
    },

    /// An image file and its label file disagree on the number of samples.
    #[error(
        "{} holds {n_images} images but {} holds {n_labels} labels",
        images.display(),
        labels.display()
    )]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// The label file.
        labels: PathBuf,
        /// Number of images.
        n_images: usize,
        /// Number of labels.
        n_labels: usize,
    },

    /// A directory (or archive) lacks the files a dataset needs.
    #[error("{} does not contain the {dataset} files: expected {expected}", dir.display())]
    MissingFiles {
        /// The directory or archive searched.
        dir: PathBuf,
        /// Which dataset was being read (`mnist`, `cifar10`, `celeba`, `folder`, ...).
        dataset: String,
        /// Human-readable list of the expected names.
        expected: String,
    },

    /// A file that should be a PNG/JPEG image cannot be decoded.
    #[error("{} is not a readable image: {reason}", path.display())]
    NotAnImage {
        /// The file.
        path: PathBuf,
        /// Why decoding failed.
        reason: String,
    },

    /// A file has a valid header but inconsistent content (bad label, bad dimension, ...).
    #[error("{}: {msg}", path.display())]
    BadFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },

    /// More samples were requested than the source holds.
    #[error("{dataset}: {what} needs {requested} samples but only {available} are available")]
    TooLarge {
        /// The source (canonical data spec and split).
        dataset: String,
        /// What the samples were requested for, e.g. "training subset N=3000 (halves A and B)".
        what: String,
        /// Samples needed.
        requested: usize,
        /// Samples available.
        available: usize,
    },

    /// A size (N, held-out size, image size, dimension) is zero or negative.
    #[error("{what} must be a positive integer, got {value}")]
    BadSize {
        /// Which size, e.g. "--n" or "size".
        what: String,
        /// The value given.
        value: i64,
    },

    /// A data spec string does not follow the grammar.
    #[error("bad data spec `{spec}`: {msg}")]
    BadSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong.
        msg: String,
    },

    /// Samples cannot be drawn as an image grid (wrong length or shape).
    #[error("cannot draw a grid: {msg}")]
    BadGrid {
        /// What is wrong.
        msg: String,
    },
}

impl DataError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DataError {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    /// The message followed, when there is a hint, by a last line `hint: ...` (what the CLI
    /// prints).
    pub fn report(&self) -> String {
        match self.hint() {
            Some(h) => format!("{self}\nhint: {h}"),
            None => self.to_string(),
        }
    }

    /// A one-line suggestion of what to do about the error, when there is one.
    pub fn hint(&self) -> Option<String> {
        const DAMAGED: &str = "the file looks damaged or incomplete: download it again with \
             scripts/download_datasets.sh (it verifies checksums)";
        match self {
            DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Some(
                "check the path; datasets/README.md lists the expected layout of every \
                     dataset (or use the bundled mnist-5k)"
                    .into(),
            ),
            DataError::Io { .. } => Some("check that the file exists and is readable".into()),
            DataError::Truncated { .. }
            | DataError::BadMagic { .. }
            | DataError::CountMismatch { .. }
            | DataError::BadFormat { .. } => Some(DAMAGED.into()),
            DataError::MissingFiles { dataset, .. } => Some(match dataset.as_str() {
                "folder" => "put .png/.jpg/.jpeg files (or one sub-folder of them per class) in \
                     the folder; see datasets/README.md"
                    .into(),
                d => format!(
                    "run scripts/download_datasets.sh {d} (see datasets/README.md for the layout)"
                ),
            }),
            DataError::NotAnImage { .. } => Some(
                "remove or replace the file: image datasets read every .png/.jpg/.jpeg file".into(),
            ),
            DataError::TooLarge { available, .. } => Some(format!(
                "ask for fewer samples (--n / held-out size); the source has {available}"
            )),
            DataError::BadSize { what, .. } => Some(format!("give {what} a value of at least 1")),
            DataError::BadSpec { .. } => Some(
                "data specs: mnist-5k, mnist:PATH, fashion-mnist:PATH, cifar10:PATH, \
                 celeba:PATH[,size=64,crop=140,grey=false], folder:PATH[,...], \
                 gaussian:d=100,spectrum=power:1, manifold:paper, mixture:d=8 \
                 (see datasets/README.md)"
                    .into(),
            ),
            DataError::BadGrid { .. } => None,
        }
    }
}

/// Checks a user-given size (e.g. `--n`) and converts it to `usize`: zero and negative
/// values give [`DataError::BadSize`] naming `what`.
pub fn check_size(what: &str, value: i64) -> Result<usize, DataError> {
    if value <= 0 {
        return Err(DataError::BadSize {
            what: what.into(),
            value,
        });
    }
    usize::try_from(value).map_err(|_| DataError::BadSize {
        what: what.into(),
        value,
    })
}
