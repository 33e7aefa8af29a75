//! Bad inputs, families resume, lock, signal and checkpoint: resuming with changed flags,
//! one writer per run directory, SIGINT/SIGTERM (checkpoint, exit 128 + signal, resume
//! hint), corrupt checkpoints and weights; a run killed before its first checkpoint (no dead
//! end) and log.jsonl after random kills (each step once). Shares one tiny trained run (built
//! once); the rows that damage a run work on their own copy.

mod bad_matrix;
mod common;

use bad_matrix::{Action, Case, Exit, case, copy_dir, root, run_cases, tiny, tiny_run};
use common::{bin, s};
use std::path::Path;
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

#[test]
fn resume_lock_signal_and_checkpoint_rows() {
    let root = root("resume");
    let run = tiny_run(&root);
    let r = s(&run);
    let step40 = run.join("checkpoints/step-0000040");

    // A copy whose newest checkpoint is corrupt (a flipped byte in its weights).
    let corrupt = root.join("corrupt");
    copy_dir(&run, &corrupt);
    let model = corrupt.join("checkpoints/step-0000040/model.bpk");
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&model, bytes).unwrap();
    let corrupt40 = corrupt.join("checkpoints/step-0000040");
    // A copy with corrupt final weights.
    let bad_weights = root.join("bad-weights");
    copy_dir(&run, &bad_weights);
    std::fs::write(bad_weights.join("weights/model.bpk"), b"garbage").unwrap();
    let never = root.join("never-started");
    // A run whose lock is held by this test process.
    let locked = root.join("locked");
    copy_dir(&run, &locked);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(locked.join(".lock"))
        .unwrap();
    lock.try_lock().unwrap();
    std::fs::write(locked.join(".lock"), format!("{}\n", std::process::id())).unwrap();
    // Runs to stop with signals.
    let (term, int, late) = (root.join("term"), root.join("int"), root.join("late"));
    let mut late_args = tiny(&late, "10");
    let num = late_args.iter().position(|a| a == "--num").unwrap();
    late_args[num + 1] = "50000".into();
    late_args.extend(["--sample-batch".to_string(), "16".to_string()]);
    let fork = root.join("fork");
    // Sweeps: one long MLP point to stop with SIGTERM; one point whose directory is locked.
    let spec = |steps: &str| {
        format!(
            "name = \"one\"\n[base]\ndata.spec = \"gaussian:d=4,spectrum=power:1\"\n\
             data.heldout = 32\ndiffusion.timesteps = 50\ntrain.steps = {steps}\n\
             train.batch_size = 8\ntrain.log_every = 10\ntrain.checkpoint_every = 10\n\
             sample.num = 8\n[axes]\nmodel = [\"small\"]\nn = [16]\n[models.small]\n\
             name = \"mlp\"\nwidth = 16\ndepth = 1\ntemb = 8\n"
        )
    };
    let (long_spec, short_spec) = (root.join("long.toml"), root.join("short.toml"));
    std::fs::write(&long_spec, spec("1000000")).unwrap();
    std::fs::write(&short_spec, spec("10")).unwrap();
    let (sweep_term, sweep_locked) = (root.join("sw-term"), root.join("sw-locked"));
    let busy = sweep_locked.join("runs/small-n16");
    std::fs::create_dir_all(&busy).unwrap();
    let busy_lock = std::fs::File::create(busy.join(".lock")).unwrap();
    busy_lock.try_lock().unwrap();
    std::fs::write(busy.join(".lock"), format!("{}\n", std::process::id())).unwrap();

    // A run killed before its first checkpoint: its config, indices, log and loss curves; no
    // checkpoint, no weights, none of the files written at the end.
    let early = root.join("early");
    copy_dir(&run, &early);
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
    let early_config = early.join("config.toml");
    let e = s(&early);

    let cases = vec![
        // No dead end before the first checkpoint: every refusal names the command that starts
        // the run over in place, and that command works; a run with checkpoints is kept.
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
            args: tiny(&early, "40"),
            exit: Exit::Error,
            fragment: "already holds a run that stopped before its first checkpoint",
            action: Action::Run,
        },
        case(
            "dead-end",
            &[
                "train",
                "--config",
                &format!("{r}/config.toml"),
                "--out",
                r,
                "--restart",
            ],
            Exit::Error,
            "has checkpoints or weights; resume it with --resume",
        ),
        case(
            "dead-end",
            &[
                "train",
                "--config",
                s(&early_config),
                "--out",
                e,
                "--restart",
                "--quiet",
            ],
            Exit::Ok,
            "restarting",
        ),
        // Resume: explicit; flags that would change the run are refused by name.
        case(
            "resume",
            &["train", "--resume", r, "--width", "64"],
            Exit::Error,
            "--width",
        ),
        case(
            "resume",
            &["train", "--resume", r, "--lr", "0.1", "--min-snr", "5"],
            Exit::Error,
            "--min-snr, --lr would change it",
        ),
        case(
            "resume",
            &[
                "train",
                "--resume",
                r,
                "--config",
                &format!("{r}/config.toml"),
            ],
            Exit::Error,
            "--config",
        ),
        case(
            "resume",
            &["train", "--resume", r, "--seed", "3"],
            Exit::Error,
            "--seed",
        ),
        case(
            "resume",
            &["train", "--resume", r, "--steps", "10"],
            Exit::Error,
            "below the step",
        ),
        case(
            "resume",
            &["train", "--resume", "latest"],
            Exit::Error,
            "needs --out",
        ),
        case(
            "resume",
            &[
                "train",
                "--resume",
                r,
                "--out",
                s(&fork),
                "--steps",
                "50",
                "--quiet",
            ],
            Exit::Ok,
            "forked",
        ),
        case(
            "resume",
            &["train", "--resume", r, "--out", s(&fork)],
            Exit::Error,
            "already holds a run",
        ),
        // One writer per run directory.
        case(
            "lock",
            &["train", "--resume", s(&locked), "--quiet"],
            Exit::Error,
            "in use by another diffmem (pid",
        ),
        case(
            "lock",
            &["eval", s(&locked), "--metrics", "mem", "--num", "4"],
            Exit::Error,
            "in use by another diffmem (pid",
        ),
        case(
            "lock",
            &["sample", s(&locked), "--num", "2"],
            Exit::Error,
            "in use by another diffmem (pid",
        ),
        // A start that fails (here: a missing data file) leaves no run directory behind.
        case(
            "resume",
            &[
                "train",
                "--data",
                "mnist:/nonexistent/diffmem-images.idx",
                "--out",
                s(&never),
            ],
            Exit::Error,
            "/nonexistent/diffmem-images.idx",
        ),
        // Signals: checkpoint, exit 128 + signal, resume hint; during sampling, keep weights.
        Case {
            family: "signal",
            args: tiny(&term, "100000"),
            exit: Exit::Signal(143),
            fragment: "interrupted (SIGTERM)",
            action: Action::SignalWhen {
                dir: term.clone(),
                file: "checkpoints/latest",
                signal: "TERM",
            },
        },
        Case {
            family: "signal",
            args: tiny(&int, "100000"),
            exit: Exit::Signal(130),
            fragment: "Resume with: diffmem train --resume",
            action: Action::SignalWhen {
                dir: int.clone(),
                file: "checkpoints/latest",
                signal: "INT",
            },
        },
        Case {
            family: "signal",
            args: late_args,
            exit: Exit::Signal(130),
            fragment: "weights are saved",
            action: Action::SignalWhen {
                dir: late.clone(),
                file: "weights/SHA256SUMS",
                signal: "INT",
            },
        },
        Case {
            family: "signal",
            args: [
                "sweep",
                s(&long_spec),
                "--out",
                s(&sweep_term),
                "--no-report",
            ]
            .iter()
            .map(|a| a.to_string())
            .collect(),
            exit: Exit::Signal(143),
            fragment: "interrupted (SIGTERM); resume with: diffmem sweep",
            action: Action::SignalWhen {
                dir: sweep_term.join("runs/small-n16"),
                file: "checkpoints/latest",
                signal: "TERM",
            },
        },
        case(
            "lock",
            &[
                "sweep",
                s(&short_spec),
                "--out",
                s(&sweep_locked),
                "--no-report",
            ],
            Exit::Error,
            "being written by another diffmem (pid",
        ),
        // Corrupt checkpoints and weights are named, never loaded.
        case(
            "checkpoint",
            &["train", "--resume", s(&corrupt40), "--quiet"],
            Exit::Error,
            "corrupt checkpoint",
        ),
        case(
            "checkpoint",
            &["train", "--resume", s(&corrupt40), "--quiet"],
            Exit::Error,
            "step-0000030 instead",
        ),
        case(
            "checkpoint",
            &[
                "train",
                "--resume",
                "latest",
                "--out",
                s(&corrupt),
                "--quiet",
            ],
            Exit::Ok,
            "using",
        ),
        case(
            "checkpoint",
            &["sample", s(&bad_weights), "--num", "2"],
            Exit::Error,
            "corrupt",
        ),
    ];
    let failures = run_cases(&cases);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The restarted run trained in place, and its log has each step once.
    assert!(early.join("checkpoints/step-0000040").exists());
    assert_eq!(logged_steps(&early), [10, 20, 30, 40]);
    // The fork left the original untouched: still 40 steps, its checkpoints intact.
    let state = std::fs::read_to_string(run.join("train_state.json")).unwrap();
    assert!(state.contains("\"step\": 40"), "{state}");
    assert!(step40.join("SHA256SUMS").exists());
    assert!(fork.join("checkpoints/step-0000050").exists());
    assert!(
        !never.exists(),
        "a failed start left {} behind",
        never.display()
    );
    // The sweep stopped its child: the run's lock is free and its checkpoint is there.
    let child_lock = std::fs::File::open(sweep_term.join("runs/small-n16/.lock")).unwrap();
    assert!(
        child_lock.try_lock().is_ok(),
        "the sweep's child still runs"
    );
    assert!(
        sweep_term
            .join("runs/small-n16/checkpoints/latest")
            .exists()
    );
    drop((lock, busy_lock));
    let _ = std::fs::remove_dir_all(&root);
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
