//! `report.csv` (one row per run: its axes, config summary and every scalar metric) and
//! `kl_theory.csv` (measured Gaussian KL beside the theory).

use super::collect::RunRecord;
use super::theory::TheoryRow;
use crate::io::csv::{cell as csv_cell, number as num, write_csv};
use anyhow::Result;
use std::path::Path;

fn union<'a>(lists: impl Iterator<Item = Vec<&'a String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lists {
        for k in l {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// Writes report.csv.
pub fn write_runs(path: &Path, runs: &[RunRecord]) -> Result<()> {
    let axes = union(runs.iter().map(|r| r.axes.iter().map(|(k, _)| k).collect()));
    let mut scalars = union(runs.iter().map(|r| r.scalars.keys().collect()));
    scalars.sort();
    let fixed = [
        "run", "status", "verdict", "line", "model", "data", "n", "seed",
    ];
    let mut header: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    header.extend(axes.iter().map(|a| format!("axis.{a}")));
    header.extend(scalars.iter().cloned());
    header.push("message".into());
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let c = r.config.as_ref();
            let mut row = vec![
                r.name.clone(),
                r.status.clone(),
                r.verdict
                    .as_ref()
                    .map_or(String::new(), |v| v.kind.key().to_string()),
                r.line.clone(),
                c.map_or(String::new(), |c| c.model.name().to_string()),
                c.map_or(String::new(), |c| c.data.spec.to_string()),
                c.map_or(String::new(), |c| c.data.n.to_string()),
                c.map_or(String::new(), |c| c.data.seed.to_string()),
            ];
            for a in &axes {
                row.push(
                    r.axes
                        .iter()
                        .find(|(k, _)| k == a)
                        .map_or(String::new(), |(_, v)| v.clone()),
                );
            }
            row.extend(scalars.iter().map(|k| r.get(k).map_or(String::new(), num)));
            row.push(r.message.clone().unwrap_or_default());
            row.iter().map(|c| csv_cell(c)).collect()
        })
        .collect();
    let header: Vec<String> = header.iter().map(|h| csv_cell(h)).collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_csv(path, &header, &rows)
}

/// Writes kl_theory.csv.
pub fn write_theory(path: &Path, rows: &[TheoryRow]) -> Result<()> {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                csv_cell(&r.line),
                r.n.to_string(),
                num(r.n_over_d),
                r.runs.to_string(),
                num(r.kl_mean),
                num(r.kl_min),
                num(r.kl_max),
                num(r.theory),
                num(r.theory_fit),
            ]
        })
        .collect();
    write_csv(
        path,
        &[
            "line",
            "n",
            "n_over_d",
            "runs",
            "kl_mean",
            "kl_min",
            "kl_max",
            "theory_kl",
            "theory_kl_plus_fit",
        ],
        &body,
    )
}
