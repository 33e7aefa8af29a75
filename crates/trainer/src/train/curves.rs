//! `loss.png`: the training curves of a run, drawn from its `log.jsonl` at every logging step
//! and at the end, so that memorisation shows while it happens: the training loss keeps
//! falling while the held-out loss turns up (the train/held-out gap of Carlini et al.,
//! arXiv 2301.13188, and Gu et al., arXiv 2310.02664).
//!
//! Three curves against the step, both axes logarithmic: the window-mean training loss and the
//! fixed-noise loss on training rows and on held-out rows, all three in the units of the
//! training objective (`--objective eps|x0|v`, logged as `loss_units` and named in the labels);
//! a dashed vertical line marks the step of the lowest held-out loss.

use anyhow::{Context, Result};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use std::path::Path;

/// File name of the plot in the run directory.
pub const LOSS_PLOT: &str = "loss.png";

/// The logged losses of a run, one entry per logging step, ascending in step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    /// Steps.
    pub step: Vec<f64>,
    /// Window-mean training loss.
    pub train: Vec<f64>,
    /// Fixed-noise loss on training rows.
    pub train_fixed: Vec<f64>,
    /// Fixed-noise loss on held-out rows.
    pub heldout: Vec<f64>,
    /// The objective whose units the losses are in (`loss_units` of the log; None in logs
    /// older than that key).
    pub units: Option<String>,
}

impl Curves {
    /// Parses `log.jsonl` text. Lines that are not JSON objects with a `step` are skipped; a
    /// step logged twice (a resumed run re-logs the steps after its checkpoint) keeps its
    /// last line; missing losses are NaN (not drawn).
    pub fn parse(text: &str) -> Self {
        let mut rows: Vec<(u64, [f64; 3])> = Vec::new();
        let mut units = None;
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let Some(step) = v.get("step").and_then(serde_json::Value::as_u64) else {
                continue;
            };
            let f = |k: &str| {
                v.get(k)
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN)
            };
            let losses = [f("loss"), f("train_fixed_loss"), f("heldout_loss")];
            if let Some(u) = v.get("loss_units").and_then(serde_json::Value::as_str) {
                units = Some(u.to_string());
            }
            rows.retain(|(s, _)| *s != step);
            rows.push((step, losses));
        }
        rows.sort_by_key(|(s, _)| *s);
        let mut c = Self {
            units,
            ..Self::default()
        };
        for (s, [l, tf, h]) in rows {
            c.step.push(s as f64);
            c.train.push(l);
            c.train_fixed.push(tf);
            c.heldout.push(h);
        }
        c
    }

    /// The step and value of the lowest finite held-out loss (the first on ties).
    pub fn best_heldout(&self) -> Option<(f64, f64)> {
        let finite = self
            .step
            .iter()
            .zip(&self.heldout)
            .filter(|(_, h)| h.is_finite());
        finite.fold(None, |best: Option<(f64, f64)>, (&s, &h)| match best {
            Some((_, b)) if b <= h => best,
            _ => Some((s, h)),
        })
    }

    /// The objective the losses are measured in, for labels: "x0-loss", or "objective loss"
    /// for a log without `loss_units`.
    pub fn loss_name(&self) -> String {
        self.units
            .as_ref()
            .map_or("objective loss".into(), |u| format!("{u}-loss"))
    }

    /// The three curves and the best-step marker as plot series.
    pub fn series(&self) -> Vec<Series> {
        let name = self.loss_name();
        let mut out = vec![
            Series::new(
                format!("{name}, training batches (window mean)"),
                self.step.clone(),
                self.train.clone(),
            ),
            Series::new(
                format!("{name}, training rows, fixed noise"),
                self.step.clone(),
                self.train_fixed.clone(),
            ),
            Series::new(
                format!("{name}, held-out rows, fixed noise"),
                self.step.clone(),
                self.heldout.clone(),
            ),
        ];
        if let Some((step, loss)) = self.best_heldout() {
            let all = self
                .train
                .iter()
                .chain(&self.train_fixed)
                .chain(&self.heldout);
            let positive: Vec<f64> = all.copied().filter(|v| v.is_finite() && *v > 0.0).collect();
            let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = positive.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let label = format!("best held-out: step {step} ({loss:.4})");
            out.push(Series::new(label, vec![step, step], vec![lo, hi]).as_dashed());
        }
        out
    }
}

/// Draws `run_dir/loss.png` from `run_dir/log.jsonl` (nothing to do without a log).
pub fn write_loss_plot(run_dir: &Path) -> Result<()> {
    let log = crate::run::RunDir::at(run_dir).log();
    if !log.exists() {
        return Ok(());
    }
    let text =
        std::fs::read_to_string(&log).with_context(|| format!("cannot read {}", log.display()))?;
    let curves = Curves::parse(&text);
    let y = format!("{} (MSE per coordinate)", curves.loss_name());
    let spec = PlotSpec {
        log_x: true,
        log_y: true,
        ..PlotSpec::new("Denoising loss during training", "step", &y)
    };
    line_plot(&run_dir.join(LOSS_PLOT), &spec, &curves.series())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"step":10,"loss":0.5,"train_fixed_loss":0.4,"heldout_loss":0.45,"loss_units":"x0"}
not json
{"step":20,"loss":0.3,"train_fixed_loss":0.2,"heldout_loss":0.25}
{"step":30,"loss":0.2,"train_fixed_loss":0.1,"heldout_loss":0.3}
{"step":20,"loss":0.31,"train_fixed_loss":0.21,"heldout_loss":0.26}
{"loss":1.0}
"#;

    #[test]
    fn parse_keeps_the_last_line_of_a_step_in_step_order() {
        let c = Curves::parse(LOG);
        assert_eq!(c.step, vec![10.0, 20.0, 30.0]);
        assert_eq!(c.train, vec![0.5, 0.31, 0.2]);
        assert_eq!(c.heldout, vec![0.45, 0.26, 0.3]);
        assert_eq!(c.best_heldout(), Some((20.0, 0.26)));
        assert_eq!(c.units.as_deref(), Some("x0"));
    }

    #[test]
    fn best_step_marker_spans_the_data() {
        let s = Curves::parse(LOG).series();
        assert_eq!(s.len(), 4);
        let mark = &s[3];
        assert!(mark.dashed && mark.label.contains("step 20"));
        // Labels name the objective the losses are in, never a unit they are not in.
        assert_eq!(s[1].label, "x0-loss, training rows, fixed noise");
        let old = Curves::parse(r#"{"step":1,"loss":1,"train_fixed_loss":1,"heldout_loss":1}"#);
        assert_eq!(
            old.series()[2].label,
            "objective loss, held-out rows, fixed noise"
        );
        assert_eq!(mark.x, vec![20.0, 20.0]);
        assert_eq!(mark.y, vec![0.1, 0.5]);
        // No held-out loss yet: no marker.
        assert_eq!(Curves::parse("").series().len(), 3);
    }

    #[test]
    fn plot_is_written_from_the_log() {
        let dir = std::env::temp_dir().join(format!("diffmem-curves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_loss_plot(&dir).unwrap();
        assert!(!dir.join(LOSS_PLOT).exists(), "no log, no plot");
        std::fs::write(crate::run::RunDir::at(&dir).log(), LOG).unwrap();
        write_loss_plot(&dir).unwrap();
        let img = image::open(dir.join(LOSS_PLOT)).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            diffmem_metrics::plot::PLOT_SIZE
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
