//! Atomic file writes for the trainer: the workspace's one atomic write
//! (`diffmem_data::files::write_atomic_with`: a temporary sibling, then rename), with anyhow
//! errors.

use anyhow::{Context, Result};
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file in the same directory + rename), creating
/// the directory if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    diffmem_data::files::write_bytes_atomic(path, bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
