//! A claim of a source paper or of the theory, checked against a reproduction's measurements,
//! and the `claims.json` file that collects them.
//!
//! A claim holds or does not: its tolerance is fixed in the code (or the sweep file) before
//! the measurement and is never widened to make it pass. A claim whose measurement is missing
//! (a run failed or was not part of the grid) is recorded as not measured, which is not
//! holding.

use crate::io::atomic::write_atomic;
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

/// One claim and its verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Claim {
    /// Short stable identifier, e.g. `kl-linear-vs-theory@N/d=2`.
    pub id: String,
    /// What is claimed, in words.
    pub statement: String,
    /// Where the claim comes from (paper and equation, or docs/theory.md section).
    pub source: String,
    /// The value the paper or the theory gives (None for an ordering claim).
    pub expected: Option<f64>,
    /// The measured value (None: not measured).
    pub measured: Option<f64>,
    /// The measured value's interval (min..max over seeds, or a confidence interval).
    pub interval: Option<(f64, f64)>,
    /// The tolerance, in words (e.g. `relative 0.15`).
    pub tolerance: String,
    /// Whether the measurement agrees with the claim within the tolerance.
    pub holds: bool,
    /// `holds`, `does not hold` or `not measured`.
    pub status: String,
    /// Anything the reader needs to judge the verdict.
    pub note: String,
}

/// Text of the verdict.
fn status_of(measured: bool, holds: bool) -> String {
    match (measured, holds) {
        (false, _) => "not measured",
        (true, true) => "holds",
        (true, false) => "does not hold",
    }
    .into()
}

impl Claim {
    /// A claim decided by `holds` (None: not measured) with the given numbers.
    pub fn decided(
        id: impl Into<String>,
        statement: impl Into<String>,
        source: &str,
        holds: Option<bool>,
    ) -> Self {
        Claim {
            id: id.into(),
            statement: statement.into(),
            source: source.into(),
            expected: None,
            measured: None,
            interval: None,
            tolerance: "exact (ordering)".into(),
            holds: holds.unwrap_or(false),
            status: status_of(holds.is_some(), holds.unwrap_or(false)),
            note: String::new(),
        }
    }

    /// `measured` within a relative tolerance `rel` of `expected`: |m - e| <= rel |e|.
    pub fn relative(
        id: impl Into<String>,
        statement: impl Into<String>,
        source: &str,
        expected: f64,
        measured: Option<f64>,
        rel: f64,
    ) -> Self {
        let holds = measured.map(|m| within_relative(m, expected, rel));
        Claim {
            expected: Some(expected),
            measured,
            tolerance: format!("relative {rel}"),
            ..Claim::decided(id, statement, source, holds)
        }
    }

    /// Sets the measured value (without changing the verdict).
    pub fn with_measured(mut self, measured: Option<f64>) -> Self {
        self.measured = measured;
        self
    }

    /// Sets the expected value (without changing the verdict).
    pub fn with_expected(mut self, expected: f64) -> Self {
        self.expected = Some(expected);
        self
    }

    /// Sets the interval of the measured value.
    pub fn with_interval(mut self, interval: Option<(f64, f64)>) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the tolerance text.
    pub fn with_tolerance(mut self, tolerance: impl Into<String>) -> Self {
        self.tolerance = tolerance.into();
        self
    }

    /// Sets the note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// |m - e| <= rel |e|, false for a non-finite measurement.
pub fn within_relative(measured: f64, expected: f64, rel: f64) -> bool {
    measured.is_finite() && (measured - expected).abs() <= rel * expected.abs()
}

/// Whether the finite values of `v` strictly decrease (None with fewer than 2 values).
pub fn decreasing(v: &[f64]) -> Option<bool> {
    let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    (f.len() >= 2).then(|| f.windows(2).all(|w| w[1] < w[0]))
}

/// What a reproduction wrote and decided.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// The claims, in the order they are printed.
    pub claims: Vec<Claim>,
    /// Figures written into the reproduction's directory (file names).
    pub figures: Vec<String>,
    /// Panels of the paper's experiment this version does not build, with why.
    pub not_built: Vec<String>,
}

/// Writes `claims.json` into `dir`: the reproduction, its size, the claims and the figures.
pub fn write(dir: &Path, name: &str, ci: bool, outcome: &Outcome) -> Result<()> {
    let held = outcome.claims.iter().filter(|c| c.holds).count();
    let doc = serde_json::json!({
        "schema": "diffmem.claims/1",
        "reproduction": name,
        "size": if ci { "ci" } else { "full" },
        "claims_total": outcome.claims.len(),
        "claims_holding": held,
        "claims": outcome.claims,
        "figures": outcome.figures,
        "not_built": outcome.not_built,
    });
    let text = serde_json::to_string_pretty(&doc)?;
    write_atomic(&dir.join("claims.json"), text.as_bytes())
}

/// A number for the summary table: 4 significant digits, `-` when missing.
fn num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if !x.is_finite() => format!("{x}"),
        Some(x) if x != 0.0 && (x.abs() >= 1e4 || x.abs() < 1e-3) => format!("{x:.3e}"),
        Some(x) => format!("{x:.4}"),
    }
}

/// The one-screen summary: one line per claim (verdict, id, expected, measured, tolerance).
pub fn summary(name: &str, ci: bool, outcome: &Outcome) -> String {
    let held = outcome.claims.iter().filter(|c| c.holds).count();
    let size = if ci { "CI size" } else { "full size" };
    let mut s = format!(
        "reproduction {name} ({size}): {held} of {} claims hold\n",
        outcome.claims.len()
    );
    s.push_str(&format!(
        "  {:<13} {:<40} {:>11} {:>11}  {}\n",
        "verdict", "claim", "expected", "measured", "tolerance"
    ));
    for c in &outcome.claims {
        s.push_str(&format!(
            "  {:<13} {:<40} {:>11} {:>11}  {}\n",
            c.status,
            c.id,
            num(c.expected),
            num(c.measured),
            c.tolerance
        ));
    }
    for n in &outcome.not_built {
        s.push_str(&format!("  not built: {n}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_claims_hold_inside_the_tolerance_only() {
        let ok = Claim::relative("a", "x", "s", 10.0, Some(11.4), 0.15);
        assert!(ok.holds && ok.status == "holds");
        let off = Claim::relative("b", "x", "s", 10.0, Some(11.6), 0.15);
        assert!(!off.holds && off.status == "does not hold");
        let missing = Claim::relative("c", "x", "s", 10.0, None, 0.15);
        assert!(!missing.holds && missing.status == "not measured");
        let inf = Claim::relative("d", "x", "s", 10.0, Some(f64::INFINITY), 0.15);
        assert!(!inf.holds);
    }

    #[test]
    fn decreasing_needs_two_finite_values_and_strict_order() {
        assert_eq!(decreasing(&[3.0, 2.0, f64::NAN, 1.0]), Some(true));
        assert_eq!(decreasing(&[3.0, 3.0]), Some(false));
        assert_eq!(decreasing(&[1.0]), None);
    }

    #[test]
    fn claims_file_and_summary_name_every_claim() {
        let dir = std::env::temp_dir().join(format!("diffmem-claims-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let o = Outcome {
            claims: vec![
                Claim::relative("kl@2", "KL near theory", "eq. 1", 2.0, Some(2.1), 0.15),
                Claim::decided("order", "falls with N", "fig. 1", Some(false)),
            ],
            figures: vec!["kl.png".into()],
            not_built: vec!["early stopping".into()],
        };
        write(&dir, "t", true, &o).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("claims.json")).unwrap())
                .unwrap();
        assert_eq!(v["claims_holding"], 1);
        assert_eq!(v["size"], "ci");
        assert_eq!(v["claims"][1]["status"], "does not hold");
        let s = summary("t", true, &o);
        assert!(s.contains("1 of 2 claims hold") && s.contains("not built: early stopping"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
