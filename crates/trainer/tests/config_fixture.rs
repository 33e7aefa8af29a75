//! A run directory written by the first release (`tests/fixtures/v1-run`, made with
//! `diffmem train --data gaussian:d=4,spectrum=power:1 --n 32 --model mlp --width 16
//! --depth 1 --temb 8 --steps 40 --batch-size 8 --log-every 10 --checkpoint-every 20 --num 8
//! --objective eps --no-clip --heldout 16` at commit f996a14, one thread): its `config.toml`
//! must repeat the run under this binary, byte for byte, and what this binary writes must say
//! every setting.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-run")
}

#[test]
fn first_release_config_repeats_its_run() {
    let out = std::env::temp_dir().join(format!("diffmem-fixture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = Command::new(env!("CARGO_BIN_EXE_diffmem"))
        .env("RAYON_NUM_THREADS", "1")
        .args(["train", "--quiet", "--config"])
        .arg(fixture().join("config.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in ["samples.npy", "train_indices.txt"] {
        let old = std::fs::read(fixture().join(file)).unwrap();
        let new = std::fs::read(out.join(file)).unwrap();
        assert!(old == new, "{file} differs from the first release's");
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
    std::fs::remove_dir_all(&out).ok();
    std::fs::remove_dir_all(&again).ok();
}
