//! One convention across commands, end to end: the EMA's warm-up (EMA samples match raw samples
//! on a short run, and metrics.json says which weights), `sample --sampler ddpm` keeping the
//! run's last-step noise, one timestep convention (the paper's t) in every CSV, float64 spectra
//! of the exact models, the theory's schedule defaults, critical levels of normalised data, and
//! `diffmem data export`.

use std::path::{Path, PathBuf};

mod common;
use common::{header, npy, ok, run, s, sample_npy};

fn tmpdir(name: &str) -> PathBuf {
    common::tmpdir("conventions", name)
}

/// Per-coordinate mean and variance of `[n, d]` rows.
fn moments(x: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / d) as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| x.iter().skip(j).step_by(d).sum::<f64>() / n)
        .collect();
    let var = (0..d)
        .map(|j| {
            x.iter()
                .skip(j)
                .step_by(d)
                .map(|v| (v - mean[j]).powi(2))
                .sum::<f64>()
                / n
        })
        .collect();
    (mean, var)
}

/// A short MLP run on a 4-dimensional Gaussian (`warmup` sets `--ema-warmup`).
fn short_mlp(dir: &Path, name: &str, warmup: bool) -> PathBuf {
    let out = dir.join(name);
    ok(&[
        "train",
        "--data",
        "gaussian:d=4,spectrum=power:1",
        "--n",
        "500",
        "--heldout",
        "100",
        "--model",
        "mlp",
        "--width",
        "64",
        "--depth",
        "1",
        "--temb",
        "16",
        "--timesteps",
        "100",
        "--steps",
        "300",
        "--batch-size",
        "64",
        "--log-every",
        "100",
        "--ema-warmup",
        if warmup { "true" } else { "false" },
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
        "--out",
        s(&out),
    ]);
    out
}

/// Total variance of 400 samples of `run` (EMA or raw weights), same noise.
fn sample_variance(run: &Path, raw: bool) -> f64 {
    let out = run.join(if raw { "raw" } else { "ema" });
    let mut args = vec!["sample", s(run), "--num", "400", "--seed", "1", "--quiet"];
    if raw {
        args.push("--raw");
    }
    args.extend_from_slice(&["--out", s(&out)]);
    ok(&args);
    let (x, shape) = npy(&sample_npy(&out));
    moments(&x, shape[1]).1.iter().sum()
}

#[test]
fn ema_samples_match_raw_samples_after_a_short_run() {
    let dir = tmpdir("ema");
    let run = short_mlp(&dir, "warm", true);
    let (ema, raw) = (sample_variance(&run, false), sample_variance(&run, true));
    eprintln!("total variance: EMA {ema:.4}, raw {raw:.4}");
    assert!((ema / raw - 1.0).abs() < 0.2, "EMA {ema} vs raw {raw}");
    // metrics.json says which weights and at which effective decay: after S = 300 steps the
    // last update used min(0.999, 300/309) and the step-0 network keeps 10! 300! / 309!.
    let m: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        s(&run),
        "--metrics",
        "loss",
        "--json",
        "--quiet",
    ]))
    .unwrap();
    let w = &m["weights"];
    assert_eq!(w["kind"], "ema", "{w}");
    assert_eq!(w["steps"], 300, "{w}");
    let eff = w["ema"]["effective_decay"].as_f64().unwrap();
    assert!((eff - 300.0 / 309.0).abs() < 1e-12, "{w}");
    assert!(w["ema"]["initial_weight"].as_f64().unwrap() < 1e-15, "{w}");
    let m: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        s(&run),
        "--metrics",
        "loss",
        "--json",
        "--quiet",
        "--raw",
    ]))
    .unwrap();
    assert_eq!(m["weights"]["kind"], "raw");
    // Without the warm-up (the old behaviour) the EMA is still mostly the initial network:
    // 0.999^299 = 74% of it, and its samples are far from the raw ones.
    let cold = short_mlp(&dir, "cold", false);
    let (ema, raw) = (sample_variance(&cold, false), sample_variance(&cold, true));
    eprintln!("without warm-up: EMA {ema:.4}, raw {raw:.4}");
    assert!((ema / raw - 1.0).abs() > 0.3, "EMA {ema} vs raw {raw}");
    std::fs::remove_dir_all(&dir).ok();
}

/// An exact run (instant) with the given data, N, model and extra flags.
fn exact(dir: &Path, name: &str, data: &str, n: &str, model: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "train",
        "--data",
        data,
        "--n",
        n,
        "--heldout",
        "50",
        "--model",
        model,
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", s(&out)]);
    ok(&args);
    out
}

/// Variance of samples outside the span of the centred training rows (Gram-Schmidt).
fn null_variance(samples: &[f64], rows: &[f64], d: usize) -> f64 {
    let (mean, _) = moments(rows, d);
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for r in rows.chunks(d) {
        let mut v: Vec<f64> = r.iter().zip(&mean).map(|(a, m)| a - m).collect();
        for b in &basis {
            let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
            v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-6 {
            basis.push(v.iter().map(|x| x / norm).collect());
        }
    }
    let n = (samples.len() / d) as f64;
    let null_dims = (d - basis.len()) as f64;
    samples
        .chunks(d)
        .map(|x| {
            let mut v: Vec<f64> = x.iter().zip(&mean).map(|(a, m)| a - m).collect();
            for b in &basis {
                let dot: f64 = v.iter().zip(b).map(|(x, y)| x * y).sum();
                v.iter_mut().zip(b).for_each(|(x, y)| *x -= dot * y);
            }
            v.iter().map(|x| x * x).sum::<f64>()
        })
        .sum::<f64>()
        / n
        / null_dims
}

#[test]
fn sample_ddpm_keeps_the_runs_last_step_noise() {
    let dir = tmpdir("lastnoise");
    // N = 4 < d = 10: the training rows span 3 directions around their mean. The run's
    // sampler (synthetic data: sigma_t^2 = beta_t with noise at the last step too) leaves
    // variance beta_1 = 1e-4 in the other 7 (docs/theory.md §1); without last-step noise, none.
    let r = exact(
        &dir,
        "lin",
        "gaussian:d=10,spectrum=power:1",
        "4",
        "linear-exact",
        &["--timesteps", "200"],
    );
    ok(&["data", "export", "--run", s(&r)]);
    let (rows, _) = npy(&r.join("train_rows.npy"));
    let draw = |name: &str, extra: &[&str]| -> Vec<f64> {
        let out = r.join(name);
        let mut args = vec!["sample", s(&r), "--num", "300", "--seed", "3", "--quiet"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", s(&out)]);
        ok(&args);
        npy(&sample_npy(&out)).0
    };
    let own = draw("own", &[]);
    let ddpm = draw("ddpm", &["--sampler", "ddpm"]);
    assert_eq!(
        own, ddpm,
        "--sampler ddpm must follow the run's DDPM settings"
    );
    let plain = draw("plain", &["--sampler", "ddpm", "--no-last-noise"]);
    let (v_own, v_plain) = (
        null_variance(&own, &rows, 10),
        null_variance(&plain, &rows, 10),
    );
    eprintln!("null-direction variance: with last noise {v_own:e}, without {v_plain:e}");
    assert!((v_own / 1e-4 - 1.0).abs() < 0.25, "{v_own}");
    assert!(v_plain < 1e-8, "{v_plain}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The Gaussian score keeps every block at t = T: kappa = 1 in float64 (the float32 autodiff
/// path gave 0.978), for clean and noised probes alike, in the run `r`'s blocks.csv.
fn check_every_block_kept_at_t_max(r: &Path) {
    let blocks = std::fs::read_to_string(r.join("blocks.csv")).unwrap();
    let h = header(&r.join("blocks.csv"));
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let mut at_t_max = 0;
    for line in blocks.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[col("paper_t")] == "1000" {
            let kept: f64 = f[col("kept")].parse().unwrap();
            assert!((kept - 1.0).abs() < 1e-3, "{line}");
            at_t_max += 1;
        }
    }
    // 2 points x (1 clean + 2 noised) x 2 blocks.
    assert_eq!(at_t_max, 12);
}

/// Timestep 0 is not a paper t: a spectrum asked at it is refused, naming the range 1..=T.
fn check_timestep_zero_is_refused(r: &Path) {
    let out = run(&[
        "eval",
        s(r),
        "--metrics",
        "spectrum",
        "--spectrum-timesteps",
        "0,10",
        "--quiet",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1..=1000"));
}

#[test]
fn exact_spectra_are_float64_and_every_output_uses_the_papers_t() {
    let dir = tmpdir("spectrum");
    let r = exact(&dir, "lin", "manifold:paper", "200", "linear-exact", &[]);
    let m: serde_json::Value = serde_json::from_str(&ok(&[
        "eval",
        s(&r),
        "--metrics",
        "loss,spectrum",
        "--loss-points",
        "4",
        "--loss-rows",
        "50",
        "--spectrum-points",
        "train",
        "--spectrum-num",
        "2",
        "--spectrum-timesteps",
        "1,100,1000",
        "--spectrum-probe",
        "both",
        "--spectrum-noise-draws",
        "2",
        "--json",
        "--quiet",
    ]))
    .unwrap();
    assert_eq!(m["weights"]["kind"], "fitted");
    let sp = &m["metrics"]["spectrum"];
    assert_eq!(sp["jacobian"], "closed form, float64");
    // The asked-for t, plus the headline's levels (always added), in increasing order.
    let paper_t: Vec<u64> = sp["config"]["paper_t"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert!(
        [1, 100, 1000].iter().all(|t| paper_t.contains(t)) && paper_t.is_sorted(),
        "{paper_t:?}"
    );
    // The loss grid's paper t are 1-based (1..=T), not indices.
    let loss_t = m["metrics"]["loss"]["paper_t"].as_array().unwrap();
    assert!(
        loss_t
            .iter()
            .all(|t| (1..=1000).contains(&t.as_u64().unwrap())),
        "{loss_t:?}"
    );
    for f in ["loss_gap.csv", "dims.csv", "spectra.csv", "blocks.csv"] {
        let h = header(&r.join(f));
        assert!(
            h.contains(&"paper_t".into()) && !h.contains(&"t".into()),
            "{f}: {h:?}"
        );
    }
    assert!(header(&r.join("dims.csv")).contains(&"cliff_authors".into()));
    check_every_block_kept_at_t_max(&r);
    check_timestep_zero_is_refused(&r);
    std::fs::remove_dir_all(&dir).ok();
}

fn theory_json(args: &[&str]) -> serde_json::Value {
    let mut v = vec!["theory"];
    v.extend_from_slice(args);
    v.push("--json");
    serde_json::from_str(&ok(&v)).unwrap()
}

#[test]
fn theory_shares_trains_schedule_and_normalises_with_exact_variances() {
    let dir = tmpdir("theory");
    // Defaults: the schedule of `diffmem train` (beta 1e-4..0.02, T = 1000).
    let out = s(&dir);
    let c = theory_json(&["critical", "--out", out]);
    assert_eq!(c["schedule"]["betaT"], 0.02);
    assert_eq!(c["schedule"]["T"], 1000);
    // --run: a run's own schedule.
    let r = exact(
        &dir,
        "run",
        "manifold:paper",
        "50",
        "empirical",
        &["--timesteps", "300", "--beta-T", "0.05"],
    );
    let c = theory_json(&["critical", "--run", s(&r), "--out", out]);
    assert_eq!(c["schedule"]["betaT"], 0.05);
    assert_eq!(c["schedule"]["T"], 300);
    // manifold:paper is normalised, so its levels use the unit-norm formula; asking for
    // the normalised version of paper-raw gives the same numbers (the exact E[x_i^2/|x|^2],
    // not the rescaling s_i^2 / sum s_j^2 that put block 2 at 0.037).
    let paper = theory_json(&[
        "critical",
        "--data",
        "manifold:paper",
        "--n",
        "500",
        "--out",
        out,
    ]);
    let raw_n = theory_json(&[
        "critical",
        "--data",
        "manifold:paper-raw",
        "--normalized",
        "--n",
        "500",
        "--out",
        out,
    ]);
    assert_eq!(paper["normalized"], true);
    assert_eq!(paper["levels"], raw_n["levels"]);
    let s2 = |v: &serde_json::Value, i: usize| v["levels"][i]["s2"].as_f64().unwrap();
    assert!(
        s2(&paper, 1) > 0.055 && s2(&paper, 1) < 0.065,
        "{}",
        paper["levels"]
    );
    let raw = theory_json(&[
        "critical",
        "--data",
        "manifold:paper-raw",
        "--n",
        "500",
        "--out",
        out,
    ]);
    assert_eq!(raw["normalized"], false);
    assert!((s2(&raw, 1) - 0.09).abs() < 1e-12);
    std::fs::remove_dir_all(&dir).ok();
}

/// The row indices a run trained on (its train_indices.txt), as numbers.
fn train_indices(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("train_indices.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

/// Synthetic data: `data export --run` writes the run's rows, unit norm (manifold:paper), equal
/// to the rows the same flags export, held-out rows and indices included; no labels.
#[test]
fn data_export_writes_the_rows_a_run_trains_on() {
    let dir = tmpdir("export");
    let r = exact(
        &dir,
        "m",
        "manifold:paper",
        "40",
        "empirical",
        &["--seed", "3"],
    );
    ok(&["data", "export", "--run", s(&r)]);
    let flags = dir.join("flags/rows.npy");
    ok(&[
        "data",
        "export",
        "--data",
        "manifold:paper",
        "--n",
        "40",
        "--seed",
        "3",
        "--heldout",
        "50",
        "--out",
        s(&flags),
    ]);
    let (a, shape) = npy(&r.join("train_rows.npy"));
    let (b, _) = npy(&flags);
    assert_eq!(shape, [40, 30]);
    assert_eq!(a, b);
    // The held-out rows too: the flags' equal the run's (the MIA's non-members).
    let (ha, hshape) = npy(&r.join("train_rows_heldout.npy"));
    assert_eq!(hshape, [50, 30]);
    assert_eq!(ha, npy(&dir.join("flags/rows_heldout.npy")).0);
    for row in a.chunks(30) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{norm}");
    }
    let idx = train_indices(&r);
    assert_eq!(npy(&r.join("train_rows_indices.npy")).0, idx);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("flags/rows.json")).unwrap())
            .unwrap();
    assert!(
        meta["data"].as_str().unwrap().contains("normalize=true"),
        "{meta}"
    );
    assert!(!dir.join("flags/rows_labels.npy").exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// Labelled data, half b: labels beside the rows, indices = the run's.
#[test]
fn data_export_writes_labels_beside_the_rows_of_labelled_data() {
    let dir = tmpdir("export-labelled");
    let r = exact(
        &dir,
        "digits",
        "mnist-5k",
        "20",
        "empirical",
        &["--split", "b", "--seed", "2"],
    );
    let out = dir.join("digits.npy");
    ok(&[
        "data",
        "export",
        "--data",
        "mnist-5k",
        "--n",
        "20",
        "--split",
        "b",
        "--seed",
        "2",
        "--out",
        s(&out),
    ]);
    let idx = train_indices(&r);
    assert_eq!(npy(&dir.join("digits_indices.npy")).0, idx);
    let (labels, lshape) = npy(&dir.join("digits_labels.npy"));
    assert_eq!(lshape, [20]);
    assert!(labels.iter().all(|&l| (0.0..10.0).contains(&l)));
    let (rows, shape) = npy(&out);
    assert_eq!(shape, [20, 784]);
    assert!(rows.iter().all(|v| (-1.0..=1.0).contains(v)));
    std::fs::remove_dir_all(&dir).ok();
}

/// data export without --out, or of a folder that is not a run, fails clearly.
#[test]
fn data_export_errors_are_clear() {
    let bad = run(&["data", "export", "--data", "manifold:paper", "--n", "5"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--out"));
    let bad = run(&["data", "export", "--run", "/nonexistent/run"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a run directory"));
}
