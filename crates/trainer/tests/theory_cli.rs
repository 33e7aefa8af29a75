//! End-to-end tests of `diffmem theory`: run the binary, check the printed table, the CSV and
//! PNG files, and the JSON output.

use std::path::PathBuf;
use std::process::Command;

/// A fresh output directory under the system temp dir.
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("diffmem-theory-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `diffmem theory ARGS`, asserts success and returns stdout.
fn theory(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_diffmem"))
        .arg("theory")
        .args(args)
        .output()
        .expect("run diffmem");
    assert!(
        out.status.success(),
        "diffmem theory {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The data rows of the printed table (lines whose first cell is a number).
fn rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.first().is_some_and(|c| c.parse::<f64>().is_ok()))
        .collect()
}

#[test]
fn linear_prints_the_n_curve_and_writes_csv_and_png() {
    let dir = out_dir("linear");
    let stdout = theory(&[
        "linear",
        "--d",
        "20",
        "--spectrum",
        "power:1",
        "--n-over-d",
        "0.5,1,2,10",
        "--seeds",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout.contains("Wishart"), "{stdout}");
    let table = rows(&stdout);
    let ns: Vec<&str> = table.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ns, ["10", "20", "40", "200"], "{stdout}");
    // Wishart expectation only above d; KL drops through N ~ d.
    assert_eq!(table[0][7], "-", "{stdout}");
    assert!(table[3][7].parse::<f64>().unwrap() > 0.0, "{stdout}");
    let csv = std::fs::read_to_string(dir.join("linear.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("n,n_over_d,test_mean"));
    assert_eq!(lines.len(), 5);
    let col = |name: &str| lines[0].split(',').position(|h| h == name).unwrap();
    let value = |row: usize, name: &str| -> f64 {
        lines[row]
            .split(',')
            .nth(col(name))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(value(1, "kl_mean") > 5.0 * value(3, "kl_mean"), "{csv}");
    assert!(
        lines[1]
            .split(',')
            .nth(col("wishart_kl"))
            .unwrap()
            .is_empty()
    );
    assert!(value(4, "wishart_kl") > 0.0);
    for png in ["linear_kl.png", "linear_loss.png", "linear_loss_t.png"] {
        assert!(
            std::fs::metadata(dir.join(png)).unwrap().len() > 1000,
            "{png}"
        );
    }
    let per_t = std::fs::read_to_string(dir.join("linear_t.csv")).unwrap();
    assert_eq!(per_t.lines().count(), 1 + 4 * 1000);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn linear_json_is_parseable() {
    let dir = out_dir("json");
    let stdout = theory(&[
        "linear",
        "--d",
        "8",
        "--n",
        "4,16",
        "--seeds",
        "1",
        "--T",
        "200",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[1]["n"], 16);
    assert!(points[1]["wishart_kl"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn critical_groups_the_paper_manifold() {
    let dir = out_dir("critical");
    let stdout = theory(&[
        "critical",
        "--data",
        "manifold:paper",
        "--n",
        "250,500,20000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let table = rows(&stdout);
    // Three groups of directions (2 x std 1, 5 x std 0.3, 23 x std 0.01) for each N.
    assert_eq!(table.len(), 9, "{stdout}");
    let dirs: Vec<&str> = table[..3].iter().map(|r| r[3].as_str()).collect();
    assert_eq!(dirs, ["2", "5", "23"], "{stdout}");
    let csv = std::fs::read_to_string(dir.join("critical.csv")).unwrap();
    assert_eq!(csv.lines().count(), 10);
    assert!(dir.join("critical.png").exists());
    let norm = theory(&[
        "critical",
        "--spectrum",
        "list:1,1,0.09",
        "--d",
        "3",
        "--normalized",
        "--n",
        "250",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(rows(&norm).len(), 2, "{norm}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn collapse_prints_times_per_n() {
    let dir = out_dir("collapse");
    let stdout = theory(&[
        "collapse",
        "--d",
        "100",
        "--sigma2",
        "4",
        "--n",
        "100,10000",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let table = rows(&stdout);
    assert_eq!(table.len(), 2, "{stdout}");
    let t_c = |r: &Vec<String>| r[2].parse::<f64>().unwrap();
    assert!(t_c(&table[0]) > t_c(&table[1]), "{stdout}");
    // t_S = ln(4)/2.
    assert_eq!(table[0][4], "0.6931");
    assert!(dir.join("collapse.csv").exists() && dir.join("collapse.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn flow_shows_c_decreasing_with_tau() {
    let dir = out_dir("flow");
    let stdout = theory(&[
        "flow",
        "--d",
        "10",
        "--n",
        "5",
        "--tau",
        "10,1000,1e7",
        "--seeds",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let table = rows(&stdout);
    assert_eq!(table.len(), 3, "{stdout}");
    let c = |r: &Vec<String>| r.last().unwrap().parse::<f64>().unwrap();
    assert!(
        c(&table[0]) > c(&table[1]) && c(&table[1]) > c(&table[2]),
        "{stdout}"
    );
    assert!(dir.join("flow_c.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `diffmem ARGS` (any command), asserts success and returns stdout.
fn diffmem(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_diffmem"))
        .args(args)
        .output()
        .expect("run diffmem");
    assert!(
        out.status.success(),
        "diffmem {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Trains (or fits) `model` on N = 200 draws of a d = 20 power-law Gaussian with T = 50 and
/// returns `diffmem theory check --json` of the run.
fn trained_check(name: &str, model_args: &[&str]) -> serde_json::Value {
    let dir = out_dir(name);
    let run = dir.join("run");
    let mut args = vec![
        "train",
        "--data",
        "gaussian:d=20,spectrum=power:1",
        "--n",
        "200",
        "--timesteps",
        "50",
        "--beta-1",
        "1e-3",
        "--beta-T",
        "0.2",
        "--device",
        "flex",
        "--num",
        "16",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend_from_slice(model_args);
    diffmem(&args);
    let stdout = theory(&[
        "check",
        run.to_str().unwrap(),
        "--num",
        "2000",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_str(&stdout).expect("JSON")
}

#[test]
fn linear_exact_run_matches_the_theory() {
    // The model crate's closed form (f32, on the device) against the f64 theory.
    let v = trained_check("exact", &["--model", "linear-exact"]);
    let r = &v["report"];
    assert!(r["w_rel_err_max"].as_f64().unwrap() < 1e-4, "{r}");
    let s = &r["samples"];
    assert!(
        s["kl"].as_f64().unwrap() < 1.5 * s["kl_floor"].as_f64().unwrap(),
        "{s}"
    );
}

#[test]
fn sgd_trained_linear_run_approaches_the_optimum() {
    // Small budget: per-timestep bins, 2000 Adam steps. Small t converges slowest (absent
    // and weak directions are learned at rate 2(1 - abar_t)), so check the median over t and
    // the sampled distribution.
    let v = trained_check(
        "sgd",
        &[
            "--model",
            "linear",
            "--steps",
            "2000",
            "--batch-size",
            "256",
            "--lr",
            "1e-2",
            "--ema",
            "0",
        ],
    );
    let r = &v["report"];
    assert!(r["w_rel_err_median"].as_f64().unwrap() < 0.07, "{r}");
    let s = &r["samples"];
    assert!(
        s["kl"].as_f64().unwrap() < 1.5 * s["kl_floor"].as_f64().unwrap(),
        "{s}"
    );
    assert!(s["cov_rel_err"].as_f64().unwrap() < 0.15, "{s}");
}
