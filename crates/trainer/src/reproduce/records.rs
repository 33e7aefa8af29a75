//! Reading the runs of a reproduction: one plot line of a metric, JSON values of metrics.json.

use crate::report::aggregate::{Line, lines};
use crate::report::collect::RunRecord;
use serde_json::Value;

/// The line called `label` of `metric` (mean, min, max over seeds at each N).
pub fn line(
    runs: &[RunRecord],
    label: &str,
    metric: impl Fn(&RunRecord) -> Option<f64>,
) -> Option<Line> {
    lines(runs, metric).into_iter().find(|l| l.label == label)
}

/// The value of `line` at `n` as (mean, (min, max)).
pub fn at(line: Option<&Line>, n: usize) -> Option<(f64, (f64, f64))> {
    let l = line?;
    let i = l.n.iter().position(|&x| x == n as f64)?;
    Some((l.mean[i], (l.min[i], l.max[i])))
}

/// `metrics.json`'s `metrics` object of a run, if evaluated.
pub fn metrics(r: &RunRecord) -> Option<&Value> {
    r.metrics.as_ref().map(|m| &m["metrics"])
}

/// The distinct training-set sizes of the runs of line `label`, ascending.
pub fn sizes(runs: &[RunRecord], label: &str) -> Vec<usize> {
    let mut ns: Vec<usize> = runs
        .iter()
        .filter(|r| r.line == label)
        .filter_map(RunRecord::n)
        .collect();
    ns.sort_unstable();
    ns.dedup();
    ns
}
