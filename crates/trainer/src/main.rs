//! `diffmem`: train DDPM denoisers on datasets of size N and measure memorisation.

mod alloc;
mod cmd;
mod doctor;
mod eval;
mod io;
mod report;
mod reproduce;
mod run;
mod sample;
mod sweep;
mod theory;
mod train;
mod verdict;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// `diffmem --version`: the release and the git commit it was built from (see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("DIFFMEM_GIT_HASH"),
    ")"
);

/// Train DDPM denoisers on datasets of chosen size N and measure how much they memorise.
#[derive(Parser, Debug)]
#[command(name = "diffmem", version = VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a denoiser (or fit an exact one) and draw a sample grid.
    Train(Box<cmd::train::TrainArgs>),
    /// Draw samples from a run.
    Sample(cmd::sample::SampleArgs),
    /// Memorisation and generalisation metrics of a run (metrics.json, CSVs, plots).
    Eval(Box<cmd::eval::EvalArgs>),
    /// Inspect datasets and write sample grids.
    Data(cmd::data::DataArgs),
    /// The exact theory of linear diffusion: curves, critical noise levels, collapse times.
    Theory(cmd::theory::TheoryArgs),
    /// Run a grid of runs (N, model, seed, data...) locally, one task, or as a Slurm array.
    Sweep(Box<cmd::sweep::SweepArgs>),
    /// Merge a sweep's runs into report.csv, plots against N and report.html.
    Report(cmd::report::ReportArgs),
    /// A source paper's experiment: its sweep, figures, claims.json and a summary (--list).
    Reproduce(cmd::reproduce::ReproduceArgs),
    /// Export a run's weights for other frameworks (safetensors, loadable in PyTorch).
    Export(cmd::export::ExportArgs),
    /// List the devices and check that training on one gives what the CPU gives.
    Doctor(cmd::doctor::DoctorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::meta::CompletionsArgs),
    /// Print the man page (roff) of diffmem.
    Man,
}

fn main() -> ExitCode {
    // Large tensors reuse heap memory instead of a fresh mmap per step (see alloc.rs).
    alloc::tune();
    // Before any thread or GPU runtime starts (Mesa's XDG_RUNTIME_DIR complaint).
    diffmem_model::device::quiet_driver_env();
    // A closed stdout (`| head`, `| true`) ends the program quietly, as for any Unix filter,
    // instead of a "Broken pipe" panic.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Err(e) = run::signals::install() {
        eprintln!("warning: {e:#}");
    }
    // On a rayon worker, so each parallel op forks cheaply (see `on_pool`).
    let result = diffmem_model::flex::on_pool(|| match &cli.command {
        Command::Train(a) => cmd::train::run(a),
        Command::Sample(a) => cmd::sample::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Data(a) => cmd::data::run(a),
        Command::Theory(a) => cmd::theory::run(a),
        Command::Sweep(a) => cmd::sweep::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Reproduce(a) => cmd::reproduce::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Doctor(a) => cmd::doctor::run(a),
        Command::Completions(a) => cmd::meta::completions(a, Cli::command()),
        Command::Man => cmd::meta::man(Cli::command()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(i) = e.downcast_ref::<train::Interrupted>() {
                eprintln!("{i}");
                return ExitCode::from(run::signals::exit_code(i.signal) as u8);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
