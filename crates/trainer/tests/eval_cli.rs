//! End-to-end `diffmem eval` on exact denoisers, whose answers are known: the empirical score
//! copies its training set (R_mem = 1), a Gaussian fit at large N does not (R_mem ~ 0), the
//! loss gap vanishes at large N and is large for N << d, a run agrees with itself.

use std::path::{Path, PathBuf};

mod common;
use common::ok_plain as diffmem;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("eval", name)
}

fn train(dir: &Path, name: &str, data: &str, n: &str, model: &str) -> String {
    let out = dir.join(name);
    let mut args = common::exact_flags(data, n, "200", model, "200");
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    diffmem(&args);
    out.to_str().unwrap().to_string()
}

fn eval(run: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["eval", run, "--quiet", "--json", "--num", "200"];
    args.extend_from_slice(extra);
    serde_json::from_str(&diffmem(&args)).unwrap()
}

#[test]
fn empirical_samples_are_memorised_and_gaussian_fits_are_not() {
    let dir = tmpdir("mem");
    let emp = train(&dir, "emp", "mnist-5k", "20", "empirical");
    let m = eval(&emp, &["--metrics", "mem"]);
    let r = m["metrics"]["mem"]["r_mem"].as_f64().unwrap();
    assert!(r > 0.98, "empirical R_mem = {r}");
    assert!(dir.join("emp/nn_grid.png").exists() && dir.join("emp/nn.csv").exists());
    let gauss = train(
        &dir,
        "gauss",
        "gaussian:d=10,spectrum=power:1",
        "5000",
        "linear-exact",
    );
    let m = eval(&gauss, &["--metrics", "mem,gaussian"]);
    let r = m["metrics"]["mem"]["r_mem"].as_f64().unwrap();
    assert!(r < 0.05, "Gaussian-fit R_mem = {r}");
    // Samples of the exact linear model at N >> d follow the truth: what is left is the bias of
    // a Gaussian fitted to M = 200 samples, E[KL] ~ d(d+3)/(4M) = 0.16 (docs/theory.md §1, Wishart).
    let kl = m["metrics"]["gaussian"]["kl_samples_fit_to_truth"]
        .as_f64()
        .unwrap();
    assert!(kl < 2.0 * 0.1625, "KL(samples || truth) = {kl}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn loss_gap_vanishes_at_large_n_and_is_large_below_d() {
    let dir = tmpdir("gap");
    let data = "gaussian:d=20,spectrum=power:1";
    let big = train(&dir, "big", data, "4000", "linear-exact");
    let small = train(&dir, "small", data, "5", "linear-exact");
    let gap = |run: &str| {
        let m = eval(run, &["--metrics", "loss", "--loss-rows", "200"]);
        let l = &m["metrics"]["loss"];
        (
            l["mean_gap"].as_f64().unwrap(),
            l["mean_train_loss"].as_f64().unwrap(),
        )
    };
    let (g_big, l_big) = gap(&big);
    let (g_small, _) = gap(&small);
    assert!(
        g_big.abs() < 0.05 * l_big,
        "large-N gap {g_big} (train loss {l_big})"
    );
    assert!(
        g_small > 10.0 * g_big.abs().max(1e-3),
        "N << d gap {g_small} vs {g_big}"
    );
    assert!(dir.join("big/loss_gap.csv").exists() && dir.join("big/loss_gap.png").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_run_agrees_with_itself() {
    let dir = tmpdir("agree");
    let run = train(
        &dir,
        "a",
        "gaussian:d=10,spectrum=power:1",
        "100",
        "linear-exact",
    );
    let m = eval(&run, &["--metrics", "agree", "--against", &run]);
    let c = m["metrics"]["agree"]["cosine"]["mean"].as_f64().unwrap();
    assert!((c - 1.0).abs() < 1e-6, "self-agreement {c}");
    assert_eq!(m["samples"]["seed"], 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn eval_rejects_bad_requests() {
    let dir = tmpdir("bad");
    let run = train(
        &dir,
        "a",
        "gaussian:d=4,spectrum=power:1",
        "50",
        "linear-exact",
    );
    for (args, needle) in [
        (vec!["eval", &run, "--metrics", "bogus"], "unknown metric"),
        (vec!["eval", &run, "--metrics", "agree"], "--against"),
        (vec!["eval", "/nonexistent/run"], "not a run directory"),
    ] {
        let out = common::plain().args(&args).output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The spectrum headline's known answer: on the paper's linear manifold (2 + 5 latent
/// directions in d = 30) the exact Gaussian score keeps all 7 at every headline level and
/// never collapses; `eval` prints the levels with the median [IQR] over points, metrics.json
/// holds the same numbers, and the default (paper) grid takes the headline's levels.
#[test]
fn spectrum_headline_gives_the_manifold_dimension() {
    let dir = tmpdir("spectrum");
    let run = train(&dir, "le", "manifold:paper", "500", "linear-exact");
    let out = dir.join("ev");
    let text = diffmem(&[
        "eval",
        &run,
        "--metrics",
        "spectrum",
        "--num",
        "16",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        text.contains("latent dim train clean at before-collapse")
            && text.contains("7 [7, 7] (median [IQR]"),
        "{text}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let h = &m["metrics"]["spectrum"]["headline"];
    let names: Vec<&str> = h["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["before-collapse", "achilli-t2", "achilli-t15"],
        "{h}"
    );
    for r in h["dims"].as_array().unwrap() {
        assert_eq!(
            (r["q25"].as_f64(), r["q75"].as_f64()),
            (Some(7.0), Some(7.0)),
            "{r}"
        );
    }
    let collapse = h["collapse"].as_array().unwrap();
    assert!(!collapse.is_empty() && collapse.iter().all(|c| c["collapse_sigma2"].is_null()));
    // Every headline level was analysed (the grid always holds them).
    let grid: Vec<u64> = m["metrics"]["spectrum"]["config"]["paper_t"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    for l in h["levels"].as_array().unwrap() {
        assert!(
            grid.contains(&l["paper_t"].as_u64().unwrap()),
            "{l} not in {grid:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
