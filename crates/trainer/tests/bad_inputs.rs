//! The bad-input matrix of issue 16 as one table: each row is a command an adversarial user
//! might type, the class of exit it must end with, and a fragment of the message it must
//! print. Families: resume, lock, signal, validation, memory, report, against, pipe,
//! checkpoint. Every row also asserts that nothing panicked. The rows share one tiny trained
//! run (built once); those that damage a run work on their own copy.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{bin, s};

/// A tiny MLP run on 64 bundled digits, 40 steps, checkpoints every 10 (keeps 30 and 40).
fn tiny(out: &Path, steps: &str) -> Vec<String> {
    let mut v = common::tiny_mlp("64", steps, "10");
    v.extend_from_slice(&["--out", s(out)]);
    v.iter().map(|s| s.to_string()).collect()
}

/// How a command must end.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Exit {
    /// Exit 0.
    Ok,
    /// A clear error: exit 1.
    Error,
    /// A flag rejected by the parser: exit 2.
    Usage,
    /// Stopped by SIGINT (130) or SIGTERM (143) after saving.
    Signal(i32),
    /// A closed stdout: ended quietly (killed by SIGPIPE or exit 0), no message.
    Quiet,
}

/// What a row does before and while running its command.
enum Action {
    /// Run the command.
    Run,
    /// Start it, wait for `file` (relative to `dir`) to appear, send `signal`.
    SignalWhen {
        dir: PathBuf,
        file: &'static str,
        signal: &'static str,
    },
    /// Run it with stdout closed at once.
    ClosedStdout,
}

struct Case {
    family: &'static str,
    args: Vec<String>,
    exit: Exit,
    fragment: &'static str,
    action: Action,
}

fn case(family: &'static str, args: &[&str], exit: Exit, fragment: &'static str) -> Case {
    Case {
        family,
        args: args.iter().map(|s| s.to_string()).collect(),
        exit,
        fragment,
        action: Action::Run,
    }
}

fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

/// Runs one row; Err describes how it failed.
fn check(c: &Case) -> Result<(), String> {
    let mut cmd = bin();
    cmd.args(&c.args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let limit = Duration::from_secs(300);
    let (status, stderr) = match &c.action {
        Action::Run => {
            // The message may be on either stream (report's conclusion is on stdout).
            let out = cmd.output().map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stderr).to_string()
                + &String::from_utf8_lossy(&out.stdout);
            (out.status, text)
        }
        Action::ClosedStdout => {
            let mut child = cmd
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            drop(child.stdout.take());
            let status = wait_bounded(&mut child, limit).ok_or("hung")?;
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            (status, err)
        }
        Action::SignalWhen { dir, file, signal } => {
            let mut child = cmd
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            while !dir.join(file).exists() && t0.elapsed() < limit {
                std::thread::sleep(Duration::from_millis(20));
            }
            let pid = child.id().to_string();
            Command::new("kill")
                .args([&format!("-{signal}"), pid.as_str()])
                .status()
                .map_err(|e| e.to_string())?;
            let status = wait_bounded(&mut child, limit).ok_or("hung after the signal")?;
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            (status, err)
        }
    };
    if stderr.contains("panicked") {
        return Err(format!("panic: {stderr}"));
    }
    use std::os::unix::process::ExitStatusExt;
    let good = match c.exit {
        Exit::Ok => status.code() == Some(0),
        Exit::Error => status.code() == Some(1),
        Exit::Usage => status.code() == Some(2),
        Exit::Signal(code) => status.code() == Some(code),
        Exit::Quiet => status.code() == Some(0) || status.signal() == Some(13),
    };
    if !good {
        return Err(format!("expected {:?}, got {status}: {stderr}", c.exit));
    }
    if !stderr.contains(c.fragment) {
        return Err(format!("stderr lacks `{}`: {stderr}", c.fragment));
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == ".lock" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn the_bad_input_matrix() {
    let root = std::env::temp_dir().join(format!("diffmem-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let run = root.join("run");
    let built = bin().args(tiny(&run, "40")).output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
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
    // A sweep directory whose one run has an unreadable metrics.json.
    let sweep = root.join("sweep");
    copy_dir(&run, &sweep.join("runs/n64"));
    std::fs::write(sweep.join("runs/n64/metrics.json"), b"{\"metrics\": {\"mem").unwrap();
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

    let mut cases = vec![
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
        // Validation of every numeric flag, at parse time.
        case(
            "validation",
            &["train", "--min-snr=-1"],
            Exit::Error,
            "--min-snr",
        ),
        case(
            "validation",
            &["train", "--min-snr", "nan"],
            Exit::Error,
            "--min-snr",
        ),
        case(
            "validation",
            &["train", "--heldout", "0"],
            Exit::Error,
            "--heldout",
        ),
        case(
            "validation",
            &["train", "--clip-x0=-1"],
            Exit::Error,
            "--clip-x0",
        ),
        case(
            "validation",
            &["train", "--clip-x0", "nan"],
            Exit::Error,
            "--clip-x0",
        ),
        case(
            "validation",
            &["train", "--clip", "inf"],
            Exit::Error,
            "--clip",
        ),
        case(
            "validation",
            &["train", "--weight-decay=-1"],
            Exit::Error,
            "--weight-decay",
        ),
        case(
            "validation",
            &["train", "--adam-eps", "nan"],
            Exit::Error,
            "--adam-eps",
        ),
        case("validation", &["train", "--lr", "nan"], Exit::Error, "--lr"),
        case(
            "validation",
            &["train", "--ema", "1.5"],
            Exit::Error,
            "--ema",
        ),
        case(
            "validation",
            &["train", "--epochs", "0"],
            Exit::Error,
            "--epochs",
        ),
        case(
            "validation",
            &["train", "--patience", "0"],
            Exit::Error,
            "--patience",
        ),
        case(
            "validation",
            &["train", "--timesteps", "0"],
            Exit::Error,
            "--timesteps",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-k", "0"],
            Exit::Usage,
            "--spectrum-k",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-k=-1"],
            Exit::Usage,
            "--spectrum-k",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-k", "nan"],
            Exit::Usage,
            "--spectrum-k",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-floor", "nan"],
            Exit::Usage,
            "floor",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-c", "nan"],
            Exit::Usage,
            "--spectrum-c",
        ),
        case(
            "validation",
            &["eval", r, "--num", "0"],
            Exit::Usage,
            "--num",
        ),
        case(
            "memory",
            &["eval", r, "--num", "100000000000"],
            Exit::Error,
            "lower --num",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-rows-per-pass", "0"],
            Exit::Usage,
            "--spectrum-rows-per-pass",
        ),
        case(
            "validation",
            &["eval", r, "--threshold=-1"],
            Exit::Usage,
            "--threshold",
        ),
        case(
            "validation",
            &["sample", r, "--num", "0"],
            Exit::Usage,
            "--num",
        ),
        case(
            "validation",
            &["sample", r, "--clip-x0=-1"],
            Exit::Usage,
            "--clip-x0",
        ),
        // Memory: estimated before allocating; the flag to lower is named.
        case(
            "memory",
            &[
                "train",
                "--data",
                "gaussian:d=1000,spectrum=power:1",
                "--n",
                "100000000000",
            ],
            Exit::Error,
            "lower --n",
        ),
        case(
            "memory",
            &["train", "--batch-size", "100000000000"],
            Exit::Error,
            "lower --batch-size",
        ),
        case(
            "memory",
            &["train", "--width", "10000000"],
            Exit::Error,
            "lower --width",
        ),
        case(
            "memory",
            &["train", "--num", "100000000000"],
            Exit::Error,
            "lower --num",
        ),
        case(
            "memory",
            &[
                "data",
                "inspect",
                "--data",
                "gaussian:d=10000000,spectrum=power:1,rotate=true",
            ],
            Exit::Error,
            "lower d= of --data",
        ),
        case(
            "memory",
            &[
                "data",
                "inspect",
                "--data",
                "gaussian:d=100000000,spectrum=power:1",
            ],
            Exit::Error,
            "lower --n or d= of --data",
        ),
        case(
            "memory",
            &["theory", "linear", "--d", "10000000"],
            Exit::Error,
            "lower --d",
        ),
        // Report: an unreadable metrics.json is a failed run, and the conclusion says so.
        case("report", &["report", s(&sweep)], Exit::Ok, "is unreadable"),
        // eval --against the run itself warns.
        case(
            "against",
            &[
                "eval",
                r,
                "--against",
                r,
                "--metrics",
                "mem",
                "--num",
                "4",
                "--steps",
                "5",
            ],
            Exit::Ok,
            "the run itself",
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
    // A closed stdout ends quietly.
    cases.push(Case {
        family: "pipe",
        args: ["data", "inspect", "--data", "mnist-5k", "--n", "16"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        exit: Exit::Quiet,
        fragment: "",
        action: Action::ClosedStdout,
    });

    let mut by_family: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        let entry = by_family.entry(c.family).or_default();
        entry.0 += 1;
        match check(c) {
            Ok(()) => entry.1 += 1,
            Err(e) => failures.push(format!("[{}] {:?}: {e}", c.family, c.args)),
        }
    }
    for (family, (n, passed)) in &by_family {
        eprintln!("bad inputs, {family}: {passed}/{n} pass");
    }
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
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
