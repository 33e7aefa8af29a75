//! One decision table for every verdict diffmem prints (`train`, `eval`, `eval
//! --along-training` and the sweep report): the run's measured signals ([`Signals`], each
//! optional) go through the rules of [`table::TABLE`] in order of precedence, and the first
//! rule that fires is the verdict, with the numbers that decided it and the next command. A
//! rule whose signals were not measured says which metric would decide it. The table, its
//! thresholds and their reasons are written out in docs/metrics.md ("Verdicts").

pub mod signals;
pub mod table;

use crate::io::show::num;
use crate::run::RunDir;
pub use signals::Signals;
use std::path::Path;

/// What a run's evidence says about it (the verdicts of the table, plus "undecided").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Training went wrong: a training loss that rose or is not finite, or diverged samples.
    Unstable,
    /// The samples are far from the data (or the model has not learned to denoise).
    NotGenerating,
    /// Most samples copy a training image.
    Copies,
    /// Some samples copy a training image.
    PartlyCopies,
    /// A membership-inference attack tells training rows from held-out rows.
    LeaksMembership,
    /// Samples sit nearer the training set than an independent model's would.
    LeansOnTraining,
    /// The held-out loss is clearly above the training-row loss (or rose while training).
    FitsTrainingRows,
    /// No copies, and no other sign of memorisation.
    Generalises,
    /// Too little was measured to decide.
    Undecided,
}

impl Kind {
    /// The words printed for the verdict.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Unstable => "unstable",
            Kind::NotGenerating => "does not generate the data yet",
            Kind::Copies => "copies its training set",
            Kind::PartlyCopies => "partly copies its training set",
            Kind::LeaksMembership => "leaks membership",
            Kind::LeansOnTraining => "leans on its training set",
            Kind::FitsTrainingRows => "fits its training rows better than held-out data",
            Kind::Generalises => "generalises",
            Kind::Undecided => "undecided",
        }
    }

    /// A short machine-readable name (summary.json, report.csv).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Unstable => "unstable",
            Kind::NotGenerating => "not_generating",
            Kind::Copies => "copies",
            Kind::PartlyCopies => "partly_copies",
            Kind::LeaksMembership => "leaks_membership",
            Kind::LeansOnTraining => "leans_on_training",
            Kind::FitsTrainingRows => "fits_training_rows",
            Kind::Generalises => "generalises",
            Kind::Undecided => "undecided",
        }
    }
}

/// A verdict: its kind, the numbers that decided it, the signals that were not measured
/// (each naming the metric that would measure it) and the next command.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub kind: Kind,
    /// The condition of the rule that fired, as the table states it ("" when undecided).
    pub rule: &'static str,
    /// The evidence, one number-bearing phrase each.
    pub evidence: Vec<String>,
    /// Signals of earlier (higher-precedence) rules that were not measured.
    pub unmeasured: Vec<String>,
    /// The next command, "next: ...".
    pub next: String,
}

impl Decision {
    /// The verdict line (without "verdict: "): the label, its evidence and what was not
    /// measured.
    pub fn line(&self) -> String {
        let mut s = self.kind.label().to_string();
        if !self.evidence.is_empty() {
            s.push_str(&format!(": {}", self.evidence.join("; ")));
        }
        if !self.unmeasured.is_empty() {
            s.push_str(&format!(" (not measured: {})", self.unmeasured.join(", ")));
        }
        s
    }

    /// The decision as JSON (`kind`, `rule`, `verdict`, `evidence`, `unmeasured`, `next`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind.key(), "rule": self.rule, "verdict": self.line(), "evidence": self.evidence,
            "unmeasured": self.unmeasured, "next": self.next,
        })
    }
}

/// The outcome of one rule on a run's signals.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// The rule applies: the evidence.
    Fires(Vec<String>),
    /// Its signals were measured and it does not apply.
    Passes,
    /// None of its signals was measured: what would measure them.
    Missing(&'static str),
}

/// The verdict of `s` for the run in `run`, whose figures lie in `out`: the first rule of the
/// table that fires, or "undecided" with every number that was measured.
pub fn decide(s: &Signals, run: &str, out: &str) -> Decision {
    let fill = |t: &str| t.replace("{run}", run).replace("{out}", out);
    let mut unmeasured: Vec<String> = Vec::new();
    for rule in table::TABLE.iter() {
        match (rule.test)(s) {
            Test::Fires(evidence) => {
                return Decision {
                    kind: rule.kind,
                    rule: rule.when,
                    evidence,
                    unmeasured,
                    next: format!("next: {}", fill(rule.next)),
                };
            }
            Test::Passes => {}
            Test::Missing(what) => {
                if !unmeasured.iter().any(|u| u == what) {
                    unmeasured.push(what.to_string());
                }
            }
        }
    }
    Decision {
        kind: Kind::Undecided,
        rule: "",
        evidence: s.measured(),
        unmeasured,
        next: format!("next: {}", fill(table::UNDECIDED_NEXT)),
    }
}

/// The verdict of the run directory `dir` from its log.jsonl, its summary.json and, when
/// given, a metrics.json document `doc` (figures in `out`).
pub fn of_run(dir: &Path, doc: Option<&serde_json::Value>, out: &str) -> Decision {
    let s = doc
        .map(Signals::from_metrics)
        .unwrap_or_default()
        .or(Signals::of_log_file(&RunDir::at(dir).log()))
        .or(Signals::of_summary_file(&RunDir::at(dir).summary()));
    decide(&s, &dir.display().to_string(), out)
}

/// The verdict at the end of `diffmem train` for the run in `dir`: its log.jsonl and the
/// `summary` about to be written (the eps-unit losses at the last logging step).
pub fn of_training(dir: &Path, summary: &serde_json::Value) -> Decision {
    let s = Signals::from_summary(summary).or(Signals::of_log_file(&RunDir::at(dir).log()));
    let run = dir.display().to_string();
    decide(&s, &run, &run)
}

/// A percentage with 4 significant digits ("87.5%").
pub(crate) fn pct(x: f64) -> String {
    format!("{}%", num(100.0 * x))
}

#[cfg(test)]
mod tests;
