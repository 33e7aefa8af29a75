//! `diffmem`: train DDPM denoisers on datasets of size N and measure memorisation.

mod batches;
mod checkpoint;
mod cmd_data;
mod cmd_eval;
mod cmd_report;
mod cmd_sample;
mod cmd_sweep;
mod cmd_theory;
mod cmd_train;
mod config;
mod csv;
mod eval_gaussian;
mod eval_loss;
mod eval_memorization;
mod eval_spectrum;
mod fsutil;
mod npy;
mod progress;
mod report;
mod run;
mod rundata;
mod sampling;
mod schedule_lr;
mod sweep;
mod train_loop;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Train DDPM denoisers on datasets of chosen size N and measure how much they memorise.
#[derive(Parser, Debug)]
#[command(name = "diffmem", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a denoiser (or fit an exact one) and draw a sample grid.
    Train(Box<cmd_train::TrainArgs>),
    /// Draw samples from a run.
    Sample(cmd_sample::SampleArgs),
    /// Memorisation and generalisation metrics of a run (metrics.json, CSVs, plots).
    Eval(Box<cmd_eval::EvalArgs>),
    /// Inspect datasets and write sample grids.
    Data(cmd_data::DataArgs),
    /// The exact theory of linear diffusion: curves, critical noise levels, collapse times.
    Theory(cmd_theory::TheoryArgs),
    /// Run a grid of runs (N, model, seed, data...) locally, one task, or as a Slurm array.
    Sweep(Box<cmd_sweep::SweepArgs>),
    /// Merge a sweep's runs into report.csv, plots against N and report.html.
    Report(cmd_report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Train(a) => cmd_train::run(a),
        Command::Sample(a) => cmd_sample::run(a),
        Command::Eval(a) => cmd_eval::run(a),
        Command::Data(a) => cmd_data::run(a),
        Command::Theory(a) => cmd_theory::run(a),
        Command::Sweep(a) => cmd_sweep::run(a),
        Command::Report(a) => cmd_report::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(i) = e.downcast_ref::<cmd_train::Interrupted>() {
                eprintln!("{i}");
                return ExitCode::from(130);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
