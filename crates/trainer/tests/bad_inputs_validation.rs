//! Bad inputs, family validation: every numeric flag checked at parse time, model shapes
//! checked before burn sees them, `eval --threshold` in (0, 1), `eval --against` the run
//! itself, and a closed stdout; duplicated training rows announced by eval.

mod bad_matrix;
mod common;

use bad_matrix::{
    Action, Case, Exit, assert_refused_leaving_nothing, case, flag_rows, root, run_cases, tiny_run,
};
use common::{bin, s};

/// Every numeric flag of `train` is checked at parse time.
#[test]
fn train_flags_are_checked_at_parse_time() {
    let cases = flag_rows(
        "validation",
        &["train"],
        Exit::Error,
        &[
            (&["--min-snr=-1"], "--min-snr"),
            (&["--min-snr", "nan"], "--min-snr"),
            (&["--heldout", "0"], "--heldout"),
            (&["--clip-x0=-1"], "--clip-x0"),
            (&["--clip-x0", "nan"], "--clip-x0"),
            (&["--clip", "inf"], "--clip"),
            (&["--weight-decay=-1"], "--weight-decay"),
            (&["--adam-eps", "nan"], "--adam-eps"),
            (&["--lr", "nan"], "--lr"),
            (&["--ema", "1.5"], "--ema"),
            (&["--epochs", "0"], "--epochs"),
            (&["--patience", "0"], "--patience"),
            (&["--timesteps", "0"], "--timesteps"),
        ],
    );
    let failures = run_cases(&cases);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The rows of `eval` and `sample` on the trained run `r`: numeric flags rejected by the
/// parser, the ratio threshold of R_mem in (0, 1) (1.5 would memorise every sample), a --num
/// too large for memory, and eval --against the run itself (a warning).
fn eval_and_sample_rows(r: &str) -> Vec<Case> {
    let mut cases = flag_rows(
        "validation",
        &["eval", r],
        Exit::Usage,
        &[
            (&["--spectrum-k", "0"], "--spectrum-k"),
            (&["--spectrum-k=-1"], "--spectrum-k"),
            (&["--spectrum-k", "nan"], "--spectrum-k"),
            (&["--spectrum-floor", "nan"], "floor"),
            (&["--spectrum-c", "nan"], "--spectrum-c"),
            (&["--num", "0"], "--num"),
            (
                &["--spectrum-rows-per-pass", "0"],
                "--spectrum-rows-per-pass",
            ),
            (&["--threshold=-1"], "--threshold"),
            (&["--threshold", "1.5"], "--threshold"),
            (&["--threshold", "0"], "strictly between 0 and 1"),
        ],
    );
    cases.extend(flag_rows(
        "validation",
        &["sample", r],
        Exit::Usage,
        &[(&["--num", "0"], "--num"), (&["--clip-x0=-1"], "--clip-x0")],
    ));
    cases.push(case(
        "memory",
        &["eval", r, "--num", "100000000000"],
        Exit::Error,
        "lower --num",
    ));
    let against = [
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
    ];
    cases.push(case("against", &against, Exit::Ok, "the run itself"));
    cases
}

/// The flags of `eval` and `sample` are checked, on one tiny trained run.
#[test]
fn eval_and_sample_flags_are_checked_on_a_trained_run() {
    let root = root("validation");
    let run = tiny_run(&root);
    let failures = run_cases(&eval_and_sample_rows(s(&run)));
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Model shapes are checked before burn sees them (an odd --base used to panic in it), and a
/// refused model leaves no run directory behind.
#[test]
fn model_shapes_are_checked_before_burn_sees_them() {
    let root = root("shape");
    let names = ["base3", "mults", "attn", "patch"];
    let [base3, mults, attn, patch] = names.map(|name| s(&root.join(name)).to_string());
    let mut cases = flag_rows(
        "shape",
        &["train", "--model", "unet"],
        Exit::Error,
        &[
            (&["--base", "3", "--out", &base3], "even --base"),
            (&["--mults", "1,0", "--out", &mults], "--mults"),
            (
                &["--attn", "8", "--out", &attn],
                "--attn 8 matches no level of this unet: its levels work at 28, 14, 7 pixels",
            ),
        ],
    );
    let local = [
        "--patch",
        "99",
        "--n",
        "16",
        "--timesteps",
        "10",
        "--num",
        "2",
        "--out",
        &patch,
    ];
    cases.extend(flag_rows(
        "shape",
        &["train", "--model", "local"],
        Exit::Error,
        &[(&local, "--patch 99 is larger than these 28x28 images need")],
    ));
    assert_refused_leaving_nothing(&root, &names, &cases);
}

/// A closed stdout ends quietly: no message, exit 0 or SIGPIPE.
#[test]
fn a_closed_stdout_ends_quietly() {
    let cases = [Case {
        family: "pipe",
        args: ["data", "inspect", "--data", "mnist-5k", "--n", "16"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        exit: Exit::Quiet,
        fragment: "",
        action: Action::ClosedStdout,
    }];
    let failures = run_cases(&cases);
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
