//! End-to-end `eval --metrics points,sima` on exact denoisers, whose answers are known: the
//! empirical score copies every sample (the per-row copy counts sum to the number of samples)
//! and its SimA attack is perfect; an image planted ten times in the training folder is the
//! most copied; the exact Gaussian fit at N >> d gives SimA an AUC of 1/2 within its interval.

use std::path::Path;

mod common;
use common::{csv, ok_plain as diffmem, run, s, tmpdir};

fn train(dir: &Path, name: &str, data: &str, n: &str, heldout: &str, model: &str) -> String {
    let out = dir.join(name);
    let mut args = common::exact_flags(data, n, heldout, model, "200");
    args.extend_from_slice(&["--out", s(&out)]);
    diffmem(&args);
    s(&out).to_string()
}

fn eval(run: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["eval", run, "--quiet", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&diffmem(&args)).unwrap()
}

#[test]
fn empirical_copies_every_sample_and_sima_recognises_its_rows() {
    let dir = tmpdir("points", "emp");
    let emp = train(&dir, "emp", "mnist-5k", "20", "64", "empirical");
    let m = eval(&emp, &["--metrics", "points,sima", "--num", "100"]);
    let p = &m["metrics"]["points"];
    assert_eq!(p["memorised_samples"], 100, "{p}");
    let rows = csv(&Path::new(&emp).join("points.csv"));
    assert_eq!(rows.len(), 1 + 20);
    let copies: usize = rows[1..]
        .iter()
        .map(|r| r[3].parse::<usize>().unwrap())
        .sum();
    assert_eq!(copies, 100);
    // Class sums add up to the same copies; every row has a density and a class distance.
    let classes = csv(&Path::new(&emp).join("points_by_class.csv"));
    let by_class: usize = classes[1..]
        .iter()
        .map(|r| r[3].parse::<usize>().unwrap())
        .sum();
    assert_eq!(by_class, 100);
    assert!(
        rows[1..]
            .iter()
            .all(|r| !r[5].is_empty() && !r[7].is_empty())
    );
    for f in [
        "points_density.png",
        "points_most_copied.png",
        "variance_map.png",
    ] {
        assert!(Path::new(&emp).join(f).exists(), "{f}");
    }
    let v = p["variance"]["collapsed_fraction"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&v), "{v}");
    let sima = &m["metrics"]["sima"];
    assert_eq!(sima["rows_per_set"], 20);
    assert!(sima["first"]["auc"].as_f64().unwrap() > 0.95, "{sima}");
    let scores = csv(&Path::new(&emp).join("sima_scores.csv"));
    assert_eq!(scores.len(), 1 + 40);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_image_planted_ten_times_is_the_most_copied() {
    let dir = tmpdir("points", "planted");
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    // Thirty distinct 8x8 grey images (a seeded hash of the pixel index) and one planted ten
    // times; the planted copies are files p0..p9, first in name order (source indices 0..9).
    let pixel = |k: u32, seed: u32| {
        ((k.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) >> 13) as u8
    };
    let write = |name: String, seed: u32| {
        let img = image::GrayImage::from_fn(8, 8, |x, y| image::Luma([pixel(y * 8 + x, seed)]));
        img.save(images.join(name)).unwrap();
    };
    for k in 0..10 {
        write(format!("p{k}.png"), 999);
    }
    for k in 0..30 {
        write(format!("r{k:02}.png"), k + 1);
    }
    let data = format!("folder:{},size=8,crop=8,grey=true", images.display());
    let run = train(&dir, "run", &data, "40", "0", "empirical");
    let m = eval(&run, &["--metrics", "points", "--num", "300"]);
    let p = &m["metrics"]["points"];
    // Nearly every sample is a copy (one may fall between two of these tiny images).
    assert!(p["memorised_samples"].as_u64().unwrap() >= 294, "{p}");
    assert_eq!(p["distinct_rows"], 31, "{p}");
    let top = &p["most_copied"][0];
    assert!(top["index"].as_u64().unwrap() < 10, "{p}");
    // Ten times as likely as any other image to be drawn (75 of 300 copies against 7.5 if
    // the empirical sampler picked images uniformly; it does not quite): well ahead of the next.
    let second = p["most_copied"][1]["copies"].as_u64().unwrap();
    assert!(top["copies"].as_u64().unwrap() > 2 * second, "{p}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sima_is_at_chance_for_a_gaussian_fit_at_large_n() {
    let dir = tmpdir("points", "sima");
    let run = train(
        &dir,
        "lin",
        "gaussian:d=8,spectrum=power:1",
        "4000",
        "1000",
        "linear-exact",
    );
    let m = eval(&run, &["--metrics", "sima", "--loss-rows", "1000"]);
    let sima = &m["metrics"]["sima"];
    let sd = sima["auc_null_sd"].as_f64().unwrap();
    let first = sima["first"]["auc"].as_f64().unwrap();
    assert!((first - 0.5).abs() < 3.0 * sd, "AUC {first}, null sd {sd}");
    // The best of the grid's timesteps is chosen on the same rows, so it may sit a little
    // above 1/2, never far.
    let best = sima["best"]["auc"].as_f64().unwrap();
    assert!(best < 0.5 + 4.0 * sd, "best AUC {best}, null sd {sd}");
    assert!(Path::new(&run).join("sima.csv").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sima_without_held_out_rows_is_refused_by_flag() {
    let dir = tmpdir("points", "noheld");
    let r = train(
        &dir,
        "r",
        "gaussian:d=4,spectrum=power:1",
        "50",
        "0",
        "linear-exact",
    );
    let out = run(&["eval", &r, "--quiet", "--metrics", "sima"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--heldout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn along_training_records_the_first_copy_of_each_row() {
    let dir = tmpdir("points", "along");
    let out = dir.join("emp");
    let mut flags = common::exact_flags("mnist-5k", "20", "64", "empirical", "200");
    flags.extend_from_slice(&["--steps", "1000", "--snapshots", "3", "--out", s(&out)]);
    diffmem(&flags);
    let m = eval(
        s(&out),
        &[
            "--along-training",
            "--metrics",
            "mem,points",
            "--num",
            "60",
            "--steps",
            "10",
        ],
    );
    let p = &m["metrics"]["dynamics"]["points"];
    let ever = p["ever_copied_rows"].as_u64().unwrap() as usize;
    assert!(ever > 0, "{p}");
    let rows = csv(&out.join("points_first_copy.csv"));
    assert_eq!(rows.len(), 1 + 20);
    // The empirical model copies from the first snapshot on: every first step is that one.
    let first: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r[2].as_str())
        .filter(|v| !v.is_empty())
        .collect();
    assert_eq!(first.len(), ever);
    assert!(first.iter().all(|&v| v == first[0]), "{first:?}");
    assert!(out.join("points_dynamics.png").exists());
    std::fs::remove_dir_all(&dir).ok();
}
