//! End-to-end split agreement of two `linear-exact` runs on disjoint halves of one Gaussian
//! (`--split a|b`), sampled with shared DDPM noise: `eval --metrics agree` reports the measured
//! mean squared difference of paired samples beside the first-order prediction.

use std::path::Path;

mod common;
use common::{ok_plain as diffmem, s, tmpdir};

fn train(dir: &Path, name: &str, split: &str, n: &str) -> String {
    let out = dir.join(name);
    let mut args = common::exact_flags(
        "gaussian:d=8,spectrum=power:1",
        n,
        "8",
        "linear-exact",
        "200",
    );
    args.extend_from_slice(&["--split", split, "--out", s(&out)]);
    diffmem(&args);
    s(&out).to_string()
}

fn agree(a: &str, b: &str, sampler: &str) -> serde_json::Value {
    let args = [
        "eval",
        a,
        "--quiet",
        "--json",
        "--metrics",
        "agree",
        "--against",
        b,
        "--num",
        "2000",
        "--sampler",
        sampler,
    ];
    let m: serde_json::Value = serde_json::from_str(&diffmem(&args)).unwrap();
    m["metrics"]["agree"]["split_theory"].clone()
}

#[test]
fn measured_split_disagreement_is_near_the_first_order_prediction() {
    let dir = tmpdir("split", "agree");
    let (a, b) = (train(&dir, "a", "a", "400"), train(&dir, "b", "b", "400"));
    let t = agree(&a, &b, "ddpm");
    let ratio = t["ratio"].as_f64().unwrap();
    // One pair of training sets: the measured value scatters by about 20% around the
    // expectation over training sets that the theory gives (N / d = 50).
    assert!((0.5..2.0).contains(&ratio), "{t}");
    assert_eq!(t["n_over_d"].as_f64(), Some(50.0));
    // With DDIM the prediction does not apply and says why.
    let t = agree(&a, &b, "ddim");
    assert!(
        t["theory"].is_null() && t["note"].as_str().unwrap().contains("--sampler ddpm"),
        "{t}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
