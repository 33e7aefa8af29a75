//! The signals a verdict is decided from, each optional (not measured), read from what a run
//! wrote: `log.jsonl` (training health and the loss trends), `summary.json` (the eps-unit
//! losses at the end of training), `metrics.json` (samples, quality, membership, the loss
//! gap) and its along-training entry (the last snapshot of the default curve).

use crate::io::show::num;
use crate::train::curves::Curves;
use diffmem_metrics::summary::median;
use serde_json::Value;
use std::path::Path;

/// A logged loss curve reduced to its lowest point and its end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    /// The first finite value.
    pub first: f64,
    /// Its step.
    pub first_step: f64,
    /// The lowest finite value.
    pub best: f64,
    /// Its step (the first on ties).
    pub best_step: f64,
    /// The last finite value.
    pub last: f64,
    /// Its step.
    pub last_step: f64,
}

impl Trend {
    /// The trend of `values` at `steps` (ascending), over the finite values; None when none is.
    pub fn of(steps: &[f64], values: &[f64]) -> Option<Self> {
        let finite: Vec<(f64, f64)> = steps
            .iter()
            .zip(values)
            .filter(|(_, v)| v.is_finite())
            .map(|(&s, &v)| (s, v))
            .collect();
        let &(last_step, last) = finite.last()?;
        let (first_step, first) = finite[0];
        let (best_step, best) = finite
            .iter()
            .copied()
            .fold(finite[0], |b, p| if p.1 < b.1 { p } else { b });
        Some(Self {
            first,
            first_step,
            best,
            best_step,
            last,
            last_step,
        })
    }

    /// Whether the curve ends above its first value, later.
    pub fn ended_above_start(&self) -> bool {
        self.first_step < self.last_step && self.last > self.first
    }

    /// Whether the curve ends more than `factor` times its lowest value, after it.
    pub fn rose_by(&self, factor: f64) -> bool {
        self.best_step < self.last_step && self.last > factor * self.best
    }
}

/// Everything the decision table reads; `None` = not measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    /// The model is a closed form of its training set (`empirical`, `linear-exact`): it was
    /// not trained, so its training is healthy by construction.
    pub closed_form: bool,
    /// Logged training losses (window mean, or fixed-noise training rows) that are not finite.
    pub non_finite_losses: Option<usize>,
    /// The fixed-noise training-row loss along training (log.jsonl `train_fixed_loss`).
    pub train_curve: Option<Trend>,
    /// The fixed-noise held-out loss along training (log.jsonl `heldout_loss`).
    pub heldout_curve: Option<Trend>,
    /// Fraction of the evaluation samples that diverged (non-finite or exploding).
    pub diverged: Option<f64>,
    /// Median over the timesteps of the eps-loss per coordinate on training rows (1 at every t
    /// for a model predicting zero noise). The median, not the mean: at the lowest t the eps
    /// error of an x0- or v-model is large however well it is trained, and dominates a mean.
    pub train_loss_eps_median: Option<f64>,
    /// FWD of the samples against held-out data, and its real-vs-real floor.
    pub fwd: Option<(f64, f64)>,
    /// R_mem, the fraction of samples that copy a training image.
    pub r_mem: Option<f64>,
    /// The same ratio test against the held-out set (its control).
    pub r_mem_heldout: Option<f64>,
    /// Fraction of samples nearer a held-out image than every training image, and its value
    /// for samples independent of the training set, N_held / (N_held + N).
    pub closer: Option<(f64, f64)>,
    /// MIA AUC at its best timestep.
    pub mia_auc: Option<f64>,
    /// MIA TPR at 1% FPR at that timestep.
    pub mia_tpr: Option<f64>,
    /// Non-members the attack saw.
    pub mia_rows: Option<usize>,
    /// Mean over t of (held-out(t) - train(t)) / held-out(t) (`eval::loss::normalised_gap`).
    pub normalised_gap: Option<f64>,
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// The default curve of an along-training entry (`curves.raw|ema|fitted` named by
/// `default_weights`).
pub fn default_curve(d: &Value) -> &Value {
    &d["curves"][d["default_weights"].as_str().unwrap_or("raw")]
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

impl Signals {
    /// `self` with each signal it lacks taken from `other` (closed form if either says so).
    pub fn or(self, o: Self) -> Self {
        Self {
            closed_form: self.closed_form || o.closed_form,
            non_finite_losses: self.non_finite_losses.or(o.non_finite_losses),
            train_curve: self.train_curve.or(o.train_curve),
            heldout_curve: self.heldout_curve.or(o.heldout_curve),
            diverged: self.diverged.or(o.diverged),
            train_loss_eps_median: self.train_loss_eps_median.or(o.train_loss_eps_median),
            fwd: self.fwd.or(o.fwd),
            r_mem: self.r_mem.or(o.r_mem),
            r_mem_heldout: self.r_mem_heldout.or(o.r_mem_heldout),
            closer: self.closer.or(o.closer),
            mia_auc: self.mia_auc.or(o.mia_auc),
            mia_tpr: self.mia_tpr.or(o.mia_tpr),
            mia_rows: self.mia_rows.or(o.mia_rows),
            normalised_gap: self.normalised_gap.or(o.normalised_gap),
        }
    }

    /// Training health and loss trends from the text of a `log.jsonl`: the non-finite window
    /// and training-row losses (a held-out loss is absent without a held-out set, so it does
    /// not count), both fixed-noise curves, and the last logged normalised gap and median
    /// eps-loss on training rows.
    pub fn from_log(text: &str) -> Self {
        let mut non_finite = 0;
        let (mut gap, mut eps_median) = (None, None);
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            for key in ["loss", "train_fixed_loss"] {
                if v.get(key).is_some_and(|x| f(x).is_none()) {
                    non_finite += 1;
                }
            }
            if let Some(g) = v.get("normalised_gap").and_then(f) {
                gap = Some(g);
            }
            if let Some(m) = v.get("train_fixed_loss_eps_median").and_then(f) {
                eps_median = Some(m);
            }
        }
        let c = Curves::parse(text);
        if c.step.is_empty() {
            return Self::default();
        }
        Self {
            non_finite_losses: Some(non_finite),
            train_curve: Trend::of(&c.step, &c.train_fixed),
            heldout_curve: Trend::of(&c.step, &c.heldout),
            normalised_gap: gap,
            train_loss_eps_median: eps_median,
            ..Self::default()
        }
    }

    /// [`Signals::from_log`] of the file at `path` (nothing when it cannot be read).
    pub fn of_log_file(path: &Path) -> Self {
        std::fs::read_to_string(path)
            .map(|t| Self::from_log(&t))
            .unwrap_or_default()
    }

    /// The signals of a `summary.json` (train's): a closed-form model, and the eps-unit
    /// training-row loss at the end of training.
    pub fn from_summary(v: &Value) -> Self {
        Self {
            closed_form: v["trained"]
                .as_str()
                .is_some_and(|t| t.starts_with("closed form")),
            train_loss_eps_median: f(&v["train_fixed_loss_eps_median"]),
            normalised_gap: f(&v["normalised_gap"]),
            ..Self::default()
        }
    }

    /// [`Signals::from_summary`] of the file at `path` (nothing when it cannot be read).
    pub fn of_summary_file(path: &Path) -> Self {
        read_json(path)
            .map(|v| Self::from_summary(&v))
            .unwrap_or_default()
    }

    /// The signals of a metrics.json document: samples (health, R_mem and its controls),
    /// quality, MIA and the loss; the along-training entry fills what the plain metrics lack.
    pub fn from_metrics(doc: &Value) -> Self {
        let m = &doc["metrics"];
        let h = &doc["sample_health"];
        let bad = h["non_finite"].as_u64().zip(h["exploding"].as_u64());
        let num_samples = h["num_samples"].as_u64().filter(|&n| n > 0);
        let expected = f(&doc["n_heldout"])
            .zip(f(&doc["n_train"]))
            .filter(|(h, _)| *h > 0.0)
            .map(|(h, n)| h / (h + n));
        let q = &m["quality"]["fwd"];
        let s = Self {
            closed_form: doc["weights"]["kind"] == "fitted",
            diverged: bad
                .zip(num_samples)
                .map(|((a, b), n)| (a + b) as f64 / n as f64),
            train_loss_eps_median: m["loss"]["train_loss"]
                .as_array()
                .and_then(|a| median(&a.iter().filter_map(Value::as_f64).collect::<Vec<_>>())),
            fwd: f(&q["samples"]["value"]).zip(f(&q["floor"]["value"])),
            r_mem: f(&m["mem"]["r_mem"]),
            r_mem_heldout: f(&m["mem"]["heldout"]["r_mem_heldout"]),
            closer: f(&m["mem"]["heldout"]["frac_closer_to_heldout"]).zip(expected),
            mia_auc: f(&m["mia"]["best"]["auc"]),
            mia_tpr: f(&m["mia"]["best"]["tpr_at_fpr"]),
            mia_rows: m["mia"]["rows_per_set"].as_u64().map(|n| n as usize),
            normalised_gap: f(&m["loss"]["normalised_gap"]),
            ..Self::default()
        };
        match m.get("dynamics") {
            Some(d) => s.or(Self::from_dynamics(d)),
            None => s,
        }
    }

    /// The signals of the last snapshot of an along-training evaluation (`metrics.dynamics`):
    /// the `final_*` values of its default curve.
    pub fn from_dynamics(d: &Value) -> Self {
        let c = default_curve(d);
        Self {
            closed_form: d["default_weights"] == "fitted",
            fwd: f(&c["final_fwd"]).zip(f(&d["optional"]["fwd_floor"])),
            r_mem: f(&c["final_r_mem"]),
            mia_auc: f(&c["final_mia_auc"]),
            ..Self::default()
        }
    }

    /// Every measured number, as evidence phrases (for "undecided" and "generalises").
    pub fn measured(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.closed_form {
            out.push("fitted in closed form (no training)".to_string());
        }
        if let Some(r) = self.r_mem {
            out.push(format!("R_mem {}", num(r)));
        }
        if let Some((c, e)) = self.closer {
            out.push(format!(
                "{} of samples nearer a held-out image ({} if independent)",
                super::pct(c),
                super::pct(e)
            ));
        }
        if let Some(a) = self.mia_auc {
            out.push(format!("MIA AUC {}", num(a)));
        }
        if let Some((v, fl)) = self.fwd {
            out.push(format!("FWD {} (floor {})", num(v), num(fl)));
        }
        if let Some(g) = self.normalised_gap {
            out.push(format!("normalised loss gap {}", num(g)));
        }
        if let Some(l) = self.train_loss_eps_median {
            out.push(format!("median eps-loss on training rows {}", num(l)));
        }
        if let Some(c) = self.heldout_curve {
            out.push(format!(
                "held-out loss lowest {} at step {}, last {}",
                num(c.best),
                c.best_step,
                num(c.last)
            ));
        }
        out
    }
}
