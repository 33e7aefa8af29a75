//! `diffmem theory`: the exact theory of linear diffusion as a calculator (docs/theory.md §1-§3).
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

use anyhow::Result;

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
