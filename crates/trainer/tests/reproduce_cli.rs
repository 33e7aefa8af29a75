//! End-to-end `diffmem reproduce`: the list names the four reproductions; a tiny edited copy
//! of merger-goldt (d = 4) runs its sweep, report, figures and claims.json and exits 0 whatever
//! the claims' verdicts; a tiny achilli-manifold draws the paper's spectrum panel; an edited
//! copy of the shipped sweep file is never overwritten; bonnaire's Gaussian-mixture panel runs
//! alone at its CI size.

use std::path::{Path, PathBuf};

mod common;

/// merger-goldt's shape at d = 4: linear-exact and a short-trained per-bin linear model.
const TINY: &str = r#"
name = "tiny-merger-goldt"
[base]
data.spec = "gaussian:d=4,spectrum=power:1"
data.heldout = 64
diffusion.timesteps = 50
diffusion.schedule = { kind = "linear", beta_1 = 1e-4, beta_t = 0.2 }
diffusion.objective = "eps"
train.steps = 40
train.batch_size = 16
train.log_every = 10
train.checkpoint_every = 40
[axes]
model = ["linear-exact", "linear"]
n = [8, 32]
seed = [0]
[models.linear]
bins = 5
[eval]
metrics = ["mem", "loss", "gaussian"]
args = ["--sampler", "ddpm", "--num", "400", "--loss-points", "4", "--loss-rows", "32"]
"#;

#[test]
fn list_names_the_four_reproductions() {
    let out = common::ok(&["reproduce", "--list"]);
    for name in [
        "merger-goldt",
        "achilli-manifold",
        "achilli-mnist",
        "bonnaire",
    ] {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
    assert!(
        out.contains("panels: mlp, early-stopping, spectrum"),
        "{out}"
    );
    assert!(out.contains("panels: mixture"), "{out}");
}

#[test]
fn bonnaire_mixture_panel_runs_alone_at_its_ci_size() {
    let dir = common::tmpdir("reproduce", "mixture");
    let out_dir = dir.join("out");
    let out = common::s(&out_dir);
    let bad = common::run(&["reproduce", "bonnaire", "--only", "nope", "--out", out]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("main mnist mixture"),
        "{err}"
    );
    let args = [
        "reproduce",
        "bonnaire",
        "--ci",
        "--only",
        "mixture",
        "--jobs",
        "2",
        "--out",
        out,
    ];
    let text = common::ok_plain(&args);
    assert!(text.contains("reproduction bonnaire (CI size)"), "{text}");
    let c = claims(&out_dir);
    let list = c["claims"].as_array().unwrap();
    let find = |id: &str| {
        list.iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id}: {list:?}"))
    };
    // The MNIST sweep did not run: its claim is not measured; the mixture's is decided.
    assert_eq!(find("tau_mem-linear-in-N")["status"], "not measured");
    let mix = find("tau_mem-linear-in-N@mixture-d=8");
    assert!(mix["measured"].is_f64(), "{mix}");
    assert_eq!(mix["expected"], 0.0);
    assert!(out_dir.join("mixture/bonnaire-mixture.toml").exists());
    assert!(out_dir.join("bonnaire_mixture_tau_vs_n.png").exists());
    std::fs::remove_dir_all(&dir).ok();
}

fn claims(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("claims.json")).unwrap()).unwrap()
}

/// Runs `reproduction` on the sweep file `spec` (a tiny edited copy) into a fresh directory,
/// 2 at a time; returns the test's directory, the output directory and what it printed.
fn run_tiny(reproduction: &str, spec: &str) -> (PathBuf, PathBuf, String) {
    let dir = common::tmpdir("reproduce", &format!("tiny-{reproduction}"));
    let file = dir.join("tiny.toml");
    std::fs::write(&file, spec).unwrap();
    let out_dir = dir.join("out");
    let args = [
        "reproduce",
        reproduction,
        "--spec",
        common::s(&file),
        "--out",
        common::s(&out_dir),
        "--jobs",
        "2",
    ];
    let text = common::ok_plain(&args);
    (dir, out_dir, text)
}

#[test]
fn a_tiny_merger_goldt_writes_claims_figures_and_exits_zero() {
    let (dir, out_dir, text) = run_tiny("merger-goldt", TINY);
    assert!(
        text.contains("reproduction merger-goldt (full size)"),
        "{text}"
    );
    let c = claims(&out_dir);
    assert_eq!(c["schema"], "diffmem.claims/1");
    let list = c["claims"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c["id"].as_str().unwrap()).collect();
    // linear-exact is held to the theory at both N, the trained model at N/d >= 2 only.
    for id in [
        "kl-linear-exact@N/d=2",
        "kl-linear-exact@N/d=8",
        "kl-linear@N/d=2",
        "kl-linear@N/d=8",
        "kl-falls-with-N",
        "test-loss-linear@N/d=8",
    ] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    // --spec runs the edited main sweep alone: the panels are not run, and say so.
    for panel in ["mlp", "early-stopping", "spectrum"] {
        let c = list.iter().find(|c| c["id"] == format!("panel-{panel}"));
        assert_eq!(c.unwrap()["status"], "not measured", "{panel}");
    }
    for claim in list {
        let status = claim["status"].as_str().unwrap();
        assert!(["holds", "does not hold", "not measured"].contains(&status));
        assert_eq!(claim["holds"].as_bool(), Some(status == "holds"));
    }
    assert!(out_dir.join("merger_goldt_kl.png").exists());
    assert!(out_dir.join("report.html").exists());
    // Deciding again from the same runs gives the same claims.
    let again = common::ok_plain(&[
        "reproduce",
        "merger-goldt",
        "--claims-only",
        "--out",
        common::s(&out_dir),
    ]);
    assert!(again.contains("claims hold"), "{again}");
    assert_eq!(claims(&out_dir)["claims"], c["claims"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_edited_copy_of_the_shipped_file_is_not_overwritten() {
    let dir = common::tmpdir("reproduce", "edited");
    let copy = dir.join("merger-goldt.toml");
    std::fs::write(&copy, "# my edit\n").unwrap();
    let out = common::run(&["reproduce", "merger-goldt", "--out", common::s(&dir)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("differs from the shipped sweep file"), "{err}");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "# my edit\n");
    let unknown = common::run(&["reproduce", "nope"]);
    assert!(!unknown.status.success());
    // --only names a part (main or a panel); --spec replaces the main sweep only.
    let other = dir.join("other");
    let part = common::run(&[
        "reproduce",
        "merger-goldt",
        "--only",
        "nope",
        "--out",
        common::s(&other),
    ]);
    let err = String::from_utf8_lossy(&part.stderr);
    assert!(
        !part.status.success() && err.contains("main mlp early-stopping spectrum"),
        "{err}"
    );
    let spec = common::run(&[
        "reproduce",
        "merger-goldt",
        "--spec",
        common::s(&copy),
        "--only",
        "mlp",
        "--out",
        common::s(&other),
    ]);
    let err = String::from_utf8_lossy(&spec.stderr);
    assert!(
        !spec.status.success() && err.contains("add --only main"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// achilli-manifold's shape on a small manifold (d = 10): the empirical score and a briefly
/// trained MLP at two N.
const TINY_MANIFOLD: &str = r#"
name = "tiny-achilli-manifold"
[base]
data.spec = "manifold:d=10,blocks=2x1.0+3x0.3,ambient=0.01,normalize=true"
data.heldout = 32
diffusion.objective = "eps"
train.steps = 20
train.batch_size = 16
train.log_every = 10
train.checkpoint_every = 20
[axes]
model = ["empirical", "mlp"]
n = [40, 160]
seed = [0]
[models.mlp]
width = 16
depth = 1
[eval]
metrics = ["spectrum"]
args = ["--spectrum-points", "train", "--spectrum-probe", "noised", "--spectrum-timesteps", "log:8", "--spectrum-num", "2", "--spectrum-noise-draws", "1"]
"#;

#[test]
fn a_tiny_achilli_manifold_draws_the_papers_spectrum_panel() {
    let (dir, out_dir, text) = run_tiny("achilli-manifold", TINY_MANIFOLD);
    assert!(text.contains("reproduction achilli-manifold"), "{text}");
    let c = claims(&out_dir);
    let figures: Vec<&str> = c["figures"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    assert!(figures.contains(&"achilli_spectrum.png"), "{c}");
    // Two N (rows) by two models (columns) of 800 x 600 panels.
    let png = image::open(out_dir.join("achilli_spectrum.png")).unwrap();
    assert_eq!((png.width(), png.height()), (1600, 1200));
    assert!(out_dir.join("achilli_spectrum.svg").exists());
    std::fs::remove_dir_all(&dir).ok();
}
