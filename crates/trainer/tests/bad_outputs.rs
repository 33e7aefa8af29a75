//! Never writing into what is not ours: each case points a command's output at something that
//! is not diffmem's own (a folder of the user's, `--out .`, another run, a run's own weights,
//! a symbolic link out of the run) and checks that the command is refused with a clear message
//! and that the files there are left byte for byte as they were. Also: `sample` and `eval`
//! keep to their own files (named draws; no stale figures of an earlier eval).

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{bin, ok, s, tmpdir};

/// A tiny MLP run on 64 bundled digits for `steps` steps, checkpoints every 10, into `out`.
fn train(out: &Path, steps: &str) {
    let mut args = common::tiny_mlp("64", steps, "10");
    args.extend_from_slice(&["--out", s(out)]);
    ok(&args);
}

/// `diffmem args` run in `cwd` (one thread); fails the test if it panicked.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    let mut c = bin();
    c.current_dir(cwd);
    common::output(c, args)
}

/// Fails unless `o` exited 1 with `fragment` in its stderr.
fn refused(o: &Output, fragment: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected a clear error, got: {err}"
    );
    assert!(err.contains(fragment), "expected {fragment:?} in: {err}");
}

/// Every regular file under `dir` (symbolic links not followed) with its bytes.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() && e.file_name() != ".lock" {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A folder of the user's: a `samples.npy`, a `log.jsonl` and `weights/model.bpk` of their own.
fn users_folder(dir: &Path) -> PathBuf {
    let d = dir.join("mine");
    std::fs::create_dir_all(d.join("weights")).unwrap();
    std::fs::write(d.join("samples.npy"), "my samples").unwrap();
    std::fs::write(d.join("log.jsonl"), "{\"mine\": 1}\n").unwrap();
    std::fs::write(d.join("weights/model.bpk"), "my weights").unwrap();
    d
}

#[test]
fn train_and_fork_write_only_into_new_or_empty_folders() {
    let dir = tmpdir("badout", "train");
    let mine = users_folder(&dir);
    let before = contents(&mine);
    let mut args = common::tiny_mlp("64", "10", "10");
    args.extend_from_slice(&["--out", s(&mine)]);
    refused(&common::run(&args), "holds files that are not a run");
    assert_eq!(contents(&mine), before, "the user's files are untouched");
    // `--out .` in a folder of the user's.
    let mut args = common::tiny_mlp("64", "10", "10");
    args.extend_from_slice(&["--out", "."]);
    refused(&run_in(&mine, &args), "holds files that are not a run");
    assert_eq!(contents(&mine), before);
    // A fork (resume with another --out) into it.
    let run = dir.join("run");
    train(&run, "20");
    let o = common::run(&["train", "--resume", s(&run), "--out", s(&mine), "--quiet"]);
    refused(&o, "holds files that are not a run");
    assert_eq!(contents(&mine), before);
    // An empty folder is fine.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    ok(&["train", "--resume", s(&run), "--out", s(&empty), "--quiet"]);
    assert!(empty.join("config.toml").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn eval_sample_and_export_never_write_over_another_run_or_a_runs_weights() {
    let dir = tmpdir("badout", "others");
    let (a, b) = (dir.join("a"), dir.join("b"));
    train(&a, "10");
    train(&b, "10");
    ok(&["eval", s(&b), "--metrics", "mem", "--num", "4", "--quiet"]);
    let b_before = contents(&b);
    let o = common::run(&[
        "eval",
        s(&a),
        "--out",
        s(&b),
        "--metrics",
        "mem",
        "--num",
        "4",
    ]);
    refused(&o, "is another run");
    let o = common::run(&["sample", s(&a), "--out", s(&b), "--num", "2"]);
    refused(&o, "is another run");
    assert_eq!(contents(&b), b_before, "run b is untouched");
    // A folder of the user's is not an evaluation of a, nor a folder of draws.
    let mine = users_folder(&dir);
    let mine_before = contents(&mine);
    let o = common::run(&[
        "eval",
        s(&a),
        "--out",
        s(&mine),
        "--metrics",
        "mem",
        "--num",
        "4",
    ]);
    refused(&o, "not an evaluation of");
    let o = common::run(&["sample", s(&a), "--out", s(&mine), "--num", "2"]);
    refused(&o, "did not write");
    assert_eq!(contents(&mine), mine_before);
    // export onto the run's own weights, or over a file of the user's.
    let a_before = contents(&a);
    let ema = a.join("weights/ema.bpk");
    let o = common::run(&["export", s(&a), "--weights", s(&ema)]);
    refused(&o, ".safetensors");
    let theirs = dir.join("theirs.safetensors");
    std::fs::write(&theirs, "not an export").unwrap();
    let o = common::run(&["export", s(&a), "--weights", s(&theirs)]);
    refused(&o, "not an earlier diffmem export");
    assert_eq!(std::fs::read(&theirs).unwrap(), b"not an export");
    assert_eq!(contents(&a), a_before, "run a is untouched");
    // An export may replace an earlier export.
    let file = dir.join("a.safetensors");
    ok(&["export", s(&a), "--weights", s(&file)]);
    ok(&["export", s(&a), "--weights", s(&file), "--raw"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn symbolic_links_out_of_a_run_are_never_followed() {
    let dir = tmpdir("badout", "links");
    let run = dir.join("run");
    train(&run, "20");
    // checkpoints -> a folder elsewhere, whose step-* folders rotation would delete.
    let elsewhere = dir.join("elsewhere");
    std::fs::rename(run.join("checkpoints"), &elsewhere).unwrap();
    std::fs::create_dir_all(elsewhere.join("step-0000000")).unwrap();
    std::fs::write(elsewhere.join("step-0000000/precious.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink(&elsewhere, run.join("checkpoints")).unwrap();
    let before = contents(&elsewhere);
    let o = common::run(&["train", "--resume", s(&run), "--steps", "40", "--quiet"]);
    refused(&o, "symbolic link");
    assert_eq!(contents(&elsewhere), before, "nothing rotated away");
    std::fs::remove_file(run.join("checkpoints")).unwrap();
    std::fs::rename(&elsewhere, run.join("checkpoints")).unwrap();
    // .lock -> a file of the user's, which taking the lock would truncate.
    let target = dir.join("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    std::fs::remove_file(run.join(".lock")).unwrap();
    std::os::unix::fs::symlink(&target, run.join(".lock")).unwrap();
    for args in [
        vec!["eval", s(&run), "--metrics", "mem", "--num", "4"],
        vec!["sample", s(&run), "--num", "2"],
        vec!["train", "--resume", s(&run), "--steps", "40", "--quiet"],
    ] {
        refused(&common::run(&args), "symbolic link");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `sample` names each draw by its sampler, steps and seed, gives other settings under the same
/// name a name of their own and reuses it for the same ones, and leaves the training-time
/// samples of `run` untouched.
fn check_sample_names_its_draws(run: &Path) {
    let grid = (
        std::fs::read(run.join("samples.png")).unwrap(),
        std::fs::read(run.join("samples.npy")).unwrap(),
    );
    let draw = |extra: &[&str]| {
        let mut args = vec![
            "sample",
            s(run),
            "--sampler",
            "ddim",
            "--steps",
            "5",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        ok(&args)
    };
    let printed = draw(&["--num", "2"]);
    assert!(printed.contains("ddim (5 steps, eta 1)"), "{printed}");
    assert!(run.join("samples/ddim-5-s0.png").exists());
    assert!(run.join("samples/ddim-5-s0.npy").exists());
    // Other settings under the same name get a name of their own; the same ones reuse it.
    draw(&["--num", "3"]);
    assert!(run.join("samples/ddim-5-s0-2.npy").exists());
    draw(&["--num", "2"]);
    assert!(!run.join("samples/ddim-5-s0-3.npy").exists());
    let after = (
        std::fs::read(run.join("samples.png")).unwrap(),
        std::fs::read(run.join("samples.npy")).unwrap(),
    );
    assert!(after == grid, "the training-time samples are untouched");
}

/// A second evaluation of `run` with other metrics removes the first one's other files and
/// says so; the run's own files stay.
fn check_eval_removes_its_earlier_files(run: &Path) {
    let eval = |metrics: &str| {
        let args = [
            "eval",
            s(run),
            "--metrics",
            metrics,
            "--num",
            "4",
            "--quiet",
        ];
        let o = common::ok_output(&args);
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap())
                .unwrap();
        (doc, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (first, _) = eval("mem,loss");
    let listed: Vec<&str> = first["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for f in [
        "nn_grid.png",
        "loss_gap.png",
        "metrics.json",
        "eval_samples.npy",
    ] {
        assert!(listed.contains(&f), "{f} in {listed:?}");
        assert!(run.join(f).exists());
    }
    let (second, stderr) = eval("loss");
    assert!(stderr.contains("removed"), "{stderr}");
    for f in [
        "nn_grid.png",
        "nn_grid_random.png",
        "nn.csv",
        "eval_samples.npy",
    ] {
        assert!(!run.join(f).exists(), "{f} of the first eval is gone");
    }
    assert!(run.join("loss_gap.png").exists() && run.join("samples.png").exists());
    assert!(run.join("config.toml").exists() && run.join("log.jsonl").exists());
    assert!(second["metrics"].get("mem").is_none());
}

#[test]
fn sample_keeps_the_training_samples_and_eval_keeps_only_its_own_files() {
    let dir = tmpdir("badout", "own");
    let run = dir.join("run");
    train(&run, "10");
    check_sample_names_its_draws(&run);
    check_eval_removes_its_earlier_files(&run);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_plain_eval_keeps_the_files_of_the_along_training_results_it_carries_over() {
    let dir = tmpdir("badout", "dynamics");
    let run = dir.join("run");
    let mut args = common::tiny_mlp("64", "20", "10");
    args.extend_from_slice(&["--snapshots", "2", "--out", s(&run)]);
    ok(&args);
    let along = [
        "eval",
        s(&run),
        "--along-training",
        "--metrics",
        "mem",
        "--num",
        "4",
    ];
    ok(&[&along[..], &["--quiet"]].concat());
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap()
    };
    let files = read()["metrics"]["dynamics"]["files"].clone();
    assert!(
        files
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "dynamics.csv"),
        "{files}"
    );
    ok(&[
        "eval",
        s(&run),
        "--metrics",
        "loss",
        "--num",
        "4",
        "--quiet",
    ]);
    assert!(run.join("dynamics.csv").exists() && run.join("dynamics.png").exists());
    assert_eq!(read()["metrics"]["dynamics"]["files"], files);
    std::fs::remove_dir_all(&dir).ok();
}
