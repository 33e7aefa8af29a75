//! End-to-end `diffmem sweep` and `diffmem report` on tiny grids: a 2 x 2 grid of an exact and
//! a trained model, skipping finished and resuming half-finished points, an isolated failing
//! point, the Slurm script and task table with `--task`, and the escaped HTML report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("sweep", name)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = common::plain();
    cmd.current_dir(dir);
    common::output(cmd, args)
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "diffmem {args:?} failed:\n{}",
        text(&out)
    );
    text(&out)
}

/// A tiny Gaussian sweep: linear-exact and a 30-step MLP at N = 16 and 32 (d = 4).
const SPEC: &str = r#"
name = "tiny"
description = "tiny test sweep"
[base]
data.spec = "gaussian:d=4,spectrum=power:1"
data.heldout = 32
diffusion.timesteps = 50
train.steps = 30
train.batch_size = 8
train.log_every = 10
train.checkpoint_every = 10
sample.num = 8
[axes]
model = ["linear-exact", "small"]
n = [16, 32]
[models.small]
name = "mlp"
width = 16
depth = 1
temb = 8
[eval]
metrics = ["mem", "loss", "gaussian"]
args = ["--num", "64", "--sampler", "ddpm", "--loss-points", "4", "--loss-rows", "32"]
[ci]
"train.steps" = 10
"#;

fn write_spec(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("tiny.toml");
    std::fs::write(&p, body).unwrap();
    p
}

fn csv_rows(p: &Path) -> usize {
    std::fs::read_to_string(p).unwrap().lines().count() - 1
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// The first run of the 2 x 2 grid in `sw`: every point evaluated with R_mem, one report row
/// each, the report's page and figures; no figure (nor mention) of a metric no run measured
/// (membership inference, sample quality, reference following).
fn check_first_sweep(sw: &Path) {
    let names = [
        "linear-exact-n16",
        "linear-exact-n32",
        "small-n16",
        "small-n32",
    ];
    for n in names {
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(sw.join("runs").join(n).join("metrics.json")).unwrap(),
        )
        .unwrap();
        assert!(m["metrics"]["mem"]["r_mem"].is_number(), "{n}: {m}");
    }
    assert_eq!(csv_rows(&sw.join("report.csv")), 4);
    assert!(sw.join("report.html").exists() && sw.join("r_mem.png").exists());
    assert!(sw.join("kl.png").exists() && sw.join("kl_theory.csv").exists());
    let html = std::fs::read_to_string(sw.join("report.html")).unwrap();
    for f in SCIENCE_FIGURES {
        assert!(!sw.join(f).exists(), "{f} drawn without its metric");
        assert!(!html.contains(f), "report.html shows {f}");
    }
}

/// A run of the sweep in `dir` interrupted after 10 of its 30 steps is shown as to resume, and
/// the next sweep resumes it from its checkpoint and evaluates it, leaving the others.
fn check_an_interrupted_point_resumes(dir: &Path) {
    let sw = dir.join("sw");
    let run_dir = sw.join("runs/small-n32");
    let point = std::fs::read_to_string(run_dir.join("point.toml")).unwrap();
    std::fs::remove_dir_all(&run_dir).unwrap();
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(dir.join("point.toml"), point).unwrap();
    let rd = run_dir.display().to_string();
    let out = run(
        dir,
        &[
            "train",
            "--config",
            "point.toml",
            "--out",
            &rd,
            "--quiet",
            "--stop-after",
            "10",
        ],
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let out = ok(dir, &["sweep", "tiny.toml", "--out", "sw", "--dry-run"]);
    assert!(out.contains("small-n32") && out.contains("resume"), "{out}");
    let out = ok(dir, &["sweep", "tiny.toml", "--out", "sw"]);
    assert!(out.contains("small-n32 ok (resume + eval)"), "{out}");
    assert!(out.contains("1 ran, 3 already finished"), "{out}");
    let summary = std::fs::read_to_string(run_dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"steps\": 30"), "{summary}");
}

/// --json: one document on stdout with every point's outcome and the report (of the finished
/// sweep in `dir`), and a dry run's document says every point is done.
fn check_sweep_json(dir: &Path) {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run(dir, args);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
    };
    let v = json(&["sweep", "tiny.toml", "--out", "sw", "--json"]);
    assert_eq!(v["schema"], "diffmem.sweep/1", "{v}");
    assert_eq!(v["counts"]["already_finished"], 4, "{v}");
    assert_eq!(v["points"].as_array().unwrap().len(), 4, "{v}");
    assert_eq!(v["report"]["runs"], 4, "{v}");
    let v = json(&["sweep", "tiny.toml", "--out", "sw", "--dry-run", "--json"]);
    let points = v["points"].as_array().unwrap();
    assert!(points.iter().all(|p| p["state"] == "done"), "{v}");
    assert!(points.iter().any(|p| p["axes"]["n"] == "32"), "{v}");
}

#[test]
fn grid_runs_skips_finished_points_and_resumes_interrupted_ones() {
    let dir = tmpdir("grid");
    write_spec(&dir, SPEC);
    let out = ok(&dir, &["sweep", "tiny.toml", "--out", "sw", "--jobs", "2"]);
    assert!(out.contains("4 ran, 0 already finished, 0 failed"), "{out}");
    let sw = dir.join("sw");
    check_first_sweep(&sw);
    // A second invocation skips every finished point.
    let before = mtime(&sw.join("runs/small-n16/metrics.json"));
    let out = ok(&dir, &["sweep", "tiny.toml", "--out", "sw", "--no-report"]);
    assert!(out.contains("0 ran, 4 already finished"), "{out}");
    assert_eq!(mtime(&sw.join("runs/small-n16/metrics.json")), before);
    check_an_interrupted_point_resumes(&dir);
    check_sweep_json(&dir);
}

#[test]
fn a_failing_point_is_reported_and_the_others_finish() {
    let dir = tmpdir("fail");
    let spec = SPEC
        .replace(
            "model = [\"linear-exact\", \"small\"]\nn = [16, 32]",
            "model = [\"linear-exact\"]\nn = [16]\ndata = [\"gaussian:d=4,spectrum=power:1\", \"mnist:/nonexistent/mnist\"]",
        );
    write_spec(&dir, &spec);
    let out = run(&dir, &["sweep", "tiny.toml", "--out", "sw"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("1 ran, 0 already finished, 1 failed"), "{t}");
    assert!(
        t.contains("FAILED mnist__nonexistent_mnist-linear-exact-n16 (train)"),
        "{t}"
    );
    assert!(
        t.contains("/nonexistent/mnist"),
        "the error names the missing path: {t}"
    );
    let sw = dir.join("sw");
    let good = sw.join("runs/gaussian_d_4_spectrum_power_1-linear-exact-n16");
    assert!(good.join("metrics.json").exists());
    let status = std::fs::read_to_string(
        sw.join("runs/mnist__nonexistent_mnist-linear-exact-n16/sweep_status.json"),
    )
    .unwrap();
    assert!(status.contains("\"failed\""), "{status}");
    let csv = std::fs::read_to_string(sw.join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(",failed,"), "{csv}");

    // The same with --json: the failure is in the document, and the exit is still non-zero.
    let out = run(&dir, &["sweep", "tiny.toml", "--out", "sw", "--json"]);
    assert!(!out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"]["failed"], 1, "{v}");
    assert_eq!(v["counts"]["already_finished"], 1, "{v}");
    let failed: Vec<&serde_json::Value> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["outcome"] == "failed")
        .collect();
    assert_eq!(failed[0]["stage"], "train", "{v}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/mnist")
    );
}

#[test]
fn slurm_script_task_table_and_single_task() {
    let dir = tmpdir("slurm");
    write_spec(&dir, SPEC);
    let out = ok(
        &dir,
        &[
            "sweep",
            "tiny.toml",
            "--ci",
            "--out",
            "sw",
            "--emit",
            "slurm",
            "--partition",
            "debug",
            "--time",
            "00:10:00",
            "--cpus",
            "2",
            "--mem",
            "1G",
        ],
    );
    assert!(out.contains("sbatch"), "{out}");
    let sw = dir.join("sw");
    let script = std::fs::read_to_string(sw.join("sweep.sbatch")).unwrap();
    for needle in [
        "#!/bin/bash",
        "#SBATCH --array=0-3",
        "#SBATCH --partition=debug",
        "#SBATCH --time=00:10:00",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=1G",
        "--task \"$SLURM_ARRAY_TASK_ID\"",
    ] {
        assert!(script.contains(needle), "{needle} missing:\n{script}");
    }
    let syntax = Command::new("bash")
        .args(["-n", &sw.join("sweep.sbatch").display().to_string()])
        .status()
        .unwrap();
    assert!(syntax.success(), "bash -n rejects the script:\n{script}");
    let tasks = std::fs::read_to_string(sw.join("tasks.tsv")).unwrap();
    assert_eq!(tasks.lines().count(), 5, "{tasks}");
    assert!(
        tasks.starts_with("task\trun\tmodel\tn\n0\tlinear-exact-n16\t"),
        "{tasks}"
    );
    // The resolved spec carries the [ci] reduction, so tasks need no --ci.
    let resolved = std::fs::read_to_string(sw.join("sweep.toml")).unwrap();
    assert!(
        resolved.contains("steps = 10") && !resolved.contains("[ci]"),
        "{resolved}"
    );
    let spec = sw.join("sweep.toml").display().to_string();
    let out = ok(&dir, &["sweep", &spec, "--out", "sw", "--task", "3"]);
    assert!(out.contains("small-n32 ok (train + eval)"), "{out}");
    let log = std::fs::read_to_string(sw.join("runs/small-n32/log.jsonl")).unwrap();
    assert!(log.contains("\"step\":10"), "{log}");
    let out = run(&dir, &["sweep", &spec, "--out", "sw", "--task", "4"]);
    assert!(
        text(&out).contains("--task 4: the grid has 4 points"),
        "{}",
        text(&out)
    );
    let out = ok(&dir, &["report", "sw"]);
    assert!(out.contains("1 runs (1 done"), "{out}");
    assert_eq!(csv_rows(&sw.join("report.csv")), 1);
}

/// Every `src="..."` of the page, percent-decoded.
fn image_sources(html: &str) -> Vec<String> {
    html.split("src=\"")
        .skip(1)
        .map(|s| {
            let raw = &s[..s.find('"').unwrap()];
            let bytes = raw.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    out.push(u8::from_str_radix(&raw[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap()
        })
        .collect()
}

#[test]
fn report_escapes_run_names_and_every_image_exists() {
    let dir = tmpdir("html");
    let spec = SPEC
        .replace("gaussian:d=4,spectrum=power:1", "mnist-5k")
        .replace("n = [16, 32]", "n = [16]")
        .replace("\"gaussian\"", "\"loss\"");
    write_spec(&dir, &spec);
    ok(&dir, &["sweep", "tiny.toml", "--out", "sw", "--no-report"]);
    let runs = dir.join("sw/runs");
    let evil = runs.join("<script>alert('x') & co");
    std::fs::create_dir_all(&evil).unwrap();
    for f in [
        "config.toml",
        "metrics.json",
        "summary.json",
        "samples.png",
        "nn_grid.png",
    ] {
        std::fs::copy(runs.join("small-n16").join(f), evil.join(f)).unwrap();
    }
    let out = ok(&dir, &["report", "sw"]);
    assert!(out.contains("3 runs (3 done"), "{out}");
    let html = std::fs::read_to_string(dir.join("sw/report.html")).unwrap();
    assert!(!html.contains("<script"), "unescaped name in the page");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;) &amp; co"));
    let srcs = image_sources(&html);
    assert!(
        srcs.iter()
            .any(|s| s.contains("<script>") && s.ends_with("nn_grid.png")),
        "{srcs:?}"
    );
    assert!(srcs.iter().any(|s| s == "r_mem.png"), "{srcs:?}");
    for s in &srcs {
        assert!(
            dir.join("sw").join(s).is_file(),
            "{s} is referenced but missing"
        );
    }
    let csv = std::fs::read_to_string(dir.join("sw/report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

/// The report's figures of `--metrics mia`, `quality` and `ref` against N.
const SCIENCE_FIGURES: [&str; 6] = [
    "mia_auc.png",
    "quality_fwd.png",
    "quality_kid.png",
    "ref_low.png",
    "ref_middle.png",
    "ref_high.png",
];

/// The value of `column` in the report.csv row of `run`.
fn csv_value(csv: &str, run: &str, column: &str) -> f64 {
    let mut rows = csv.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = rows.next().unwrap();
    let col = header.iter().position(|c| *c == column).unwrap();
    let row = rows.find(|r| r[0] == run).unwrap();
    row[col].parse().unwrap()
}

/// The tiny spec with the exact models on digits, evaluated with reference following,
/// sample quality and membership inference (quick, and with known answers).
fn science_spec() -> String {
    SPEC.replace("gaussian:d=4,spectrum=power:1", "mnist-5k")
        .replace(
            "\"linear-exact\", \"small\"",
            "\"linear-exact\", \"empirical\"",
        )
        .replace("\"gaussian\"", "\"ref\", \"quality\", \"mia\"")
        .replace("\"--num\", \"64\"", "\"--num\", \"16\", \"--steps\", \"5\"")
        .replace("\"--loss-points\", \"4\"", "\"--loss-points\", \"8\"")
        .replace("\"--loss-rows\", \"32\"", "\"--loss-rows\", \"8\"")
}

/// Every figure of `--metrics mia`, `quality` and `ref` against N is drawn in the sweep `sw`,
/// as PNG and SVG, shown on the page `html` with a link to its SVG.
fn check_science_figures(sw: &Path, html: &str) {
    let srcs = image_sources(html);
    for f in SCIENCE_FIGURES {
        assert!(sw.join(f).is_file(), "{f} missing");
        let svg = Path::new(f).with_extension("svg");
        assert!(sw.join(&svg).is_file(), "{svg:?} missing");
        assert!(srcs.iter().any(|s| s == f), "report.html does not show {f}");
        assert!(
            html.contains(&*svg.to_string_lossy()),
            "no SVG link for {f}"
        );
    }
}

/// The SVG figures of the sweep `sw` carry their axis labels and legends.
fn check_science_figure_texts(sw: &Path) {
    let svg = |f: &str| std::fs::read_to_string(sw.join(f)).unwrap();
    let mia = svg("mia_auc.svg");
    for text in [
        "N (training-set size)",
        "AUC; dashed: TPR at 1% FPR (fractions)",
        "empirical AUC",
        "linear-exact TPR at 1% FPR",
        "chance (AUC = 0.5)",
    ] {
        assert!(mia.contains(text), "{text} missing from mia_auc.svg");
    }
    for (f, axis) in [
        ("quality_fwd.svg", "FWD (Haar wavelet packets, data units)"),
        (
            "quality_kid.svg",
            "KID (unbiased MMD^2, kernel (x.y/d + 1)^3)",
        ),
    ] {
        let text = svg(f);
        for t in [
            axis,
            "empirical samples",
            "real-vs-real floor (train vs held-out)",
        ] {
            assert!(text.contains(t), "{t} missing from {f}");
        }
    }
    for band in ["low", "middle", "high"] {
        let text = svg(&format!("ref_{band}.svg"));
        for t in [
            "r^2 of denoised images (band mean, clipped at -1)",
            "empirical vs linear-exact",
            "linear-exact vs empirical",
            "empirical vs local",
        ] {
            assert!(text.contains(t), "{t} missing from ref_{band}.svg");
        }
    }
}

/// The known answers reach report.csv, the data behind the figures: each exact model follows
/// itself with r^2 = 1; each run's verdict comes from the same decision table as eval's.
fn check_science_known_answers(sw: &Path, html: &str) {
    let csv = std::fs::read_to_string(sw.join("report.csv")).unwrap();
    for (run, reference) in [
        ("empirical-n16", "empirical"),
        ("linear-exact-n32", "linear-exact"),
    ] {
        let r2 = csv_value(&csv, run, &format!("ref.band_r2.low.{reference}"));
        assert!(
            (r2 - 1.0).abs() < 1e-4,
            "{run} against {reference}: r^2 = {r2}"
        );
    }
    // Each run's verdict comes from the same decision table as eval's: empirical copies.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|c| *c == "verdict").unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("empirical-n16,"))
        .unwrap();
    assert_eq!(row.split(',').nth(col), Some("copies"), "{row}");
    assert!(html.contains(">copies its training set</td>"), "{html}");
}

#[test]
fn report_plots_membership_quality_and_reference_following_against_n() {
    let dir = tmpdir("science");
    // The exact models need no training: quick, and with known answers.
    write_spec(&dir, &science_spec());
    ok(&dir, &["sweep", "tiny.toml", "--out", "sw", "--jobs", "2"]);
    let sw = dir.join("sw");
    let html = std::fs::read_to_string(sw.join("report.html")).unwrap();
    check_science_figures(&sw, &html);
    check_science_figure_texts(&sw);
    check_science_known_answers(&sw, &html);
}

#[test]
fn bad_specs_and_oversubscription_are_explained() {
    let dir = tmpdir("bad");
    write_spec(&dir, &SPEC.replace("[axes]", "[axes]\nsize = [1]"));
    let out = run(&dir, &["sweep", "tiny.toml"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown axis `size`"), "{}", text(&out));
    let out = run(&dir, &["sweep", "missing.toml"]);
    assert!(
        text(&out).contains("cannot read sweep spec missing.toml"),
        "{}",
        text(&out)
    );
    write_spec(&dir, SPEC);
    let out = run(
        &dir,
        &[
            "sweep",
            "tiny.toml",
            "--set",
            "axes.n=[16]",
            "--set",
            "axes.model=\"linear-exact\"",
            "--out",
            "sw",
            "--jobs",
            "999",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("--jobs 999 reduced to"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_users_rayon_num_threads_stands_for_threads() {
    let dir = tmpdir("rayon");
    write_spec(&dir, SPEC);
    let args = [
        "sweep",
        "tiny.toml",
        "--set",
        "axes.n=[16]",
        "--set",
        "axes.model=\"linear-exact\"",
        "--out",
        "sw",
    ];
    let out = common::bin()
        .current_dir(&dir)
        .env("RAYON_NUM_THREADS", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 at a time with 1 thread(s) each"),
        "{}",
        text(&out)
    );
}
