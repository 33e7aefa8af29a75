//! Files and the terminal: atomic writes, CSV, `.npy`, progress bars.

pub mod atomic;
pub mod csv;
pub mod npy;
pub mod progress;
pub mod range;
pub mod show;
pub mod summary;

/// Prints a JSON document on stdout, pretty (every `--json` output; a closed pipe ends the
/// program quietly).
pub fn print_json(v: &serde_json::Value) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
