//! The one-line verdict at the end of `diffmem train`, read from the logged losses, and the
//! next step. The held-out loss turning up while the training loss keeps falling is the
//! signature of memorisation (the gap of Carlini et al., arXiv 2301.13188); `diffmem eval`
//! then measures it on samples.

use crate::io::show::num;
use crate::train::curves::Curves;

/// The held-out loss counts as risen when it ends this much above its best.
pub const RISE: f64 = 1.10;
/// The final gap counts as large above this fraction of the held-out loss.
pub const GAP: f64 = 0.10;

/// Verdict and next step of the run in `run_dir`, from its `log.jsonl`.
pub fn of_run(run_dir: &std::path::Path) -> (String, String) {
    let run = run_dir.display().to_string();
    match std::fs::read_to_string(run_dir.join("log.jsonl")) {
        Ok(text) => verdict(&Curves::parse(&text), &run),
        Err(_) => (
            "exact denoiser: fitted in closed form, no training losses".into(),
            format!("next: diffmem eval {run}"),
        ),
    }
}

/// Verdict and next step for the run in `run` whose log is `curves`.
pub fn verdict(curves: &Curves, run: &str) -> (String, String) {
    let next_eval = format!("next: diffmem eval {run}  (R_mem and the nn_grid figures)");
    let last = |v: &[f64]| v.iter().rev().copied().find(|x| x.is_finite());
    let (Some((best_step, best)), Some(held), Some(fixed)) = (
        curves.best_heldout(),
        last(&curves.heldout),
        last(&curves.train_fixed),
    ) else {
        return ("no losses were logged".into(), next_eval);
    };
    let gap = held - fixed;
    let end = curves.step.last().copied().unwrap_or(best_step);
    if held > RISE * best && best_step < end {
        return (
            format!(
                "memorising: the held-out loss rose from {} (step {best_step}) to {} while \
                 the training-row loss fell to {} (see loss.png)",
                num(best),
                num(held),
                num(fixed)
            ),
            format!(
                "{next_eval}; to generalise, train on more data (--n) or stop at the best \
                 step (--patience)"
            ),
        );
    }
    if gap > GAP * held {
        let v = format!(
            "fits its training rows better than held-out data: loss gap {} ({}% of the \
             held-out loss)",
            num(gap),
            num(100.0 * gap / held)
        );
        return (v, next_eval);
    }
    let v = format!(
        "no sign of memorisation in the losses: gap {} (held-out {}, training rows {})",
        num(gap),
        num(held),
        num(fixed)
    );
    (v, next_eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(held: &[f64], fixed: &[f64]) -> Curves {
        Curves {
            step: (1..=held.len()).map(|i| 100.0 * i as f64).collect(),
            train: fixed.to_vec(),
            train_fixed: fixed.to_vec(),
            heldout: held.to_vec(),
        }
    }

    #[test]
    fn rising_heldout_loss_is_memorisation() {
        // The quickstart of issue 19: best 0.185 at step 100, 0.232 at the end.
        let (v, next) = verdict(
            &log(&[0.3, 0.185, 0.2, 0.232], &[0.3, 0.1, 0.05, 0.031]),
            "r",
        );
        assert!(
            v.starts_with("memorising") && v.contains("0.185") && v.contains("0.232"),
            "{v}"
        );
        assert!(next.contains("diffmem eval r"), "{next}");
    }

    #[test]
    fn gap_without_rise_and_no_gap() {
        let (v, _) = verdict(&log(&[0.3, 0.25], &[0.3, 0.2]), "r");
        assert!(v.starts_with("fits its training rows better"), "{v}");
        let (v, _) = verdict(&log(&[0.3, 0.21], &[0.3, 0.2]), "r");
        assert!(v.starts_with("no sign of memorisation"), "{v}");
        let (v, _) = verdict(&Curves::default(), "r");
        assert_eq!(v, "no losses were logged");
    }
}
