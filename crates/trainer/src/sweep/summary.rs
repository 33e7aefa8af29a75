//! `diffmem sweep --json`: what a sweep did, as one JSON document on stdout (schema
//! `diffmem.sweep/1`, described in the README's "Commands"): the grid points with their
//! outcome and time, the counts the text summary prints, and the report's own JSON
//! (`report.json`).

use super::grid::GridPoint;
use super::point::{Outcome, Report};
use serde_json::{Value, json};
use std::path::Path;

/// The JSON of one grid point: index, name, axes, and its outcome (`null` when not started).
pub fn point(p: &GridPoint, r: Option<&Report>) -> Value {
    let axes: serde_json::Map<String, Value> = p
        .axes
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut v = json!({ "index": p.index, "name": p.name, "axes": axes });
    match r {
        None => v["outcome"] = "not_started".into(),
        Some(r) => {
            v["seconds"] = json!(r.seconds);
            match &r.outcome {
                Outcome::Skipped => v["outcome"] = "already_finished".into(),
                Outcome::Finished { steps } => {
                    v["outcome"] = "finished".into();
                    v["stages"] = json!(steps);
                }
                Outcome::Failed { stage, message } => {
                    v["outcome"] = "failed".into();
                    v["stage"] = json!(stage);
                    v["message"] = json!(message);
                }
                Outcome::Interrupted => v["outcome"] = "interrupted".into(),
            }
        }
    }
    v
}

/// The whole sweep: its points, the counts by outcome and the report (`null` when none was
/// written: `--no-report`, or the sweep stopped early).
pub fn sweep(
    name: &str,
    dir: &Path,
    points: &[GridPoint],
    reports: &[Option<Report>],
    report: Option<Value>,
) -> Value {
    let list: Vec<Value> = points
        .iter()
        .zip(reports)
        .map(|(p, r)| point(p, r.as_ref()))
        .collect();
    let count = |o: &str| list.iter().filter(|v| v["outcome"] == o).count();
    json!({
        "schema": "diffmem.sweep/1",
        "sweep": name,
        "dir": dir.display().to_string(),
        "counts": {
            "finished": count("finished"),
            "already_finished": count("already_finished"),
            "failed": count("failed"),
            "interrupted": count("interrupted"),
            "not_started": count("not_started"),
        },
        "points": list,
        "report": report.unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid_point(index: usize, name: &str) -> GridPoint {
        GridPoint {
            index,
            name: name.into(),
            axes: vec![("n".into(), (16 * (index + 1)).to_string())],
            line: String::new(),
            config: Default::default(),
        }
    }

    #[test]
    fn every_outcome_is_named_and_counted() {
        let points: Vec<GridPoint> = (0..5).map(|i| grid_point(i, &format!("p{i}"))).collect();
        let rep = |outcome| {
            Some(Report {
                outcome,
                seconds: 1.5,
            })
        };
        let reports = vec![
            rep(Outcome::Finished {
                steps: vec!["train", "eval"],
            }),
            rep(Outcome::Skipped),
            rep(Outcome::Failed {
                stage: "eval",
                message: "boom".into(),
            }),
            rep(Outcome::Interrupted),
            None,
        ];
        let v = sweep("s", Path::new("sweeps/s"), &points, &reports, None);
        let outcomes: Vec<&str> = v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(
            outcomes,
            [
                "finished",
                "already_finished",
                "failed",
                "interrupted",
                "not_started"
            ]
        );
        for k in [
            "finished",
            "already_finished",
            "failed",
            "interrupted",
            "not_started",
        ] {
            assert_eq!(v["counts"][k], 1, "{k}");
        }
        assert_eq!(v["points"][0]["stages"], json!(["train", "eval"]));
        assert_eq!(v["points"][2]["message"], "boom");
        assert_eq!(v["points"][2]["axes"]["n"], "48");
        assert!(v["report"].is_null());
    }
}
