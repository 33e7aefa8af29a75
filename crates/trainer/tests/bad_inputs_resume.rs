//! Bad inputs, families resume, lock, signal and checkpoint: resuming with changed flags,
//! one writer per run directory, SIGINT/SIGTERM (checkpoint, exit 128 + signal, resume
//! hint), corrupt checkpoints and weights; a run killed before its first checkpoint (no dead
//! end) and log.jsonl after random kills (each step once). Shares one tiny trained run (built
//! once); the rows that damage a run work on their own copy.

mod bad_matrix;
mod common;

use bad_matrix::{Action, Case, Exit, case, copy_dir, flag_rows, root, run_cases, tiny, tiny_run};
use common::{bin, s};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// The steps of `dir/log.jsonl`, in file order; fails on a line that is not a record.
fn logged_steps(dir: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn last line: {text}"
    );
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("`{l}`: {e}"));
            v["step"].as_u64().unwrap()
        })
        .collect()
}

/// A copy of `run` in `root/name` (without its lock).
fn copy_of(run: &Path, root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    copy_dir(run, &dir);
    dir
}

/// Takes the lock of the run directory `dir` for this test process, as a running diffmem
/// would (the lock file names its pid); the lock is held while the file is.
fn hold_lock(dir: &Path) -> File {
    let lock = File::create(dir.join(".lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(dir.join(".lock"), format!("{}\n", std::process::id())).unwrap();
    lock
}

/// A copy of `run` whose newest checkpoint is corrupt (a flipped byte in its weights).
fn corrupt_copy(run: &Path, root: &Path) -> PathBuf {
    let corrupt = copy_of(run, root, "corrupt");
    let model = corrupt.join("checkpoints/step-0000040/model.bpk");
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&model, bytes).unwrap();
    corrupt
}

/// A copy of `run` killed before its first checkpoint: its config, indices, log and loss
/// curves; no checkpoint, no weights, none of the files written at the end.
fn early_copy(run: &Path, root: &Path) -> PathBuf {
    let early = copy_of(run, root, "early");
    for d in ["checkpoints", "weights"] {
        std::fs::remove_dir_all(early.join(d)).unwrap();
    }
    for f in [
        "summary.json",
        "samples.png",
        "samples.npy",
        "train_state.json",
    ] {
        let _ = std::fs::remove_file(early.join(f));
    }
    early
}

/// No dead end before the first checkpoint: every refusal names the command that starts the
/// run over in place (of `early`), and that command works; a run with checkpoints is kept.
fn dead_end_rows(run: &Path, early: &Path) -> Vec<Case> {
    let (r, e) = (s(run), s(early));
    let run_config = format!("{r}/config.toml");
    let early_config = format!("{e}/config.toml");
    vec![
        case(
            "dead-end",
            &["train", "--resume", e],
            Exit::Error,
            "stopped before its first checkpoint: start it over in place with: diffmem train \
             --config",
        ),
        case(
            "dead-end",
            &["train", "--resume", "latest", "--out", e],
            Exit::Error,
            "--restart",
        ),
        Case {
            family: "dead-end",
            args: tiny(early, "40"),
            exit: Exit::Error,
            fragment: "already holds a run that stopped before its first checkpoint",
            action: Action::Run,
        },
        case(
            "dead-end",
            &["train", "--config", &run_config, "--out", r, "--restart"],
            Exit::Error,
            "has checkpoints or weights; resume it with --resume",
        ),
        case(
            "dead-end",
            &[
                "train",
                "--config",
                &early_config,
                "--out",
                e,
                "--restart",
                "--quiet",
            ],
            Exit::Ok,
            "restarting",
        ),
    ]
}

/// Resume is explicit; flags that would change the run are refused by name; a fork into
/// `fork` works once; a start that fails (here: a missing data file) leaves no `never` behind.
fn resume_rows(run: &Path, fork: &Path, never: &Path) -> Vec<Case> {
    let r = s(run);
    let config = format!("{r}/config.toml");
    let mut cases = flag_rows(
        "resume",
        &["train", "--resume", r],
        Exit::Error,
        &[
            (&["--width", "64"], "--width"),
            (
                &["--lr", "0.1", "--min-snr", "5"],
                "--min-snr, --lr would change it",
            ),
            (&["--config", &config], "--config"),
            (&["--seed", "3"], "--seed"),
            (&["--steps", "10"], "below the step"),
        ],
    );
    let fork_args = [
        "train",
        "--resume",
        r,
        "--out",
        s(fork),
        "--steps",
        "50",
        "--quiet",
    ];
    let missing_data = [
        "train",
        "--data",
        "mnist:/nonexistent/diffmem-images.idx",
        "--out",
        s(never),
    ];
    cases.extend([
        case(
            "resume",
            &["train", "--resume", "latest"],
            Exit::Error,
            "needs --out",
        ),
        case("resume", &fork_args, Exit::Ok, "forked"),
        case(
            "resume",
            &["train", "--resume", r, "--out", s(fork)],
            Exit::Error,
            "already holds a run",
        ),
        case(
            "resume",
            &missing_data,
            Exit::Error,
            "/nonexistent/diffmem-images.idx",
        ),
    ]);
    cases
}

/// One writer per run directory: train, eval and sample all refuse the `locked` one.
fn lock_rows(locked: &Path) -> Vec<Case> {
    let l = s(locked);
    flag_rows(
        "lock",
        &[],
        Exit::Error,
        &[
            (
                &["train", "--resume", l, "--quiet"],
                "in use by another diffmem (pid",
            ),
            (
                &["eval", l, "--metrics", "mem", "--num", "4"],
                "in use by another diffmem (pid",
            ),
            (
                &["sample", l, "--num", "2"],
                "in use by another diffmem (pid",
            ),
        ],
    )
}

/// Corrupt checkpoints and weights are named, never loaded: resume falls back to the checkpoint
/// before the corrupt one; sampling from corrupt weights is refused.
fn checkpoint_rows(corrupt: &Path, bad_weights: &Path) -> Vec<Case> {
    let corrupt40 = corrupt.join("checkpoints/step-0000040");
    let resume40 = ["train", "--resume", s(&corrupt40), "--quiet"];
    let latest = [
        "train",
        "--resume",
        "latest",
        "--out",
        s(corrupt),
        "--quiet",
    ];
    vec![
        case("checkpoint", &resume40, Exit::Error, "corrupt checkpoint"),
        case("checkpoint", &resume40, Exit::Error, "step-0000030 instead"),
        case("checkpoint", &latest, Exit::Ok, "using"),
        case(
            "checkpoint",
            &["sample", s(bad_weights), "--num", "2"],
            Exit::Error,
            "corrupt",
        ),
    ]
}

/// The restarted run (`early`) trained in place and its log has each step once; the fork left
/// the original `run` untouched (still 40 steps, its checkpoints intact); the failed start
/// left no `never` behind.
fn check_restart_fork_and_failed_start(run: &Path, early: &Path, fork: &Path, never: &Path) {
    assert!(early.join("checkpoints/step-0000040").exists());
    assert_eq!(logged_steps(early), [10, 20, 30, 40]);
    let state = std::fs::read_to_string(run.join("train_state.json")).unwrap();
    assert!(state.contains("\"step\": 40"), "{state}");
    assert!(run.join("checkpoints/step-0000040/SHA256SUMS").exists());
    assert!(fork.join("checkpoints/step-0000050").exists());
    assert!(
        !never.exists(),
        "a failed start left {} behind",
        never.display()
    );
}

/// Resuming with changed flags, dead ends before the first checkpoint, one writer per run
/// directory and corrupt checkpoints, on one tiny trained run (built once); the rows that
/// damage a run work on their own copy.
#[test]
fn resume_dead_end_lock_and_checkpoint_rows() {
    let root = root("resume");
    let run = tiny_run(&root);
    let corrupt = corrupt_copy(&run, &root);
    let bad_weights = copy_of(&run, &root, "bad-weights");
    std::fs::write(bad_weights.join("weights/model.bpk"), b"garbage").unwrap();
    let locked = copy_of(&run, &root, "locked");
    let lock = hold_lock(&locked);
    let early = early_copy(&run, &root);
    let (fork, never) = (root.join("fork"), root.join("never-started"));
    let mut cases = dead_end_rows(&run, &early);
    cases.extend(resume_rows(&run, &fork, &never));
    cases.extend(lock_rows(&locked));
    cases.extend(checkpoint_rows(&corrupt, &bad_weights));
    let failures = run_cases(&cases);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    check_restart_fork_and_failed_start(&run, &early, &fork, &never);
    drop(lock);
    let _ = std::fs::remove_dir_all(&root);
}

/// A run stopped by SIGTERM or SIGINT saves a checkpoint, exits 128 + signal and says how to
/// resume; stopped while sampling, it keeps the weights it saved.
#[test]
fn a_stopped_run_checkpoints_and_exits_128_plus_the_signal() {
    let root = root("signal");
    let (term, int, late) = (root.join("term"), root.join("int"), root.join("late"));
    let mut late_args = tiny(&late, "10");
    let num = late_args.iter().position(|a| a == "--num").unwrap();
    late_args[num + 1] = "50000".into();
    late_args.extend(["--sample-batch".to_string(), "16".to_string()]);
    let stop = |args, code, fragment, dir: &Path, file, signal| Case {
        family: "signal",
        args,
        exit: Exit::Signal(code),
        fragment,
        action: Action::SignalWhen {
            dir: dir.to_path_buf(),
            file,
            signal,
        },
    };
    let cases = [
        stop(
            tiny(&term, "100000"),
            143,
            "interrupted (SIGTERM)",
            &term,
            "checkpoints/latest",
            "TERM",
        ),
        stop(
            tiny(&int, "100000"),
            130,
            "Resume with: diffmem train --resume",
            &int,
            "checkpoints/latest",
            "INT",
        ),
        stop(
            late_args,
            130,
            "weights are saved",
            &late,
            "weights/SHA256SUMS",
            "INT",
        ),
    ];
    let failures = run_cases(&cases);
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A one-point sweep spec (a tiny MLP on a 4-dimensional Gaussian) training `steps` steps,
/// written to `root/name`.
fn sweep_spec(root: &Path, name: &str, steps: &str) -> PathBuf {
    let spec = format!(
        "name = \"one\"\n[base]\ndata.spec = \"gaussian:d=4,spectrum=power:1\"\n\
         data.heldout = 32\ndiffusion.timesteps = 50\ntrain.steps = {steps}\n\
         train.batch_size = 8\ntrain.log_every = 10\ntrain.checkpoint_every = 10\n\
         sample.num = 8\n[axes]\nmodel = [\"small\"]\nn = [16]\n[models.small]\n\
         name = \"mlp\"\nwidth = 16\ndepth = 1\ntemb = 8\n"
    );
    let path = root.join(name);
    std::fs::write(&path, spec).unwrap();
    path
}

/// A sweep stopped by SIGTERM stops its child: the child's lock is free, its checkpoint is
/// there, and the sweep says how to resume.
#[test]
fn a_stopped_sweep_stops_its_child() {
    let root = root("sweep-signal");
    let spec = sweep_spec(&root, "long.toml", "1000000");
    let sweep = root.join("sw-term");
    let cases = [Case {
        family: "signal",
        args: ["sweep", s(&spec), "--out", s(&sweep), "--no-report"]
            .iter()
            .map(|a| a.to_string())
            .collect(),
        exit: Exit::Signal(143),
        fragment: "interrupted (SIGTERM); resume with: diffmem sweep",
        action: Action::SignalWhen {
            dir: sweep.join("runs/small-n16"),
            file: "checkpoints/latest",
            signal: "TERM",
        },
    }];
    let failures = run_cases(&cases);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let child_lock = File::open(sweep.join("runs/small-n16/.lock")).unwrap();
    assert!(
        child_lock.try_lock().is_ok(),
        "the sweep's child still runs"
    );
    assert!(sweep.join("runs/small-n16/checkpoints/latest").exists());
    let _ = std::fs::remove_dir_all(&root);
}

/// A sweep refuses a point whose run directory another diffmem is writing.
#[test]
fn a_sweep_refuses_a_point_another_diffmem_writes() {
    let root = root("sweep-lock");
    let spec = sweep_spec(&root, "short.toml", "10");
    let sweep = root.join("sw-locked");
    let busy = sweep.join("runs/small-n16");
    std::fs::create_dir_all(&busy).unwrap();
    let lock = hold_lock(&busy);
    let cases = [case(
        "lock",
        &["sweep", s(&spec), "--out", s(&sweep), "--no-report"],
        Exit::Error,
        "being written by another diffmem (pid",
    )];
    let failures = run_cases(&cases);
    drop(lock);
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The command with its output discarded.
fn quiet(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
}

/// Waits at most `limit` for `child`; kills it (SIGKILL) past that. Some(success) if it ended.
fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<bool> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st.success());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The command that continues the run in `dir` whatever state a kill left it in: a fresh
/// start (no config yet), a restart (no checkpoint yet) or a resume.
fn continue_args(dir: &Path, fresh: &[String]) -> Vec<String> {
    let d = s(dir).to_string();
    if !dir.join("config.toml").exists() {
        fresh.to_vec()
    } else if dir.join("checkpoints/latest").exists() {
        vec!["train".into(), "--resume".into(), d, "--quiet".into()]
    } else {
        let config = format!("{d}/config.toml");
        [
            "train",
            "--config",
            &config,
            "--out",
            &d,
            "--restart",
            "--quiet",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// kill -9 at random times (a bounded number of kills; the seed is printed), a torn record
/// appended after some of them, then resumed to the end: log.jsonl has every logged step
/// exactly once, in order, and no torn line.
#[test]
fn random_kills_leave_each_logged_step_once() {
    let root = root("kills");
    let dir = root.join("run");
    let fresh = tiny(&dir, "300");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("random kills: seed {seed}");
    let mut delay = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        Duration::from_millis(50 + seed % 1500)
    };
    let mut kills = 0;
    for attempt in 0..8 {
        let args = continue_args(&dir, &fresh);
        let mut child = quiet(bin().args(&args)).spawn().unwrap();
        if wait_or_kill(&mut child, delay()).is_some() {
            break;
        }
        kills += 1;
        if attempt % 2 == 1 && dir.join("log.jsonl").exists() {
            // A record torn by the kill: the resumed run must not glue the next one to it.
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("log.jsonl"))
                .unwrap();
            write!(f, "{{\"step\": 99999, \"loss\": 0.").unwrap();
        }
    }
    for _ in 0..3 {
        if dir.join("summary.json").exists() {
            break;
        }
        let args = continue_args(&dir, &fresh);
        let mut child = quiet(bin().args(&args)).spawn().unwrap();
        assert_eq!(
            wait_or_kill(&mut child, Duration::from_secs(300)),
            Some(true),
            "{args:?}"
        );
    }
    eprintln!("random kills: {kills} kill(s)");
    let want: Vec<u64> = (1..=30).map(|k| 10 * k).collect();
    assert_eq!(logged_steps(&dir), want, "after {kills} kill(s)");
    let _ = std::fs::remove_dir_all(&root);
}

/// The first checkpoint comes early: at the first logging step at or after
/// min(--checkpoint-every, steps / 20), here step 10 of 200 with --checkpoint-every 1000.
#[test]
fn the_first_checkpoint_comes_early() {
    let root = root("first-checkpoint");
    let dir = root.join("run");
    let mut args = common::tiny_mlp("64", "200", "1000");
    args.extend_from_slice(&["--keep-last", "10", "--out", s(&dir)]);
    let out = bin().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut steps: Vec<String> = std::fs::read_dir(dir.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("step-"))
        .collect();
    steps.sort();
    assert_eq!(steps, ["step-0000010", "step-0000200"]);
    let _ = std::fs::remove_dir_all(&root);
}
