//! Helpers shared by the end-to-end CLI tests (each test file has `mod common;`): running the
//! built `diffmem`, scratch folders, the tiny MLP run most tests train, and readers for what a
//! run writes. Not every test file uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `diffmem` binary, with the caller's environment.
pub fn plain() -> Command {
    Command::new(env!("CARGO_BIN_EXE_diffmem"))
}

/// The built `diffmem` on one thread: flex reductions are then bit-reproducible run to run.
pub fn bin() -> Command {
    let mut c = plain();
    c.env("RAYON_NUM_THREADS", "1");
    c
}

/// Runs `cmd args` to completion; fails the test if it panicked.
pub fn output(mut cmd: Command, args: &[&str]) -> Output {
    let out = cmd.args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    out
}

/// `diffmem args` on one thread; fails the test if it panicked.
pub fn run(args: &[&str]) -> Output {
    output(bin(), args)
}

/// Fails the test unless `out` (of `diffmem args`) succeeded, showing its stdout and stderr.
pub fn succeeded(out: Output, args: &[&str]) -> Output {
    assert!(
        out.status.success(),
        "diffmem {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `diffmem args` on one thread, which must succeed without a panic.
pub fn ok_output(args: &[&str]) -> Output {
    succeeded(run(args), args)
}

/// The stdout of `diffmem args` on one thread, which must succeed without a panic.
pub fn ok(args: &[&str]) -> String {
    stdout(&ok_output(args))
}

/// The stdout of `diffmem args` with the caller's thread count, which must succeed.
pub fn ok_plain(args: &[&str]) -> String {
    stdout(&succeeded(output(plain(), args), args))
}

/// A process's stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An empty scratch folder `diffmem-{tag}-{pid}-{name}` in the temp dir.
pub fn tmpdir(tag: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("diffmem-{tag}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Flags of a tiny MLP run on `n` bundled digits for `steps` steps (batch 16, logged every
/// 10, checkpoints every `checkpoint_every`, 4 samples, quiet, flex); add `--out`.
pub fn tiny_mlp<'a>(n: &'a str, steps: &'a str, checkpoint_every: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        "mnist-5k",
        "--n",
        n,
        "--heldout",
        "32",
        "--model",
        "mlp",
        "--width",
        "32",
        "--depth",
        "1",
        "--temb",
        "16",
        "--timesteps",
        "50",
        "--steps",
        steps,
        "--batch-size",
        "16",
        "--log-every",
        "10",
        "--checkpoint-every",
        checkpoint_every,
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
    ]
}

/// A file's bytes; fails the test naming the file.
pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A CSV file's rows, split on commas (header included).
pub fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// A CSV file's header columns.
pub fn header(p: &Path) -> Vec<String> {
    csv(p).into_iter().next().unwrap()
}

/// A JSON array of numbers.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Flags of a `train` run of `model` (an exact denoiser: no steps needed) on `n` rows of
/// `data`, `heldout` held out, `timesteps` steps, 4 samples, quiet, flex; add `--out`.
pub fn exact_flags<'a>(
    data: &'a str,
    n: &'a str,
    heldout: &'a str,
    model: &'a str,
    timesteps: &'a str,
) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        data,
        "--n",
        n,
        "--heldout",
        heldout,
        "--model",
        model,
        "--timesteps",
        timesteps,
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
    ]
}

/// The data and shape of a little-endian `.npy` file (f4 as f64, or i8).
pub fn npy(p: &Path) -> (Vec<f64>, Vec<usize>) {
    let b = read(p);
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    let shape: Vec<usize> = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let body = &b[10 + hlen..];
    let data = if header.contains("'<f4'") {
        body.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
            .collect()
    } else {
        assert!(header.contains("'<i8'"), "{header}");
        body.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect()
    };
    (data, shape)
}

/// The one `.npy` file that `diffmem sample ... --out dir` wrote into `dir` (its name says the
/// sampler, steps and seed); fails the test unless there is exactly one.
pub fn sample_npy(dir: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "npy"))
        .collect();
    assert_eq!(found.len(), 1, "one .npy in {}: {found:?}", dir.display());
    found[0].clone()
}

/// The Python used for the checks of exports: `$DIFFMEM_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("DIFFMEM_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether `python -c code` succeeds (the modules it imports are there).
pub fn python_has(code: &str) -> bool {
    Command::new(python())
        .args(["-c", code])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The JSON header of a safetensors file.
pub fn safetensors_header(path: &Path) -> serde_json::Value {
    let bytes = read(path);
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + n]).unwrap()
}
