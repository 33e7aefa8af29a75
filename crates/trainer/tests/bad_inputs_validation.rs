//! Bad inputs, family validation: every numeric flag checked at parse time, model shapes
//! checked before burn sees them, `eval --threshold` in (0, 1), `eval --against` the run
//! itself, and a closed stdout; duplicated training rows announced by eval.

mod bad_matrix;
mod common;

use bad_matrix::{Action, Case, Exit, case, root, run_cases, tiny_run};
use common::{bin, s};

#[test]
fn validation_rows() {
    let root = root("validation");
    let run = tiny_run(&root);
    let r = s(&run);
    let out = |name: &str| s(&root.join(name)).to_string();
    let mut cases = vec![
        // Validation of every numeric flag, at parse time.
        case(
            "validation",
            &["train", "--min-snr=-1"],
            Exit::Error,
            "--min-snr",
        ),
        case(
            "validation",
            &["train", "--min-snr", "nan"],
            Exit::Error,
            "--min-snr",
        ),
        case(
            "validation",
            &["train", "--heldout", "0"],
            Exit::Error,
            "--heldout",
        ),
        case(
            "validation",
            &["train", "--clip-x0=-1"],
            Exit::Error,
            "--clip-x0",
        ),
        case(
            "validation",
            &["train", "--clip-x0", "nan"],
            Exit::Error,
            "--clip-x0",
        ),
        case(
            "validation",
            &["train", "--clip", "inf"],
            Exit::Error,
            "--clip",
        ),
        case(
            "validation",
            &["train", "--weight-decay=-1"],
            Exit::Error,
            "--weight-decay",
        ),
        case(
            "validation",
            &["train", "--adam-eps", "nan"],
            Exit::Error,
            "--adam-eps",
        ),
        case("validation", &["train", "--lr", "nan"], Exit::Error, "--lr"),
        case(
            "validation",
            &["train", "--ema", "1.5"],
            Exit::Error,
            "--ema",
        ),
        case(
            "validation",
            &["train", "--epochs", "0"],
            Exit::Error,
            "--epochs",
        ),
        case(
            "validation",
            &["train", "--patience", "0"],
            Exit::Error,
            "--patience",
        ),
        case(
            "validation",
            &["train", "--timesteps", "0"],
            Exit::Error,
            "--timesteps",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-k", "0"],
            Exit::Usage,
            "--spectrum-k",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-k=-1"],
            Exit::Usage,
            "--spectrum-k",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-k", "nan"],
            Exit::Usage,
            "--spectrum-k",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-floor", "nan"],
            Exit::Usage,
            "floor",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-c", "nan"],
            Exit::Usage,
            "--spectrum-c",
        ),
        case(
            "validation",
            &["eval", r, "--num", "0"],
            Exit::Usage,
            "--num",
        ),
        case(
            "memory",
            &["eval", r, "--num", "100000000000"],
            Exit::Error,
            "lower --num",
        ),
        case(
            "validation",
            &["eval", r, "--spectrum-rows-per-pass", "0"],
            Exit::Usage,
            "--spectrum-rows-per-pass",
        ),
        case(
            "validation",
            &["eval", r, "--threshold=-1"],
            Exit::Usage,
            "--threshold",
        ),
        case(
            "validation",
            &["sample", r, "--num", "0"],
            Exit::Usage,
            "--num",
        ),
        case(
            "validation",
            &["sample", r, "--clip-x0=-1"],
            Exit::Usage,
            "--clip-x0",
        ),
        // eval --against the run itself warns.
        case(
            "against",
            &[
                "eval",
                r,
                "--against",
                r,
                "--metrics",
                "mem",
                "--num",
                "4",
                "--steps",
                "5",
            ],
            Exit::Ok,
            "the run itself",
        ),
        // Model shapes are checked before burn sees them (an odd --base used to panic in it).
        case(
            "shape",
            &[
                "train",
                "--model",
                "unet",
                "--base",
                "3",
                "--out",
                &out("base3"),
            ],
            Exit::Error,
            "even --base",
        ),
        case(
            "shape",
            &[
                "train",
                "--model",
                "unet",
                "--mults",
                "1,0",
                "--out",
                &out("mults"),
            ],
            Exit::Error,
            "--mults",
        ),
        case(
            "shape",
            &[
                "train",
                "--model",
                "unet",
                "--attn",
                "8",
                "--out",
                &out("attn"),
            ],
            Exit::Error,
            "--attn 8 matches no level of this unet: its levels work at 28, 14, 7 pixels",
        ),
        case(
            "shape",
            &[
                "train",
                "--model",
                "local",
                "--patch",
                "99",
                "--n",
                "16",
                "--timesteps",
                "10",
                "--num",
                "2",
                "--out",
                &out("patch"),
            ],
            Exit::Error,
            "--patch 99 is larger than these 28x28 images need",
        ),
        // The ratio threshold of R_mem lies in (0, 1): 1.5 would memorise every sample.
        case(
            "validation",
            &["eval", r, "--threshold", "1.5"],
            Exit::Usage,
            "--threshold",
        ),
        case(
            "validation",
            &["eval", r, "--threshold", "0"],
            Exit::Usage,
            "strictly between 0 and 1",
        ),
    ];
    // A closed stdout ends quietly.
    cases.push(Case {
        family: "pipe",
        args: ["data", "inspect", "--data", "mnist-5k", "--n", "16"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        exit: Exit::Quiet,
        fragment: "",
        action: Action::ClosedStdout,
    });

    let failures = run_cases(&cases);
    for name in ["base3", "mults", "attn", "patch"] {
        assert!(
            !root.join(name).exists(),
            "a refused model left {name} behind"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A training set with duplicated images: eval warns with their count (computed here from the
/// run's train_indices.txt), metrics.json records it, and the exact empirical denoiser, which
/// reproduces training images, has every sample memorised whatever copy it lands on (d_2 is
/// the distance to the nearest *distinct* training image).
#[test]
fn duplicated_training_rows_are_counted_and_copies_memorised() {
    let root = root("duplicates");
    let images = root.join("images");
    std::fs::create_dir_all(&images).unwrap();
    // 12 images of 8x8 pixels, three distinct ones, each four times (image i is pattern i % 3).
    for i in 0..12u32 {
        let pattern = i % 3;
        let img = image::GrayImage::from_fn(8, 8, |x, y| {
            image::Luma([((x * 30 + y * 7 * pattern + 40 * pattern) % 256) as u8])
        });
        img.save(images.join(format!("img{i:02}.png"))).unwrap();
    }
    let run = root.join("run");
    let data = format!("folder:{},size=8,grey=true,crop=0", s(&images));
    let args = [
        "train",
        "--data",
        &data,
        "--n",
        "9",
        "--heldout",
        "3",
        "--model",
        "empirical",
        "--timesteps",
        "50",
        "--num",
        "4",
        "--quiet",
        "--device",
        "flex",
        "--out",
        s(&run),
    ];
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let indices = std::fs::read_to_string(run.join("train_indices.txt")).unwrap();
    let rows: Vec<u32> = indices.lines().map(|l| l.trim().parse().unwrap()).collect();
    let distinct: std::collections::BTreeSet<u32> = rows.iter().map(|i| i % 3).collect();
    let duplicates = rows.len() - distinct.len();
    assert!(duplicates > 0);
    let eval = bin()
        .args(["eval", s(&run), "--metrics", "mem", "--num", "8", "--quiet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&eval.stderr);
    assert!(eval.status.success() && !err.contains("panicked"), "{err}");
    let want = format!(
        "warning: {duplicates} of {} training rows duplicate",
        rows.len()
    );
    assert!(err.contains(&want), "{err}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(doc["metrics"]["mem"]["duplicate_train_rows"], duplicates);
    assert_eq!(doc["metrics"]["mem"]["r_mem"], 1.0, "{doc}");
    let _ = std::fs::remove_dir_all(&root);
}
