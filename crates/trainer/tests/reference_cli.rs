//! Reference following (`--metrics ref`), membership inference and sample quality end to end on
//! exact denoisers, whose answers are known: each exact run follows its own reference
//! (r^2 = 1), membership inference finds the empirical score's training set (AUC ~ 1 at small
//! t) and not a Gaussian fit at N >> d (AUC ~ 1/2), and sample quality puts Gaussian blobs far above
//! the real-vs-real floor, which itself brackets 0 for KID.

use std::path::{Path, PathBuf};

mod common;
use common::{floats, ok_plain as diffmem};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("ref", name)
}

fn train(dir: &Path, name: &str, data: &str, n: &str, heldout: &str, model: &str) -> String {
    let out = dir.join(name);
    let mut args = common::exact_flags(data, n, heldout, model, "200");
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    diffmem(&args);
    out.to_str().unwrap().to_string()
}

fn eval(run: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["eval", run, "--quiet", "--json", "--device", "flex"];
    args.extend_from_slice(extra);
    serde_json::from_str(&diffmem(&args)).unwrap()
}

#[test]
fn linear_exact_follows_itself_and_resists_membership_inference() {
    let dir = tmpdir("lin");
    let run = train(
        &dir,
        "lin",
        "gaussian:d=8,spectrum=power:1",
        "4000",
        "400",
        "linear-exact",
    );
    let m = eval(
        &run,
        &[
            "--metrics",
            "ref,mia",
            "--loss-points",
            "6",
            "--loss-rows",
            "400",
        ],
    );
    let r = &m["metrics"]["ref"];
    for set in ["train", "heldout"] {
        for v in floats(&r["sets"][set]["linear-exact"]["r2"]) {
            assert!(v > 0.9999, "{set}: r2 against itself = {v}");
        }
    }
    assert_eq!(r["follows"]["high"]["reference"], "linear-exact");
    let band = r["band_r2"]["middle"]["linear-exact"].as_f64().unwrap();
    assert!(band > 0.9999, "scalar band mean for reports: {band}");
    let auc = floats(&m["metrics"]["mia"]["auc"]);
    for a in &auc {
        assert!((a - 0.5).abs() < 0.08, "linear-exact at N >> d: AUC {a}");
    }
    assert!(dir.join("lin/ref.csv").exists() && dir.join("lin/ref.png").exists());
    assert!(dir.join("lin/mia.csv").exists() && dir.join("lin/mia.png").exists());
}

#[test]
fn empirical_follows_itself_and_gives_away_its_training_set() {
    let dir = tmpdir("emp");
    let run = train(&dir, "emp", "mnist-5k", "30", "200", "empirical");
    let m = eval(&run, &["--metrics", "ref,mia", "--loss-points", "5"]);
    let r = &m["metrics"]["ref"];
    for set in ["train", "heldout"] {
        for v in floats(&r["sets"][set]["empirical"]["r2"]) {
            assert!(v > 0.9999, "{set}: r2 against itself = {v}");
        }
    }
    assert_eq!(r["follows"]["low"]["reference"], "empirical");
    let auc = floats(&m["metrics"]["mia"]["auc"]);
    assert!(auc[0] > 0.95, "empirical at small t: AUC {}", auc[0]);
    assert!(m["metrics"]["mia"]["best"]["auc"].as_f64().unwrap() > 0.95);
}

#[test]
fn quality_separates_gaussian_blobs_from_copies_of_real_images() {
    let dir = tmpdir("quality");
    let q = |model: &str| {
        let run = train(&dir, model, "mnist-5k", "300", "300", model);
        eval(
            &run,
            &["--metrics", "quality", "--num", "300", "--steps", "20"],
        )["metrics"]["quality"]
            .clone()
    };
    let lin = q("linear-exact");
    let emp = q("empirical");
    let f = |v: &serde_json::Value, path: [&str; 3]| v[path[0]][path[1]][path[2]].as_f64().unwrap();
    let floor = f(&lin, ["fwd", "floor", "value"]);
    assert_eq!(lin["fwd"]["level"], 2, "28x28 images: packets at level 2");
    assert!(floor > 0.0);
    // Gaussian blobs are far from real digits, beyond the real-vs-real floor. The empirical
    // score's samples are exact training digits, but not a uniform draw of them (the sampler
    // favours some), so they are closer than the blobs without reaching the floor.
    assert!(f(&lin, ["fwd", "samples", "value"]) > 2.0 * floor, "{lin}");
    assert!(
        f(&lin, ["kid", "samples", "mean"]) > f(&lin, ["kid", "floor", "hi"]),
        "{lin}"
    );
    assert!(
        f(&lin, ["kid", "floor", "lo"]) < 0.0 && f(&lin, ["kid", "floor", "hi"]) > 0.0,
        "{lin}"
    );
    assert!(
        f(&emp, ["kid", "samples", "mean"]) < f(&lin, ["kid", "samples", "mean"]),
        "{emp}"
    );
    assert!(dir.join("empirical/quality.csv").exists());
}

#[test]
fn quality_on_flat_data_says_it_falls_back_to_coordinates() {
    let dir = tmpdir("flat");
    let run = train(
        &dir,
        "g",
        "gaussian:d=6,spectrum=power:1",
        "2000",
        "300",
        "linear-exact",
    );
    let m = eval(
        &run,
        &["--metrics", "quality", "--num", "300", "--steps", "20"],
    );
    let q = &m["metrics"]["quality"];
    assert!(
        q["fwd"]["features"]
            .as_str()
            .unwrap()
            .contains("raw coordinates"),
        "{q}"
    );
    // Samples of the fitted Gaussian at N >> d are about as close to held-out data as
    // training data are.
    let (s, fl) = (
        q["fwd"]["samples"]["value"].as_f64().unwrap(),
        q["fwd"]["floor"]["value"].as_f64().unwrap(),
    );
    assert!(s < 3.0 * fl + 0.05, "{q}");
}

#[test]
fn quality_needs_a_held_out_set() {
    let dir = tmpdir("noheld");
    let run = train(
        &dir,
        "e",
        "gaussian:d=4,spectrum=power:1",
        "50",
        "2",
        "linear-exact",
    );
    let out = common::plain()
        .args([
            "eval",
            &run,
            "--quiet",
            "--device",
            "flex",
            "--num",
            "20",
            "--metrics",
            "quality",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--heldout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `--model local` (same-position patches, the default patch sizes) is samplable, and it is
/// the `local` reference of `--metrics ref`, so it follows itself with r^2 = 1.
#[test]
fn local_patch_machine_samples_and_follows_itself() {
    let dir = tmpdir("local");
    let out = dir.join("loc");
    diffmem(&[
        "train",
        "--data",
        "mnist-5k",
        "--n",
        "20",
        "--heldout",
        "20",
        "--model",
        "local",
        "--equivariant",
        "false",
        "--timesteps",
        "50",
        "--num",
        "2",
        "--quiet",
        "--device",
        "flex",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(out.join("samples.png").exists());
    let m = eval(
        out.to_str().unwrap(),
        &[
            "--metrics",
            "ref",
            "--loss-points",
            "3",
            "--loss-rows",
            "10",
        ],
    );
    let r = &m["metrics"]["ref"];
    for set in ["train", "heldout"] {
        for v in floats(&r["sets"][set]["local"]["r2"]) {
            assert!(v > 0.9999, "{set}: r2 against itself = {v}");
        }
    }
}

#[test]
fn local_needs_images_and_odd_patches() {
    let dir = tmpdir("localbad");
    for (data, patch, needle) in [
        ("gaussian:d=4,spectrum=power:1", "3", "image"),
        ("mnist-5k", "4", "odd"),
    ] {
        let out = common::plain()
            .args([
                "train",
                "--data",
                data,
                "--n",
                "10",
                "--model",
                "local",
                "--patch",
                patch,
                "--quiet",
                "--device",
                "flex",
                "--out",
                dir.join("x").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(needle),
            "{data} {patch}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Calibrating the local machine against a local run recovers the run's own patch size.
#[test]
fn calibration_recovers_the_patch_size_of_a_local_run() {
    let dir = tmpdir("calib");
    let out = dir.join("loc5");
    diffmem(&[
        "train",
        "--data",
        "mnist-5k",
        "--n",
        "15",
        "--heldout",
        "15",
        "--model",
        "local",
        "--equivariant",
        "false",
        "--patch",
        "5",
        "--timesteps",
        "50",
        "--num",
        "1",
        "--quiet",
        "--device",
        "flex",
        "--out",
        out.to_str().unwrap(),
    ]);
    let m = eval(
        out.to_str().unwrap(),
        &[
            "--metrics",
            "mia",
            "--calibrate-local",
            "--loss-points",
            "3",
            "--loss-rows",
            "6",
        ],
    );
    let c = &m["metrics"]["calibrate-local"];
    assert_eq!(c["patch"], serde_json::json!([5, 5, 5]), "{c}");
    for v in floats(&c["best_r2"]) {
        assert!(v > 0.9999, "{c}");
    }
    assert!(out.join("calibrate_local.csv").exists());
}
