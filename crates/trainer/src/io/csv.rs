//! CSV files: cells quoted where needed, numbers at full precision, atomic writes.

use crate::io::atomic::write_atomic;
use anyhow::Result;
use std::fmt::Write;
use std::path::Path;

/// A CSV cell: quoted (with doubled quotes) when it holds a comma, quote or line break.
pub fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A number as a CSV cell (`inf`, empty for NaN).
pub fn number(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        x.to_string()
    }
}

/// Writes `header` and `rows` (already formatted cells) to `path` atomically.
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut s = header.join(",");
    s.push('\n');
    for r in rows {
        let _ = writeln!(s, "{}", r.join(","));
    }
    write_atomic(path, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_when_needed() {
        assert_eq!(cell("mlp"), "mlp");
        assert_eq!(cell("gaussian:d=4,x"), "\"gaussian:d=4,x\"");
        assert_eq!(cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(number(f64::INFINITY), "inf");
        assert_eq!(number(f64::NAN), "");
    }
}
