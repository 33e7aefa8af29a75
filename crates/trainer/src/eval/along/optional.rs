//! The optional per-snapshot metrics of `eval --along-training`, each reusing its plain
//! metric's code: `quality` (the FWD of the snapshot's samples against the held-out set,
//! `eval/quality.rs`), `gaussian` (the KL of the samples' Gaussian fit to the true Gaussian of
//! synthetic data, `eval/gaussian.rs`) and `mia` (the membership-inference AUC at its best
//! timestep from per-example losses, `eval/mia.rs`, on up to `--loss-rows` rows per set).

use super::args::DynamicsInputs;
use super::rows::Row;
use crate::eval::paired::PairedRows;
use crate::eval::{Metric, gaussian, mia, quality};
use crate::run::LoadedRun;
use anyhow::Result;
use diffmem_metrics::gaussian::Gaussian;
use serde_json::{Value, json};

/// What the optional metrics prepare once for every snapshot.
pub struct Optional {
    /// The held-out reference of the FWD (`quality`).
    quality: Option<quality::Reference>,
    /// The FWD of training rows against the same held-out rows: the real-vs-real floor.
    fwd_floor: Option<f64>,
    /// The true Gaussian (`gaussian`).
    truth: Option<Gaussian>,
    /// Whether the attack is measured (`mia`).
    mia: bool,
}

impl Optional {
    /// Prepares the metrics of `inp.metrics` that are measured per snapshot; an error naming
    /// the flag when the run cannot give one.
    pub fn prepare(r: &LoadedRun, inp: &DynamicsInputs<'_>) -> Result<Self> {
        let has = |m| inp.metrics.contains(&m);
        let quality = has(Metric::Quality)
            .then(|| quality::Reference::new(inp.section.num, &r.train, &r.heldout))
            .transpose()?;
        let fwd_floor = match &quality {
            Some(q) => Some(q.fwd(&q.floor_rows(&r.train))?.value),
            None => None,
        };
        let truth = has(Metric::Gaussian)
            .then(|| gaussian::true_gaussian(&r.train, "--metrics gaussian"))
            .transpose()?;
        Ok(Optional {
            quality,
            fwd_floor,
            truth,
            mia: has(Metric::Mia),
        })
    }

    /// Whether a metric here looks at the snapshot's samples.
    pub fn needs_samples(&self) -> bool {
        self.quality.is_some() || self.truth.is_some()
    }

    /// Measures the prepared metrics of the denoiser now in `r` into `row`.
    pub fn measure(
        &self,
        r: &LoadedRun,
        inp: &DynamicsInputs<'_>,
        samples: &[f32],
        row: &mut Row,
    ) -> Result<()> {
        if let Some(q) = &self.quality {
            row.fwd = Some(q.fwd(samples)?.value);
        }
        if let Some(t) = &self.truth {
            row.kl_samples = gaussian::samples_kl(samples, t)?;
        }
        if self.mia {
            let a = mia::attack(&PairedRows::of_run(r, inp.loss_points, inp.loss_rows))?;
            row.mia_auc = Some(a.aucs[a.best]);
            row.mia_tpr = Some(a.tprs[a.best]);
            row.mia_t = Some(a.paper_t[a.best]);
        }
        Ok(())
    }

    /// The FWD of training rows against the held-out rows (when `quality` is measured).
    pub fn fwd_floor(&self) -> Option<f64> {
        self.fwd_floor
    }

    /// The settings of the optional metrics for metrics.json.
    pub fn json(&self) -> Value {
        json!({
            "fwd_rows": self.quality.as_ref().map(|q| q.m),
            "fwd_floor": self.fwd_floor,
            "mia_fpr": self.mia.then_some(mia::FPR),
        })
    }
}
