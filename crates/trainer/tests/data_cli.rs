//! End-to-end tests of `diffmem data` through the built binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn diffmem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diffmem"))
        .args(args)
        // Run from a directory without datasets/: the bundled data must be embedded.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run diffmem")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("diffmem-data-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// Asserts a clean failure: non-zero exit, no panic, stderr names `needle` and ends with a
/// hint line.
fn assert_fails_with(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "unexpected success: {}",
        text(&out.stdout)
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains(needle),
        "stderr does not name `{needle}`: {err}"
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("hint: "), "no hint line: {err}");
}

#[test]
fn inspect_bundled_mnist_5k() {
    let out = diffmem(&["data", "inspect", "--data", "mnist-5k"]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(s.contains("N:          5000"), "{s}");
    assert!(s.contains("1 x 28 x 28"), "{s}");
    assert!(s.contains("[-1.0000, 1.0000]"), "{s}");
    assert!(s.contains("0: 500, 1: 500"), "{s}");
}

#[test]
fn inspect_balanced_subset_as_json() {
    let out = diffmem(&[
        "data",
        "inspect",
        "--data",
        "mnist-5k",
        "--n",
        "100",
        "--seed",
        "3",
        "--balanced",
        "--split",
        "b",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 100);
    assert_eq!(v["dim"], 784);
    for c in 0..10 {
        assert_eq!(v["class_counts"][c.to_string()], 10);
    }
    // Pixel mean of MNIST is 33.49/255: about -0.74 in [-1, 1].
    let mean = v["mean"].as_f64().unwrap();
    assert!((mean + 0.74).abs() < 0.05, "{mean}");
}

#[test]
fn inspect_synthetic_manifold() {
    let out = diffmem(&["data", "inspect", "--data", "manifold:paper", "--n", "200"]);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        s.contains("N:          200") && s.contains("flat, D = 30"),
        "{s}"
    );
    assert!(s.contains("blocks 2 x std 1 + 5 x std 0.3"), "{s}");
}

/// Runs `diffmem ARGS --json --out OUT`, which must succeed, and parses what it printed.
fn json_of(args: &[&str], out: &std::path::Path) -> serde_json::Value {
    let o = diffmem(&[args, &["--json", "--out", out.to_str().unwrap()]].concat());
    assert!(o.status.success(), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn grid_writes_a_png_of_the_right_size() {
    let dir = scratch("grid");
    let png = dir.join("grid.png");
    let out = diffmem(&[
        "data",
        "grid",
        "--data",
        "mnist-5k",
        "--n",
        "500",
        "--num",
        "16",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 16 samples -> 4 x 4 tiles of 28 px with 1 px borders: 4 * 29 + 1 = 117.
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (117, 117));
    // --json: what was written, as one object.
    let args = [
        "data", "grid", "--data", "mnist-5k", "--n", "500", "--num", "9",
    ];
    let v = json_of(&args, &png);
    assert_eq!(
        (v["samples"].as_u64(), v["per_row"].as_u64()),
        (Some(9), Some(3)),
        "{v}"
    );
    let npy = dir.join("rows.npy");
    let args = [
        "data",
        "export",
        "--data",
        "gaussian:d=4,spectrum=power:1",
        "--n",
        "10",
    ];
    let v = json_of(&args, &npy);
    assert_eq!(
        (v["rows"].as_u64(), v["dim"].as_u64()),
        (Some(10), Some(4)),
        "{v}"
    );
    assert!(
        npy.exists() && v["files"][0] == npy.display().to_string(),
        "{v}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn grid_without_n_shows_a_seeded_sample_of_every_class() {
    let dir = scratch("grid-classes");
    let png = dir.join("grid.png");
    // The bundled file is sorted by label: its first 64 rows are all zeros.
    let args = ["data", "grid", "--data", "mnist-5k"];
    let v = json_of(&args, &png);
    let labels: std::collections::BTreeSet<u64> = v["labels"]
        .as_array()
        .unwrap_or_else(|| panic!("no labels in {v}"))
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    assert_eq!(labels, (0..10).collect(), "{v}");
    assert_eq!(v["samples"].as_u64(), Some(64), "{v}");
    // Seeded: the same rows again, other rows with another --seed; and they are the first
    // rows of the subset a run with that seed trains on.
    let again = json_of(&args, &png);
    assert_eq!(again["indices"], v["indices"]);
    let other = json_of(&[&args[..], &["--seed", "1"]].concat(), &png);
    assert_ne!(other["indices"], v["indices"]);
    let subset = json_of(&[&args[..], &["--n", "1000"]].concat(), &png);
    assert_eq!(subset["indices"], v["indices"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_path_fails_with_its_name_and_a_hint() {
    let out = diffmem(&["data", "inspect", "--data", "mnist:/no/such/mnist-dir"]);
    assert_fails_with(&out, "/no/such/mnist-dir");
}

#[test]
fn folder_without_mnist_files_names_the_folder() {
    let dir = scratch("empty");
    let out = diffmem(&[
        "data",
        "inspect",
        "--data",
        &format!("mnist:{}", dir.display()),
    ]);
    assert_fails_with(&out, dir.to_str().unwrap());
    assert!(text(&out.stderr).contains("download_datasets.sh mnist"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_sizes_and_specs_fail_cleanly() {
    assert_fails_with(
        &diffmem(&["data", "inspect", "--data", "mnist-5k", "--n", "0"]),
        "--n",
    );
    assert_fails_with(
        &diffmem(&["data", "inspect", "--data", "mnist-5k", "--n", "-3"]),
        "--n",
    );
    assert_fails_with(
        &diffmem(&["data", "inspect", "--data", "mnist-5k", "--n", "6000"]),
        "5000",
    );
    assert_fails_with(
        &diffmem(&["data", "inspect", "--data", "gaussian:d=10"]),
        "spectrum",
    );
}

#[test]
fn corrupt_image_in_a_folder_is_named() {
    let dir = scratch("corrupt");
    std::fs::write(dir.join("broken.png"), b"definitely not a png").unwrap();
    let png = dir.join("out.png");
    let out = diffmem(&[
        "data",
        "grid",
        "--data",
        &format!("folder:{}", dir.display()),
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_fails_with(&out, "broken.png");
    std::fs::remove_dir_all(&dir).unwrap();
}
