//! Reading whole files, transparently gunzipping `.gz` ones, with errors that name the file.

use crate::error::DataError;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The content of a file, plus the decompression error if a gzip stream broke off early
/// (the bytes decoded before the error are kept, so callers can report a truncation with
/// the sizes involved).
pub struct Content {
    /// The (decompressed) bytes.
    pub bytes: Vec<u8>,
    /// Set when a gzip stream ended early or was corrupt.
    pub gz_error: Option<std::io::Error>,
}

/// Reads `path` completely.
pub fn read_all(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

/// True if the bytes start with the gzip magic 1f 8b.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip `raw` (or returns it unchanged when it is not gzip).
pub fn maybe_gunzip(raw: Vec<u8>) -> Content {
    if !is_gzip(&raw) {
        return Content {
            bytes: raw,
            gz_error: None,
        };
    }
    let mut bytes = Vec::new();
    let gz_error = GzDecoder::new(raw.as_slice()).read_to_end(&mut bytes).err();
    Content { bytes, gz_error }
}

/// Reads `path` and gunzips it when it is gzip (detected by content, not by name).
pub fn read_maybe_gz(path: &Path) -> Result<Content, DataError> {
    Ok(maybe_gunzip(read_all(path)?))
}

/// The first of `candidates` (file names) that exists in `dir`.
pub fn find_first(dir: &Path, candidates: &[String]) -> Option<PathBuf> {
    candidates.iter().map(|c| dir.join(c)).find(|p| p.is_file())
}

/// Checks that `dir` is a readable directory, naming it in the error otherwise.
pub fn require_dir(dir: &Path) -> Result<(), DataError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(DataError::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        )),
        Err(e) => Err(DataError::io(dir, e)),
    }
}
