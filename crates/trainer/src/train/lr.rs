//! Learning-rate schedule: linear warm-up to the peak, then constant or cosine decay to 0
//! at the last step (Loshchilov & Hutter, arXiv 1608.03983), with one warm restart when
//! `train --resume RUN --steps K` moves the end of a cosine ([`LrRestart`]): from the
//! checkpoint's step the rate is the peak again, decaying by a cosine to 0 at the new end.

use crate::run::config::{LrRestart, LrSchedule, RunConfig};

/// Learning rate at step `s` (0-based) of `total`.
pub fn learning_rate(peak: f64, s: usize, warmup: usize, total: usize, cosine: bool) -> f64 {
    if s < warmup {
        return peak * (s + 1) as f64 / warmup as f64;
    }
    if !cosine || total <= warmup {
        return peak;
    }
    let progress = (s - warmup) as f64 / (total - warmup) as f64;
    0.5 * peak * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

/// The rate of 0-based step `s` of a run with config `cfg` (its warm restart included).
pub fn rate_at(cfg: &RunConfig, s: usize) -> f64 {
    let o = &cfg.optim;
    let cosine = o.lr_schedule == LrSchedule::Cosine;
    with_restart(o.lr, s, o.warmup, cfg.total_steps(), cosine, *o.lr_restart)
}

/// [`learning_rate`] with an optional warm restart: before `r.at` the original schedule to
/// `r.planned`; from `r.at` a cosine from `peak` to 0 at `total`, without warm-up.
pub fn with_restart(
    peak: f64,
    s: usize,
    warmup: usize,
    total: usize,
    cosine: bool,
    restart: Option<LrRestart>,
) -> f64 {
    match restart {
        Some(r) if cosine && s < r.at => learning_rate(peak, s, warmup, r.planned, true),
        Some(r) if cosine && total > r.at => {
            let progress = (s - r.at) as f64 / (total - r.at) as f64;
            0.5 * peak * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
        }
        _ => learning_rate(peak, s, warmup, total, cosine),
    }
}

/// The restart that resuming checkpoint step `at` with `new_total` steps needs, for a run
/// whose schedule so far was `cfg`'s (planned to `cfg.total_steps()`): none when the end does
/// not move, the schedule is constant, or `at` is still within the warm-up (the cosine has
/// not started, so it simply ends at the new total).
pub fn restart_for(cfg: &RunConfig, at: usize, new_total: usize) -> Option<LrRestart> {
    let o = &cfg.optim;
    let planned = cfg.total_steps();
    if new_total == planned || o.lr_schedule != LrSchedule::Cosine || at <= o.warmup {
        return *o.lr_restart;
    }
    Some(LrRestart { at, planned })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_the_past_and_decays_from_the_peak_to_the_new_end() {
        let r = Some(LrRestart {
            at: 110,
            planned: 110,
        });
        // Before the restart: the original schedule to step 110.
        for s in [0, 9, 60, 109] {
            let want = learning_rate(1.0, s, 10, 110, true);
            assert_eq!(with_restart(1.0, s, 10, 310, true, r), want);
        }
        // From it: cos from the peak at 110, half at 210, ~0 at the new last step 309.
        assert!((with_restart(1.0, 110, 10, 310, true, r) - 1.0).abs() < 1e-12);
        assert!((with_restart(1.0, 210, 10, 310, true, r) - 0.5).abs() < 1e-12);
        assert!(with_restart(1.0, 309, 10, 310, true, r) < 1e-3);
        // A constant schedule ignores it.
        assert_eq!(with_restart(2.0, 200, 10, 310, false, r), 2.0);
    }

    #[test]
    fn restarts_only_when_a_started_cosine_changes_its_end() {
        let mut cfg = RunConfig::default();
        cfg.train.steps = 1000;
        cfg.optim.warmup = 100;
        assert_eq!(restart_for(&cfg, 1000, 1000), None);
        assert_eq!(restart_for(&cfg, 50, 3000), None);
        let r = restart_for(&cfg, 1000, 3000).unwrap();
        assert_eq!((r.at, r.planned), (1000, 1000));
        // An interrupted, extended run resumed again with the same total keeps its restart.
        cfg.optim.lr_restart = Some(r).into();
        cfg.train.steps = 3000;
        assert_eq!(restart_for(&cfg, 2000, 3000), Some(r));
        cfg.optim.lr_schedule = LrSchedule::Constant;
        assert_eq!(restart_for(&cfg, 2000, 5000), Some(r));
    }

    #[test]
    fn warmup_then_cosine() {
        assert!((learning_rate(1.0, 0, 10, 110, true) - 0.1).abs() < 1e-12);
        assert!((learning_rate(1.0, 9, 10, 110, true) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 10, 10, 110, true) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 60, 10, 110, true) - 0.5).abs() < 1e-12);
        assert!(learning_rate(1.0, 109, 10, 110, true) < 1e-3);
        assert_eq!(learning_rate(2.0, 50, 0, 100, false), 2.0);
    }
}
