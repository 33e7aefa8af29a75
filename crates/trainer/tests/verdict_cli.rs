//! Known-answer verdicts end to end: an untrained model does not generate the data yet, the
//! empirical denoiser copies its training set, a linear run whose training loss rises is
//! unstable (never "memorising"), and the exact linear model at N >> d generalises. `train` and
//! `eval` print them from the one decision table; metrics.json and summary.json carry them.

mod common;

use common::{exact_flags, ok, s, tiny_mlp, tmpdir};
use std::path::Path;

fn verdict_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("verdict"))
        .unwrap_or_else(|| panic!("no verdict in:\n{stdout}"))
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn an_untrained_model_does_not_generate_the_data_yet() {
    let dir = tmpdir("verdict", "untrained");
    let run = dir.join("r");
    let mut flags = tiny_mlp("64", "1", "1");
    flags.extend_from_slice(&["--out", s(&run)]);
    let train = ok(&flags);
    let line = verdict_line(&train);
    assert!(
        line.starts_with(
            "verdict: does not generate the data yet: median eps-loss on training rows"
        ),
        "{train}"
    );
    assert_eq!(
        json(&run.join("summary.json"))["verdict_kind"],
        "not_generating"
    );
    let eval = ok(&["eval", s(&run), "--quiet", "--num", "16"]);
    let line = verdict_line(&eval);
    assert!(
        line.starts_with("verdict: does not generate the data yet"),
        "{eval}"
    );
    assert!(eval.contains("next: train longer (--steps)"), "{eval}");
    assert_eq!(
        json(&run.join("metrics.json"))["verdict"]["kind"],
        "not_generating"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_empirical_denoiser_copies_its_training_set() {
    let dir = tmpdir("verdict", "empirical");
    let run = dir.join("e");
    let mut flags = exact_flags("mnist-5k", "20", "20", "empirical", "100");
    flags.extend_from_slice(&["--out", s(&run)]);
    let train = ok(&flags);
    assert!(
        verdict_line(&train).starts_with("verdict: undecided"),
        "{train}"
    );
    let eval = ok(&["eval", s(&run), "--quiet", "--num", "16", "--steps", "20"]);
    let line = verdict_line(&eval);
    assert!(
        line.starts_with("verdict: copies its training set: R_mem 1 (100% of samples"),
        "{eval}"
    );
    assert!(eval.contains("nn_grid.png"), "{eval}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_linear_run_whose_training_loss_rises_is_unstable() {
    let dir = tmpdir("verdict", "unstable");
    let run = dir.join("lin");
    // Adam at lr 0.1 (cosine schedule) on a linear model: the training-row loss climbs from
    // 0.93 to 16 and is still 2.6 at the end.
    let train = ok(&[
        "train",
        "--data",
        "gaussian:d=20,spectrum=power:1",
        "--n",
        "200",
        "--heldout",
        "200",
        "--model",
        "linear",
        "--steps",
        "1000",
        "--lr",
        "0.1",
        "--log-every",
        "50",
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
        "--out",
        s(&run),
    ]);
    let line = verdict_line(&train);
    assert!(
        line.starts_with("verdict: unstable: the training-row loss rose from"),
        "{train}"
    );
    assert!(!train.contains("memoris"), "{train}");
    assert!(train.contains("--lr"), "{train}");
    // eval reads the same log: still unstable, whatever the samples show.
    let eval = ok(&[
        "eval",
        s(&run),
        "--quiet",
        "--num",
        "16",
        "--metrics",
        "mem,loss",
    ]);
    assert!(
        verdict_line(&eval).starts_with("verdict: unstable: the training-row loss rose from"),
        "{eval}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_exact_linear_model_at_large_n_generalises() {
    let dir = tmpdir("verdict", "large-n");
    let run = dir.join("g");
    let mut flags = exact_flags(
        "gaussian:d=10,spectrum=power:1",
        "4000",
        "2000",
        "linear-exact",
        "100",
    );
    flags.extend_from_slice(&["--out", s(&run)]);
    ok(&flags);
    let eval = ok(&[
        "eval",
        s(&run),
        "--quiet",
        "--num",
        "100",
        "--steps",
        "20",
        "--metrics",
        "mem,loss,mia",
        "--loss-rows",
        "200",
    ]);
    let line = verdict_line(&eval);
    assert!(line.starts_with("verdict: generalises: R_mem 0"), "{eval}");
    assert!(line.contains("MIA AUC"), "{eval}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn gaps_name_their_units_and_the_normalised_gap_is_recomputable() {
    let dir = tmpdir("verdict", "gaps");
    let run = dir.join("x0");
    let mut flags = tiny_mlp("64", "40", "20");
    flags.extend_from_slice(&["--objective", "x0", "--out", s(&run)]);
    let train = ok(&flags);
    for key in ["gap_objective", "gap_eps", "normalised_gap", "loss_units"] {
        assert!(train.contains(&format!("\n  {key} ")), "{key}: {train}");
    }
    let summary = json(&run.join("summary.json"));
    assert_eq!(summary["loss_units"], "x0");
    assert!(
        summary.get("gap").is_none(),
        "one name per meaning: {summary}"
    );
    let (g_obj, g_eps) = (
        summary["gap_objective"].as_f64().unwrap(),
        summary["gap_eps"].as_f64().unwrap(),
    );
    assert!(g_obj != g_eps, "x0 and eps gaps differ: {g_obj} {g_eps}");
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    for line in log.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["loss_units"], "x0", "{line}");
        assert!(v["normalised_gap"].is_number() && v["heldout_loss_eps"].is_number());
    }
    // eval's loss is in eps units, and its normalised gap is the mean of the per-timestep
    // relative gaps, recomputed here from the two curves.
    let out = ok(&["eval", s(&run), "--quiet", "--json", "--metrics", "loss"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let l = &doc["metrics"]["loss"];
    assert_eq!(l["units"], "eps");
    assert_eq!(l["mean_gap_eps"], l["mean_gap"]);
    let (tr, he) = (
        common::floats(&l["train_loss"]),
        common::floats(&l["heldout_loss"]),
    );
    let by_hand = tr.iter().zip(&he).map(|(t, h)| (h - t) / h).sum::<f64>() / tr.len() as f64;
    let g = l["normalised_gap"].as_f64().unwrap();
    assert!((g - by_hand).abs() < 1e-12, "{g} vs {by_hand}");
    assert_eq!(
        doc["verdict"]["next"]
            .as_str()
            .map(|n| n.starts_with("next: ")),
        Some(true)
    );
    std::fs::remove_dir_all(&dir).ok();
}
