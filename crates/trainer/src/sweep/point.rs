//! One grid point as child processes of the same `diffmem` binary: `train` (fresh or
//! `--resume`), then `eval`. Their output goes to the run's `sweep.log`; the outcome to
//! `sweep_status.json`. A failure is reported, never propagated to the other points.

use super::grid::GridPoint;
use super::state::{State, inspect};
use super::{AXES_FILE, EVAL_ARGS_FILE, LOG_FILE, STATUS_FILE};
use crate::io::atomic::write_atomic;
use crate::run::layout::POINT_CONFIG;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Exit code of a child stopped by SIGINT (it saved a checkpoint).
pub const INTERRUPTED: i32 = 130;
/// Exit code of a child stopped by SIGTERM (it saved a checkpoint).
pub const TERMINATED: i32 = 143;

/// The running children (each the leader of its own process group).
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Sends `sig` to the process group of every running child: each runs in its own group, so
/// a terminal's Ctrl-C or a scheduler's SIGTERM reaches them only through the sweep, which
/// then waits for their checkpoints.
pub fn signal_children(sig: i32) {
    if let Ok(children) = CHILDREN.lock() {
        for &pid in children.iter() {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2) on a process group that this process started.
                unsafe {
                    libc::kill(-pid, sig);
                }
            }
        }
    }
}

/// What the executor needs to run grid points.
pub struct Context {
    /// The `diffmem` binary.
    pub exe: PathBuf,
    /// `SWEEP_DIR/runs`.
    pub runs_dir: PathBuf,
    /// `diffmem eval` flags (None: no evaluation).
    pub eval_flags: Option<Vec<String>>,
    /// RAYON_NUM_THREADS of each child.
    pub threads: usize,
    /// Set by Ctrl-C: a child that fails afterwards counts as interrupted.
    pub stop: Arc<AtomicBool>,
}

/// How a grid point ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It was already finished.
    Skipped,
    /// It ran to the end; `steps` lists what ran (`train`, `resume`, `eval`).
    Finished {
        /// The stages that ran.
        steps: Vec<&'static str>,
    },
    /// A stage failed.
    Failed {
        /// `prepare`, `train`, `resume` or `eval`.
        stage: &'static str,
        /// Why (with the child's last error line).
        message: String,
    },
    /// Ctrl-C stopped a child; rerunning the sweep resumes it.
    Interrupted,
}

/// The outcome with the time it took.
#[derive(Clone, Debug)]
pub struct Report {
    /// The outcome.
    pub outcome: Outcome,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// The stage of a point skipped because another process holds its run directory.
pub const LOCKED: &str = "locked";

/// Why a stage stopped.
enum StageError {
    Interrupted,
    Failed(String),
}

impl Context {
    /// Run directory of a point.
    pub fn dir(&self, p: &GridPoint) -> PathBuf {
        self.runs_dir.join(&p.name)
    }

    /// The eval flags as stored in eval_args.txt.
    pub fn eval_signature(&self) -> Option<String> {
        self.eval_flags.as_ref().map(|f| f.join("\n"))
    }

    /// The next step of `p` (an error if its directory holds a different run).
    pub fn state(&self, p: &GridPoint) -> anyhow::Result<State> {
        inspect(&self.dir(p), &p.config, self.eval_signature().as_deref())
    }

    /// Runs `p` to the end (or to its first failure).
    pub fn run(&self, p: &GridPoint) -> Report {
        let started = Instant::now();
        let dir = self.dir(p);
        let outcome = match self.run_stages(p, &dir) {
            Ok(steps) if steps.is_empty() => Outcome::Skipped,
            Ok(steps) => Outcome::Finished { steps },
            Err((_, StageError::Interrupted)) => {
                // Ctrl-C reached a child: start no further grid point.
                self.stop.store(true, Ordering::SeqCst);
                Outcome::Interrupted
            }
            Err((stage, StageError::Failed(message))) => Outcome::Failed { stage, message },
        };
        let seconds = started.elapsed().as_secs_f64();
        let locked = matches!(outcome, Outcome::Failed { stage: LOCKED, .. });
        if outcome != Outcome::Skipped && !locked {
            write_status(&dir, &outcome, seconds);
        }
        Report { outcome, seconds }
    }

    fn run_stages(
        &self,
        p: &GridPoint,
        dir: &Path,
    ) -> Result<Vec<&'static str>, (&'static str, StageError)> {
        if let Some(pid) = crate::run::lock::holder(dir) {
            let message = format!(
                "{} is being written by another diffmem (pid {pid}): skipped; rerun the sweep \
                 once it has finished",
                dir.display()
            );
            return Err((LOCKED, StageError::Failed(message)));
        }
        let prep = |e: anyhow::Error| ("prepare", StageError::Failed(format!("{e:#}")));
        prepare(p, dir).map_err(prep)?;
        let mut state = self.state(p).map_err(prep)?;
        let mut steps = Vec::new();
        let dir_arg = dir.display().to_string();
        if state == State::Fresh {
            // A run that stopped before its first checkpoint starts over.
            let _ = std::fs::remove_file(crate::run::RunDir::at(dir).config());
            let cfg = dir.join(POINT_CONFIG).display().to_string();
            let args = ["train", "--config", &cfg, "--out", &dir_arg, "--plain"];
            self.child(dir, &args).map_err(|e| ("train", e))?;
            steps.push("train");
            state = State::Evaluate;
        } else if state == State::Resume {
            self.child(dir, &["train", "--resume", &dir_arg, "--plain"])
                .map_err(|e| ("resume", e))?;
            steps.push("resume");
            state = State::Evaluate;
        }
        if let (State::Evaluate, Some(flags)) = (state, &self.eval_flags) {
            let mut args = vec!["eval", dir_arg.as_str(), "--plain"];
            args.extend(flags.iter().map(String::as_str));
            self.child(dir, &args).map_err(|e| ("eval", e))?;
            let sig = self.eval_signature().unwrap_or_default();
            write_atomic(&dir.join(EVAL_ARGS_FILE), sig.as_bytes())
                .map_err(|e| ("eval", StageError::Failed(format!("{e:#}"))))?;
            steps.push("eval");
        }
        Ok(steps)
    }

    /// Runs `diffmem ARGS` with its output appended to the run's log.
    fn child(&self, dir: &Path, args: &[&str]) -> Result<(), StageError> {
        let log_path = dir.join(LOG_FILE);
        let failed = |what: String| StageError::Failed(what);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| failed(format!("cannot open {}: {e}", log_path.display())))?;
        let _ = writeln!(log, "\n=== diffmem {} ===", args.join(" "));
        let err_log = log
            .try_clone()
            .map_err(|e| failed(format!("cannot open {}: {e}", log_path.display())))?;
        let mut command = Command::new(&self.exe);
        command
            .args(args)
            .env("RAYON_NUM_THREADS", self.threads.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe. A child whose sweep dies (even by SIGKILL) gets
        // SIGTERM, so it checkpoints instead of running on unsupervised.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| failed(format!("cannot start {}: {e}", self.exe.display())))?;
        if let Ok(mut c) = CHILDREN.lock() {
            c.push(child.id());
        }
        let status = child.wait();
        if let Ok(mut c) = CHILDREN.lock() {
            c.retain(|&p| p != child.id());
        }
        let status = status.map_err(|e| failed(format!("cannot wait for diffmem: {e}")))?;
        match status.code() {
            Some(0) => Ok(()),
            Some(INTERRUPTED | TERMINATED) => Err(StageError::Interrupted),
            _ if self.stop.load(Ordering::SeqCst) => Err(StageError::Interrupted),
            code => {
                let how = code.map_or("was killed by a signal".to_string(), |c| {
                    format!("exited with {c}")
                });
                Err(failed(format!(
                    "diffmem {} {how}: {} (log: {})",
                    args[0],
                    last_error(&log_path),
                    log_path.display()
                )))
            }
        }
    }
}

/// Writes the point's resolved config and axes into its run directory.
fn prepare(p: &GridPoint, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    write_atomic(&dir.join(POINT_CONFIG), p.config.to_toml()?.as_bytes())?;
    let axes = serde_json::json!({
        "index": p.index,
        "name": p.name,
        "line": p.line,
        "axes": p.axes,
    });
    write_atomic(
        &dir.join(AXES_FILE),
        serde_json::to_string_pretty(&axes)?.as_bytes(),
    )
}

/// The last `error:` line of a log (else its last non-empty line).
fn last_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("error"))
        .or(lines.last())
        .map_or_else(|| "no output".to_string(), |l| l.trim().to_string())
}

fn write_status(dir: &Path, outcome: &Outcome, seconds: f64) {
    let (status, stage, message) = match outcome {
        Outcome::Skipped | Outcome::Finished { .. } => ("done", None, None),
        Outcome::Interrupted => ("interrupted", None, None),
        Outcome::Failed { stage, message } => ("failed", Some(*stage), Some(message.as_str())),
    };
    let doc = serde_json::json!({
        "status": status, "stage": stage, "message": message, "seconds": seconds, "log": LOG_FILE,
    });
    if let Ok(text) = serde_json::to_string_pretty(&doc) {
        // The status is advisory: a read-only directory must not turn success into failure.
        let _ = write_atomic(&dir.join(STATUS_FILE), text.as_bytes());
    }
}
