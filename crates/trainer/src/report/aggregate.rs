//! Lines of a plot: for each line (model and other non-N axes) and each N, the mean and the
//! min..max spread of a metric over seeds; where a line crosses a level.

use super::collect::RunRecord;
use diffmem_metrics::summary::DistributionSummary;
use serde::Serialize;
use std::collections::BTreeMap;

/// One line: a metric against N.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    /// Label (the line's axis values).
    pub label: String,
    /// Training-set sizes N, ascending.
    pub n: Vec<f64>,
    /// Mean over seeds.
    pub mean: Vec<f64>,
    /// Smallest value over seeds.
    pub min: Vec<f64>,
    /// Largest value over seeds.
    pub max: Vec<f64>,
    /// Number of runs with a finite value.
    pub count: Vec<usize>,
}

/// The lines of `metric` over `runs`, in order of first appearance; runs without a finite
/// value are left out (an infinite value gives an infinite mean).
pub fn lines(runs: &[RunRecord], metric: impl Fn(&RunRecord) -> Option<f64>) -> Vec<Line> {
    grouped(runs, |r| r.line.clone(), metric)
}

/// One line labelled `label` of `metric` over all runs, pooled at each N whatever their plot
/// line (e.g. a real-vs-real floor that does not depend on the model); None when no run has a
/// value.
pub fn pooled(
    runs: &[RunRecord],
    label: &str,
    metric: impl Fn(&RunRecord) -> Option<f64>,
) -> Option<Line> {
    grouped(runs, |_| label.to_string(), metric).pop()
}

/// The lines of `metric` with runs grouped by `key`.
fn grouped(
    runs: &[RunRecord],
    key: impl Fn(&RunRecord) -> String,
    metric: impl Fn(&RunRecord) -> Option<f64>,
) -> Vec<Line> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for r in runs {
        let (Some(n), Some(v)) = (r.n(), metric(r)) else {
            continue;
        };
        if v.is_nan() {
            continue;
        }
        let label = key(r);
        if !groups.contains_key(&label) {
            order.push(label.clone());
        }
        groups
            .entry(label)
            .or_default()
            .entry(n)
            .or_default()
            .push(v);
    }
    order
        .into_iter()
        .map(|label| {
            let mut line = Line {
                label: label.clone(),
                n: vec![],
                mean: vec![],
                min: vec![],
                max: vec![],
                count: vec![],
            };
            for (n, vals) in &groups[&label] {
                let infinite = vals.iter().any(|v| v.is_infinite());
                let s = DistributionSummary::of(vals);
                line.n.push(*n as f64);
                line.mean
                    .push(if infinite { f64::INFINITY } else { s.mean });
                line.min.push(s.min);
                line.max.push(if infinite { f64::INFINITY } else { s.max });
                line.count.push(vals.len());
            }
            line
        })
        .collect()
}

/// Where a line's mean first falls below a level (or that it never does).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Crossing {
    /// The line.
    pub label: String,
    /// The level.
    pub level: f64,
    /// Largest N still at or above the level before the fall (None: below from the start).
    pub last_above: Option<f64>,
    /// First N below the level (None: never below).
    pub first_below: Option<f64>,
    /// Interpolated N (linear in the metric, logarithmic in N).
    pub interpolated: Option<f64>,
    /// Grid points of this line without a value, "NAME (N = n, state)": the crossing was
    /// computed without them and may move once they have one.
    pub missing: Vec<String>,
}

/// The first fall of `line` below `level` (None for an empty line).
pub fn crossing(line: &Line, level: f64) -> Option<Crossing> {
    let last = *line.n.last()?;
    let Some(i) = line.mean.iter().position(|&m| m < level) else {
        return Some(Crossing {
            label: line.label.clone(),
            level,
            last_above: Some(last),
            first_below: None,
            interpolated: None,
            missing: vec![],
        });
    };
    let (last_above, interpolated) = if i == 0 {
        (None, None)
    } else {
        let (x0, x1, y0, y1) = (line.n[i - 1], line.n[i], line.mean[i - 1], line.mean[i]);
        let f = if y0.is_finite() && y0 != y1 {
            ((y0 - level) / (y0 - y1)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (Some(x0), Some((x0.ln() + f * (x1.ln() - x0.ln())).exp()))
    };
    Some(Crossing {
        label: line.label.clone(),
        level,
        last_above,
        first_below: Some(line.n[i]),
        interpolated,
        missing: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_interpolates_in_log_n() {
        let line = Line {
            label: "mlp".into(),
            n: vec![100.0, 1000.0, 10000.0],
            mean: vec![0.9, 0.7, 0.3],
            min: vec![0.0; 3],
            max: vec![0.0; 3],
            count: vec![1; 3],
        };
        let c = crossing(&line, 0.5).unwrap();
        assert_eq!((c.last_above, c.first_below), (Some(1000.0), Some(10000.0)));
        assert!((c.interpolated.unwrap() - 1000.0 * 10f64.sqrt()).abs() < 1e-6);
        let never = crossing(&line, 0.1).unwrap();
        assert_eq!((never.last_above, never.first_below), (Some(10000.0), None));
        assert_eq!(crossing(&line, 0.95).unwrap().last_above, None);
    }
}
