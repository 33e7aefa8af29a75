// Temporary compile check of eval_spectrum.rs (deleted after use).
#[path = "../src/eval_spectrum.rs"]
mod eval_spectrum;

use clap::Parser;
use diffmem_data::{DataSpec, SubsetSpec, train_and_heldout};
use diffmem_model::burn::prelude::*;
use diffmem_model::denoiser::Empirical;
use diffmem_model::{Diffusion, Objective, Schedule, ScheduleKind};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    spectrum: eval_spectrum::SpectrumArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let device = Device::flex();
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), 1000)?,
        Objective::Eps,
        None,
        &device,
    );
    let spec = DataSpec::parse("manifold:paper,normalize=true")?;
    let (train, held) = train_and_heldout(
        &spec,
        &SubsetSpec {
            heldout_n: 50,
            ..SubsetSpec::new(500)
        },
    )?;
    let model = Empirical::new(&train.samples, train.dim(), &diffusion, 4096, &device);
    let out = std::path::Path::new("/tmp/diffmem-spectrum-check");
    let v = eval_spectrum::run_spectrum(
        &model,
        &diffusion,
        &train,
        &held,
        Some(&train.samples[..30 * 20]),
        &device,
        &cli.spectrum,
        out,
    )?;
    println!("{}", serde_json::to_string(&v["dims"][0])?);
    println!(
        "{}",
        serde_json::to_string_pretty(&v["blocks"])?
            .lines()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}
