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

/// Writes `path` atomically: `write` fills a temporary sibling (same directory, same
/// extension, so writers that pick a format from the extension still work), which is then
/// renamed over `path`; the temporary file is removed if anything fails. The directory must
/// exist (callers that want it created create it first). The one atomic write
/// of the workspace: grids, plots, CSVs and every trainer file go through it.
pub fn write_atomic_with<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), AtomicError<E>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let ext = path
        .extension()
        .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp{ext}", std::process::id()));
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(AtomicError::Write(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        AtomicError::Io(path.to_path_buf(), e)
    })
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), AtomicError<std::io::Error>> {
    write_atomic_with(path, |tmp| std::fs::write(tmp, bytes))
}

/// Why an atomic write failed.
#[derive(Debug)]
pub enum AtomicError<E> {
    /// The writer failed on the temporary file.
    Write(E),
    /// Creating the directory or renaming into place failed (the path named).
    Io(PathBuf, std::io::Error),
}

impl<E: std::fmt::Display> std::fmt::Display for AtomicError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtomicError::Write(e) => write!(f, "{e}"),
            AtomicError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for AtomicError<E> {}

#[cfg(test)]
mod atomic_tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("diffmem-atomic-{}", std::process::id()));
        let path = dir.join("sub/a.csv");
        assert!(
            write_bytes_atomic(&path, b"one").is_err(),
            "no directory, no file"
        );
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        write_bytes_atomic(&path, b"one").unwrap();
        write_bytes_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let failed = write_atomic_with(&path, |tmp| {
            assert!(tmp.to_string_lossy().ends_with(".csv"));
            std::fs::write(tmp, b"half")?;
            Err(std::io::Error::other("writer failed"))
        });
        assert!(matches!(failed, Err(AtomicError::Write(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let left = std::fs::read_dir(dir.join("sub")).unwrap().count();
        assert_eq!(left, 1, "temporary files left behind");
        std::fs::remove_dir_all(&dir).ok();
    }
}
