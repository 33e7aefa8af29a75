//! What a researcher sees of a run, end to end on tiny data: the training curves
//! `loss.png`, sample grids during training, the nn_grid figures, exports and terminal text.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{bin, ok_output as ok, python, python_has, safetensors_header};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("fig", name)
}

/// Flags of a tiny MLP run on 64 bundled digits: 40 steps, logged every 10.
fn tiny() -> Vec<&'static str> {
    common::tiny_mlp("64", "40", "20")
}

fn train(dir: &Path, extra: &[&str]) -> PathBuf {
    let run = dir.join("run");
    let mut args = tiny();
    let run_s = run.to_str().unwrap().to_string();
    args.extend_from_slice(&["--out", &run_s]);
    args.extend_from_slice(extra);
    let out = ok(&args);
    std::fs::write(dir.join("stdout.txt"), &out.stdout).unwrap();
    run
}

fn dims(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

#[test]
fn training_draws_loss_curves_and_sample_grids() {
    let dir = tmpdir("curves");
    // 15 is rounded up to 20, a multiple of --log-every 10.
    let run = train(&dir, &["--sample-every", "15"]);
    let summary = std::fs::read_to_string(dir.join("stdout.txt")).unwrap();
    assert!(
        summary.contains("  model              mlp\n"),
        "quoted: {summary}"
    );
    assert!(
        summary.lines().any(|l| l.starts_with("verdict: ")),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("next: ") && l.contains("diffmem eval ")),
        "{summary}"
    );
    let gap = summary
        .lines()
        .find(|l| l.trim_start().starts_with("gap"))
        .unwrap();
    let digits = gap
        .split_whitespace()
        .last()
        .unwrap()
        .trim_start_matches('-')
        .replace('.', "");
    assert!(
        digits.trim_start_matches('0').len() <= 4,
        "not rounded: {gap}"
    );
    assert_eq!(dims(&run.join("loss.png")), (800, 600));
    // 4 samples of 28 x 28 in 2 columns, 1-pixel borders.
    for step in [20, 40] {
        let grid = run.join(format!("samples/step-{step:07}.png"));
        assert_eq!(dims(&grid), (2 * 29 + 1, 2 * 29 + 1), "{}", grid.display());
    }
    assert!(!run.join("samples/step-0000010.png").exists());
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("sample_every = 20"), "{config}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sample_every_zero_is_refused_by_name() {
    let dir = tmpdir("every0");
    let out = bin()
        .args(tiny())
        .args(["--sample-every", "0", "--out"])
        .arg(dir.join("run"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--sample-every"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn eval_draws_labelled_nn_figures_and_reports_sample_health() {
    let dir = tmpdir("nn");
    let run = dir.join("emp");
    let run_s = run.to_str().unwrap();
    let mut flags = common::exact_flags("mnist-5k", "20", "20", "empirical", "100");
    flags.extend_from_slice(&["--out", run_s]);
    ok(&flags);
    let out = ok(&[
        "eval",
        run_s,
        "--quiet",
        "--num",
        "24",
        "--metrics",
        "mem",
        "--steps",
        "20",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\nverdict: copies its training set: R_mem 1 (100% of samples"),
        "{text}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let health = &doc["sample_health"];
    assert_eq!(health["num_samples"], 24);
    assert_eq!(health["non_finite"], 0);
    assert_eq!(health["exploding"], 0);
    assert_eq!(health["excluded"], false);
    for name in ["nn_grid", "nn_grid_random"] {
        // 16 rows in 2 blocks of 8; 28 x 28 digits enlarged 3x (84 pixels) with captions.
        let (w, h) = dims(&run.join(format!("{name}.png")));
        assert!(w >= 2 * 3 * 84 && h >= 8 * 84, "{name}.png is {w} x {h}");
        let svg = std::fs::read_to_string(run.join(format!("{name}.svg"))).unwrap();
        for label in [
            "generated",
            "nearest train (NN1)",
            "2nd nearest (NN2)",
            "d1 = ",
        ] {
            assert!(
                svg.contains(&format!(">\n{label}")),
                "{label} missing from {name}.svg"
            );
        }
        assert!(
            svg.contains(">\ntrain #"),
            "training indices missing from {name}.svg"
        );
    }
    // A chosen scale: 2x draws smaller tiles; beyond 16x is refused by name.
    let small = dir.join("small");
    let (r, o) = (run_s, small.to_str().unwrap());
    let args = [
        "eval",
        r,
        "--quiet",
        "--num",
        "24",
        "--metrics",
        "mem",
        "--steps",
        "20",
    ];
    ok(&[&args[..], &["--nn-scale", "2", "--out", o]].concat());
    let (w2, h2) = dims(&small.join("nn_grid.png"));
    let (w3, h3) = dims(&run.join("nn_grid.png"));
    assert!(h2 < h3 && w2 <= w3, "2x {w2} x {h2} vs 3x {w3} x {h3}");
    let o = bin()
        .args(args)
        .args(["--nn-scale", "100", "--out", o])
        .output()
        .unwrap();
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--nn-scale"));
    // The empirical denoiser copies: its most memorised samples are marked.
    let svg = std::fs::read_to_string(run.join("nn_grid.svg")).unwrap();
    assert!(svg.contains(">\nmemorised\n</text>"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The safetensors export of the tiny MLP (width 32, depth 1): temb_proj, input, blocks.0,
/// time_blocks.0, output (weight + bias each) and the three check tensors, with their shapes,
/// the check step's dtype and the model's settings as metadata.
fn check_mlp_safetensors(file: &Path) {
    let header = safetensors_header(file);
    assert_eq!(
        header["input.weight"]["shape"],
        serde_json::json!([32, 784])
    );
    assert_eq!(
        header["blocks.0.weight"]["shape"],
        serde_json::json!([32, 32])
    );
    assert_eq!(
        header["time_blocks.0.weight"]["shape"],
        serde_json::json!([32, 16])
    );
    assert_eq!(header["output.bias"]["shape"], serde_json::json!([784]));
    assert_eq!(header["check.t"]["dtype"], "I64");
    assert_eq!(header["__metadata__"]["depth"], "1");
}

/// Runs `scripts/export/{script} file` with the checks' Python; fails the test if it fails.
fn run_export_script(script: &str, file: &Path) {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/export");
    let o = Command::new(python())
        .arg(scripts.join(script))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The export reproduced outside diffmem: by the documented layout in plain Python (the same
/// outputs to 1e-5), and by PyTorch where it is installed; each check is skipped, with a
/// message, where its Python is missing.
fn check_export_in_python(file: &Path) {
    if !python_has("import json, struct") {
        eprintln!("skipped the Python checks of the export: no {}", python());
        return;
    }
    run_export_script("check_pure.py", file);
    if python_has("import torch") {
        run_export_script("check_torch.py", file);
    } else {
        eprintln!(
            "skipped the PyTorch check of the export: `{} -c 'import torch'` fails (no torch)",
            python()
        );
    }
}

#[test]
fn export_writes_safetensors_that_python_reproduces() {
    let dir = tmpdir("export");
    let run = train(&dir, &[]);
    let file = dir.join("model.safetensors");
    let out = ok(&[
        "export",
        run.to_str().unwrap(),
        "--weights",
        file.to_str().unwrap(),
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // width 32, depth 1: temb_proj, input, blocks.0, time_blocks.0, output (weight + bias each)
    // and the three check tensors.
    assert_eq!(doc["tensors"], 13);
    check_mlp_safetensors(&file);
    check_export_in_python(&file);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Exact models have no weights to export: a clear error naming the alternative.
#[test]
fn exporting_an_exact_model_names_data_export() {
    let dir = tmpdir("export-exact");
    let emp = dir.join("emp");
    ok(&[
        "train",
        "--data",
        "mnist-5k",
        "--n",
        "8",
        "--heldout",
        "8",
        "--model",
        "empirical",
        "--timesteps",
        "20",
        "--num",
        "1",
        "--quiet",
        "--device",
        "flex",
        "--out",
        emp.to_str().unwrap(),
    ]);
    let o = bin()
        .args(["export", emp.to_str().unwrap(), "--weights"])
        .arg(dir.join("e.safetensors"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("data export"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn version_completions_and_man_page() {
    let v = ok(&["--version"]);
    let v = String::from_utf8_lossy(&v.stdout);
    assert!(v.starts_with("diffmem 0.") && v.contains("(git "), "{v}");
    let bash = ok(&["completions", "bash"]);
    let bash = String::from_utf8_lossy(&bash.stdout);
    assert!(
        bash.contains("complete") && bash.contains("--sample-every"),
        "bash completions"
    );
    let man = ok(&["man"]);
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.contains(".TH diffmem") && man.contains("eval"),
        "man page"
    );
}

#[test]
fn sample_and_eval_share_ddim_defaults_and_sample_prints_json() {
    let dir = tmpdir("ddim");
    let run = train(&dir, &[]);
    let r = run.to_str().unwrap();
    let out = ok(&[
        "sample",
        r,
        "--num",
        "2",
        "--sampler",
        "ddim",
        "--steps",
        "10",
        "--quiet",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sampler"]["kind"], "ddim", "{doc}");
    assert_eq!(doc["sampler"]["eta"].as_f64(), Some(1.0), "{doc}");
    let e = ok(&[
        "eval",
        run.to_str().unwrap(),
        "--num",
        "4",
        "--metrics",
        "mem",
        "--quiet",
        "--json",
    ]);
    let m: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    assert_eq!(m["samples"]["sampler"]["kind"], "ddim", "{m}");
    assert_eq!(m["samples"]["sampler"]["eta"].as_f64(), Some(1.0), "{m}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn report_plots_have_svg_and_n_over_d_and_no_grids_for_vectors() {
    let dir = tmpdir("report");
    let spec = dir.join("tiny.toml");
    std::fs::write(
        &spec,
        r#"
name = "tiny"
[base]
data.spec = "gaussian:d=4,spectrum=power:1"
data.heldout = 32
diffusion.timesteps = 50
sample.num = 8
[axes]
model = ["linear-exact", "empirical"]
n = [4, 16]
[eval]
metrics = ["mem", "loss"]
args = ["--num", "32", "--loss-points", "4", "--loss-rows", "16"]
"#,
    )
    .unwrap();
    let sw = dir.join("sw");
    ok(&[
        "sweep",
        spec.to_str().unwrap(),
        "--out",
        sw.to_str().unwrap(),
    ]);
    assert_eq!(dims(&sw.join("r_mem.png")), (800, 600));
    let svg = std::fs::read_to_string(sw.join("r_mem.svg")).unwrap();
    for label in [
        "N / d (d = 4)",
        "linear-exact",
        "empirical",
        "Memorisation ratio vs N",
    ] {
        assert!(
            svg.contains(&format!(">\n{label}\n</text>")),
            "{label} not in r_mem.svg"
        );
    }
    let html = std::fs::read_to_string(sw.join("report.html")).unwrap();
    assert!(html.contains("<a href=\"r_mem.svg\">(SVG)</a>"));
    assert!(html.contains("(vector data: no image grids)"));
    assert!(
        !html.contains("samples.png\""),
        "image grid of vector data in the report"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
