//! A new run directory: its default name, the refusal to overwrite a run or to write into a
//! folder of the user's, and the files written before training (`config.toml`,
//! `train_indices.txt`). Also the rules of every other `--out`: what counts as diffmem's own.

use crate::io::atomic::write_atomic;
use crate::run::RunDir;
use crate::run::config::RunConfig;
use anyhow::{Context, Result, bail};
use diffmem_data::Dataset;
use std::path::{Path, PathBuf};

/// `--out`, which must be a new or empty directory (or a sweep's grid point), or
/// `runs/MODEL-DATA-nN[-SPLIT]-sSEED` with a numeric suffix if that directory is taken.
pub fn new_run_dir(cfg: &RunConfig, out: Option<&Path>) -> Result<PathBuf> {
    if let Some(o) = out {
        check_train_out(o)?;
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
    while RunDir::at(&p).holds_run() || !is_new_or_empty(&p) {
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
    let run = RunDir::at(run_dir);
    write_atomic(&run.config(), cfg.to_toml()?.as_bytes())?;
    if !resuming {
        write_atomic(
            &run.train_indices(),
            crate::run::data::indices_text(train).as_bytes(),
        )?;
    }
    Ok(())
}

/// Removes `run_dir` if no run started in it (no `config.toml`): what a failed start left there
/// (its lock, a partial fork) is of no use. Best effort; a run that started is never touched.
pub fn remove_unstarted(run_dir: &Path) {
    if !RunDir::at(run_dir).holds_run() {
        let _ = std::fs::remove_dir_all(run_dir);
    }
}

/// The names in `dir` other than its lock file, sorted (none when it is missing).
pub fn entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != crate::run::lock::LOCK_FILE)
        .collect();
    names.sort();
    names
}

/// Whether `dir` is missing, or an empty directory (a lock file left by a failed start aside).
pub fn is_new_or_empty(dir: &Path) -> bool {
    !dir.exists() || (dir.is_dir() && entries(dir).is_empty())
}

/// Up to five of `names`, and how many more.
pub fn some_names(names: &[String]) -> String {
    let mut s = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    s
}

/// Whether two paths name the same directory.
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// `train --out DIR` for a new run: DIR must be new or empty, or a sweep's grid point (which
/// holds the sweep's `point.toml`); a run is continued with `--resume`, and a folder of the
/// user's (`--out .` included) is refused, so that none of its files is replaced.
pub fn check_train_out(o: &Path) -> Result<()> {
    if o.exists() && !o.is_dir() {
        bail!(
            "--out {}: a file, not a directory; choose a new directory",
            o.display()
        );
    }
    if RunDir::at(o).holds_run() {
        bail!("{}", crate::run::restart::already_holds(o));
    }
    if is_new_or_empty(o) || o.join(crate::run::layout::POINT_CONFIG).exists() {
        return Ok(());
    }
    bail!(
        "--out {} holds files that are not a run ({}): diffmem trains only into a new or empty \
         directory, so that none of your files is replaced; choose a new --out, e.g. {}",
        o.display(),
        some_names(&entries(o)),
        o.join("run").display()
    )
}

/// Refuses a symbolic link directly inside `dir` (a `checkpoints`, `weights` or `.lock` link):
/// diffmem's writes, rotations and removals stay inside its own directories, and through a
/// link they would reach the files at its target.
pub fn refuse_symlinks(dir: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.filter_map(|e| e.ok()) {
        if e.file_type().is_ok_and(|t| t.is_symlink()) {
            let target = std::fs::read_link(e.path())
                .map_or_else(|_| "?".to_string(), |t| t.display().to_string());
            bail!(
                "{} is a symbolic link (to {target}): diffmem writes, rotates and removes files \
                 only inside its own directories and would change the files at the link's \
                 target; replace the link with a real folder (or move the run)",
                e.path().display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("diffmem-dir-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn new_empty_and_sweep_point_folders_are_ours_and_a_users_folder_is_not() {
        let d = scratch("out");
        assert!(check_train_out(&d.join("missing")).is_ok());
        assert!(check_train_out(&d).is_ok());
        std::fs::write(d.join(crate::run::lock::LOCK_FILE), "1").unwrap();
        assert!(
            check_train_out(&d).is_ok(),
            "a lock file alone is a failed start"
        );
        std::fs::write(d.join("notes.txt"), "mine").unwrap();
        let err = format!("{:#}", check_train_out(&d).unwrap_err());
        assert!(
            err.contains("notes.txt") && err.contains("not a run"),
            "{err}"
        );
        std::fs::write(d.join(crate::run::layout::POINT_CONFIG), "").unwrap();
        assert!(check_train_out(&d).is_ok());
        std::fs::write(crate::run::RunDir::at(&d).config(), "").unwrap();
        let err = format!("{:#}", check_train_out(&d).unwrap_err());
        assert!(err.contains("already holds a run"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_symlink_inside_is_refused_naming_its_target() {
        let d = scratch("links");
        assert!(refuse_symlinks(&d).is_ok());
        std::os::unix::fs::symlink("/tmp", crate::run::RunDir::at(&d).checkpoints()).unwrap();
        let err = format!("{:#}", refuse_symlinks(&d).unwrap_err());
        assert!(err.contains("checkpoints") && err.contains("/tmp"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
