//! End-to-end runs of `diffmem train` and `diffmem sample` on tiny data: checkpoints and
//! exact resume, Ctrl-C, divergence, config round-trip, sample grids, exact denoisers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::{bin, ok_output as ok, read, run};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("test", name)
}

/// Flags of a tiny MLP run on 64 bundled digits.
fn tiny() -> Vec<&'static str> {
    common::tiny_mlp("64", "40", "10")
}

fn with_out<'a>(base: &[&'a str], out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = base.to_vec();
    v.extend_from_slice(&["--out", out]);
    v.extend_from_slice(extra);
    v
}

#[test]
fn resume_after_interruption_equals_the_uninterrupted_run() {
    let dir = tmpdir("resume");
    let a = dir.join("a");
    let b = dir.join("b");
    let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
    ok(&with_out(&tiny(), a_s, &[]));
    // Stop after 20 steps as Ctrl-C would: exit 130 with a resume hint.
    let out = run(&with_out(&tiny(), b_s, &["--stop-after", "20"]));
    assert_eq!(out.status.code(), Some(130));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--resume"), "{err}");
    assert!(b.join("checkpoints/step-0000020/model.bpk").exists());
    assert!(!b.join("samples.npy").exists());
    ok(&["train", "--resume", b_s, "--quiet"]);
    // Same weights => same samples from the same sampler seed, bit for bit.
    assert!(
        read(&a.join("samples.npy")) == read(&b.join("samples.npy")),
        "resumed samples differ"
    );
    let last = |p: &Path| {
        let log = String::from_utf8(read(&p.join("log.jsonl"))).unwrap();
        let line = log.lines().last().unwrap().to_string();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        (
            v["step"].as_u64(),
            v["loss"].as_f64(),
            v["heldout_loss"].as_f64(),
        )
    };
    assert_eq!(last(&a), last(&b));
    assert_eq!(last(&a).0, Some(40));
    // Only the newest checkpoints are kept (default 2), and `latest` points to the last.
    let latest = String::from_utf8(read(&a.join("checkpoints/latest"))).unwrap();
    assert_eq!(latest.trim(), "step-0000040");
    assert!(!a.join("checkpoints/step-0000010").exists());
    // The config round-trips: training again from the written config gives the same run.
    let c = dir.join("c");
    ok(&[
        "train",
        "--config",
        a.join("config.toml").to_str().unwrap(),
        "--out",
        c.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(read(&a.join("config.toml")), read(&c.join("config.toml")));
    assert_eq!(
        read(&a.join("train_indices.txt")),
        read(&c.join("train_indices.txt"))
    );
    assert!(
        read(&a.join("samples.npy")) == read(&c.join("samples.npy")),
        "repeated run differs"
    );
    // Refuses to overwrite a run.
    let out = run(&with_out(&tiny(), a_s, &[]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    std::fs::remove_dir_all(&dir).ok();
}

/// (logged step, lr) of every line of a run's log.jsonl.
fn logged_lr(run: &Path) -> Vec<(u64, f64)> {
    String::from_utf8(read(&run.join("log.jsonl")))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["step"].as_u64().unwrap(), v["lr"].as_f64().unwrap())
        })
        .collect()
}

#[test]
fn resume_with_more_steps_restarts_the_cosine_from_the_peak() {
    let dir = tmpdir("resume-longer");
    let a = dir.join("a");
    let a_s = a.to_str().unwrap();
    ok(&with_out(&tiny(), a_s, &["--warmup", "5", "--lr", "1e-3"]));
    let before = logged_lr(&a);
    // The original cosine (warm-up 5, end 40) is near 0 at its last step.
    assert!(before.last().unwrap().1 < 1e-5, "{before:?}");
    let out = ok(&["train", "--resume", a_s, "--steps", "80", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warm restart at step 40") && err.contains("step 80"),
        "{err}"
    );
    let toml = String::from_utf8(read(&a.join("config.toml"))).unwrap();
    assert!(
        toml.contains("at = 40") && toml.contains("planned = 40"),
        "{toml}"
    );
    // A logged step k trained step k - 1 at 0.5 lr (1 + cos(pi (k - 1 - 40) / 40)).
    let after: Vec<(u64, f64)> = logged_lr(&a).into_iter().filter(|(k, _)| *k > 40).collect();
    assert_eq!(after.len(), 4, "{after:?}");
    for (k, lr) in &after {
        let p = (*k as f64 - 1.0 - 40.0) / 40.0;
        let want = 0.5e-3 * (1.0 + (std::f64::consts::PI * p).cos());
        assert!((lr - want).abs() < 1e-12, "step {k}: lr {lr}, want {want}");
    }
    assert!(after[0].1 > 0.85e-3, "{after:?}");
    // Interrupting the longer run and resuming it with the same total keeps the restart.
    let b = dir.join("b");
    let b_s = b.to_str().unwrap();
    ok(&with_out(&tiny(), b_s, &["--warmup", "5", "--lr", "1e-3"]));
    let out = run(&[
        "train",
        "--resume",
        b_s,
        "--steps",
        "80",
        "--stop-after",
        "60",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(130));
    let out = ok(&["train", "--resume", b_s, "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cosine to 0 at step 80"), "{err}");
    let by_step = |r: &Path| {
        logged_lr(r)
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(by_step(&a), by_step(&b));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn train_help_shows_the_defaults() {
    let out = ok(&["train", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    // One line per flag: the flag, its help, its default (from the config's own defaults).
    for (flag, default) in [
        ("--steps", "[default: 3000]"),
        ("--n ", "[default: 1000]"),
        ("--width", "[default: 512]"),
        ("--lr ", "[default: 0.001]"),
        ("--batch-size", "[default: 128]"),
        ("--data", "[default: mnist-5k]"),
        ("--seed", "[default: 0]"),
        ("--model", "[default: mlp]"),
    ] {
        // The flag's line and its wrapped continuation lines.
        let mut lines = help
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(flag));
        let first = lines.next().unwrap_or_default();
        let rest = lines.take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with('-'));
        let line = std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(line.contains(default), "{flag}: `{line}`\n{help}");
    }
}

#[test]
fn sigint_writes_a_checkpoint_and_exits_130() {
    let dir = tmpdir("sigint");
    let out_dir = dir.join("run");
    let mut args: Vec<&str> = tiny();
    let steps = args.iter().position(|a| *a == "--steps").unwrap();
    args[steps + 1] = "100000";
    args.extend_from_slice(&["--out", out_dir.to_str().unwrap()]);
    let mut child = bin()
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Wait until training has logged once, then interrupt.
    while !out_dir.join("log.jsonl").exists() || read(&out_dir.join("log.jsonl")).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no training progress"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("diffmem did not exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted (SIGINT) at step") && err.contains("--resume"),
        "{err}"
    );
    let latest = String::from_utf8(read(&out_dir.join("checkpoints/latest"))).unwrap();
    assert!(
        out_dir
            .join("checkpoints")
            .join(latest.trim())
            .join("state.json")
            .exists()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn divergence_stops_with_the_step_and_a_hint() {
    let dir = tmpdir("nan");
    let o = dir.join("run");
    let out = run(&with_out(
        &tiny(),
        o.to_str().unwrap(),
        &["--lr", "1e15", "--no-clip", "--warmup", "0"],
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("non-finite loss") && err.contains("at step"),
        "{err}"
    );
    assert!(err.contains("--lr"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sample_writes_a_grid_of_the_right_size() {
    let dir = tmpdir("sample");
    let o = dir.join("run");
    let mut args: Vec<&str> = tiny();
    let steps = args.iter().position(|a| *a == "--steps").unwrap();
    args[steps + 1] = "10";
    ok(&with_out(&args, o.to_str().unwrap(), &[]));
    let grid_out = dir.join("grid");
    std::fs::create_dir_all(&grid_out).unwrap();
    ok(&[
        "sample",
        o.to_str().unwrap(),
        "--num",
        "9",
        "--sampler",
        "ddim",
        "--steps",
        "10",
        "--out",
        grid_out.to_str().unwrap(),
        "--quiet",
    ]);
    // Named by sampler, steps and seed: the training-time samples.png is never replaced.
    let img = image::open(grid_out.join("ddim-10-s0.png")).unwrap();
    // 3 x 3 tiles of 28 px with a 1 px border around and between tiles.
    assert_eq!((img.width(), img.height()), (3 * 29 + 1, 3 * 29 + 1));
    let npy = read(&grid_out.join("ddim-10-s0.npy"));
    let hlen = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    assert!(
        std::str::from_utf8(&npy[10..10 + hlen])
            .unwrap()
            .contains("(9, 1, 28, 28)")
    );
    assert_eq!(npy.len(), 10 + hlen + 9 * 784 * 4);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exact_denoisers_train_instantly_and_sample() {
    let dir = tmpdir("exact");
    for model in ["linear-exact", "empirical"] {
        let o = dir.join(model);
        let out = ok(&[
            "train",
            "--data",
            "manifold:paper",
            "--n",
            "50",
            "--heldout",
            "20",
            "--model",
            model,
            "--timesteps",
            "100",
            "--num",
            "8",
            "--quiet",
            "--device",
            "flex",
            "--out",
            o.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("closed form"), "{stdout}");
        assert!(o.join("samples.npy").exists() && o.join("train_indices.txt").exists());
        ok(&["sample", o.to_str().unwrap(), "--num", "3", "--quiet"]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_flags_fail_cleanly() {
    for (args, needle) in [
        (vec!["train", "--n", "0", "--quiet"], "--n"),
        (vec!["train", "--model", "transformer"], "unknown model"),
        (vec!["train", "--width", "8", "--model", "unet"], "--width"),
        (
            vec!["train", "--data", "mnist:/nonexistent/dir"],
            "/nonexistent/dir",
        ),
        (vec!["sample", "/nonexistent/run"], "not a run directory"),
        (vec!["train", "--resume", "/nonexistent/run"], "--resume"),
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn quiet_prints_no_progress_and_plain_prints_lines() {
    let dir = tmpdir("verbosity");
    let progress = |err: &str| {
        err.lines()
            .filter(|l| l.starts_with("train ") || l.starts_with("sample "))
            .count()
    };
    let q = dir.join("q");
    let out = ok(&with_out(&tiny(), q.to_str().unwrap(), &[]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(progress(&err), 0, "--quiet printed progress:\n{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("done: "));

    let p = dir.join("p");
    let mut plain: Vec<&str> = tiny().into_iter().filter(|a| *a != "--quiet").collect();
    plain.push("--plain");
    let out = ok(&with_out(&plain, p.to_str().unwrap(), &[]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train 10/40"),
        "--plain: no progress lines:\n{err}"
    );
    assert!(progress(&err) >= 4, "{err}");
}
