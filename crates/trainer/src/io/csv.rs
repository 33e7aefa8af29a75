//! Tiny CSV writer (numbers and plain identifiers only, so no quoting is needed).

use crate::io::atomic::write_atomic;
use anyhow::Result;
use std::fmt::Write;
use std::path::Path;

/// Writes `header` and `rows` (already formatted cells) to `path` atomically.
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut s = header.join(",");
    s.push('\n');
    for r in rows {
        let _ = writeln!(s, "{}", r.join(","));
    }
    write_atomic(path, s.as_bytes())
}
