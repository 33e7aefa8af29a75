//! Which weights an evaluation used, for `metrics.json`: `raw` (the last optimiser step),
//! `ema` (the exponential moving average) or `fitted` (an exact model's closed form), the
//! step they come from, and for the EMA its decay schedule.
//!
//! The EMA is updated after every optimiser step s >= 1 with
//! decay_s = min(decay, (1 + s) / (10 + s)) when `train.ema_warmup` is on (else decay_s = decay)
//! and starts as a copy of the step-0 network (`diffmem_model::ema::ema_decay`). After S steps:
//! - `effective_decay` = decay_{S-1}, the decay of the last update;
//! - `initial_weight` = prod_{s=1}^{S-1} decay_s, the weight the step-0 network still has
//!   (0.999^(S-1) without warm-up: 22% at S = 1500; ~10! / S^9 with it);
//! - `window` = 1 / (1 - effective_decay), the number of recent steps the average spans.

use crate::run::LoadedRun;
use crate::run::WeightFile;
use crate::run::checkpoint::LoopState;
use diffmem_model::ema::ema_decay;
use serde_json::{Value, json};
use std::path::Path;

/// The weights' description (module docs).
pub fn describe(r: &LoadedRun) -> Value {
    if r.cfg.model.is_exact() {
        return json!({ "kind": "fitted", "file": null, "note": r.weights });
    }
    let file = Path::new(&r.weights);
    let ema = file
        .parent()
        .is_some_and(|d| WeightFile::Ema.path(d) == file);
    let steps = file.parent().and_then(|dir| weights_step(r, dir));
    let tc = &r.cfg.train;
    let mut v = json!({
        "kind": if ema { "ema" } else { "raw" },
        "file": r.weights,
        "steps": steps,
    });
    if ema {
        let s = steps.unwrap_or(0);
        let effective = if s >= 2 {
            ema_decay(tc.ema_decay, tc.ema_warmup, s - 1)
        } else {
            0.0
        };
        let initial: f64 = (1..s)
            .map(|k| ema_decay(tc.ema_decay, tc.ema_warmup, k))
            .product();
        v["ema"] = json!({
            "decay": tc.ema_decay,
            "warmup": tc.ema_warmup,
            "effective_decay": effective,
            "initial_weight": initial,
            "window": 1.0 / (1.0 - effective),
        });
    }
    v
}

/// The optimiser step of the weights in `dir`: a checkpoint's `state.json`, or for the final
/// `weights/` the run's `train_state.json` (the best step after early stopping).
fn weights_step(r: &LoadedRun, dir: &Path) -> Option<usize> {
    let read = |p: &Path| -> Option<LoopState> {
        serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
    };
    if let Some(s) = read(&dir.join("state.json")) {
        return Some(s.step);
    }
    let s = read(&crate::run::RunDir::at(&r.dir).train_state())?;
    let early_stopped = r.cfg.train.patience.is_some_and(|p| s.bad_intervals >= p);
    Some(if early_stopped {
        s.best_step.unwrap_or(s.step)
    } else {
        s.step
    })
}
