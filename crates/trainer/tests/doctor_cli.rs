//! `diffmem doctor` as a user runs it: the device list, the check of a device against the CPU
//! (flex against itself must agree exactly; wgpu, on Mesa's lavapipe in CI, within the
//! tolerance), bad flags, and the check `train --device wgpu` runs once per device and driver.
//!
//! Without a wgpu adapter the wgpu tests are skipped with a printed reason, unless
//! `DIFFMEM_REQUIRE_WGPU=1` (CI), where they fail.

mod common;

use common::{bin, output, s, tiny_mlp, tmpdir};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Instant;

/// `diffmem ARGS` on one thread, without XDG_RUNTIME_DIR, with minimal autotuning and the
/// cache under `cache` (when given); prints how long it took.
fn diffmem(args: &[&str], cache: Option<&Path>) -> Output {
    let started = Instant::now();
    let mut c = bin();
    c.env_remove("XDG_RUNTIME_DIR");
    if std::env::var_os("CUBECL_AUTOTUNE_LEVEL").is_none() {
        c.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    }
    if let Some(dir) = cache {
        c.env("XDG_CACHE_HOME", dir);
    }
    let out = output(c, args);
    println!(
        "diffmem {} ({:.1} s)",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// True (after printing why) when wgpu has no adapter and CI does not require one.
fn no_adapter(out: &Output) -> bool {
    let stderr = text(&out.stderr);
    if out.status.success() || !stderr.contains("no wgpu adapter") {
        return false;
    }
    assert!(
        std::env::var("DIFFMEM_REQUIRE_WGPU").as_deref() != Ok("1"),
        "DIFFMEM_REQUIRE_WGPU=1 but no wgpu adapter: {stderr}"
    );
    println!("SKIPPED: no wgpu adapter ({stderr})");
    true
}

/// The JSON report of a doctor run that must have succeeded.
fn report(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_str(&text(&out.stdout)).unwrap()
}

/// flex against itself: every backend listed (flex available), both models, differences
/// exactly zero (one thread, the same arithmetic), and a text report with its verdict.
#[test]
fn doctor_on_flex_lists_the_devices_and_agrees_exactly() {
    let args = [
        "doctor",
        "--device",
        "flex",
        "--steps",
        "5",
        "--mlp-width",
        "16",
        "--unet-base",
        "4",
        "--json",
    ];
    let r = report(&diffmem(&args, None));
    let names: Vec<&str> = r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["flex", "wgpu", "cuda", "ndarray"], "{r}");
    assert_eq!(r["devices"][0]["available"], true, "{r}");
    assert_eq!((&r["device"], &r["passed"]), (&"flex".into(), &true.into()));
    let checks = r["checks"].as_array().unwrap();
    let models: Vec<&str> = checks
        .iter()
        .map(|c| c["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["mlp", "unet"]);
    for c in checks {
        assert_eq!(c["comparison"]["loss_rel_diff"], 0.0, "{c}");
        assert_eq!(c["comparison"]["param_rel_diff"], 0.0, "{c}");
        assert_eq!(c["comparison"]["steps"], 5, "{c}");
        assert!(c["steps_per_second"].as_f64().unwrap() > 0.0, "{c}");
    }
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0, "{r}");
    let out = diffmem(
        &[
            "doctor",
            "--device",
            "flex",
            "--steps",
            "3",
            "--unet-base",
            "0",
        ],
        None,
    );
    let stdout = text(&report_text(&out));
    assert!(
        stdout.contains("verdict: flex agrees with the CPU"),
        "{stdout}"
    );
    assert!(stdout.contains("tolerance: losses within "), "{stdout}");
    assert!(stdout.contains("  cuda     no "), "{stdout}");
}

fn report_text(out: &Output) -> Vec<u8> {
    assert!(out.status.success(), "{}", text(&out.stderr));
    out.stdout.clone()
}

/// Bad flags and a missing backend: a clear error naming what to change, exit 1, no panic.
#[test]
fn doctor_refuses_what_it_cannot_check() {
    for (args, expect) in [
        (vec!["--steps", "0"], "--steps"),
        (vec!["--unet-base", "3"], "--unet-base"),
        (
            vec!["--mlp-width", "0", "--unet-base", "0"],
            "nothing to check",
        ),
        (vec!["--device", "tpu"], "tpu"),
    ] {
        let mut a = vec!["doctor"];
        if !args.contains(&"--device") {
            a.extend(["--device", "flex"]);
        }
        a.extend(args);
        let out = diffmem(&a, None);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(if expect == "tpu" { 2 } else { 1 }));
        assert!(stderr.contains(expect), "{a:?}: {stderr}");
    }
    if !Path::new("/proc/driver/nvidia").exists() {
        let out = diffmem(&["doctor", "--device", "cuda", "--steps", "2"], None);
        let stderr = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("--features cuda") || stderr.contains("libcuda"),
            "{stderr}"
        );
    }
}

/// wgpu (lavapipe in CI) against flex with tiny models and few steps: every backend listed,
/// wgpu found and named, both models within the tolerance, the compile time and speed reported.
#[test]
fn doctor_checks_wgpu_against_the_cpu() {
    let started = Instant::now();
    let args = [
        "doctor",
        "--device",
        "wgpu",
        "--steps",
        "10",
        "--mlp-width",
        "16",
        "--unet-base",
        "4",
        "--json",
    ];
    let out = diffmem(&args, None);
    if no_adapter(&out) {
        return;
    }
    let r = report(&out);
    assert_eq!(
        (&r["device"], &r["passed"]),
        (&"wgpu".into(), &true.into()),
        "{r}"
    );
    assert_eq!(r["devices"][1]["available"], true, "{r}");
    assert!(
        r["description"].as_str().unwrap().starts_with("wgpu: "),
        "{r}"
    );
    for c in r["checks"].as_array().unwrap() {
        let cmp = &c["comparison"];
        let tol = &r["tolerance"];
        assert!(cmp["loss_rel_diff"].as_f64() <= tol["loss"].as_f64(), "{c}");
        assert!(
            cmp["param_rel_diff"].as_f64() <= tol["params"].as_f64(),
            "{c}"
        );
        assert!(c["first_step_seconds"].as_f64().unwrap() > 0.0, "{c}");
        println!(
            "{}: loss diff {}, params diff {}, first step {} s, {} steps/s",
            c["model"],
            cmp["loss_rel_diff"],
            cmp["param_rel_diff"],
            c["first_step_seconds"],
            c["steps_per_second"]
        );
    }
    println!(
        "doctor --device wgpu: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `train --device wgpu` checks the device once: the first run checks and remembers the pass
/// (keyed by adapter, driver and version), a second run reads it, `--no-doctor` skips it.
#[test]
fn train_on_wgpu_checks_the_device_once() {
    let dir = tmpdir("doctor", "gate");
    let cache = dir.join("cache");
    let train = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut a = tiny_mlp("16", "2", "2");
        let device = a.iter().position(|f| *f == "--device").unwrap();
        a[device + 1] = "wgpu";
        a.extend(["--out", s(&out)]);
        a.extend(extra);
        diffmem(&a, Some(&cache))
    };
    let first = train("a", &[]);
    if no_adapter(&first) {
        return;
    }
    let stderr = text(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("doctor: checking wgpu"), "{stderr}");
    let saved: Vec<_> = std::fs::read_dir(cache.join("diffmem/doctor"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&saved[0]).unwrap()).unwrap();
    assert_eq!(
        (&r["device"], &r["passed"]),
        (&"wgpu".into(), &true.into()),
        "{r}"
    );
    let second = text(&train("b", &[]).stderr);
    assert!(second.contains("doctor: wgpu checked before"), "{second}");
    std::fs::remove_dir_all(&cache).unwrap();
    let skipped = train("c", &["--no-doctor"]);
    assert!(skipped.status.success());
    assert!(!text(&skipped.stderr).contains("doctor:"));
    assert!(!cache.join("diffmem/doctor").exists());
    std::fs::remove_dir_all(&dir).ok();
}
