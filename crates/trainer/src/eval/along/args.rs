//! The flags and inputs of `eval --along-training` (the types every other file here reads).

use crate::eval::Metric;
use crate::io::progress::Verbosity;
use crate::run::config::SampleSection;
use std::path::Path;

/// Flags of `diffmem eval --along-training`.
#[derive(clap::Args, Debug, Clone)]
pub struct DynamicsArgs {
    /// Evaluate every snapshot of `train --snapshots K` (raw and EMA weights, the same sampler
    /// noise): dynamics.csv, dynamics.png, tau_mem and tau_gen. Metrics: mem, loss, agree,
    /// quality (FWD), gaussian (KL of the samples' fit), mia (best-t AUC); for a `linear` run
    /// on Gaussian data also the gradient-flow theory with a fitted clock.
    #[arg(long)]
    pub along_training: bool,
    /// tau_mem: the R_mem level whose first crossing marks the onset of memorisation.
    #[arg(long, default_value_t = 0.1, value_parser = crate::io::range::positive_f64)]
    pub tau_mem_threshold: f64,
    /// tau_gen: held-out loss within this relative tolerance of its lowest value.
    #[arg(long, default_value_t = 0.05, value_parser = crate::io::range::non_negative_f64)]
    pub tau_gen_tolerance: f64,
    /// Bootstrap resamples for the intervals of R_mem and tau_mem.
    #[arg(long, default_value_t = 1000, value_parser = crate::io::range::positive_usize)]
    pub bootstrap: usize,
}

/// The metrics measured per snapshot.
pub const ALONG_TRAINING: [Metric; 7] = [
    Metric::Mem,
    Metric::Loss,
    Metric::Agree,
    Metric::Quality,
    Metric::Gaussian,
    Metric::Mia,
    Metric::Points,
];

/// What an along-training evaluation needs besides the run.
pub struct DynamicsInputs<'a> {
    /// The metrics asked for (of [`ALONG_TRAINING`]).
    pub metrics: &'a [Metric],
    /// How samples are drawn (the same seed for every snapshot).
    pub section: &'a SampleSection,
    /// Output directory.
    pub out: &'a Path,
    /// Memorisation threshold on d1/d2.
    pub threshold: f64,
    /// Timesteps of the loss curves.
    pub loss_points: usize,
    /// Rows per set of the loss curves.
    pub loss_rows: usize,
    /// Second run for the agreements.
    pub against: Option<&'a Path>,
    /// The flags above.
    pub args: &'a DynamicsArgs,
    /// How progress shows (`--quiet`, `--plain`).
    pub progress: Verbosity,
}
