//! Where `diffmem sample` writes: files of its own, named by sampler, steps and seed
//! (`RUN/samples/ddim-50-s0.{png,npy,json}`), never the training-time `samples.png/.npy`. The
//! `.json` beside them records the settings that made them, so a second draw with other
//! settings (more samples, the raw weights, another eta) gets a new name (`ddim-50-s0-2`)
//! instead of replacing the first; the same settings give the same samples and reuse the name.
//! An `--out` folder must be new or empty, the run itself, or one that `sample` wrote.

use crate::run::RunDir;
use crate::run::dir::{entries, is_new_or_empty, same_dir, some_names};
use anyhow::{Result, bail};
use diffmem_model::SamplerConfig;
use serde_json::Value;
use std::path::Path;

/// Most draws under one base name (`NAME`, `NAME-2`, ...).
const MAX_VARIANTS: usize = 1000;

/// `ddim-50-s0` (DDIM with 50 steps, seed 0) or `ddpm-1000-s0` (DDPM over all `timesteps`).
pub fn base_name(sampler: &SamplerConfig, timesteps: usize, seed: u64) -> String {
    match sampler {
        SamplerConfig::Ddim { steps, .. } => format!("ddim-{steps}-s{seed}"),
        SamplerConfig::Ddpm { .. } => format!("ddpm-{timesteps}-s{seed}"),
    }
}

/// The settings recorded in `NAME.json` of a file that `sample` wrote, if `path` is one.
fn recorded(path: &Path) -> Option<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v.get("sampler").is_some().then_some(())?;
    v.get("settings").cloned()
}

/// Whether `name` in `dir` is a file that `diffmem sample` wrote: `STEM.{png,npy,json}` with a
/// `STEM.json` that records sample settings.
fn is_ours(dir: &Path, name: &str) -> bool {
    let stem = ["png", "npy", "json"]
        .iter()
        .find_map(|ext| name.strip_suffix(&format!(".{ext}")));
    stem.is_some_and(|s| recorded(&dir.join(format!("{s}.json"))).is_some())
}

/// Checks `sample RUN --out OUT`: OUT must be the run itself, a new or empty folder, or one that
/// holds only what `diffmem sample` wrote; another run, or a folder of the user's, is refused.
pub fn check_out(run: &Path, out: &Path) -> Result<()> {
    if same_dir(run, out) || is_new_or_empty(out) {
        return Ok(());
    }
    if RunDir::at(out).holds_run() {
        bail!(
            "--out {} is another run: its samples belong to it. Draw into {} (drop --out: \
             the files go to {}) or into a new or empty folder",
            out.display(),
            run.display(),
            RunDir::at(run).samples().display()
        );
    }
    let foreign: Vec<String> = entries(out)
        .into_iter()
        .filter(|n| !is_ours(out, n))
        .collect();
    if !foreign.is_empty() {
        bail!(
            "--out {} holds files that diffmem sample did not write ({}): choose a new or \
             empty folder, so that none of them is replaced",
            out.display(),
            some_names(&foreign)
        );
    }
    Ok(())
}

/// The stem to write under in `dir`: `base`, or `base-2`, `base-3`, ... when the name is taken
/// by a draw with other `settings` (the same settings reuse their name).
pub fn choose_stem(dir: &Path, base: &str, settings: &Value) -> Result<String> {
    for k in 1..=MAX_VARIANTS {
        let stem = match k {
            1 => base.to_string(),
            k => format!("{base}-{k}"),
        };
        let taken = ["json", "npy", "png"]
            .iter()
            .any(|ext| dir.join(format!("{stem}.{ext}")).exists());
        if !taken || recorded(&dir.join(format!("{stem}.json"))).as_ref() == Some(settings) {
            return Ok(stem);
        }
    }
    bail!(
        "{} already holds {MAX_VARIANTS} draws named {base}: choose another --out or --seed",
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("diffmem-sfiles-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn names_follow_sampler_steps_and_seed() {
        let ddim = SamplerConfig::Ddim {
            steps: 50,
            eta: 1.0,
        };
        assert_eq!(base_name(&ddim, 1000, 0), "ddim-50-s0");
        assert_eq!(
            base_name(&SamplerConfig::default(), 1000, 7),
            "ddpm-1000-s7"
        );
    }

    #[test]
    fn other_settings_get_a_new_name_and_the_same_settings_reuse_theirs() {
        let d = scratch("stem");
        let a = serde_json::json!({"num": 4});
        let b = serde_json::json!({"num": 8});
        assert_eq!(choose_stem(&d, "ddim-50-s0", &a).unwrap(), "ddim-50-s0");
        let doc = serde_json::json!({"sampler": "ddim", "settings": a});
        std::fs::write(d.join("ddim-50-s0.json"), doc.to_string()).unwrap();
        std::fs::write(d.join("ddim-50-s0.npy"), "x").unwrap();
        assert_eq!(choose_stem(&d, "ddim-50-s0", &a).unwrap(), "ddim-50-s0");
        assert_eq!(choose_stem(&d, "ddim-50-s0", &b).unwrap(), "ddim-50-s0-2");
        // A folder of sample files is ours; a user's file beside them is not.
        let run = scratch("stem-run");
        assert!(check_out(&run, &d).is_ok());
        std::fs::write(d.join("notes.txt"), "mine").unwrap();
        let err = format!("{:#}", check_out(&run, &d).unwrap_err());
        assert!(err.contains("notes.txt"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&run);
    }
}
