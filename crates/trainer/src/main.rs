//! `diffmem`: train DDPM denoisers on datasets of size N and measure memorisation.

mod cmd_data;
mod cmd_theory;

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
    /// Inspect datasets and write sample grids.
    Data(cmd_data::DataArgs),
    /// The exact theory of linear diffusion: curves, critical noise levels, collapse times.
    Theory(cmd_theory::TheoryArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Data(a) => cmd_data::run(a),
        Command::Theory(a) => cmd_theory::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
