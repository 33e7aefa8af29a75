//! Bad inputs, family memory: every large allocation estimated before it is made, against
//! the memory this process may use (the machine's, `ulimit -v`, the cgroup's), naming the
//! flag to lower; work that would run for days (local patches, theory grids) refused by cost.

mod bad_matrix;
mod common;

use bad_matrix::{Exit, case, root, run_cases};
use common::s;

#[test]
fn memory_rows() {
    let root = root("memory");
    let out = |name: &str| s(&root.join(name)).to_string();
    let cases = vec![
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
        // A folder resized to 20000 pixels and a huge --timesteps are estimated too.
        case(
            "memory",
            &[
                "train",
                "--data",
                &format!("folder:{},size=20000", s(&root)),
                "--out",
                &out("folder"),
            ],
            Exit::Error,
            "of memory is available",
        ),
        case(
            "memory",
            &[
                "train",
                "--timesteps",
                "10000000000",
                "--out",
                &out("timesteps"),
            ],
            Exit::Error,
            "lower --timesteps",
        ),
        // Work that would run for days is refused by its cost: local patches, theory grids.
        case(
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
        ),
        case(
            "memory",
            &[
                "theory",
                "linear",
                "--n-grid",
                "log:1:1e9:1000000",
                "--out",
                &out("theory"),
            ],
            Exit::Error,
            "--n-grid",
        ),
        case(
            "memory",
            &[
                "theory",
                "linear",
                "--n-grid",
                "log:1:1e7:1000000",
                "--out",
                &out("theory2"),
            ],
            Exit::Error,
            "floating-point operations",
        ),
    ];
    let failures = run_cases(&cases);
    for name in ["folder", "timesteps", "local", "theory", "theory2"] {
        assert!(
            !root.join(name).exists(),
            "a refused command left {name} behind"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
