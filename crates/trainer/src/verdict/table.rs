//! The decision table: rules in order of precedence, each with its condition, the reason for
//! its threshold, its test on the signals and the next command. docs/metrics.md ("Verdicts")
//! states the same table; a test checks that every label appears there.
//!
//! Precedence: a broken training run is "unstable" whatever else it shows (a training loss
//! that rises looks like a train/held-out gap, but is not memorisation); samples far from the
//! data cannot be judged for copying ("does not generate the data yet"); then copying (R_mem,
//! Gu et al., arXiv 2310.02664), membership leaking (Carlini et al., arXiv 2301.13188), the
//! held-out control of nearest neighbours, the loss gap, and last "generalises".

use super::{Kind, Signals, Test, pct};
use crate::io::show::num;

/// The training-row loss (fixed noise, log.jsonl) counts as risen when it ends this factor
/// above its lowest logged value: a training loss that goes up is an optimiser problem.
pub const TRAIN_RISE: f64 = 1.05;
/// The held-out loss counts as risen when it ends this factor above its lowest logged value.
pub const HELDOUT_RISE: f64 = 1.10;
/// A median over t of the eps-loss on training rows at or above this share of 1 (the loss of
/// predicting zero noise at every t) means the model has not learned to denoise; a trained
/// model of any objective is far below it at most t (the eps error of an x0-model is large only
/// at the lowest t, hence the median).
pub const UNTRAINED_EPS_LOSS: f64 = 0.9;
/// Samples whose FWD against held-out data is this many times the real-vs-real floor or more
/// are far from the data (noise-like samples of the mnist5k sweep sat at 9x).
pub const FAR_FROM_FLOOR: f64 = 5.0;
/// Training is unstable when at least this fraction of the evaluation samples diverged.
pub const DIVERGED: f64 = 0.1;
/// R_mem (in excess of its held-out control) at or above which a model copies its training
/// set: the ratio test fires on most samples (Gu et al., arXiv 2310.02664).
pub const COPIES: f64 = 0.5;
/// R_mem (in excess of its held-out control) at or below which samples do not copy.
pub const NO_COPIES: f64 = 0.05;
/// MIA AUC at or above which membership leaks (0.5 is chance).
pub const MIA_AUC: f64 = 0.8;
/// TPR at 1% FPR at or above which membership leaks (10x the 1% of chance), counted only
/// when the attack saw at least [`MIA_TPR_ROWS`] non-members (otherwise 1% FPR is no
/// threshold at all).
pub const MIA_TPR: f64 = 0.1;
/// Non-members the TPR at 1% FPR needs to count.
pub const MIA_TPR_ROWS: usize = 100;
/// Samples lean on the training set when the fraction nearer a held-out image than every
/// training image is below this share of N_held / (N_held + N), its value for samples
/// independent of the training set.
pub const NEAR_TRAIN: f64 = 0.5;
/// A normalised loss gap (held-out minus training over held-out, averaged over t) at or above
/// which the model fits its training rows clearly better: 10% per timestep.
pub const GAP: f64 = 0.10;

/// One row of the decision table.
pub struct Rule {
    /// The verdict when the rule fires.
    pub kind: Kind,
    /// The condition, in words (as in docs/metrics.md).
    pub when: &'static str,
    /// Its test on the signals.
    pub test: fn(&Signals) -> Test,
    /// The next command; `{run}` is the run directory, `{out}` the evaluation's directory.
    pub next: &'static str,
}

/// The next command when nothing decides.
pub const UNDECIDED_NEXT: &str = "diffmem eval {run} --metrics mem,loss,quality,mia";

const RETRAIN: &str = "look at {run}/loss.png, then retrain with a lower learning rate \
     (--lr, e.g. a tenth) or with --clip 1.0";
const COPY_NEXT: &str = "look at {out}/nn_grid.png and nn_grid_random.png; train on more data \
     (--n), or find the N where copying stops with diffmem sweep";

/// The rules, first match wins.
pub const TABLE: [Rule; 9] = [
    Rule {
        kind: Kind::Unstable,
        when: "logged training losses not finite, or the training-row loss ends >= 5% above its lowest or above its first logged value",
        test: unstable_training,
        next: RETRAIN,
    },
    Rule {
        kind: Kind::NotGenerating,
        when: "median over t of the eps-loss on training rows >= 0.9, or sample FWD >= 5x its real-vs-real floor",
        test: not_generating,
        next: "train longer (--steps) and look at {run}/samples.png; then diffmem eval {run} \
               --metrics mem,loss,quality",
    },
    Rule {
        kind: Kind::Unstable,
        when: ">= 10% of the evaluation samples diverged (non-finite or exploding)",
        test: diverged_samples,
        next: RETRAIN,
    },
    Rule {
        kind: Kind::Copies,
        when: "R_mem minus its held-out control >= 0.5",
        test: copies,
        next: COPY_NEXT,
    },
    Rule {
        kind: Kind::PartlyCopies,
        when: "R_mem minus its held-out control > 0.05",
        test: partly_copies,
        next: COPY_NEXT,
    },
    Rule {
        kind: Kind::LeaksMembership,
        when: "MIA AUC >= 0.8, or TPR at 1% FPR >= 0.1 on >= 100 non-members",
        test: leaks,
        next: "look at {out}/mia.png (which t leaks); retrain on more data (--n) or for fewer \
               steps, then diffmem eval {run} --metrics mem,mia",
    },
    Rule {
        kind: Kind::LeansOnTraining,
        when: "fraction of samples nearer a held-out image < 0.5 x N_held / (N_held + N)",
        test: leans,
        next: "look at {out}/nn_grid_random.png; diffmem eval {run} --metrics mia",
    },
    Rule {
        kind: Kind::FitsTrainingRows,
        when: "normalised loss gap >= 0.1, or the held-out loss ends >= 10% above its lowest",
        test: fits_training_rows,
        next: "diffmem eval {run} --metrics mem,loss,mia (do samples copy, does membership \
               leak?); to generalise, train on more data (--n) or stop early (--patience)",
    },
    Rule {
        kind: Kind::Generalises,
        when: "R_mem minus its held-out control <= 0.05 (and no rule above fired)",
        test: generalises,
        next: "find the N where memorisation starts: diffmem sweep over smaller --n",
    },
];

fn unstable_training(s: &Signals) -> Test {
    if s.closed_form {
        return Test::Passes;
    }
    if s.non_finite_losses.is_none() && s.train_curve.is_none() {
        return Test::Missing("training health (the run's log.jsonl)");
    }
    let mut ev = Vec::new();
    if let Some(n) = s.non_finite_losses.filter(|&n| n > 0) {
        ev.push(format!("{n} logged training losses are not finite"));
    }
    if let Some(c) = s.train_curve.filter(|c| c.rose_by(TRAIN_RISE)) {
        ev.push(format!(
            "the training-row loss rose from {} (step {}) to {} (step {}), {} above its lowest \
             (>= 5%)",
            num(c.best),
            c.best_step,
            num(c.last),
            c.last_step,
            pct(c.last / c.best - 1.0)
        ));
    }
    if let Some(c) = s
        .train_curve
        .filter(|c| !c.rose_by(TRAIN_RISE) && c.ended_above_start())
    {
        ev.push(format!(
            "the training-row loss ended at {} (step {}), above its first logged value {} \
             (step {}): training made it worse",
            num(c.last),
            c.last_step,
            num(c.first),
            c.first_step
        ));
    }
    fires_if(ev)
}

fn not_generating(s: &Signals) -> Test {
    if s.train_loss_eps_median.is_none() && s.fwd.is_none() {
        return Test::Missing(
            "sample quality (eval --metrics quality) or the loss (--metrics loss)",
        );
    }
    let mut ev = Vec::new();
    if let Some(l) = s.train_loss_eps_median.filter(|&l| l >= UNTRAINED_EPS_LOSS) {
        ev.push(format!(
            "median eps-loss on training rows {} (>= 0.9; 1 = predicting zero noise)",
            num(l)
        ));
    }
    if let Some((f, floor)) = s.fwd.filter(|(f, fl)| *f >= FAR_FROM_FLOOR * fl) {
        ev.push(format!(
            "sample FWD {} is {}x its real-vs-real floor {} (>= 5x)",
            num(f),
            num(f / floor),
            num(floor)
        ));
    }
    fires_if(ev)
}

fn diverged_samples(s: &Signals) -> Test {
    match s.diverged {
        Some(f) if f >= DIVERGED => Test::Fires(vec![format!(
            "{} of the evaluation samples diverged (>= 10%)",
            pct(f)
        )]),
        _ => Test::Passes,
    }
}

/// R_mem in excess of its held-out control (R_mem itself without a control), and its
/// evidence phrase.
fn excess(s: &Signals) -> Option<(f64, String)> {
    let r = s.r_mem?;
    let copy = format!(
        "R_mem {} ({} of samples copy a training image)",
        num(r),
        pct(r)
    );
    Some(match s.r_mem_heldout {
        Some(h) => {
            let e = (r - h).max(0.0);
            (
                e,
                format!("{copy}, {} above its held-out control {}", num(e), num(h)),
            )
        }
        None => (r, copy),
    })
}

const NEEDS_R_MEM: &str = "R_mem (eval --metrics mem)";

fn copies(s: &Signals) -> Test {
    match excess(s) {
        None => Test::Missing(NEEDS_R_MEM),
        Some((e, ev)) if e >= COPIES => Test::Fires(vec![format!("{ev} (>= 0.5)")]),
        Some(_) => Test::Passes,
    }
}

fn partly_copies(s: &Signals) -> Test {
    match excess(s) {
        None => Test::Missing(NEEDS_R_MEM),
        Some((e, ev)) if e > NO_COPIES => Test::Fires(vec![format!("{ev} (> 0.05)")]),
        Some(_) => Test::Passes,
    }
}

fn leaks(s: &Signals) -> Test {
    let Some(auc) = s.mia_auc else {
        return Test::Missing("MIA AUC (eval --metrics mia)");
    };
    let tpr = s
        .mia_tpr
        .filter(|_| s.mia_rows.is_some_and(|n| n >= MIA_TPR_ROWS));
    let mut ev = Vec::new();
    if auc >= MIA_AUC || tpr.is_some_and(|t| t >= MIA_TPR) {
        ev.push(format!("MIA AUC {} (>= 0.8; 0.5 = chance)", num(auc)));
        if let Some(t) = s.mia_tpr {
            ev.push(format!("TPR at 1% FPR {}", num(t)));
        }
        if let Some(r) = s.r_mem {
            ev.push(format!("although R_mem is {}", num(r)));
        }
    }
    fires_if(ev)
}

fn leans(s: &Signals) -> Test {
    let Some((c, e)) = s.closer else {
        return Test::Missing(
            "the held-out control of R_mem (eval --metrics mem, with --heldout > 0)",
        );
    };
    if c < NEAR_TRAIN * e {
        return Test::Fires(vec![format!(
            "only {} of samples are nearer a held-out image than every training image ({} if \
             they were independent of the training set)",
            pct(c),
            pct(e)
        )]);
    }
    Test::Passes
}

fn fits_training_rows(s: &Signals) -> Test {
    if s.normalised_gap.is_none() && s.heldout_curve.is_none() {
        return Test::Missing("the loss gap (eval --metrics loss)");
    }
    let mut ev = Vec::new();
    if let Some(g) = s.normalised_gap.filter(|&g| g >= GAP) {
        ev.push(format!(
            "normalised loss gap {} (held-out {} above training per timestep, >= 10%)",
            num(g),
            pct(g)
        ));
    }
    if let Some(c) = s.heldout_curve.filter(|c| c.rose_by(HELDOUT_RISE)) {
        let fell = s.train_curve.map_or(String::new(), |t| {
            format!(" while the training-row loss ended at {}", num(t.last))
        });
        ev.push(format!(
            "the held-out loss rose from {} (step {}) to {} (step {}){fell}",
            num(c.best),
            c.best_step,
            num(c.last),
            c.last_step
        ));
    }
    if !ev.is_empty()
        && let Some(r) = s.r_mem
    {
        ev.push(format!("no copies in the samples (R_mem {})", num(r)));
    }
    fires_if(ev)
}

fn generalises(s: &Signals) -> Test {
    match excess(s) {
        None => Test::Missing(NEEDS_R_MEM),
        Some((e, ev)) if e <= NO_COPIES => {
            let mut all = vec![format!("{ev} (<= 0.05)")];
            all.extend(s.measured().into_iter().filter(|m| !m.starts_with("R_mem")));
            Test::Fires(all)
        }
        Some(_) => Test::Passes,
    }
}

fn fires_if(ev: Vec<String>) -> Test {
    if ev.is_empty() {
        Test::Passes
    } else {
        Test::Fires(ev)
    }
}
