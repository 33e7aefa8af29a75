//! What a grid point's run directory already holds, which decides the next step: train from
//! scratch, resume from the latest checkpoint, evaluate, or nothing (finished).

use super::EVAL_ARGS_FILE;
use crate::run::RunDir;
use crate::run::checkpoint;
use crate::run::config::RunConfig;
use anyhow::{Result, bail};
use std::path::Path;
use std::time::SystemTime;

/// The next step of a grid point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No run yet (or one that stopped before its first checkpoint): train from scratch.
    Fresh,
    /// Training stopped part-way: `diffmem train --resume`.
    Resume,
    /// Trained, but metrics.json is missing, older than the weights or from other eval flags.
    Evaluate,
    /// Trained and evaluated.
    Done,
}

impl State {
    /// Short description for listings.
    pub fn label(self) -> &'static str {
        match self {
            State::Fresh => "pending",
            State::Resume => "resume",
            State::Evaluate => "evaluate",
            State::Done => "done",
        }
    }
}

fn modified(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The first line where two config texts differ, for the error message.
fn first_difference(a: &str, b: &str) -> String {
    a.lines()
        .zip(b.lines())
        .find(|(x, y)| x != y)
        .map_or_else(String::new, |(x, y)| format!(" (`{x}` there, `{y}` now)"))
}

/// Inspects `dir` for the grid point whose resolved config is `cfg`; `eval_flags` is None
/// when the sweep runs no evaluation. An error when the directory holds a different run.
pub fn inspect(dir: &Path, cfg: &RunConfig, eval_flags: Option<&str>) -> Result<State> {
    let cfg_path = RunDir::at(dir).config();
    if !cfg_path.exists() {
        return Ok(State::Fresh);
    }
    let existing = RunConfig::load(&cfg_path)?;
    if &existing != cfg {
        bail!(
            "{} holds a run with a different config{}: the sweep spec changed; delete that \
             directory or use another --out",
            dir.display(),
            first_difference(&existing.to_toml()?, &cfg.to_toml()?)
        );
    }
    let summary = RunDir::at(dir).summary();
    let Some(trained_at) = modified(&summary) else {
        let has_checkpoint = checkpoint::resolve(&dir.display().to_string(), None).is_ok();
        return Ok(if has_checkpoint && !cfg.model.is_exact() {
            State::Resume
        } else {
            State::Fresh
        });
    };
    let Some(flags) = eval_flags else {
        return Ok(State::Done);
    };
    let evaluated = modified(&RunDir::at(dir).metrics()).is_some_and(|m| m >= trained_at);
    let same_flags = std::fs::read_to_string(dir.join(EVAL_ARGS_FILE)).is_ok_and(|f| f == flags);
    Ok(if evaluated && same_flags {
        State::Done
    } else {
        State::Evaluate
    })
}
