//! The end of a command: `summary.json` in the run directory and a short summary on stdout
//! (or the JSON itself with `--json`).

use crate::io::atomic::write_atomic;
use anyhow::Result;
use serde_json::Value;
use std::path::Path;

/// Keys printed by the plain summary, in order.
const KEYS: [&str; 13] = [
    "model",
    "trained",
    "steps",
    "finish",
    "final_train_loss",
    "train_fixed_loss",
    "heldout_loss",
    "gap_objective",
    "loss_units",
    "gap_eps",
    "normalised_gap",
    "train_seconds",
    "sample_seconds",
];

/// Writes `summary` to `path` (a run's `summary.json`) and prints it.
pub fn finish(path: &Path, summary: &Value, json: bool) -> Result<()> {
    write_atomic(path, serde_json::to_string_pretty(summary)?.as_bytes())?;
    if json {
        crate::io::print_json(summary);
        return Ok(());
    }
    let text = |k: &str| summary[k].as_str().unwrap_or("").to_string();
    println!("done: {}", text("run"));
    for key in KEYS {
        if let Some(v) = summary.get(key) {
            println!("  {key:<18} {}", crate::io::show::show(v));
        }
    }
    println!("  samples            {}", text("samples"));
    println!("  files              config, log.jsonl, loss.png, checkpoints/, weights/");
    for key in ["verdict", "next"] {
        if let Some(v) = summary.get(key).and_then(Value::as_str) {
            println!("{key}: {}", v.strip_prefix("next: ").unwrap_or(v));
        }
    }
    Ok(())
}
