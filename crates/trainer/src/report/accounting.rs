//! What a report stands on: every grid point of the sweep's spec (its `sweep.toml` copy) is
//! accounted for — with R_mem, failed (and at which stage), missing, not evaluated, evaluated
//! with other metrics, or evaluated from another run's weights — and the runs under `runs/`
//! that are no grid point ("strays") are listed apart. A transition computed while points of
//! its line lack R_mem names them ([`Accounting::missing_on`]).

use super::collect::RunRecord;
use crate::sweep::grid::expand;
use crate::sweep::spec::SweepSpec;
use crate::sweep::{RUNS_DIR, SPEC_COPY, STATUS_FILE};
use serde::Serialize;
use std::path::Path;

/// One grid point and how the report could use it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointAccount {
    /// Run name (directory under `runs/`).
    pub name: String,
    /// Plot line.
    pub line: String,
    /// Training-set size N.
    pub n: usize,
    /// `r_mem` (on the curves), `failed`, `missing`, `not-evaluated`, `other-metrics` or
    /// `other-run`.
    pub state: String,
    /// The details: the failed stage and message, the metrics present, the other run.
    pub detail: String,
}

/// The grid points of a sweep and the runs outside its grid.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Accounting {
    /// Why the grid is unknown (no readable `sweep.toml`): every run is then used.
    pub unknown_grid: Option<String>,
    /// Every grid point, in grid order.
    pub points: Vec<PointAccount>,
    /// Runs under `runs/` that are no grid point of the spec.
    pub strays: Vec<String>,
    /// Whether the strays were put on the curves (`--include-strays`).
    pub strays_included: bool,
}

fn stage_of(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(STATUS_FILE)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["stage"].as_str().map(str::to_string)
}

/// The state and detail of grid point `name`, from its run record (None: no directory).
fn state_of(sweep_dir: &Path, name: &str, run: Option<&RunRecord>) -> (String, String) {
    let Some(r) = run else {
        return ("missing".into(), "no run directory".into());
    };
    let message = r.message.clone().unwrap_or_default();
    if r.get("mem.r_mem").is_some() {
        return ("r_mem".into(), String::new());
    }
    match r.status.as_str() {
        "failed" => {
            let stage = stage_of(&sweep_dir.join(RUNS_DIR).join(name));
            let at = stage.map_or(String::new(), |s| format!("at {s}: "));
            ("failed".into(), format!("{at}{message}"))
        }
        "other-run" => ("other-run".into(), message),
        _ => match &r.metrics {
            Some(m) => {
                let keys: Vec<String> = m["metrics"]
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                if keys == ["dynamics"] {
                    // Its R_mem is a curve over training steps (r_mem_dynamics.png, tau_mem),
                    // not one number to place against N.
                    return (
                        "along-training".into(),
                        "evaluated along training only: its R_mem is on the curves over \
                         training steps (r_mem_dynamics.png, tau_mem); a plain diffmem eval \
                         --metrics mem places it against N"
                            .into(),
                    );
                }
                (
                    "other-metrics".into(),
                    format!(
                        "metrics.json has no R_mem (metrics: {}): run diffmem eval with \
                         --metrics mem",
                        if keys.is_empty() {
                            "none".into()
                        } else {
                            keys.join(", ")
                        }
                    ),
                )
            }
            None => ("not-evaluated".into(), format!("status {}", r.status)),
        },
    }
}

impl Accounting {
    /// Accounts for the grid of the spec copy in `sweep_dir` against the `runs` found there.
    pub fn of(sweep_dir: &Path, runs: &[RunRecord], include_strays: bool) -> Self {
        let spec = SweepSpec::load(&sweep_dir.join(SPEC_COPY), false, &[]);
        let grid = spec.and_then(|s| expand(&s));
        let points = match grid {
            Ok(p) => p,
            Err(e) => {
                return Accounting {
                    unknown_grid: Some(format!("{e:#}")),
                    strays_included: true,
                    ..Default::default()
                };
            }
        };
        let find = |name: &str| runs.iter().find(|r| r.name == name);
        let accounts = points
            .iter()
            .map(|p| {
                let (state, detail) = state_of(sweep_dir, &p.name, find(&p.name));
                PointAccount {
                    name: p.name.clone(),
                    line: p.line.clone(),
                    n: p.config.data.n,
                    state,
                    detail,
                }
            })
            .collect();
        let strays = runs
            .iter()
            .filter(|r| !points.iter().any(|p| p.name == r.name))
            .map(|r| r.name.clone())
            .collect();
        Accounting {
            unknown_grid: None,
            points: accounts,
            strays,
            strays_included: include_strays,
        }
    }

    /// Whether run `name` belongs on the curves: a grid point, or a stray when asked for.
    pub fn on_curves(&self, name: &str) -> bool {
        self.strays_included || !self.strays.iter().any(|s| s == name)
    }

    /// The grid points of `line` without R_mem, as "NAME (N = n, state)".
    pub fn missing_on(&self, line: &str) -> Vec<String> {
        self.points
            .iter()
            .filter(|p| p.line == line && p.state != "r_mem")
            .map(|p| format!("{} (N = {}, {})", p.name, p.n, p.state))
            .collect()
    }

    /// The accounting in sentences, for the terminal and the page.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(why) = &self.unknown_grid {
            out.push(format!(
                "the sweep's grid is unknown ({why}): every run under runs/ is used"
            ));
            return out;
        }
        let with = self.points.iter().filter(|p| p.state == "r_mem").count();
        out.push(format!(
            "grid: {with} of {} points have R_mem",
            self.points.len()
        ));
        for p in self.points.iter().filter(|p| p.state != "r_mem") {
            let detail = match p.detail.is_empty() {
                true => String::new(),
                false => format!(": {}", p.detail),
            };
            out.push(format!(
                "not on the curves: {} (N = {}) {}{detail}",
                p.name, p.n, p.state
            ));
        }
        if !self.strays.is_empty() {
            out.push(format!(
                "{} run(s) not in the sweep's grid, {}: {}",
                self.strays.len(),
                match self.strays_included {
                    true => "put on the curves (--include-strays)",
                    false => "left out of the curves (--include-strays puts them on)",
                },
                self.strays.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, line: &str, n: usize, state: &str) -> PointAccount {
        PointAccount {
            name: name.into(),
            line: line.into(),
            n,
            state: state.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn missing_points_and_strays_are_named() {
        let a = Accounting {
            unknown_grid: None,
            points: vec![
                point("mlp-n9", "mlp", 9, "r_mem"),
                point("mlp-n27", "mlp", 27, "other-metrics"),
                point("mlp-n81", "mlp", 81, "missing"),
                point("unet-n9", "unet", 9, "r_mem"),
            ],
            strays: vec!["copied".into()],
            strays_included: false,
        };
        assert_eq!(
            a.missing_on("mlp"),
            vec![
                "mlp-n27 (N = 27, other-metrics)".to_string(),
                "mlp-n81 (N = 81, missing)".to_string()
            ]
        );
        assert!(a.missing_on("unet").is_empty());
        assert!(!a.on_curves("copied") && a.on_curves("mlp-n9"));
        let text = a.lines().join("\n");
        assert!(text.contains("grid: 2 of 4 points have R_mem"), "{text}");
        assert!(text.contains("left out of the curves"), "{text}");
    }

    #[test]
    fn a_run_evaluated_only_along_training_is_named_as_such() {
        let record = |metrics: serde_json::Value| RunRecord {
            name: "mlp-n16-s0".into(),
            status: "done".into(),
            message: None,
            index: Some(0),
            axes: vec![],
            line: "mlp".into(),
            config: None,
            config_text: String::new(),
            metrics: Some(metrics),
            scalars: Default::default(),
            verdict: None,
        };
        let dir = Path::new("/nonexistent");
        let along = record(serde_json::json!({"metrics": {"dynamics": {}}}));
        let (state, detail) = state_of(dir, "mlp-n16-s0", Some(&along));
        assert_eq!(state, "along-training");
        assert!(detail.contains("r_mem_dynamics.png"), "{detail}");
        let loss = record(serde_json::json!({"metrics": {"loss": {}}}));
        let (state, detail) = state_of(dir, "mlp-n16-s0", Some(&loss));
        assert_eq!(state, "other-metrics");
        assert!(detail.contains("--metrics mem"), "{detail}");
    }
}
