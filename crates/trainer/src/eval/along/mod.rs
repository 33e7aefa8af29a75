//! `diffmem eval RUN --along-training`: every snapshot of `train --snapshots K`
//! (`run/snapshots.rs`) evaluated with the same sampler noise, its raw weights (the default
//! curve: an EMA lags and hides the onset) and its EMA. Per snapshot: R_mem with a bootstrap
//! 95% interval, mean d1 to the training and held-out sets, train and held-out loss and their
//! gap, and with `--against RUN2` the sample agreement and the score-level agreement with
//! RUN2's snapshot at the same step; with `quality`, `gaussian`, `mia` the FWD, the samples'
//! KL and the MIA AUC (`optional.rs`). From the curves, tau_mem and tau_gen
//! (`diffmem_metrics::dynamics`), and for a `linear` run on Gaussian data the gradient-flow
//! theory with a fitted clock (`theory.rs`). Writes `dynamics.csv`, the figures
//! `dynamics*.png` and the `dynamics` entry of `metrics.json` (schema: docs/metrics.md).
//!
//! An exact model (`empirical`, `linear-exact`) is the same closed form at every step: it is
//! evaluated once, and that row stands for every step of the run's snapshot schedule.

//!
//! Layout: `args.rs` (flags and inputs) and `rows.rs` (rows and curves) are the types; `run.rs`
//! measures, `optional.rs`, `points.rs` and `theory.rs` add their measurements, `out.rs`,
//! `plot.rs` and `panels.rs` write. Types import nothing from the files that use them.

pub mod args;
pub mod optional;
pub mod out;
pub mod panels;
pub mod plot;
pub mod points;
pub mod rows;
pub mod run;
pub mod theory;

pub use args::{ALONG_TRAINING, DynamicsArgs, DynamicsInputs};
pub use run::{carry_over, record, run};
