//! A new run directory: its default name, the refusal to overwrite a run, and the files
//! written before training (`config.toml`, `train_indices.txt`).

use crate::io::atomic::write_atomic;
use crate::run::config::RunConfig;
use anyhow::{Context, Result, bail};
use diffmem_data::Dataset;
use std::path::{Path, PathBuf};

/// `--out`, which must not hold a run yet, or `runs/MODEL-DATA-nN[-SPLIT]-sSEED` with a
/// numeric suffix if that directory holds a run.
pub fn new_run_dir(cfg: &RunConfig, out: Option<&Path>) -> Result<PathBuf> {
    if let Some(o) = out {
        if o.join("config.toml").exists() {
            bail!("{}", crate::run::restart::already_holds(o));
        }
        return Ok(o.to_path_buf());
    }
    let spec = cfg.data.spec.to_string();
    let data: String = spec
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || c == '-' || c == '.' => c,
            _ => '_',
        })
        .take(40)
        .collect();
    let split = cfg.data.split.map_or(String::new(), |s| format!("-{s}"));
    let base = format!(
        "runs/{}-{data}-n{}{split}-s{}",
        cfg.model.name(),
        cfg.data.n,
        cfg.data.seed
    );
    let mut p = PathBuf::from(&base);
    let mut k = 2;
    while p.join("config.toml").exists() {
        p = PathBuf::from(format!("{base}-{k}"));
        k += 1;
    }
    Ok(p)
}

/// Creates the run directory and writes the resolved config (and, for a new run, the
/// original index of each training row, one per line).
pub fn prepare(run_dir: &Path, cfg: &RunConfig, train: &Dataset, resuming: bool) -> Result<()> {
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    write_atomic(&run_dir.join("config.toml"), cfg.to_toml()?.as_bytes())?;
    if !resuming {
        write_atomic(
            &run_dir.join("train_indices.txt"),
            crate::run::data::indices_text(train).as_bytes(),
        )?;
    }
    Ok(())
}

/// Removes `run_dir` if no run started in it (no `config.toml`): what a failed start left there
/// (its lock, a partial fork) is of no use. Best effort; a run that started is never touched.
pub fn remove_unstarted(run_dir: &Path) {
    if !run_dir.join("config.toml").exists() {
        let _ = std::fs::remove_dir_all(run_dir);
    }
}
