//! End to end on the wgpu backend (Mesa's lavapipe in CI), as a user runs it: tiny MLP and UNet
//! runs go train -> sample -> eval (mem, loss; spectrum for the MLP) -> resume with `--device wgpu`, one
//! process per command; a run trained on wgpu evaluated on flex (and a run trained on flex
//! evaluated on wgpu) gives the metrics of the same run evaluated on its own device, within
//! float tolerance (the evaluation noise is drawn on the host, so only arithmetic differs).
//!
//! Every command must print its device once and nothing from the Vulkan driver (Mesa's
//! `XDG_RUNTIME_DIR` complaint: the variable is removed from the children's environment).
//! Without a wgpu adapter the tests are skipped with a printed reason, unless
//! `DIFFMEM_REQUIRE_WGPU=1` (CI), where they fail.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Runs `diffmem ARGS` as a user would start it, without XDG_RUNTIME_DIR; returns (ok, stdout,
/// stderr) after checking the output has no panic, no driver noise and at most one device line.
fn diffmem(args: &[&str]) -> (bool, String, String) {
    let started = Instant::now();
    let mut c = Command::new(env!("CARGO_BIN_EXE_diffmem"));
    c.args(args)
        .env_remove("XDG_RUNTIME_DIR")
        .env("RAYON_NUM_THREADS", "1");
    if std::env::var_os("CUBECL_AUTOTUNE_LEVEL").is_none() {
        c.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    println!(
        "diffmem {} ({:.1} s)",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    assert!(!stderr.contains("panicked"), "panic in {args:?}: {stderr}");
    assert!(
        !stderr.contains("XDG_RUNTIME_DIR"),
        "driver noise in {args:?}: {stderr}"
    );
    let device_lines = stderr.lines().filter(|l| l.starts_with("device: ")).count();
    assert!(
        device_lines <= 1,
        "{args:?} printed its device {device_lines} times: {stderr}"
    );
    (out.status.success(), stdout, stderr)
}

/// Like [`diffmem`], and the command must succeed.
fn ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = diffmem(args);
    assert!(success, "diffmem {args:?} failed:\n{stdout}\n{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with("device: ")),
        "{args:?} did not say which device it used: {stderr}"
    );
    stdout
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("diffmem-wgpu-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// True (after printing why) when a wgpu command failed for want of an adapter and CI does not
/// require one; panics when it does.
fn skipped_for_no_adapter(success: bool, stderr: &str) -> bool {
    if success || !stderr.contains("no wgpu adapter") {
        return false;
    }
    assert!(
        std::env::var("DIFFMEM_REQUIRE_WGPU").as_deref() != Ok("1"),
        "DIFFMEM_REQUIRE_WGPU=1 but no wgpu adapter: {stderr}"
    );
    println!("SKIPPED: no wgpu adapter ({stderr})");
    true
}

/// Trains on `device`; `None` when wgpu has no adapter and CI does not require one.
fn train(device: &str, out: &Path, model: &[&str]) -> Option<()> {
    let mut args = vec![
        "train",
        "--data",
        "mnist-5k",
        "--n",
        "24",
        "--heldout",
        "8",
        "--timesteps",
        "20",
        "--steps",
        "4",
        "--batch-size",
        "8",
        "--log-every",
        "2",
        "--checkpoint-every",
        "2",
        "--num",
        "2",
        "--quiet",
        "--no-doctor",
        "--device",
        device,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(model);
    let (success, stdout, stderr) = diffmem(&args);
    if skipped_for_no_adapter(success, &stderr) {
        return None;
    }
    assert!(success, "diffmem {args:?} failed:\n{stdout}\n{stderr}");
    assert!(
        out.join("samples.png").exists(),
        "no end-of-training samples"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["steps"], 4, "{summary}");
    assert_eq!(summary["matmul_precision"], "f32", "{summary}");
    // The logged fixed-noise losses are in the objective's units, like the training loss beside
    // them (eps units made an x0 run's read ~128 against a training loss of ~1).
    let (loss, fixed) = (
        num(&summary, &["final_train_loss"]),
        num(&summary, &["train_fixed_loss"]),
    );
    assert!(fixed > 0.2 * loss && fixed < 5.0 * loss, "{summary}");
    Some(())
}

/// `diffmem eval RUN --metrics METRICS --device DEVICE --out OUT` (tiny settings): metrics.json,
/// or `None` when wgpu has no adapter and CI does not require one.
fn eval(run: &Path, metrics: &str, device: &str, out: &Path) -> Option<Value> {
    let args = [
        "eval",
        run.to_str().unwrap(),
        "--metrics",
        metrics,
        "--num",
        "8",
        "--steps",
        "4",
        "--loss-points",
        "3",
        "--loss-rows",
        "8",
        "--spectrum-timesteps",
        "1,10",
        "--spectrum-points",
        "train",
        "--spectrum-num",
        "1",
        "--device",
        device,
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--quiet",
    ];
    let (success, stdout, stderr) = diffmem(&args);
    if skipped_for_no_adapter(success, &stderr) {
        return None;
    }
    assert!(success, "diffmem {args:?} failed:\n{stdout}\n{stderr}");
    Some(serde_json::from_str(&stdout).unwrap())
}

fn close(what: &str, a: f64, b: f64, rel: f64) {
    assert!(
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-3),
        "{what}: {a} vs {b}"
    );
}

fn num(m: &Value, path: &[&str]) -> f64 {
    let mut v = m;
    for k in path {
        v = &v[*k];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing in {m}"))
}

/// The spectra of `spectra.csv` (one row per t, point, probe, draw, method, kind and index),
/// each value relative to the largest value of its spectrum.
fn spectra(dir: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(dir.join("spectra.csv")).unwrap();
    let mut rows: Vec<(String, f64)> = Vec::new();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let group = ["paper_t", "point", "probe", "draw", "method", "kind"].map(col);
    let (ci, cv) = (col("index"), col("value"));
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let key = group
            .iter()
            .chain([&ci])
            .map(|&c| f[c])
            .collect::<Vec<_>>()
            .join("/");
        rows.push((key, f[cv].parse().unwrap()));
    }
    let scale = |key: &str| {
        let prefix = key.rsplit_once('/').unwrap().0;
        rows.iter()
            .filter(|(k, _)| k.rsplit_once('/').unwrap().0 == prefix)
            .map(|(_, v)| v.abs())
            .fold(0.0, f64::max)
            .max(1e-12)
    };
    rows.iter()
        .map(|(k, v)| (k.clone(), v / scale(k)))
        .collect()
}

/// The two evaluations of one run agree: nearest-neighbour distances, memorisation ratio, the
/// loss curves and the Jacobian spectra.
fn same_metrics(a: (&Value, &Path), b: (&Value, &Path)) {
    let (ma, mb) = (a.0, b.0);
    for key in ["mean", "median", "max"] {
        for d in ["d1", "d2", "ratio"] {
            close(
                &format!("mem.{d}.{key}"),
                num(ma, &["metrics", "mem", d, key]),
                num(mb, &["metrics", "mem", d, key]),
                1e-3,
            );
        }
    }
    let m = num(ma, &["samples", "num"]);
    close(
        "r_mem",
        num(ma, &["metrics", "mem", "r_mem"]) * m,
        num(mb, &["metrics", "mem", "r_mem"]) * m,
        1.0 / m,
    );
    for key in ["mean_train_loss", "mean_heldout_loss", "mean_gap"] {
        let (x, y) = (
            num(ma, &["metrics", "loss", key]),
            num(mb, &["metrics", "loss", key]),
        );
        let scale = num(ma, &["metrics", "loss", "mean_train_loss"]).abs();
        assert!(
            (x - y).abs() <= 1e-3 * scale.max(1e-3),
            "loss.{key}: {x} vs {y}"
        );
    }
    if ma["metrics"]["spectrum"].is_null() {
        return;
    }
    let (sa, sb) = (spectra(a.1), spectra(b.1));
    assert_eq!(sa.len(), sb.len(), "spectra of different sizes");
    assert!(!sa.is_empty(), "empty spectra");
    for ((ka, va), (kb, vb)) in sa.iter().zip(&sb) {
        assert_eq!(ka, kb);
        assert!((va - vb).abs() <= 1e-3, "spectrum {ka}: {va} vs {vb}");
    }
}

/// One model's chain: train on `trained_on`, then sample, evaluate (on wgpu and on flex, the
/// metrics compared) and resume (train further, then the sample grid) on wgpu. `None` when
/// wgpu has no adapter and CI does not require one.
fn chain(dir: &Path, name: &str, model: &[&str], metrics: &str, trained_on: &str) -> Option<()> {
    let run = dir.join(name);
    train(trained_on, &run, model)?;
    let r = run.to_str().unwrap();
    let out = ok(&[
        "sample",
        r,
        "--num",
        "3",
        "--sampler",
        "ddim",
        "--steps",
        "4",
        "--device",
        "wgpu",
        "--quiet",
    ]);
    assert!(out.contains("3 samples"), "{out}");
    let (w, f) = (
        dir.join(format!("{name}-eval-wgpu")),
        dir.join(format!("{name}-eval-flex")),
    );
    let on_wgpu = eval(&run, metrics, "wgpu", &w)?;
    let on_flex = eval(&run, metrics, "flex", &f).unwrap();
    same_metrics((&on_wgpu, &w), (&on_flex, &f));
    ok(&[
        "train",
        "--resume",
        r,
        "--steps",
        "6",
        "--device",
        "wgpu",
        "--quiet",
        "--no-doctor",
    ]);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["steps"], 6, "{summary}");
    assert!(
        summary["device"].as_str().unwrap().starts_with("wgpu"),
        "{summary}"
    );
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    assert!(log.contains("\"step\":6"), "{log}");
    Some(())
}

const MLP: &[&str] = &[
    "--model", "mlp", "--width", "32", "--depth", "1", "--temb", "16",
];
const UNET: &[&str] = &["--model", "unet", "--base", "8", "--mults", "1,2"];

/// Both chains in one test, one command at a time: the software rasteriser's kernel compiles
/// are the cost, and cubecl's on-disk cache shares them between the commands only when they do
/// not run at once. The MLP is trained on wgpu and evaluated on flex; the UNet goes the other
/// way, trained on flex and evaluated, then trained further, on wgpu. The Jacobian spectrum (one
/// backward pass per pixel) is taken of the MLP only: of the UNet it takes lavapipe minutes.
/// About 4.5 minutes on a loaded 2-core machine, nearly all of it lavapipe compiling kernels
/// (the UNet's wgpu backward pass alone ~100 s).
#[test]
fn every_command_runs_on_wgpu_and_matches_flex() {
    let started = Instant::now();
    let dir = tmpdir("e2e");
    if chain(&dir, "mlp", MLP, "mem,loss,spectrum", "wgpu").is_none() {
        return;
    }
    chain(&dir, "unet", UNET, "mem,loss", "flex").unwrap();
    println!(
        "wgpu end to end (mlp and unet): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `--device cuda` on a machine without the NVIDIA driver (or a build without the feature)
/// fails with a message naming what is missing, exit 1, no panic.
#[test]
fn cuda_without_a_driver_is_a_clear_error() {
    if Path::new("/proc/driver/nvidia").exists() {
        println!("SKIPPED: this machine has an NVIDIA driver");
        return;
    }
    let dir = tmpdir("cuda");
    let (success, _, stderr) = diffmem(&[
        "train",
        "--data",
        "mnist-5k",
        "--n",
        "8",
        "--steps",
        "1",
        "--device",
        "cuda",
        "--out",
        dir.join("run").to_str().unwrap(),
    ]);
    assert!(!success);
    assert!(
        stderr.contains("--features cuda")
            || stderr.contains("libcuda")
            || stderr.contains("NVRTC")
            || stderr.contains("CUDA headers"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
