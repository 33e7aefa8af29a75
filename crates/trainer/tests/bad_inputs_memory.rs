//! Bad inputs, family memory: every large allocation estimated before it is made, against
//! the memory this process may use (the machine's, `ulimit -v`, the cgroup's), naming the
//! flag to lower; work that would run for days (local patches, theory grids) refused by cost.

mod bad_matrix;
mod common;

use bad_matrix::{Exit, assert_refused_leaving_nothing, case, flag_rows, root, run_cases};
use common::s;

/// Memory is estimated before allocating, and the message names the flag to lower: training
/// set, batch, width, sample count, data dimension, theory dimension.
#[test]
fn memory_is_estimated_before_allocating_and_names_the_flag_to_lower() {
    let mut cases = flag_rows(
        "memory",
        &["train"],
        Exit::Error,
        &[
            (
                &[
                    "--data",
                    "gaussian:d=1000,spectrum=power:1",
                    "--n",
                    "100000000000",
                ],
                "lower --n",
            ),
            (&["--batch-size", "100000000000"], "lower --batch-size"),
            (&["--width", "10000000"], "lower --width"),
            (&["--num", "100000000000"], "lower --num"),
        ],
    );
    cases.extend(flag_rows(
        "memory",
        &["data", "inspect", "--data"],
        Exit::Error,
        &[
            (
                &["gaussian:d=10000000,spectrum=power:1,rotate=true"],
                "lower d= of --data",
            ),
            (
                &["gaussian:d=100000000,spectrum=power:1"],
                "lower --n or d= of --data",
            ),
        ],
    ));
    cases.push(case(
        "memory",
        &["theory", "linear", "--d", "10000000"],
        Exit::Error,
        "lower --d",
    ));
    let failures = run_cases(&cases);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A folder resized to 20000 pixels and a huge --timesteps are estimated too, before the run
/// directory is made.
#[test]
fn image_size_and_timesteps_are_estimated_too() {
    let root = root("memory");
    let out = |name: &str| s(&root.join(name)).to_string();
    let folder = format!("folder:{},size=20000", s(&root));
    let cases = flag_rows(
        "memory",
        &["train"],
        Exit::Error,
        &[
            (
                &["--data", &folder, "--out", &out("folder")],
                "of memory is available",
            ),
            (
                &["--timesteps", "10000000000", "--out", &out("timesteps")],
                "lower --timesteps",
            ),
        ],
    );
    assert_refused_leaving_nothing(&root, &["folder", "timesteps"], &cases);
}

/// Work that would run for days is refused by its cost: local patches, theory grids.
#[test]
fn work_that_would_run_for_days_is_refused_by_its_cost() {
    let root = root("memory-cost");
    let out = |name: &str| s(&root.join(name)).to_string();
    let mut cases = vec![case(
        "memory",
        &[
            "train",
            "--model",
            "local",
            "--patch",
            "55",
            "--out",
            &out("local"),
        ],
        Exit::Error,
        "floating-point operations",
    )];
    cases.extend(flag_rows(
        "memory",
        &["theory", "linear", "--n-grid"],
        Exit::Error,
        &[
            (&["log:1:1e9:1000000", "--out", &out("theory")], "--n-grid"),
            (
                &["log:1:1e7:1000000", "--out", &out("theory2")],
                "floating-point operations",
            ),
        ],
    ));
    assert_refused_leaving_nothing(&root, &["local", "theory", "theory2"], &cases);
}

/// Under `ulimit -v` (RLIMIT_AS) the estimates use the room left under the limit, not the
/// machine's free memory: a 2.4 GB data set under a 1.5 GB limit is refused with a message
/// naming the limit, where it used to abort ("memory allocation failed").
#[test]
fn the_address_space_limit_is_respected() {
    let root = root("ulimit");
    let out = root.join("run");
    let script = "ulimit -v 1500000 && exec \"$0\" \"$@\"";
    let o = std::process::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_diffmem")])
        .args([
            "train",
            "--data",
            "gaussian:d=1000,spectrum=power:1",
            "--n",
            "300000",
            "--out",
            s(&out),
        ])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("set by the address-space limit (ulimit -v)"),
        "{err}"
    );
    assert!(err.contains("lower --n"), "{err}");
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&root);
}
