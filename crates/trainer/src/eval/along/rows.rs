//! The results of `eval --along-training`: one [`Row`] per snapshot and weight kind, grouped
//! into [`Curve`]s (raw, EMA, or the fitted exact model) with their tau_mem and tau_gen.

use super::args::DynamicsArgs;
use crate::eval::score_agreement::ScoreAgreement;
use diffmem_metrics::dynamics::{Interval, tau_gen_joint, tau_mem};
use serde_json::{Value, json};

/// Which weights a row was measured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightKind {
    /// A snapshot's raw (last optimiser step) weights: the default curve, since an EMA lags
    /// and hides the onset of memorisation.
    Raw,
    /// A snapshot's EMA weights.
    Ema,
    /// The closed form of an exact model (`empirical`, `linear-exact`), the same at every step.
    Fitted,
}

impl WeightKind {
    /// Every kind, in the order the curves are listed.
    pub const ALL: [WeightKind; 3] = [WeightKind::Raw, WeightKind::Ema, WeightKind::Fitted];

    /// `raw`, `ema` or `fitted`: the curve's key in metrics.json and its label in figures.
    pub fn name(self) -> &'static str {
        match self {
            WeightKind::Raw => "raw",
            WeightKind::Ema => "ema",
            WeightKind::Fitted => "fitted",
        }
    }
}

impl std::str::FromStr for WeightKind {
    type Err = String;

    /// The inverse of [`WeightKind::name`] (how `dynamics.csv` is read back).
    fn from_str(s: &str) -> Result<Self, String> {
        WeightKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown weight kind `{s}` (raw, ema or fitted)"))
    }
}

impl std::fmt::Display for WeightKind {
    /// The [`WeightKind::name`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One snapshot evaluated with one kind of weights.
#[derive(Clone, Debug)]
pub struct Row {
    /// Optimisation step of the snapshot.
    pub step: usize,
    /// `raw`, `ema` or `fitted`.
    pub kind: WeightKind,
    /// Whether each sample is memorised (d1/d2 below the threshold), in sample order.
    pub flags: Vec<bool>,
    /// R_mem.
    pub r_mem: Option<f64>,
    /// Its bootstrap 95% interval.
    pub r_mem_interval: Option<Interval>,
    /// Mean d1 to the training set.
    pub d1_train: Option<f64>,
    /// Mean d1 to the held-out set.
    pub d1_heldout: Option<f64>,
    /// Mean (over the loss timesteps) training loss.
    pub train_loss: Option<f64>,
    /// Mean held-out loss.
    pub heldout_loss: Option<f64>,
    /// Mean sample cosine with the second run at the same step.
    pub agree: Option<f64>,
    /// Score-level agreement with the second run at the same step.
    pub score: Option<ScoreAgreement>,
    /// FWD of the samples against the held-out set (`quality`).
    pub fwd: Option<f64>,
    /// KL of the samples' Gaussian fit to the true Gaussian (`gaussian`; None: singular fit).
    pub kl_samples: Option<f64>,
    /// Membership-inference AUC at its best timestep (`mia`).
    pub mia_auc: Option<f64>,
    /// TPR at 1% FPR at that timestep.
    pub mia_tpr: Option<f64>,
    /// That paper timestep.
    pub mia_t: Option<usize>,
}

impl Row {
    /// An empty row of `step` and `kind`.
    pub fn new(step: usize, kind: WeightKind) -> Self {
        Self {
            step,
            kind,
            flags: Vec::new(),
            r_mem: None,
            r_mem_interval: None,
            d1_train: None,
            d1_heldout: None,
            train_loss: None,
            heldout_loss: None,
            agree: None,
            score: None,
            fwd: None,
            kl_samples: None,
            mia_auc: None,
            mia_tpr: None,
            mia_t: None,
        }
    }

    /// Held-out minus training loss.
    pub fn gap(&self) -> Option<f64> {
        Some(self.heldout_loss? - self.train_loss?)
    }
}

/// The rows of one weight kind, by step, with their onset times.
pub struct Curve {
    /// `raw`, `ema` or `fitted`.
    pub kind: WeightKind,
    /// Rows by increasing step.
    pub rows: Vec<Row>,
    /// tau_mem (None: not reached, or no mem metric).
    pub tau_mem: Option<f64>,
    /// Its bootstrap interval.
    pub tau_mem_interval: Interval,
    /// tau_gen (None: no loss or quality metric).
    pub tau_gen: Option<usize>,
    /// Step of the lowest held-out loss.
    pub best_heldout_step: Option<usize>,
    /// Step of the highest held-out score agreement.
    pub score_peak_step: Option<usize>,
}

/// Step of the row with the largest `key` (finite values only).
fn argmax(rows: &[Row], key: impl Fn(&Row) -> Option<f64>) -> Option<usize> {
    rows.iter()
        .filter_map(|r| key(r).filter(|v| v.is_finite()).map(|v| (r.step, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(s, _)| s)
}

impl Curve {
    /// Groups rows by kind (raw first, then ema, then fitted) and computes the onset times.
    pub fn split(rows: Vec<Row>, args: &DynamicsArgs, res: &[Vec<usize>]) -> Vec<Curve> {
        WeightKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let mut rows: Vec<Row> = rows.iter().filter(|r| r.kind == kind).cloned().collect();
                if rows.is_empty() {
                    return None;
                }
                rows.sort_by_key(|r| r.step);
                Some(Curve::of(kind, rows, args, res))
            })
            .collect()
    }

    fn of(kind: WeightKind, rows: Vec<Row>, args: &DynamicsArgs, res: &[Vec<usize>]) -> Self {
        let steps: Vec<usize> = rows.iter().map(|r| r.step).collect();
        let has_mem = rows.iter().all(|r| !r.flags.is_empty());
        let (tau, iv) = if has_mem {
            let flags: Vec<Vec<bool>> = rows.iter().map(|r| r.flags.clone()).collect();
            tau_mem(&steps, &flags, args.tau_mem_threshold, res, 0.95)
        } else {
            (None, Interval { lo: None, hi: None })
        };
        let column = |f: fn(&Row) -> Option<f64>| -> Vec<f64> {
            rows.iter().map(|r| f(r).unwrap_or(f64::NAN)).collect()
        };
        let (held, fwd) = (column(|r| r.heldout_loss), column(|r| r.fwd));
        Curve {
            kind,
            tau_mem: tau,
            tau_mem_interval: iv,
            tau_gen: tau_gen_joint(&steps, &[&held, &fwd], args.tau_gen_tolerance),
            best_heldout_step: argmax(&rows, |r| r.heldout_loss.map(|l| -l)),
            score_peak_step: argmax(&rows, |r| {
                r.score.as_ref().map(ScoreAgreement::heldout_mean)
            }),
            rows,
        }
    }

    /// The curve's entry of metrics.json.
    pub fn json(&self) -> Value {
        let last = self.rows.last();
        json!({
            "tau_mem": self.tau_mem,
            // Without R_mem (no `mem` in --metrics) tau_mem is unknown, not "not reached".
            "tau_mem_reached": self.rows.iter().any(|r| r.r_mem.is_some()).then_some(self.tau_mem.is_some()),
            "tau_mem_lo": self.tau_mem_interval.lo,
            "tau_mem_hi": self.tau_mem_interval.hi,
            "tau_gen": self.tau_gen,
            "best_heldout_step": self.best_heldout_step,
            "score_peak_step": self.score_peak_step,
            "final_r_mem": last.and_then(|r| r.r_mem),
            "final_heldout_loss": last.and_then(|r| r.heldout_loss),
            "final_fwd": last.and_then(|r| r.fwd),
            "final_mia_auc": last.and_then(|r| r.mia_auc),
        })
    }
}
