//! `diffmem theory`: the exact theory of linear diffusion as a calculator (THEORY.md §1-§3).
//!
//! - `linear`: curves over N of train/test loss, gap, KL(rho_N || rho) and c for the optimal
//!   linear denoiser (Merger & Goldt, arXiv 2505.24769);
//! - `flow`: the early-stopping picture, gradient-flow time tau at fixed N;
//! - `critical`: critical noise levels of geometric memorisation (Achilli et al.,
//!   arXiv 2410.08727);
//! - `collapse`: collapse and speciation times (Biroli et al., arXiv 2402.18491);
//! - `check RUN`: a trained `linear` / `linear-exact` run against the theory on its own
//!   training set.
//!
//! Every command prints a table (or JSON with `--json`) and writes CSV and PNG files to `--out`.

use crate::theory::{check, collapse, critical, flow, linear};

use anyhow::{Context, Result};
use diffmem_metrics::theory::Schedule;

/// Arguments of `diffmem theory`.
#[derive(clap::Args, Debug)]
pub struct TheoryArgs {
    /// Which calculation.
    #[command(subcommand)]
    pub command: TheoryCommand,
}

/// The `diffmem theory` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TheoryCommand {
    /// Linear diffusion: train/test loss, gap, KL and c versus training-set size N.
    Linear(linear::LinearArgs),
    /// Early stopping: gradient-flow time tau versus c, KL and losses at fixed N.
    Flow(flow::FlowArgs),
    /// Critical noise levels per data direction (geometric memorisation).
    Critical(critical::CriticalArgs),
    /// Collapse and speciation times versus N.
    Collapse(collapse::CollapseArgs),
    /// A trained linear run against the theory: W_t versus W_t*, samples versus the exact
    /// sampled Gaussian.
    Check(check::CheckArgs),
}

/// Runs `diffmem theory`.
pub fn run(a: &TheoryArgs) -> Result<()> {
    match &a.command {
        TheoryCommand::Linear(a) => linear::run(a),
        TheoryCommand::Flow(a) => flow::run(a),
        TheoryCommand::Critical(a) => critical::run(a),
        TheoryCommand::Collapse(a) => collapse::run(a),
        TheoryCommand::Check(a) => check::run(a),
    }
}

/// The linear beta schedule flags shared by the theory commands (Merger & Goldt defaults);
/// `--beta-1`, `--beta-T` and `--timesteps` (the `train` spellings) are accepted too.
#[derive(clap::Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// First beta (t = 1).
    #[arg(long = "beta1", alias = "beta-1", default_value_t = 1e-4)]
    pub beta1: f64,
    /// Last beta (t = T).
    #[arg(long = "betaT", alias = "beta-T", default_value_t = 1e-2)]
    pub beta_t: f64,
    /// Number of diffusion steps T.
    #[arg(long = "T", alias = "timesteps", default_value_t = 1000)]
    pub t_max: usize,
}

impl ScheduleArgs {
    /// The float64 schedule.
    pub fn schedule(&self) -> Result<Schedule> {
        Ok(Schedule::linear(self.beta1, self.beta_t, self.t_max)?)
    }

    /// `linear 1e-4..1e-2, T = 1000`.
    pub fn describe(&self) -> String {
        format!(
            "linear beta {}..{}, T = {}",
            self.beta1, self.beta_t, self.t_max
        )
    }
}

/// The eigenvalues of a `--spectrum` recipe in dimension `d` (the data crate's grammar:
/// `power:K`, `list:a,b,...`).
pub fn spectrum(spec: &str, d: usize) -> Result<Vec<f64>> {
    diffmem_data::synthetic::parse_spectrum(spec, d)
        .with_context(|| format!("bad --spectrum `{spec}` for d = {d}"))
}
