//! `diffmem data export`: the exact training rows of a run (or of the flags a run would be
//! given) as NumPy files, with their labels and original indices, so that every number the
//! binary reports can be checked outside it.
//!
//! Files, for `--out DIR/NAME.npy`:
//! - `NAME.npy`: the rows, float32 `[N, D]` in training order (images flattened C x H x W,
//!   pixels in [-1, 1]);
//! - `NAME_indices.npy`: int64 `[N]`, the original index of each row in its source (the
//!   position in the synthetic sample stream, the line of the CelebA partition file, ...),
//!   equal to the run's `train_indices.txt`;
//! - `NAME_labels.npy`: int64 `[N]`, only for labelled data;
//! - `NAME_heldout.npy`, `NAME_heldout_indices.npy`, `NAME_heldout_labels.npy`: the held-out
//!   rows (the non-members of `eval --metrics mia` and the control of R_mem), in the order
//!   eval uses them: the run's with `--run`, with `--data` those a run with the same flags
//!   and `train --heldout K` holds out (`--heldout`, 0: none);
//! - `NAME.json`: the canonical data spec, subset flags, shape and file names.

use super::{SourceArgs, SubsetFlags};
use crate::io::atomic::write_atomic;
use crate::io::npy::{encode_f32, encode_i64};
use crate::run::config::RunConfig;
use crate::run::data as run_data;
use anyhow::{Context, Result, bail};
use diffmem_data::Dataset;
use std::path::{Path, PathBuf};

/// Arguments of `diffmem data export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// A run directory: export the rows it trains on (its config's data section).
    #[arg(long, conflicts_with_all = ["data", "n", "balanced", "split"])]
    run: Option<PathBuf>,
    /// Data spec (as for `diffmem train --data`).
    #[arg(long, required_unless_present = "run")]
    data: Option<String>,
    /// The subset flags of `diffmem train`.
    #[command(flatten)]
    subset: SubsetFlags,
    /// With --data: the held-out rows to write beside the training rows, drawn as `train
    /// --heldout K` draws them (0: none).
    #[arg(long, default_value_t = RunConfig::default().data.heldout, conflicts_with = "run")]
    heldout: usize,
    /// Output `.npy` file of the rows (default with --run: RUN/train_rows.npy).
    #[arg(long, required_unless_present = "run")]
    out: Option<PathBuf>,
    /// Print what was written as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `diffmem data export`.
pub fn run(a: &ExportArgs) -> Result<()> {
    let (ds, heldout, meta) = match (&a.run, &a.data) {
        (Some(dir), _) => {
            let cfg_path = crate::run::RunDir::at(dir).config();
            if !cfg_path.exists() {
                bail!(
                    "--run {}: not a run directory ({} is missing)",
                    dir.display(),
                    cfg_path.display()
                );
            }
            let cfg = RunConfig::load(&cfg_path)?;
            let (train, heldout) = run_data::load(&cfg.data)?;
            let meta = serde_json::json!({
                "run": dir.display().to_string(),
                "data": cfg.data.spec.to_string(),
                "n": cfg.data.n,
                "seed": cfg.data.seed,
                "balanced": cfg.data.balanced,
                "split": cfg.data.split.map(|h| h.to_string()),
            });
            (train, Some(heldout).filter(|h| !h.is_empty()), meta)
        }
        (None, Some(data)) => {
            let source = SourceArgs {
                data: data.clone(),
                subset: a.subset.clone(),
            };
            let (spec, ds, heldout) = source.load_with_heldout(a.heldout)?;
            let meta = serde_json::json!({
                "run": null,
                "data": spec.to_string(),
                "n": ds.len(),
                "seed": a.subset.seed,
                "balanced": a.subset.balanced,
                "split": a.subset.split,
                "heldout": heldout.as_ref().map_or(0, Dataset::len),
            });
            (ds, heldout, meta)
        }
        (None, None) => bail!("give --data SPEC (with --n, --seed, --split) or --run RUN"),
    };
    let out = match (&a.out, &a.run) {
        (Some(o), _) => o.clone(),
        (None, Some(dir)) => dir.join("train_rows.npy"),
        (None, None) => bail!("--out FILE.npy is needed with --data"),
    };
    let files = write(&out, &ds, heldout.as_ref(), meta.clone())?;
    if a.json {
        let v = serde_json::json!({
            "rows": ds.len(),
            "dim": ds.dim(),
            "source": ds.provenance.source.to_string(),
            "files": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "subset": meta,
        });
        crate::io::print_json(&v);
        return Ok(());
    }
    println!(
        "{} rows of dimension {} ({}) -> {}",
        ds.len(),
        ds.dim(),
        ds.provenance.source,
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// `out` with its `.npy` stem extended by `suffix` and the extension `ext`.
fn sibling(out: &Path, suffix: &str, ext: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rows".into());
    out.with_file_name(format!("{stem}{suffix}.{ext}"))
}

/// Writes `ds`'s rows to `out`, with `out_indices.npy` and (for labelled data)
/// `out_labels.npy`; pushes the paths onto `files` and returns (indices, labels) paths.
fn write_rows(
    out: &Path,
    ds: &Dataset,
    files: &mut Vec<PathBuf>,
) -> Result<(PathBuf, Option<PathBuf>)> {
    let n = ds.len();
    let to_i64 = |v: &[usize]| v.iter().map(|&i| i as i64).collect::<Vec<_>>();
    write_atomic(out, &encode_f32(&ds.samples, &[n, ds.dim()]))
        .with_context(|| format!("--out {}", out.display()))?;
    files.push(out.to_path_buf());
    let idx = sibling(out, "_indices", "npy");
    write_atomic(&idx, &encode_i64(&to_i64(&ds.provenance.indices), &[n]))?;
    files.push(idx.clone());
    let labels = match &ds.labels {
        Some(l) => {
            let p = sibling(out, "_labels", "npy");
            let v: Vec<i64> = l.iter().map(|&x| i64::from(x)).collect();
            write_atomic(&p, &encode_i64(&v, &[n]))?;
            files.push(p.clone());
            Some(p)
        }
        None => None,
    };
    Ok((idx, labels))
}

/// Writes the rows, indices, labels, the held-out rows when given, and the description;
/// returns the paths.
fn write(
    out: &Path,
    ds: &Dataset,
    heldout: Option<&Dataset>,
    mut meta: serde_json::Value,
) -> Result<Vec<PathBuf>> {
    if out.extension().and_then(|e| e.to_str()) != Some("npy") {
        bail!("--out {}: give a file name ending in .npy", out.display());
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("--out {}: cannot create its folder", out.display()))?;
    }
    let mut files = Vec::new();
    let (idx, labels) = write_rows(out, ds, &mut files)?;
    let name = |p: &Path| p.file_name().map(|f| f.to_string_lossy().into_owned());
    meta["rows"] = name(out).into();
    meta["indices"] = name(&idx).into();
    meta["labels"] = labels.as_deref().and_then(name).into();
    meta["heldout"] = serde_json::Value::Null;
    if let Some(h) = heldout {
        let h_out = sibling(out, "_heldout", "npy");
        let (h_idx, h_labels) = write_rows(&h_out, h, &mut files)?;
        meta["heldout"] = serde_json::json!({
            "rows": name(&h_out), "indices": name(&h_idx),
            "labels": h_labels.as_deref().and_then(name), "rows_shape": [h.len(), h.dim()],
        });
    }
    meta["source"] = ds.provenance.source.clone().into();
    meta["shape"] = serde_json::to_value(ds.shape)?;
    meta["rows_shape"] = serde_json::json!([ds.len(), ds.dim()]);
    let json = sibling(out, "", "json");
    write_atomic(&json, serde_json::to_string_pretty(&meta)?.as_bytes())?;
    files.push(json);
    Ok(files)
}
