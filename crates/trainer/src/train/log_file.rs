//! `log.jsonl` made consistent with the checkpoint a run starts from, before the loop appends
//! to it: every record after the checkpoint's step is cut (the resumed loop logs those steps
//! again), and a torn last line (a kill or a full disk in the middle of a write) is removed,
//! so that it cannot swallow the next record. A resumed log then has each step once.

use crate::io::atomic::write_atomic;
use anyhow::{Context, Result};
use std::path::Path;

/// The complete records of `text` whose step is at most `step`: lines that end in a newline
/// and parse as a JSON object with a numeric `step`; others are dropped. Returns the kept text
/// and the number of lines dropped.
pub fn records_up_to(text: &str, step: usize) -> (String, usize) {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let torn = usize::from(complete.len() < text.len());
    let mut kept = String::with_capacity(complete.len());
    let mut dropped = torn;
    for line in complete.lines() {
        let at = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64));
        match at {
            Some(s) if s <= step as u64 => {
                kept.push_str(line);
                kept.push('\n');
            }
            _ => dropped += 1,
        }
    }
    (kept, dropped)
}

/// Cuts `path` back to the records of steps up to `step` (see the module doc), rewriting it
/// atomically only when something is cut. A missing file is fine.
pub fn cut_to(path: &Path, step: usize) -> Result<()> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&bytes);
    let (kept, dropped) = records_up_to(&text, step);
    if dropped > 0 {
        write_atomic(path, kept.as_bytes())
            .with_context(|| format!("cannot cut {} back to step {step}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_steps_and_a_torn_line_are_cut() {
        let text = "{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":2}\n{\"step\":30,\"loss\":3}\n{\"step\":40,\"lo";
        let (kept, dropped) = records_up_to(text, 20);
        assert_eq!(kept, "{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":2}\n");
        assert_eq!(dropped, 2);
        // A torn line in the middle (a record appended after it) is dropped too.
        let glued = "{\"step\":10}\n{\"step\":2{\"step\":20}\n";
        assert_eq!(records_up_to(glued, 30), ("{\"step\":10}\n".to_string(), 1));
        assert_eq!(records_up_to("", 5), (String::new(), 0));
        // Step 0 (a fresh start) keeps nothing logged.
        assert_eq!(records_up_to("{\"step\":10}\n", 0).0, "");
    }

    #[test]
    fn the_file_is_rewritten_only_when_needed() {
        let dir = std::env::temp_dir().join(format!("diffmem-logcut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = crate::run::RunDir::at(&dir).log();
        std::fs::write(&p, "{\"step\":10}\n{\"step\":20}\n{\"st").unwrap();
        cut_to(&p, 10).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"step\":10}\n");
        cut_to(&dir.join("missing.jsonl"), 10).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
