//! Flags with a fixed set of values (`--schedule`, `--sampler`, `--variance`, `--split`,
//! `--spectrum-grid`), end to end: each value reaches the setting it names, and a value outside
//! the set is refused by clap, naming the values it accepts.

use std::path::PathBuf;

mod common;
use common::{exact_flags, ok, run, s};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("flags", name)
}

#[test]
fn each_value_reaches_its_setting() {
    let dir = tmpdir("values");
    let r = dir.join("cos");
    let mut args = exact_flags(
        "gaussian:d=4,spectrum=power:1",
        "8",
        "8",
        "linear-exact",
        "50",
    );
    args.extend_from_slice(&["--schedule", "cosine", "--out", s(&r)]);
    ok(&args);
    let config = std::fs::read_to_string(r.join("config.toml")).unwrap();
    assert!(config.contains("cosine"), "{config}");

    let drawn: serde_json::Value = serde_json::from_str(&ok(&[
        "sample",
        s(&r),
        "--num",
        "2",
        "--sampler",
        "ddpm",
        "--variance",
        "posterior",
        "--out",
        s(&dir.join("draw")),
        "--quiet",
        "--json",
    ]))
    .unwrap();
    let text = drawn.to_string();
    assert!(
        text.contains("\"ddpm\"") && text.contains("\"posterior\""),
        "{text}"
    );

    // Half a is the unsplit subset; half b is disjoint from it.
    let rows = |extra: &[&str]| -> Vec<u64> {
        let mut args = vec![
            "data", "inspect", "--data", "mnist-5k", "--n", "10", "--json",
        ];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
        let idx = v["first_indices"].as_array().unwrap();
        idx.iter().map(|i| i.as_u64().unwrap()).collect()
    };
    let (whole, a, b) = (rows(&[]), rows(&["--split", "a"]), rows(&["--split", "b"]));
    assert_eq!(whole, a);
    assert!(b.iter().all(|i| !a.contains(i)), "{a:?} {b:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_value_outside_the_set_names_the_accepted_ones() {
    for (args, values) in [
        (vec!["sample", "RUN", "--sampler", "euler"], "ddpm, ddim"),
        (
            vec!["sample", "RUN", "--variance", "fixed"],
            "beta, posterior",
        ),
        (vec!["train", "--schedule", "sigmoid"], "linear, cosine"),
        (
            vec!["eval", "RUN", "--spectrum-grid", "some"],
            "paper, full",
        ),
        (vec!["data", "inspect", "--split", "c"], "a, b"),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(values), "{args:?}: {err}");
    }
}
