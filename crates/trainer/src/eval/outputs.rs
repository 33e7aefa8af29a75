//! What an `eval` output folder holds: only the files of its latest evaluation. Each eval
//! records the files it wrote in `metrics.json` (`files`; an `--along-training` eval in
//! `metrics.dynamics.files`); the next eval into the folder removes the recorded files that it
//! did not write again (a `nn_grid.png` left by an earlier `--metrics mem`, say), and nothing
//! else: the run's own files and anything a person put there are never touched. The rules of
//! `--out`: the run itself, a new or empty folder, or one holding an earlier eval of this run.

use crate::run::RunDir;
use crate::run::dir::{entries, is_new_or_empty, same_dir, some_names};
use anyhow::{Result, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Checks `eval RUN --out OUT`: another run (whose metrics.json `report` would read as its own)
/// or a folder of the user's is refused.
pub fn check_out(run: &Path, out: &Path) -> Result<()> {
    if same_dir(run, out) || is_new_or_empty(out) {
        return Ok(());
    }
    if RunDir::at(out).holds_run() {
        bail!(
            "--out {} is another run: its metrics.json and figures belong to it (diffmem report \
             would show {}'s numbers as its own). Evaluate into {} (drop --out) or into a new \
             or empty folder",
            out.display(),
            run.display(),
            run.display()
        );
    }
    let earlier = read_doc(out).is_some_and(|d| {
        d["run"]
            .as_str()
            .is_some_and(|r| same_dir(Path::new(r), run))
    });
    if !earlier {
        bail!(
            "--out {} holds files that are not an evaluation of {} ({}): choose a new or \
             empty folder, so that none of them is replaced",
            out.display(),
            run.display(),
            some_names(&entries(out))
        );
    }
    Ok(())
}

/// `OUT/metrics.json`, if it is one.
fn read_doc(out: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(RunDir::at(out).metrics()).ok()?).ok()
}

/// The files directly in a folder with what identifies their content (inode, mtime, size):
/// taken before an eval, compared after it.
pub struct Snapshot(BTreeMap<String, (u64, i64, i64, u64)>);

impl Snapshot {
    /// The regular files directly in `dir` now.
    pub fn take(dir: &Path) -> Self {
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_file() {
                let id = (m.ino(), m.mtime(), m.mtime_nsec(), m.size());
                files.insert(e.file_name().to_string_lossy().into_owned(), id);
            }
        }
        Self(files)
    }

    /// The regular files in `dir` created or rewritten since this snapshot, sorted.
    pub fn written_since(&self, dir: &Path) -> Vec<String> {
        let now = Snapshot::take(dir);
        now.0
            .into_iter()
            .filter(|(name, id)| self.0.get(name) != Some(id))
            .map(|(name, _)| name)
            .collect()
    }
}

/// The file names recorded at `pointer` (e.g. `/files`) of `OUT/metrics.json`.
pub fn recorded(out: &Path, pointer: &str) -> Vec<String> {
    let names = read_doc(out).and_then(|d| d.pointer(pointer).cloned());
    names
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default()
}

/// Removes from `out` the `previous` files that are not in `keep` (plain names only, regular
/// files only: a recorded name never reaches outside `out`). Returns the names removed.
pub fn remove_stale(out: &Path, previous: &[String], keep: &[String]) -> Vec<String> {
    let mut removed = Vec::new();
    for name in previous {
        let plain = Path::new(name)
            .file_name()
            .is_some_and(|f| f == name.as_str());
        if !plain || keep.contains(name) {
            continue;
        }
        let p = out.join(name);
        let is_file = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file());
        if is_file && std::fs::remove_file(&p).is_ok() {
            removed.push(name.clone());
        }
    }
    removed
}

/// Says which files of an earlier evaluation were removed (stderr), if any.
pub fn report_removed(out: &Path, removed: &[String]) {
    if !removed.is_empty() {
        eprintln!(
            "removed {} of an earlier evaluation from {} (this one did not write them)",
            some_names(removed),
            out.display()
        );
    }
}

/// One evaluation's bookkeeping of its folder: what was there before, and what the earlier
/// evaluation recorded at `pointer` of metrics.json.
pub struct Tidy {
    out: std::path::PathBuf,
    before: Snapshot,
    previous: Vec<String>,
}

impl Tidy {
    /// Starts an evaluation into `out` whose files are recorded at `pointer` (`/files`, or
    /// `/metrics/dynamics/files` for `--along-training`).
    pub fn start(out: &Path, pointer: &str) -> Self {
        Self {
            out: out.to_path_buf(),
            before: Snapshot::take(out),
            previous: recorded(out, pointer),
        }
    }

    /// The files written since the start, with `metrics.json` (written last), sorted.
    pub fn written(&self) -> Vec<String> {
        let mut files = self.before.written_since(&self.out);
        files.push("metrics.json".into());
        files.sort();
        files.dedup();
        files
    }

    /// [`Tidy::written`], and the files of the `--along-training` results carried over in
    /// `results` (kept too).
    pub fn written_with(&self, results: &serde_json::Map<String, Value>) -> (Vec<String>, Value) {
        let carried = results
            .get("dynamics")
            .map_or(Value::Null, |d| d["files"].clone());
        (self.written(), carried)
    }

    /// Removes the earlier evaluation's files that are neither in `written` nor in `carried`
    /// (the files of results carried over into the new metrics.json), and says so.
    pub fn finish(&self, written: &[String], carried: &Value) {
        let mut keep = written.to_vec();
        if let Ok(more) = serde_json::from_value::<Vec<String>>(carried.clone()) {
            keep.extend(more);
        }
        report_removed(&self.out, &remove_stale(&self.out, &self.previous, &keep));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("diffmem-evout-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn only_recorded_files_that_were_not_rewritten_are_removed() {
        let d = scratch("stale");
        for f in ["nn_grid.png", "loss_gap.png", "notes.txt", "config.toml"] {
            std::fs::write(d.join(f), "old").unwrap();
        }
        let before = Snapshot::take(&d);
        crate::io::atomic::write_atomic(&d.join("loss_gap.png"), b"new").unwrap();
        std::fs::write(crate::run::RunDir::at(&d).metrics(), "{}").unwrap();
        let written = before.written_since(&d);
        assert_eq!(written, vec!["loss_gap.png", "metrics.json"]);
        let previous: Vec<String> = ["nn_grid.png", "loss_gap.png", "../escape", "gone.csv"]
            .map(String::from)
            .to_vec();
        let removed = remove_stale(&d, &previous, &written);
        assert_eq!(removed, vec!["nn_grid.png"]);
        assert!(d.join("notes.txt").exists() && crate::run::RunDir::at(&d).config().exists());
        assert!(d.join("loss_gap.png").exists());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn another_run_and_a_users_folder_are_refused() {
        let (run, other) = (scratch("run"), scratch("other"));
        assert!(check_out(&run, &run).is_ok());
        assert!(check_out(&run, &other).is_ok(), "empty");
        std::fs::write(crate::run::RunDir::at(&other).config(), "").unwrap();
        let err = format!("{:#}", check_out(&run, &other).unwrap_err());
        assert!(err.contains("another run"), "{err}");
        std::fs::remove_file(crate::run::RunDir::at(&other).config()).unwrap();
        let doc = serde_json::json!({"run": run.display().to_string()});
        std::fs::write(crate::run::RunDir::at(&other).metrics(), doc.to_string()).unwrap();
        assert!(
            check_out(&run, &other).is_ok(),
            "an earlier eval of this run"
        );
        let doc = serde_json::json!({"run": "/elsewhere"});
        std::fs::write(crate::run::RunDir::at(&other).metrics(), doc.to_string()).unwrap();
        let err = format!("{:#}", check_out(&run, &other).unwrap_err());
        assert!(err.contains("not an evaluation of"), "{err}");
        let _ = std::fs::remove_dir_all(&run);
        let _ = std::fs::remove_dir_all(&other);
    }
}
