//! Bad inputs, family report: what a sweep report stands on. An unreadable metrics.json is a
//! failed run; every grid point is accounted for (missing, evaluated with other metrics,
//! evaluated from another run's weights); runs outside the grid are listed apart and left off
//! the curves; a transition computed with points missing says so in the terminal,
//! report.json and the page.

mod bad_matrix;
mod common;

use bad_matrix::{Exit, case, copy_dir, flag_rows, root, run_cases, tiny_run};
use common::{bin, s};
use std::path::Path;

/// A four-point grid of the exact linear denoiser on a 4-dimensional Gaussian (no training).
const SPEC: &str = r#"
name = "acct"
[base]
data.spec = "gaussian:d=4,spectrum=power:1"
data.heldout = 16
diffusion.timesteps = 20
sample.num = 8
[axes]
model = ["linear-exact"]
n = [8, 16, 32, 64]
[eval]
metrics = ["mem"]
args = ["--num", "8"]
"#;

fn ok(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !text.contains("panicked"),
        "{args:?}: {text}"
    );
    text
}

/// The sweep of [`SPEC`] in `dir`, then damaged as a user would: n8 re-evaluated with other
/// metrics, n16's metrics.json replaced by n64's (another run's weights), n32 deleted, and a
/// copy of n64 dropped into runs/ as a stray.
fn damaged_sweep(root: &Path) -> std::path::PathBuf {
    let spec = root.join("acct.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let sw = root.join("acct");
    ok(&["sweep", s(&spec), "--out", s(&sw), "--no-report"]);
    let runs = sw.join("runs");
    let name = |n: usize| runs.join(format!("linear-exact-n{n}"));
    ok(&["eval", s(&name(8)), "--metrics", "loss", "--quiet"]);
    std::fs::copy(name(64).join("metrics.json"), name(16).join("metrics.json")).unwrap();
    std::fs::remove_dir_all(name(32)).unwrap();
    copy_dir(&name(64), &runs.join("stray"));
    sw
}

/// Report: an unreadable metrics.json is a failed run, and the conclusion says so.
#[test]
fn an_unreadable_metrics_json_is_a_failed_run() {
    let root = root("report");
    let run = tiny_run(&root);
    // A sweep directory whose one run has an unreadable metrics.json.
    let sweep = root.join("sweep");
    copy_dir(&run, &sweep.join("runs/n64"));
    std::fs::write(sweep.join("runs/n64/metrics.json"), b"{\"metrics\": {\"mem").unwrap();
    let cases = [case(
        "report",
        &["report", s(&sweep)],
        Exit::Ok,
        "is unreadable",
    )];
    let failures = run_cases(&cases);
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// report.json carries the same accounting as the terminal, the crossing names its missing
/// points, the stray and the other run's numbers are off the curve, and the page says what
/// it stands on.
fn check_report_json_and_page(acct: &Path) {
    ok(&["report", s(acct)]);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(acct.join("report.json")).unwrap()).unwrap();
    let states: Vec<&str> = doc["grid"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["other-metrics", "other-run", "missing", "r_mem"],
        "{doc}"
    );
    assert_eq!(doc["grid"]["strays"][0], "stray");
    let missing = doc["crossings"][0]["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 3, "{doc}");
    // The stray and the other run's numbers are off the curve: one point, at N = 64.
    assert_eq!(doc["r_mem"][0]["n"], serde_json::json!([64.0]), "{doc}");
    let html = std::fs::read_to_string(acct.join("report.html")).unwrap();
    assert!(html.contains("What this report stands on"));
    assert!(html.contains("linear-exact-n32 (N = 32, missing)"));
}

/// Every grid point of a damaged sweep is accounted for, by name and state, in the terminal,
/// report.json and the page; strays are listed apart and left off the curves unless asked.
#[test]
fn every_grid_point_is_accounted_for() {
    let root = root("report-grid");
    let acct = damaged_sweep(&root);
    let a = s(&acct);
    let mut cases = flag_rows(
        "report",
        &["report", a],
        Exit::Ok,
        &[
            (&[], "grid: 1 of 4 points have R_mem"),
            (
                &[],
                "linear-exact-n8 (N = 8) other-metrics: metrics.json has no R_mem (metrics: loss)",
            ),
            (&[], "linear-exact-n16 (N = 16) other-run"),
            (&[], "linear-exact-n32 (N = 32) missing"),
            (
                &[],
                "1 run(s) not in the sweep's grid, left out of the curves",
            ),
            (&[], "caution: computed with grid points missing"),
        ],
    );
    cases.push(case(
        "report",
        &["report", a, "--include-strays"],
        Exit::Ok,
        "put on the curves (--include-strays)",
    ));
    let failures = run_cases(&cases);
    check_report_json_and_page(&acct);
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
