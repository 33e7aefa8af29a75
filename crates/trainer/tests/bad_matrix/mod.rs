//! The bad-input matrix shared by the `bad_inputs_*` test files: each row is a command an
//! adversarial user might type, the class of exit it must end with, and a fragment of the
//! message it must print. Every row also asserts that nothing panicked.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, bin, s};

/// A tiny MLP run on 64 bundled digits, 40 steps, checkpoints every 10 (keeps 30 and 40).
pub fn tiny(out: &Path, steps: &str) -> Vec<String> {
    let mut v = common::tiny_mlp("64", steps, "10");
    v.extend_from_slice(&["--out", s(out)]);
    v.iter().map(|s| s.to_string()).collect()
}

/// How a command must end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Exit {
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
pub enum Action {
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

pub struct Case {
    pub family: &'static str,
    pub args: Vec<String>,
    pub exit: Exit,
    pub fragment: &'static str,
    pub action: Action,
}

pub fn case(family: &'static str, args: &[&str], exit: Exit, fragment: &'static str) -> Case {
    Case {
        family,
        args: args.iter().map(|s| s.to_string()).collect(),
        exit,
        fragment,
        action: Action::Run,
    }
}

/// Rows of one `family` that each run `prefix` followed by their own flags and end with `exit`:
/// one row per (flags, message fragment).
pub fn flag_rows(
    family: &'static str,
    prefix: &[&str],
    exit: Exit,
    rows: &[(&[&str], &'static str)],
) -> Vec<Case> {
    rows.iter()
        .map(|(flags, fragment)| {
            let args: Vec<&str> = prefix.iter().chain(flags.iter()).copied().collect();
            case(family, &args, exit, fragment)
        })
        .collect()
}

/// Runs `cases`, whose commands were given the `--out` folders `names` under `root`, then
/// removes `root`; fails the test on a failed row or on a folder a refused command left behind.
pub fn assert_refused_leaving_nothing(root: &Path, names: &[&str], cases: &[Case]) {
    let failures = run_cases(cases);
    let left: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| root.join(name).exists())
        .collect();
    let _ = std::fs::remove_dir_all(root);
    assert!(left.is_empty(), "a refused command left {left:?} behind");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
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
pub fn check(c: &Case) -> Result<(), String> {
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

pub fn copy_dir(from: &Path, to: &Path) {
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

/// A run of the tiny MLP (40 steps, checkpoints every 10) in `root/run`, trained once.
pub fn tiny_run(root: &Path) -> PathBuf {
    let run = root.join("run");
    let built = bin().args(tiny(&run, "40")).output().unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    run
}

/// A fresh scratch root `diffmem-bad-{tag}-{pid}` in the temp dir.
pub fn root(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("diffmem-bad-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// Runs every case, prints a pass count per family, and returns the failures.
pub fn run_cases(cases: &[Case]) -> Vec<String> {
    let mut by_family: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in cases {
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
    failures
}
