//! Weight snapshots along training (`train.snapshots = K`): at K log-spaced steps
//! from the first logging step to the last, `RUN/snapshots/step-NNNNNNN/` holds the raw
//! weights (`model.bpk`), the EMA (`ema.bpk`), `state.json` and `SHA256SUMS`, but no optimiser
//! state (they are for `diffmem eval --along-training`, not for resuming). They are written
//! by the checkpoint code ([`checkpoint::write_dir`]) and never rotated: K bounds the disk use.
//!
//! The schedule is a pure function of the config ([`for_config`]) and is written to
//! `RUN/snapshots/schedule.json`; a resumed run keeps the steps already planned up to the
//! checkpoint it resumes from, so the snapshots of an interrupted and resumed run are those of
//! an uninterrupted one. Log spacing follows Bonnaire et al. (arXiv 2505.17638), who keep 81
//! snapshots from step 250 to 1e7: memorisation sets in at a time that grows with N, so a
//! log axis resolves it at every N.

use crate::io::atomic::write_atomic;
use crate::run::checkpoint::{self, LoopState};
use crate::run::config::RunConfig;
use crate::run::{RunDir, WeightFile};
use anyhow::{Context, Result};
use diffmem_model::Net;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The planned steps, in `RUN/snapshots/`.
pub const SCHEDULE_FILE: &str = "schedule.json";

/// Up to `k` steps spaced evenly in log(step) from `first` to `last` (both included), rounded
/// to integers; steps that round to the same integer are kept once, so fewer than `k` come
/// back when `last / first` is small. `first` is clamped to [1, last]; `k = 1` gives `[last]`.
pub fn log_spaced(first: usize, last: usize, k: usize) -> Vec<usize> {
    if k == 0 || last == 0 {
        return Vec::new();
    }
    let first = first.clamp(1, last);
    if k == 1 {
        return vec![last];
    }
    let (a, b) = ((first as f64).ln(), (last as f64).ln());
    let mut steps: Vec<usize> = (0..k)
        .map(|i| {
            let x = a + (b - a) * i as f64 / (k - 1) as f64;
            (x.exp().round() as usize).clamp(first, last)
        })
        .collect();
    steps.dedup();
    steps
}

/// The schedule of a run: `train.snapshots` steps from the first logging step to the last step.
pub fn for_config(cfg: &RunConfig) -> Vec<usize> {
    let total = cfg.total_steps();
    log_spaced(cfg.train.log_every.min(total), total, cfg.train.snapshots)
}

/// A resumed run's schedule: the steps of `planned` (what the run planned before) up to
/// `done`, then those of `fresh` (its current config's schedule, which differs when `--steps`
/// was raised) after it.
pub fn merge(planned: &[usize], fresh: &[usize], done: usize) -> Vec<usize> {
    let mut v: Vec<usize> = planned.iter().copied().filter(|&s| s <= done).collect();
    v.extend(fresh.iter().copied().filter(|&s| s > done));
    v.sort_unstable();
    v.dedup();
    v
}

/// `schedule.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// `train.snapshots` (K).
    pub snapshots: usize,
    /// The steps, increasing.
    pub steps: Vec<usize>,
}

/// Reads `RUN/snapshots/schedule.json`, if present.
pub fn read_schedule(run_dir: &Path) -> Result<Option<Schedule>> {
    let p = RunDir::at(run_dir).snapshots().join(SCHEDULE_FILE);
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .with_context(|| {
            format!(
                "{} is corrupt: delete it to plan the snapshots again",
                p.display()
            )
        })
        .map(Some)
}

/// The snapshots a training session writes.
pub struct Snapshots {
    root: PathBuf,
    steps: Vec<usize>,
    written: usize,
}

impl Snapshots {
    /// Plans the snapshots of a session that starts after `done` steps (0 for a new run) of a
    /// network with `params` parameters: None when `train.snapshots` is 0. Writes
    /// `schedule.json` and prints the schedule and the disk it will take.
    pub fn plan(
        run_dir: &Path,
        cfg: &RunConfig,
        done: usize,
        params: usize,
    ) -> Result<Option<Self>> {
        let k = cfg.train.snapshots;
        if k == 0 {
            return Ok(None);
        }
        let fresh = for_config(cfg);
        let steps = match read_schedule(run_dir)? {
            Some(old) if done > 0 => merge(&old.steps, &fresh, done),
            _ => fresh,
        };
        let root = RunDir::at(run_dir).snapshots();
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        let schedule = Schedule {
            snapshots: k,
            steps: steps.clone(),
        };
        write_atomic(
            &root.join(SCHEDULE_FILE),
            serde_json::to_string_pretty(&schedule)?.as_bytes(),
        )?;
        // f32 weights, raw and EMA, per snapshot (the records add a few bytes).
        let copies = if cfg.train.ema_decay > 0.0 { 2 } else { 1 };
        let mib = (params * 4 * copies * steps.len()) as f64 / (1024.0 * 1024.0);
        eprintln!(
            "snapshots: {} at log-spaced steps {}..{} (weights only, about {mib:.1} MiB) in {}",
            steps.len(),
            steps.first().copied().unwrap_or(0),
            steps.last().copied().unwrap_or(0),
            root.display()
        );
        Ok(Some(Self {
            root,
            steps,
            written: 0,
        }))
    }

    /// Whether a snapshot falls at `step`.
    pub fn due(&self, step: usize) -> bool {
        self.steps.binary_search(&step).is_ok()
    }

    /// Writes the snapshot of `state.step` (raw and EMA weights, no optimiser state).
    pub fn save(&mut self, net: &Net, ema: Option<&Net>, state: &LoopState) -> Result<()> {
        let name = crate::run::layout::step_dir_name(state.step);
        checkpoint::write_dir(&self.root, &name, net, ema, None, state)?;
        self.written += 1;
        Ok(())
    }

    /// One line on the disk used by the snapshots (all sessions) and the schedule.
    pub fn describe(&self) -> String {
        let (count, bytes) = disk_use(&self.root);
        format!(
            "snapshots: {count} of {} planned in {} ({:.1} MiB; {} this session)",
            self.steps.len(),
            self.root.display(),
            bytes as f64 / (1024.0 * 1024.0),
            self.written
        )
    }
}

/// Number of snapshot directories under `root` and their total size in bytes.
fn disk_use(root: &Path) -> (usize, u64) {
    let dirs = checkpoint::list_steps(root).unwrap_or_default();
    let bytes = dirs
        .iter()
        .flat_map(|(_, d)| std::fs::read_dir(d).into_iter().flatten().flatten())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    (dirs.len(), bytes)
}

/// The snapshots of a run, sorted by step.
pub fn list(run_dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut v = checkpoint::list_steps(&RunDir::at(run_dir).snapshots()).unwrap_or_default();
    v.sort();
    v
}

/// Loads the raw (`ema = false`) or EMA weights of snapshot `dir` into `fresh`, after checking
/// its checksums. None when the EMA is asked for and the snapshot has none.
pub fn load(fresh: Net, dir: &Path, ema: bool) -> Result<Option<Net>> {
    crate::run::checksum::verify(dir)
        .with_context(|| format!("snapshot {} is corrupt: delete it", dir.display()))?;
    let file = WeightFile::of(ema);
    if !file.path(dir).exists() {
        return Ok(None);
    }
    checkpoint::load_net(fresh, dir, file).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_spaced_has_its_endpoints_and_even_log_gaps() {
        let s = log_spaced(100, 100_000, 4);
        assert_eq!(s, vec![100, 1000, 10_000, 100_000]);
        let s = log_spaced(250, 10_000_000, 81);
        assert_eq!((s[0], *s.last().unwrap(), s.len()), (250, 10_000_000, 81));
        let r: Vec<f64> = s.windows(2).map(|w| w[1] as f64 / w[0] as f64).collect();
        // The ratio of consecutive steps is (1e7/250)^(1/80) up to rounding.
        let want = (1e7f64 / 250.0).powf(1.0 / 80.0);
        assert!(r.iter().all(|x| (x - want).abs() < 0.01), "{r:?}");
    }

    #[test]
    fn log_spaced_edge_cases() {
        assert!(log_spaced(10, 100, 0).is_empty());
        assert!(log_spaced(10, 0, 5).is_empty());
        assert_eq!(log_spaced(10, 100, 1), vec![100]);
        // More points than integers: each integer once, increasing.
        assert_eq!(log_spaced(3, 6, 50), vec![3, 4, 5, 6]);
        // first above last is clamped.
        assert_eq!(log_spaced(500, 100, 3), vec![100]);
        for k in 1..40 {
            let s = log_spaced(7, 1234, k);
            assert!(s.windows(2).all(|w| w[0] < w[1]) && s.len() <= k);
            assert_eq!(*s.last().unwrap(), 1234);
        }
    }

    #[test]
    fn merge_keeps_the_past_and_takes_the_new_future() {
        let old = log_spaced(10, 1000, 5);
        assert_eq!(merge(&old, &old, 300), old);
        let new = log_spaced(10, 4000, 5);
        let m = merge(&old, &new, 100);
        assert!(
            m.iter()
                .filter(|&&s| s <= 100)
                .eq(old.iter().filter(|&&s| s <= 100))
        );
        assert!(
            m.iter()
                .filter(|&&s| s > 100)
                .eq(new.iter().filter(|&&s| s > 100))
        );
    }
}
