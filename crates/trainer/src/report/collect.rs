//! The runs of a sweep directory (`SWEEP_DIR/runs/*`): axes, status, config and scalars.

use super::flatten::{flatten, latent_dims};
use crate::run::RunDir;
use crate::run::config::RunConfig;
use crate::run::layout::POINT_CONFIG;
use crate::sweep::{AXES_FILE, RUNS_DIR, STATUS_FILE};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One run of the sweep.
#[derive(Clone, Debug)]
pub struct RunRecord {
    /// Run name (its directory name).
    pub name: String,
    /// `done`, `failed`, `interrupted`, `trained` (no metrics yet), `pending` or `other-run`
    /// (its metrics.json is another run's, and is left out).
    pub status: String,
    /// Why it failed.
    pub message: Option<String>,
    /// Grid position (from axes.json).
    pub index: Option<usize>,
    /// `(axis, value)` pairs.
    pub axes: Vec<(String, String)>,
    /// Plot line.
    pub line: String,
    /// The run's config (config.toml, else the sweep's point.toml).
    pub config: Option<RunConfig>,
    /// Its text.
    pub config_text: String,
    /// metrics.json, if evaluated.
    pub metrics: Option<Value>,
    /// The verdict of the decision table (`crate::verdict`) from metrics.json and the run's
    /// log.jsonl and summary.json; None for a run with neither metrics nor a summary.
    pub verdict: Option<crate::verdict::Decision>,
    /// Every scalar: `metrics.*` flattened, `train.*` from summary.json, `latent_dim.*`.
    pub scalars: BTreeMap<String, f64>,
}

impl RunRecord {
    /// Training-set size N.
    pub fn n(&self) -> Option<usize> {
        self.config.as_ref().map(|c| c.data.n)
    }

    /// A scalar by key.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.scalars.get(key).copied()
    }
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// `metrics.json`: its value, or (when it exists but cannot be read) why not.
fn read_metrics(p: &Path) -> (Option<Value>, Option<String>) {
    let Ok(text) = std::fs::read_to_string(p) else {
        return (None, None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => (Some(v), None),
        Ok(_) => (
            None,
            Some(format!("{} is not a metrics object", p.display())),
        ),
        Err(e) => (
            None,
            Some(format!(
                "{} is unreadable ({e}): run `diffmem eval` on that run again",
                p.display()
            )),
        ),
    }
}

/// Why `metrics` (this run's metrics.json) was not computed from the run in `dir`: its
/// `run_config_sha256` (the SHA-256 of the evaluated run's config.toml) differs from that of
/// `dir/config.toml` (an `eval A --out B`, or the run's config changed since). Files without
/// the field (older releases) are taken as they are.
pub fn from_other_run(dir: &Path, metrics: &Value) -> Option<String> {
    let recorded = metrics["run_config_sha256"].as_str()?;
    let here = crate::run::checksum::sha256_file(&RunDir::at(dir).config()).ok();
    if here.as_deref() == Some(recorded) {
        return None;
    }
    Some(format!(
        "metrics.json was computed from {} (another config.toml: another run's weights, or \
         this run before its config changed): run `diffmem eval {}` again",
        metrics["run"].as_str().unwrap_or("another run"),
        dir.display()
    ))
}

fn record(dir: &Path, name: String) -> Result<RunRecord> {
    let cfg_path = [RunDir::at(dir).config(), dir.join(POINT_CONFIG)]
        .into_iter()
        .find(|p| p.exists());
    let (config, config_text) = match &cfg_path {
        Some(p) => (
            RunConfig::load(p).ok(),
            std::fs::read_to_string(p).unwrap_or_default(),
        ),
        None => (None, String::new()),
    };
    let axes_doc = read_json(&dir.join(AXES_FILE));
    let axes: Vec<(String, String)> = axes_doc
        .as_ref()
        .and_then(|a| serde_json::from_value(a["axes"].clone()).ok())
        .unwrap_or_default();
    let model = config.as_ref().map_or("?", |c| c.model.name());
    let line = axes_doc
        .as_ref()
        .and_then(|a| a["line"].as_str().map(str::to_string))
        .unwrap_or_else(|| model.to_string());
    let (mut metrics, unreadable) = read_metrics(&RunDir::at(dir).metrics());
    let foreign = metrics.as_ref().and_then(|m| from_other_run(dir, m));
    if foreign.is_some() {
        // Another run's numbers at this run's N would move the curves: kept off them.
        metrics = None;
    }
    let mut scalars = BTreeMap::new();
    if let Some(m) = &metrics {
        flatten("", &m["metrics"], &mut scalars);
        latent_dims(&m["metrics"]["spectrum"], &mut scalars);
    }
    let summary = read_json(&RunDir::at(dir).summary());
    if let Some(s) = &summary {
        flatten("train", s, &mut scalars);
    }
    let status_doc = read_json(&dir.join(STATUS_FILE));
    let mut message = status_doc
        .as_ref()
        .and_then(|s| s["message"].as_str().map(str::to_string));
    let status = if unreadable.is_some() {
        // Left out silently, it would shift the curves and the crossing N.
        message = unreadable;
        Some("failed".to_string())
    } else if foreign.is_some() {
        message = foreign;
        Some("other-run".to_string())
    } else {
        status_doc
            .as_ref()
            .and_then(|s| s["status"].as_str().map(str::to_string))
    };
    let verdict = (metrics.is_some() || summary.is_some())
        .then(|| crate::verdict::of_run(dir, metrics.as_ref(), &dir.display().to_string()));
    let status = status.unwrap_or_else(|| {
        match (&metrics, &summary) {
            (Some(_), _) => "done",
            (None, Some(_)) => "trained",
            _ => "pending",
        }
        .to_string()
    });
    Ok(RunRecord {
        name,
        status,
        message,
        index: axes_doc
            .and_then(|a| a["index"].as_u64())
            .map(|i| i as usize),
        axes,
        line,
        config,
        config_text,
        metrics,
        verdict,
        scalars,
    })
}

/// All runs under `SWEEP_DIR/runs/`, in grid order (then by name).
pub fn collect(sweep_dir: &Path) -> Result<Vec<RunRecord>> {
    let runs = sweep_dir.join(RUNS_DIR);
    if !runs.is_dir() {
        bail!(
            "{} is not a sweep directory: {} is missing (run `diffmem sweep SWEEP.toml` first)",
            sweep_dir.display(),
            runs.display()
        );
    }
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(&runs).with_context(|| format!("cannot list {}", runs.display()))?
    {
        let entry = entry?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push(record(&path, name)?);
    }
    out.sort_by(|a, b| (a.index, &a.name).cmp(&(b.index, &b.name)));
    Ok(out)
}
