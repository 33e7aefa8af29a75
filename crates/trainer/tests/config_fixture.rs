//! A run directory written by the first release (`tests/fixtures/v1-run`, made with
//! `diffmem train --data gaussian:d=4,spectrum=power:1 --n 32 --model mlp --width 16
//! --depth 1 --temb 8 --steps 40 --batch-size 8 --log-every 10 --checkpoint-every 20 --num 8
//! --objective eps --no-clip --heldout 16` at commit f996a14, one thread): its `config.toml`
//! must repeat the run under this binary, byte for byte with burn's own ops
//! (`DIFFMEM_FLEX_KERNELS=off`), to float rounding with diffmem's flex kernels other than
//! `sample` (whose SiLU rounds its last bits differently), and what this binary writes must
//! say every setting. The `sample` kernel draws flex's sampling noise from another generator
//! (`diffmem_model::flex::normal`), so with every kernel on the samples differ from the first
//! release's, and the rewritten config must repeat its own run byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-run")
}

#[test]
fn first_release_config_repeats_its_run() {
    let out = std::env::temp_dir().join(format!("diffmem-fixture-{}", std::process::id()));
    let reference = out.with_extension("burn-ops");
    let rounding = out.with_extension("rounding");
    for (dir, kernels) in [
        (&reference, "off"),
        (&rounding, "silu,conv,groupnorm,adam,clip,linear"),
        (&out, "on"),
    ] {
        let _ = std::fs::remove_dir_all(dir);
        let o = Command::new(env!("CARGO_BIN_EXE_diffmem"))
            .env("RAYON_NUM_THREADS", "1")
            .env("DIFFMEM_FLEX_KERNELS", kernels)
            .args(["train", "--quiet", "--config"])
            .arg(fixture().join("config.toml"))
            .arg("--out")
            .arg(dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for file in ["samples.npy", "train_indices.txt"] {
        let old = std::fs::read(fixture().join(file)).unwrap();
        let new = std::fs::read(reference.join(file)).unwrap();
        assert!(
            old == new,
            "{file} differs from the first release's (burn's ops)"
        );
    }
    let old = std::fs::read(fixture().join("train_indices.txt")).unwrap();
    assert!(old == std::fs::read(out.join("train_indices.txt")).unwrap());
    // The `sample` kernel's noise is another stream: other samples from the same seed.
    let first = std::fs::read(fixture().join("samples.npy")).unwrap();
    assert!(first != std::fs::read(out.join("samples.npy")).unwrap());
    // With the kernels but the first release's noise: the same samples up to float rounding
    // (measured: 7e-5 absolute on values up to 4.4e3, i.e. relative ~1e-8 of the largest).
    let (want, shape) = common::npy(&fixture().join("samples.npy"));
    let (got, got_shape) = common::npy(&rounding.join("samples.npy"));
    assert_eq!(shape, got_shape);
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (a, b) in got.iter().zip(&want) {
        assert!(
            (a - b).abs() <= 1e-6 * scale,
            "flex kernels: sample {a} vs {b}"
        );
    }
    // The rewritten config states what the first one left implicit.
    let text = std::fs::read_to_string(out.join("config.toml")).unwrap();
    for key in [
        "clip = \"none\"",
        "ema_warmup = false",
        "config_version = 2",
    ] {
        assert!(text.contains(key), "{key} missing from\n{text}");
    }
    // And it repeats the run too.
    let again = out.with_extension("again");
    let _ = std::fs::remove_dir_all(&again);
    let o = Command::new(env!("CARGO_BIN_EXE_diffmem"))
        .env("RAYON_NUM_THREADS", "1")
        .args(["train", "--quiet", "--config"])
        .arg(out.join("config.toml"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = std::fs::read(out.join("samples.npy")).unwrap();
    assert!(a == std::fs::read(again.join("samples.npy")).unwrap());
    for dir in [&out, &again, &reference, &rounding] {
        std::fs::remove_dir_all(dir).ok();
    }
}
