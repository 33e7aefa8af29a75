//! End-to-end snapshots along training (`train --snapshots K`) and their evaluation
//! (`eval --along-training`), with known answers: resume keeps the snapshot schedule and
//! weights, the `empirical` model memorises at every snapshot, a run on far more data than its
//! steps can memorise never crosses the tau_mem threshold.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::{csv, ok, run};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("dyn", name)
}

/// A tiny MLP run with 5 snapshots over 40 steps, on N digits.
fn tiny<'a>(n: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = common::tiny_mlp(n, "40", "10");
    v.extend_from_slice(&["--snapshots", "5", "--out", out]);
    v.extend_from_slice(extra);
    v
}

/// The snapshot directories of a run and the files in each, sorted.
fn snapshot_files(run: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(run.join("snapshots"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            std::fs::read_dir(e.path())
                .unwrap()
                .flatten()
                .map(move |f| format!("{name}/{}", f.file_name().to_string_lossy()))
        })
        .collect();
    v.sort();
    v
}

fn eval(run: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "eval",
        run,
        "--along-training",
        "--quiet",
        "--json",
        "--num",
        "60",
        "--steps",
        "10",
        "--bootstrap",
        "200",
        "--loss-points",
        "4",
        "--loss-rows",
        "32",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

#[test]
fn resume_keeps_the_snapshot_schedule_and_weights() {
    let dir = tmpdir("resume");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = run(&tiny("64", a_s, &[]));
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("snapshots: 5 of 5 planned") && err.contains("MiB"),
        "{err}"
    );
    let out = run(&tiny("64", b_s, &["--stop-after", "20"]));
    assert_eq!(out.status.code(), Some(130));
    ok(&["train", "--resume", b_s, "--quiet"]);
    let sched = |p: &Path| std::fs::read_to_string(p.join("snapshots/schedule.json")).unwrap();
    assert_eq!(sched(&a), sched(&b));
    let s: Value = serde_json::from_str(&sched(&a)).unwrap();
    // Log-spaced from the first logging step (10) to the last (40): 10, 14, 20, 28, 40.
    assert_eq!(s["steps"], serde_json::json!([10, 14, 20, 28, 40]));
    let (fa, fb) = (snapshot_files(&a), snapshot_files(&b));
    assert_eq!(fa.len(), 5 * 4, "{fa:?}");
    assert_eq!(fa, fb);
    // Weights only: no optimiser state.
    assert!(!fa.iter().any(|f| f.contains("optim")), "{fa:?}");
    // The same weights (.bpk bytes carry ids that differ run to run): the evaluation of the
    // resumed run's snapshots, with the same noise, equals that of the uninterrupted run.
    eval(b_s, &[]);
    let b_rows = std::fs::read_to_string(b.join("dynamics.csv")).unwrap();
    // Along training: one row per snapshot and weight kind, same noise for each.
    let m = eval(a_s, &[]);
    let d = &m["metrics"]["dynamics"];
    assert_eq!(d["steps"], s["steps"]);
    assert_eq!(d["default_weights"], "raw");
    assert!(d["curves"]["ema"].is_object());
    let rows = csv(&a.join("dynamics.csv"));
    assert_eq!(rows.len(), 1 + 10);
    assert_eq!(rows[0][..3], ["step", "weights", "r_mem"]);
    for r in &rows[1..] {
        let (lo, x, hi): (f64, f64, f64) = (
            r[3].parse().unwrap(),
            r[2].parse().unwrap(),
            r[4].parse().unwrap(),
        );
        assert!(lo <= x && x <= hi, "{r:?}");
    }
    assert!(a.join("dynamics.png").exists() && a.join("dynamics_loss.png").exists());
    assert_eq!(
        std::fs::read_to_string(a.join("dynamics.csv")).unwrap(),
        b_rows
    );
}

#[test]
fn empirical_memorises_at_every_snapshot() {
    let dir = tmpdir("emp");
    let run_dir = dir.join("emp");
    let r = run_dir.to_str().unwrap();
    let mut flags = common::exact_flags("mnist-5k", "20", "64", "empirical", "200");
    flags.extend_from_slice(&["--steps", "1000", "--snapshots", "4", "--out", r]);
    ok(&flags);
    let m = eval(r, &[]);
    let d = &m["metrics"]["dynamics"];
    assert_eq!(d["default_weights"], "fitted");
    let rows = csv(&run_dir.join("dynamics.csv"));
    assert_eq!(rows.len(), 1 + 4);
    for row in &rows[1..] {
        assert_eq!(
            (row[1].as_str(), row[2].as_str()),
            ("fitted", "1"),
            "{row:?}"
        );
    }
    // It memorises from the first snapshot on (log-spaced from step 100 to 1000).
    assert_eq!(d["tau_mem"].as_f64(), Some(100.0));
    assert_eq!(d["tau_mem_reached"], true);
    // The verdict of the last snapshot, from the same decision table as a plain eval's.
    assert_eq!(d["verdict"]["kind"], "copies", "{}", d["verdict"]);
    // A later plain evaluation keeps the along-training results in metrics.json.
    let plain: Value = serde_json::from_str(&ok(&[
        "eval", r, "--quiet", "--json", "--num", "20", "--steps", "10",
    ]))
    .unwrap();
    assert_eq!(plain["metrics"]["dynamics"], *d);
    assert!(plain["metrics"]["mem"].is_object());
}

#[test]
fn large_n_never_crosses_the_threshold() {
    let dir = tmpdir("bign");
    let run_dir = dir.join("big");
    let r = run_dir.to_str().unwrap();
    ok(&tiny("2000", r, &[]));
    let m = eval(r, &["--metrics", "mem"]);
    let d = &m["metrics"]["dynamics"];
    // 40 steps of batch 16 see a third of 2000 images once: nothing is memorised.
    assert!(d["tau_mem"].is_null(), "{d}");
    assert_eq!(d["tau_mem_reached"], false);
    assert!(d["tau_mem_lo"].is_null() && d["tau_mem_hi"].is_null());
    let rows = csv(&run_dir.join("dynamics.csv"));
    assert!(rows[1..].iter().all(|row| row[13].is_empty()), "{rows:?}");
    // The loss columns are empty when only mem was asked for.
    assert!(rows[1..].iter().all(|row| row[7].is_empty()));
}

#[test]
fn two_runs_on_disjoint_halves_agree_along_training() {
    let dir = tmpdir("agree");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    ok(&tiny("32", a_s, &["--split", "a"]));
    ok(&tiny("32", b_s, &["--split", "b"]));
    let m = eval(a_s, &["--against", b_s]);
    let d = &m["metrics"]["dynamics"];
    assert!(d["curves"]["raw"]["score_peak_step"].is_u64(), "{d}");
    let rows = csv(&a.join("dynamics.csv"));
    let h = &rows[0];
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    for row in &rows[1..] {
        let c: f64 = row[col("score_cos_heldout")].parse().unwrap();
        let s: f64 = row[col("agree_cosine")].parse().unwrap();
        assert!(
            (-1.0..=1.0).contains(&c) && (-1.0..=1.0).contains(&s),
            "{row:?}"
        );
    }
    assert!(h.iter().any(|c| c.starts_with("score_cos_heldout_t")));
}

#[test]
fn along_training_without_snapshots_or_with_other_metrics_fails_clearly() {
    let dir = tmpdir("bad");
    let a = dir.join("a");
    let a_s = a.to_str().unwrap();
    let mut args = tiny("32", a_s, &[]);
    let k = args.iter().position(|&x| x == "--snapshots").unwrap();
    args[k + 1] = "0";
    ok(&args);
    let out = run(&["eval", a_s, "--along-training", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--snapshots K"),
        "{err}"
    );
    let out = run(&[
        "eval",
        a_s,
        "--along-training",
        "--metrics",
        "spectrum",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("spectrum"), "{err}");
    let out = run(&[
        "eval",
        a_s,
        "--along-training",
        "--tau-mem-threshold",
        "1.5",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--tau-mem-threshold"),
        "{err}"
    );
}

#[test]
fn sweep_report_plots_tau_against_n_with_a_power_law() {
    // The empirical model memorises from the first snapshot at every N: tau_mem = the first
    // snapshot step (100) for all N, so the fitted exponent is 0 with R^2 = 1.
    let dir = tmpdir("sweep");
    std::fs::write(
        dir.join("dyn.toml"),
        r#"name = "dyn"
[base]
data.spec = "mnist-5k"
data.heldout = 64
diffusion.timesteps = 100
train.steps = 1000
train.snapshots = 4
sample.num = 4
[axes]
model = ["empirical"]
n = [8, 16, 32]
[eval]
metrics = ["mem", "loss"]
args = ["--along-training", "--num", "40", "--steps", "10", "--loss-points", "2", "--loss-rows", "16", "--bootstrap", "100"]
"#,
    )
    .unwrap();
    let out = common::plain()
        .current_dir(&dir)
        .args(["sweep", "dyn.toml", "--out", "sw", "--jobs", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("tau_mem ~ N^a"), "{text}");
    let sw = dir.join("sw");
    let rows = csv(&sw.join("report.csv"));
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    for r in &rows[1..] {
        assert_eq!(r[col("dynamics.tau_mem")], "100", "{r:?}");
        assert!(!r[col("dynamics.tau_gen")].is_empty());
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(sw.join("report.json")).unwrap()).unwrap();
    let fit = &report["tau_mem_fit"][0]["fit"];
    assert!(fit["a"].as_f64().unwrap().abs() < 1e-9, "{fit}");
    assert_eq!(fit["n"], 3);
    let html = std::fs::read_to_string(sw.join("report.html")).unwrap();
    assert!(html.contains("tau_vs_n.png") && html.contains("r_mem_dynamics.png"));
    // The runs table has the two times (the empirical model memorises at the first snapshot).
    assert!(html.contains("<th>tau_mem</th><th>tau_gen</th>"), "{html}");
    assert!(html.contains("<td>100</td>"), "{html}");
    assert!(sw.join("tau_vs_n.png").exists() && sw.join("r_mem_dynamics.png").exists());
}

/// The column `name` of a dynamics CSV as numbers (None for an empty cell).
fn column(rows: &[Vec<String>], name: &str) -> Vec<Option<f64>> {
    let k = rows[0].iter().position(|c| c == name).unwrap();
    rows[1..].iter().map(|r| r[k].parse().ok()).collect()
}

#[test]
fn quality_and_mia_along_training_are_the_plain_metrics_per_snapshot() {
    // An exact model is the same at every step: its per-snapshot FWD and MIA AUC are exactly
    // those of a plain `eval --metrics quality,mia` with the same samples and loss settings.
    let dir = tmpdir("qm");
    let run_dir = dir.join("emp");
    let r = run_dir.to_str().unwrap();
    let mut flags = common::exact_flags("mnist-5k", "20", "64", "empirical", "200");
    flags.extend_from_slice(&["--steps", "1000", "--snapshots", "4", "--out", r]);
    ok(&flags);
    let m = eval(r, &["--metrics", "mem,loss,quality,mia"]);
    let d = &m["metrics"]["dynamics"];
    let rows = csv(&run_dir.join("dynamics.csv"));
    let (fwd, auc, best_t) = (
        column(&rows, "fwd"),
        column(&rows, "mia_auc"),
        column(&rows, "mia_best_t"),
    );
    let plain_dir = dir.join("plain");
    let plain: Value = serde_json::from_str(&ok(&[
        "eval",
        r,
        "--out",
        plain_dir.to_str().unwrap(),
        "--quiet",
        "--json",
        "--metrics",
        "quality,mia",
        "--num",
        "60",
        "--steps",
        "10",
        "--loss-points",
        "4",
        "--loss-rows",
        "32",
    ]))
    .unwrap();
    let q = &plain["metrics"]["quality"]["fwd"];
    let mia = &plain["metrics"]["mia"]["best"];
    for k in 0..4 {
        let f = fwd[k].unwrap();
        assert!(
            (f / q["samples"]["value"].as_f64().unwrap() - 1.0).abs() < 1e-9,
            "{f} {q}"
        );
        assert_eq!(auc[k], mia["auc"].as_f64());
        assert_eq!(best_t[k], mia["paper_t"].as_f64());
    }
    // Known answer (as for the plain `eval --metrics mia`): the empirical model's attack is
    // near perfect.
    assert!(auc[0].unwrap() > 0.95, "{auc:?}");
    let floor = d["optional"]["fwd_floor"].as_f64().unwrap();
    assert!((floor / q["floor"]["value"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert!(run_dir.join("dynamics_quality.png").exists());
    // Not a linear run: no theory overlay.
    assert!(d["theory"].is_null() && !run_dir.join("dynamics_theory.csv").exists());
}

#[test]
fn tau_gen_waits_for_the_fwd_too() {
    let dir = tmpdir("taugen");
    let run_dir = dir.join("a");
    let r = run_dir.to_str().unwrap();
    ok(&tiny("64", r, &[]));
    let m = eval(
        r,
        &["--metrics", "loss,quality", "--tau-gen-tolerance", "0.02"],
    );
    let rows = csv(&run_dir.join("dynamics.csv"));
    let raw: Vec<Vec<String>> = rows.iter().filter(|r| r[1] != "ema").cloned().collect();
    let (steps, held, fwd) = (
        column(&raw, "step"),
        column(&raw, "heldout_loss"),
        column(&raw, "fwd"),
    );
    // The definition, recomputed: the first step where both are within 2% of their best.
    let near = |v: &[Option<f64>], i: usize| {
        let best = v.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        v[i].unwrap() <= best + 0.02 * best.abs()
    };
    let i = (0..steps.len())
        .find(|&i| near(&held, i) && near(&fwd, i))
        .unwrap();
    let d = &m["metrics"]["dynamics"];
    assert_eq!(d["tau_gen"].as_f64(), steps[i], "{d}");
    assert!(
        fwd.iter()
            .all(|f| f.is_some_and(|f| f.is_finite() && f >= 0.0))
    );
}

/// The metrics.json of the run in `run_dir`.
fn metrics_json(run_dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(run_dir.join("metrics.json")).unwrap()).unwrap()
}

/// Trains the linear denoiser on 16 rows of a 4-dimensional Gaussian into `r`: 200 steps at
/// a constant learning rate, 5 snapshots.
fn train_linear_gaussian(r: &str) {
    ok(&[
        "train",
        "--data",
        "gaussian:d=4,spectrum=power:1",
        "--n",
        "16",
        "--heldout",
        "64",
        "--model",
        "linear",
        "--timesteps",
        "20",
        "--beta-1",
        "1e-3",
        "--beta-T",
        "0.2",
        "--steps",
        "200",
        "--batch-size",
        "16",
        "--lr",
        "1e-2",
        "--warmup",
        "0",
        "--lr-schedule",
        "constant",
        "--log-every",
        "10",
        "--snapshots",
        "5",
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
        "--out",
        r,
    ]);
}

/// The flow theory an along-training eval fitted to the run in `run_dir`: a positive clock
/// constant, a finite fit error, every theory column finite and positive at each of the 5
/// snapshots, the samples' KL per snapshot (a default metric of Gaussian data) and the plots.
fn check_flow_theory(run_dir: &Path) {
    let m = metrics_json(run_dir);
    let th = &m["metrics"]["dynamics"]["theory"];
    assert!(th["c"].as_f64().unwrap() > 0.0, "{th}");
    assert!(th["rms_log_error"].as_f64().unwrap().is_finite());
    let rows = csv(&run_dir.join("dynamics_theory.csv"));
    assert_eq!(rows.len(), 1 + 5);
    for name in [
        "tau",
        "theory_heldout_loss",
        "theory_train_loss",
        "theory_kl",
    ] {
        for v in column(&rows, name) {
            assert!(
                v.is_some_and(|v| v.is_finite() && v > 0.0),
                "{name}: {rows:?}"
            );
        }
    }
    // The default metrics of Gaussian data include the KL of the samples' fit per snapshot.
    assert!(
        column(&csv(&run_dir.join("dynamics.csv")), "kl_samples")
            .iter()
            .all(Option::is_some)
    );
    for f in ["dynamics_loss.png", "dynamics_kl.png"] {
        assert!(run_dir.join(f).exists(), "{f}");
    }
}

/// Without `mem` there is no R_mem: tau_mem is "not measured", never "not reached"; the eval
/// ends with the verdict of the last snapshot, from the one decision table.
fn check_tau_mem_not_measured_without_mem(run_dir: &Path) {
    let r = run_dir.to_str().unwrap();
    let text = ok(&[
        "eval",
        r,
        "--along-training",
        "--metrics",
        "loss",
        "--num",
        "20",
        "--loss-points",
        "3",
        "--loss-rows",
        "16",
        "--quiet",
    ]);
    // It ends with the verdict of the last snapshot, from the one decision table.
    assert!(
        text.contains("\nverdict at the last snapshot: ") && text.contains("\nnext: "),
        "{text}"
    );
    assert!(
        text.contains("tau_mem                 not measured"),
        "{text}"
    );
    let m = metrics_json(run_dir);
    assert!(m["metrics"]["dynamics"]["tau_mem_reached"].is_null(), "{m}");
}

#[test]
fn linear_gaussian_run_gets_the_flow_theory_with_a_fitted_clock() {
    let dir = tmpdir("theory");
    let run_dir = dir.join("lin");
    let r = run_dir.to_str().unwrap();
    train_linear_gaussian(r);
    let text = ok(&[
        "eval",
        r,
        "--along-training",
        "--sampler",
        "ddpm",
        "--num",
        "200",
        "--loss-points",
        "5",
        "--loss-rows",
        "64",
        "--bootstrap",
        "50",
        "--quiet",
    ]);
    assert!(text.contains("clock fitted, c = "), "{text}");
    check_flow_theory(&run_dir);
    check_tau_mem_not_measured_without_mem(&run_dir);
}
