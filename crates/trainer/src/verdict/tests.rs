//! Known answers of the decision table: one per verdict, the precedence between them, what a
//! missing signal says, and the readers of log.jsonl, summary.json and metrics.json.

use super::signals::Trend;
use super::*;
use serde_json::json;

/// A trend that starts at its lowest point.
fn trend(best: f64, best_step: f64, last: f64, last_step: f64) -> Option<Trend> {
    Some(Trend {
        first: best,
        first_step: best_step,
        best,
        best_step,
        last,
        last_step,
    })
}

/// A healthy trained run: falling losses, a small gap.
fn healthy() -> Signals {
    Signals {
        non_finite_losses: Some(0),
        train_curve: trend(0.2, 1000.0, 0.2, 1000.0),
        heldout_curve: trend(0.21, 1000.0, 0.21, 1000.0),
        train_loss_eps_median: Some(0.2),
        normalised_gap: Some(0.02),
        ..Signals::default()
    }
}

#[test]
fn a_membership_leak_without_copies_is_named() {
    let s = Signals {
        r_mem: Some(0.0),
        r_mem_heldout: Some(0.0),
        closer: Some((0.7, 0.71)),
        mia_auc: Some(0.99),
        mia_tpr: Some(0.6),
        mia_rows: Some(500),
        ..healthy()
    };
    let d = decide(&s, "runs/r", "runs/r");
    assert_eq!(d.kind, Kind::LeaksMembership, "{}", d.line());
    assert!(
        d.line().contains("MIA AUC 0.99") && d.line().contains("R_mem is 0"),
        "{}",
        d.line()
    );
    assert!(d.next.contains("runs/r/mia.png"), "{}", d.next);
    // A TPR at 1% FPR of 0.3 leaks too, but only with enough non-members for 1% to mean
    // anything.
    let tpr = |rows| Signals {
        mia_auc: Some(0.7),
        mia_tpr: Some(0.3),
        mia_rows: Some(rows),
        ..s.clone()
    };
    assert_eq!(decide(&tpr(500), "r", "r").kind, Kind::LeaksMembership);
    assert_eq!(decide(&tpr(32), "r", "r").kind, Kind::Generalises);
}

#[test]
fn a_large_n_run_generalises() {
    // linear-exact on Gaussian data with N >> d: no copies, samples as near held-out data as
    // to training data, chance MIA, no gap.
    let s = Signals {
        closed_form: true,
        r_mem: Some(0.0),
        r_mem_heldout: Some(0.0),
        closer: Some((0.5, 0.5)),
        mia_auc: Some(0.51),
        train_loss_eps_median: Some(0.3),
        normalised_gap: Some(0.001),
        ..Signals::default()
    };
    let d = decide(&s, "r", "r");
    assert_eq!(d.kind, Kind::Generalises, "{}", d.line());
    assert!(d.unmeasured.is_empty(), "{:?}", d.unmeasured);
    assert!(d.line().contains("MIA AUC 0.51"), "{}", d.line());
}

#[test]
fn a_rising_training_loss_is_unstable_never_memorising() {
    // The lr 1e-2 linear Gaussian run: the training-row loss rose from 0.434 to 0.478 and the
    // held-out loss rose with it (the old verdict said "memorising").
    let s = Signals {
        train_curve: trend(0.434, 200.0, 0.478, 1000.0),
        heldout_curve: trend(0.44, 200.0, 0.5, 1000.0),
        r_mem: Some(0.9),
        ..healthy()
    };
    let d = decide(&s, "r", "r");
    assert_eq!(d.kind, Kind::Unstable, "{}", d.line());
    assert!(
        d.line()
            .contains("rose from 0.434 (step 200) to 0.478 (step 1000), 10.14%"),
        "{}",
        d.line()
    );
    assert!(d.next.contains("--lr"), "{}", d.next);
    let nan = Signals {
        non_finite_losses: Some(2),
        ..healthy()
    };
    assert_eq!(decide(&nan, "r", "r").kind, Kind::Unstable);
    // lr 0.3: the loss hovers near 6 from the first log on, ending 3% above its lowest but
    // above where it started.
    let thrown = Signals {
        train_curve: Some(Trend {
            first: 6.02,
            first_step: 10.0,
            best: 5.99,
            best_step: 100.0,
            last: 6.18,
            last_step: 300.0,
        }),
        train_loss_eps_median: Some(6.18),
        ..healthy()
    };
    let d = decide(&thrown, "r", "r");
    assert_eq!(d.kind, Kind::Unstable, "{}", d.line());
    assert!(
        d.line()
            .contains("ended at 6.18 (step 300), above its first logged value 6.02 (step 10)"),
        "{}",
        d.line()
    );
    // A closed-form model has no training to be unstable.
    let exact = Signals {
        closed_form: true,
        train_curve: trend(0.1, 1.0, 1.0, 2.0),
        r_mem: Some(1.0),
        ..Signals::default()
    };
    assert_eq!(decide(&exact, "r", "r").kind, Kind::Copies);
}

#[test]
fn an_untrained_model_or_noise_samples_do_not_generate_the_data() {
    let untrained = Signals {
        train_loss_eps_median: Some(1.02),
        r_mem: Some(0.0),
        ..healthy()
    };
    let d = decide(&untrained, "r", "r");
    assert_eq!(d.kind, Kind::NotGenerating, "{}", d.line());
    assert!(
        d.line().contains("eps-loss on training rows 1.02"),
        "{}",
        d.line()
    );
    // The mnist5k --ci runs: pure-noise samples at FWD 11.3 against a floor of 1.2 were
    // called "generalises".
    let noise = Signals {
        fwd: Some((11.3, 1.2)),
        r_mem: Some(0.0),
        ..healthy()
    };
    let d = decide(&noise, "r", "r");
    assert_eq!(d.kind, Kind::NotGenerating, "{}", d.line());
    assert!(d.line().contains("9.417x"), "{}", d.line());
    // Diverged samples of a model that does denoise: unstable.
    let diverged = Signals {
        diverged: Some(0.25),
        r_mem: Some(0.0),
        ..healthy()
    };
    assert_eq!(decide(&diverged, "r", "r").kind, Kind::Unstable);
}

#[test]
fn copying_is_r_mem_in_excess_of_its_held_out_control() {
    let s = |r, h| Signals {
        r_mem: Some(r),
        r_mem_heldout: Some(h),
        ..healthy()
    };
    let d = decide(&s(1.0, 0.0), "runs/e", "runs/e");
    assert_eq!(d.kind, Kind::Copies, "{}", d.line());
    assert!(d.line().contains("100% of samples copy"), "{}", d.line());
    assert!(d.next.contains("runs/e/nn_grid.png"), "{}", d.next);
    assert_eq!(decide(&s(0.2, 0.0), "r", "r").kind, Kind::PartlyCopies);
    // The ratio test fires as often against unseen images: not copying.
    assert_eq!(decide(&s(0.6, 0.58), "r", "r").kind, Kind::Generalises);
}

#[test]
fn the_held_out_control_and_the_loss_gap_come_before_generalises() {
    let lean = Signals {
        r_mem: Some(0.0),
        closer: Some((0.08, 500.0 / 700.0)),
        ..healthy()
    };
    let d = decide(&lean, "r", "r");
    assert_eq!(d.kind, Kind::LeansOnTraining, "{}", d.line());
    assert!(d.line().contains("71.43%"), "{}", d.line());
    let gap = Signals {
        r_mem: Some(0.0),
        normalised_gap: Some(0.3),
        ..healthy()
    };
    let d = decide(&gap, "r", "r");
    assert_eq!(d.kind, Kind::FitsTrainingRows, "{}", d.line());
    assert!(
        d.line().contains("no copies in the samples"),
        "{}",
        d.line()
    );
    // train's view: the held-out loss rose while the training-row loss fell.
    let rose = Signals {
        heldout_curve: trend(0.185, 100.0, 0.232, 400.0),
        train_curve: trend(0.031, 400.0, 0.031, 400.0),
        ..healthy()
    };
    let d = decide(&rose, "r", "r");
    assert_eq!(d.kind, Kind::FitsTrainingRows, "{}", d.line());
    assert!(
        d.line().contains("rose from 0.185 (step 100) to 0.232"),
        "{}",
        d.line()
    );
}

#[test]
fn a_missing_signal_names_the_metric_that_would_decide() {
    // train: healthy losses, nothing about samples.
    let d = decide(&healthy(), "runs/r", "runs/r");
    assert_eq!(d.kind, Kind::Undecided);
    assert!(
        d.unmeasured.iter().any(|u| u.contains("--metrics mem"))
            && d.unmeasured.iter().any(|u| u.contains("--metrics mia")),
        "{:?}",
        d.unmeasured
    );
    assert!(
        d.line().contains("normalised loss gap 0.02"),
        "{}",
        d.line()
    );
    assert_eq!(
        d.next,
        "next: diffmem eval runs/r --metrics mem,loss,quality,mia"
    );
    let nothing = decide(&Signals::default(), "r", "r");
    assert_eq!(nothing.kind, Kind::Undecided);
    assert!(
        nothing.unmeasured[0].contains("log.jsonl"),
        "{:?}",
        nothing.unmeasured
    );
    // A verdict lists only what was unmeasured before it.
    let copies = decide(
        &Signals {
            r_mem: Some(0.9),
            ..healthy()
        },
        "r",
        "r",
    );
    assert!(
        copies.unmeasured.iter().all(|u| !u.contains("mia")),
        "{:?}",
        copies.unmeasured
    );
}

#[test]
fn trends_and_log_health() {
    let t = Trend::of(&[1.0, 2.0, 3.0, 4.0], &[0.5, 0.3, f64::NAN, 0.4]).unwrap();
    assert_eq!((t.first, t.first_step), (0.5, 1.0));
    assert_eq!(
        (t.best, t.best_step, t.last, t.last_step),
        (0.3, 2.0, 0.4, 4.0)
    );
    assert!(!t.ended_above_start());
    assert!(t.rose_by(1.3) && !t.rose_by(1.34));
    assert_eq!(Trend::of(&[1.0], &[f64::NAN]), None);
    let log = r#"{"step":10,"loss":0.5,"train_fixed_loss":0.4,"heldout_loss":0.45}
{"step":20,"loss":null,"train_fixed_loss":0.44,"heldout_loss":null,"normalised_gap":0.08,"train_fixed_loss_eps_median":0.5}
"#;
    let s = Signals::from_log(log);
    assert_eq!(s.non_finite_losses, Some(1));
    assert_eq!(s.train_curve, trend(0.4, 10.0, 0.44, 20.0));
    assert!(s.train_curve.unwrap().ended_above_start());
    assert_eq!(s.heldout_curve, trend(0.45, 10.0, 0.45, 10.0));
    assert_eq!(s.normalised_gap, Some(0.08));
    assert_eq!(s.train_loss_eps_median, Some(0.5));
    assert_eq!(Signals::from_log("not json"), Signals::default());
}

#[test]
fn metrics_and_dynamics_documents_are_read() {
    let doc = json!({"n_train": 200, "n_heldout": 50, "weights": {"kind": "ema"},
        "sample_health": {"num_samples": 10, "non_finite": 1, "exploding": 1},
        "metrics": {
            "mem": {"r_mem": 0.25, "heldout": {"r_mem_heldout": 0.05, "frac_closer_to_heldout": 0.1}},
            "loss": {"train_loss": [5.0, 0.4, 0.3, 0.2], "normalised_gap": 0.04},
            "quality": {"fwd": {"samples": {"value": 2.0}, "floor": {"value": 1.0}}},
            "mia": {"rows_per_set": 50, "best": {"auc": 0.6, "tpr_at_fpr": 0.02}},
            "dynamics": {"default_weights": "raw", "curves": {"raw": {"final_mia_auc": 0.7}}}}});
    let s = Signals::from_metrics(&doc);
    assert_eq!(s.diverged, Some(0.2));
    assert_eq!(s.closer, Some((0.1, 0.2)));
    assert_eq!(
        (s.r_mem, s.r_mem_heldout, s.fwd),
        (Some(0.25), Some(0.05), Some((2.0, 1.0)))
    );
    assert_eq!(
        (s.mia_auc, s.mia_tpr, s.mia_rows),
        (Some(0.6), Some(0.02), Some(50))
    );
    assert_eq!(
        (s.train_loss_eps_median, s.normalised_gap),
        (Some(0.35), Some(0.04))
    );
    assert!(!s.closed_form);
    let d = json!({"default_weights": "fitted", "optional": {"fwd_floor": 1.5},
        "curves": {"fitted": {"final_r_mem": 1.0, "final_fwd": 3.0}}});
    let s = Signals::from_dynamics(&d);
    assert!(s.closed_form);
    assert_eq!((s.r_mem, s.fwd), (Some(1.0), Some((3.0, 1.5))));
    let summary = json!({"trained": "closed form (fitted from the training set)"});
    assert!(Signals::from_summary(&summary).closed_form);
    let summary = json!({"train_fixed_loss_eps_median": 0.7});
    assert_eq!(
        Signals::from_summary(&summary).train_loss_eps_median,
        Some(0.7)
    );
}

#[test]
fn docs_state_every_rule_of_the_table() {
    let docs = include_str!("../../../../docs/metrics.md");
    for rule in table::TABLE.iter() {
        assert!(docs.contains(rule.kind.label()), "{}", rule.kind.label());
        assert!(
            docs.contains(rule.when),
            "docs/metrics.md lacks: {}",
            rule.when
        );
    }
}
