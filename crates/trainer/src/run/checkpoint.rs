//! Checkpoints: `checkpoints/step-NNNNNNN/{model,ema,optim}.bpk` + `state.json`, written into
//! a temporary directory and renamed into place (atomic), a `latest` pointer file, rotation
//! keeping the newest M, and a `best` copy for early stopping. Each checkpoint carries a
//! `SHA256SUMS` of its files, verified before it is resumed from.

use crate::io::atomic::write_atomic;
use crate::run::checksum;
use crate::run::layout::{LATEST, RunDir, WeightFile, step_dir_name};
use anyhow::{Context, Result, anyhow, bail};
use diffmem_model::Net;
use diffmem_model::burn::module::Module;
use diffmem_model::burn::optim::ModuleOptimizer;
use diffmem_model::burn::store::ModuleRecord;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Loop state saved with each checkpoint. Batches, timesteps and noise are pure functions
/// of (seed, step), so the step is the whole RNG state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// Optimisation steps completed.
    pub step: usize,
    /// Best held-out loss seen so far (early stopping).
    pub best_heldout: Option<f64>,
    /// Step of the best held-out loss.
    pub best_step: Option<usize>,
    /// Logging intervals since the best held-out loss.
    pub bad_intervals: usize,
    /// Whether ema.bpk exists.
    pub has_ema: bool,
    /// Wall-clock seconds of training so far.
    pub elapsed_secs: f64,
}

/// Writes the final loop state to `run_dir/train_state.json`.
pub fn write_state(run_dir: &Path, state: &LoopState) -> Result<()> {
    write_atomic(
        &RunDir::at(run_dir).train_state(),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )
}

/// Writes a checkpoint of `net`, `ema` and `optim` under `ckpt_root`, updates `latest` and
/// removes all but the newest `keep` step directories. Returns the checkpoint directory.
pub fn save(
    ckpt_root: &Path,
    net: &Net,
    ema: Option<&Net>,
    optim: &ModuleOptimizer,
    state: &LoopState,
    keep: usize,
) -> Result<PathBuf> {
    if std::fs::symlink_metadata(ckpt_root).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link: rotating checkpoints through it would delete files at its \
             target; replace it with a real folder and resume",
            ckpt_root.display()
        );
    }
    let name = step_dir_name(state.step);
    let dst = write_dir(ckpt_root, &name, net, ema, Some(optim), state)?;
    write_atomic(&ckpt_root.join(LATEST), name.as_bytes())?;
    rotate(ckpt_root, keep)?;
    Ok(dst)
}

/// Writes `root/name/` atomically (a temporary directory, then a rename): `model.bpk`, `ema.bpk`
/// when there is an EMA, `optim.bpk` when `optim` is given (weight-only snapshots leave it out),
/// `state.json` and `SHA256SUMS`. Returns the directory.
pub fn write_dir(
    root: &Path,
    name: &str,
    net: &Net,
    ema: Option<&Net>,
    optim: Option<&ModuleOptimizer>,
    state: &LoopState,
) -> Result<PathBuf> {
    let tmp = root.join(format!(".{name}.tmp"));
    let dst = root.join(name);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let rec = |e: diffmem_model::burn::store::RecordError, what: &str| {
        anyhow::anyhow!("cannot write {what} checkpoint in {}: {e:?}", tmp.display())
    };
    net.valid()
        .into_record()
        .save(WeightFile::Model.stem_path(&tmp))
        .map_err(|e| rec(e, "model"))?;
    if let Some(e) = ema {
        e.clone()
            .into_record()
            .save(WeightFile::Ema.stem_path(&tmp))
            .map_err(|er| rec(er, "EMA"))?;
    }
    if let Some(o) = optim {
        o.save(WeightFile::Optim.stem_path(&tmp))
            .map_err(|e| rec(e, "optimiser"))?;
    }
    write_atomic(
        &tmp.join("state.json"),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )?;
    checksum::write_sums(&tmp)?;
    if dst.exists() {
        std::fs::remove_dir_all(&dst).ok();
    }
    std::fs::rename(&tmp, &dst)
        .with_context(|| format!("cannot move checkpoint to {}", dst.display()))?;
    Ok(dst)
}

/// Keeps the newest `keep` step directories.
fn rotate(ckpt_root: &Path, keep: usize) -> Result<()> {
    let mut steps = list_steps(ckpt_root)?;
    steps.sort();
    let n = steps.len();
    for (_, dir) in steps.into_iter().take(n.saturating_sub(keep)) {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove old checkpoint {}", dir.display()))?;
    }
    Ok(())
}

/// The `step-NNNNNNN` directories under `ckpt_root` with their steps (unsorted; none when it is missing).
pub fn list_steps(ckpt_root: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let Ok(rd) = std::fs::read_dir(ckpt_root) else {
        return Ok(Vec::new());
    };
    Ok(rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix("step-")
                .and_then(|s| s.parse::<usize>().ok())
                .map(|s| (s, e.path()))
        })
        .collect())
}

/// Copies checkpoint `dir` to `ckpt_root/best` (atomically replaced).
pub fn mark_best(ckpt_root: &Path, dir: &Path) -> Result<()> {
    let tmp = ckpt_root.join(".best.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    std::fs::create_dir_all(&tmp)?;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        std::fs::copy(e.path(), tmp.join(e.file_name()))?;
    }
    let best = ckpt_root.join("best");
    if best.exists() {
        std::fs::remove_dir_all(&best)?;
    }
    std::fs::rename(&tmp, &best)?;
    Ok(())
}

/// Whether checkpoint `dir` is complete and matches its checksums (the error says why not).
pub fn check_intact(dir: &Path) -> Result<()> {
    if !dir.join("state.json").exists() {
        bail!(
            "{} is not a complete checkpoint (no state.json)",
            dir.display()
        );
    }
    checksum::verify(dir)?;
    load_state(dir).map(|_| ())
}

/// The newest intact step checkpoint under `root`, other than `except`.
fn newest_intact(root: &Path, except: Option<&Path>) -> Option<PathBuf> {
    let mut steps = list_steps(root).ok()?;
    steps.sort();
    steps
        .into_iter()
        .rev()
        .map(|(_, d)| d)
        .filter(|d| Some(d.as_path()) != except)
        .find(|d| check_intact(d).is_ok())
}

/// `dir` if intact, else the error "corrupt checkpoint ..., use step-X instead".
fn intact_or_alternative(dir: PathBuf, root: &Path) -> Result<PathBuf> {
    check_intact(&dir).map_err(|e| {
        let instead = newest_intact(root, Some(&dir)).map_or(
            "no other intact checkpoint exists: train again".to_string(),
            |d| format!("use --resume {} instead", d.display()),
        );
        anyhow!("corrupt checkpoint {} ({e:#}); {instead}", dir.display())
    })?;
    Ok(dir)
}

/// Resolves `--resume`: `latest` (with the run's checkpoint root), a run directory, or a
/// checkpoint directory. An explicit checkpoint must be intact; `latest` falls back to the
/// newest intact checkpoint (with a warning) when the newest one is corrupt.
pub fn resolve(arg: &str, run_dir: Option<&Path>) -> Result<PathBuf> {
    let (root, explicit) = if arg == LATEST {
        match run_dir {
            Some(r) => (RunDir::at(r).checkpoints(), None),
            None => {
                bail!("--resume latest needs --out RUN_DIR (or pass the run directory to --resume)")
            }
        }
    } else {
        let p = PathBuf::from(arg);
        if p.join("state.json").exists() {
            (
                p.parent().map(Path::to_path_buf).unwrap_or_default(),
                Some(p),
            )
        } else if RunDir::at(&p).checkpoints().is_dir() {
            (RunDir::at(&p).checkpoints(), None)
        } else if p.join(LATEST).exists() {
            (p, None)
        } else {
            bail!(
                "--resume {arg}: no checkpoint there (expected a run directory, its checkpoints/ folder, or a step-NNNNNNN folder){}",
                crate::run::restart::resume_hint(&p)
            );
        }
    };
    if let Some(p) = explicit {
        return intact_or_alternative(p, &root);
    }
    let latest = root.join(LATEST);
    let Ok(name) = std::fs::read_to_string(&latest) else {
        return newest_intact(&root, None).with_context(|| {
            format!(
                "no checkpoint to resume: {} is missing (has the run written one yet?){}",
                latest.display(),
                root.parent()
                    .map_or(String::new(), crate::run::restart::resume_hint)
            )
        });
    };
    let dir = root.join(name.trim());
    match check_intact(&dir) {
        Ok(()) => Ok(dir),
        Err(e) => match newest_intact(&root, Some(&dir)) {
            Some(other) => {
                eprintln!(
                    "warning: {} points to a corrupt checkpoint ({e:#}); using {}",
                    latest.display(),
                    other.display()
                );
                Ok(other)
            }
            None => bail!(
                "corrupt checkpoint {} ({e:#}) and no other intact checkpoint in {}",
                dir.display(),
                root.display()
            ),
        },
    }
}

/// Reads a checkpoint's loop state.
pub fn load_state(dir: &Path) -> Result<LoopState> {
    let p = dir.join("state.json");
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is corrupt", p.display()))
}

/// Loads weight `file` of checkpoint (or snapshot, or `weights/`) `dir` into `net`.
pub fn load_net(net: Net, dir: &Path, file: WeightFile) -> Result<Net> {
    let record = ModuleRecord::load(file.stem_path(dir))
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e:?}", file.path(dir).display()))?;
    net.try_load_record(record).map_err(|e| {
        anyhow::anyhow!(
            "{} does not match the configured model: {e:?}",
            file.path(dir).display()
        )
    })
}

/// Loads the optimiser state of checkpoint `dir`.
pub fn load_optim(optim: ModuleOptimizer, dir: &Path) -> Result<ModuleOptimizer> {
    optim.load(WeightFile::Optim.stem_path(dir)).map_err(|e| {
        let path = WeightFile::Optim.path(dir);
        anyhow::anyhow!("cannot read {}: {e:?}", path.display())
    })
}
