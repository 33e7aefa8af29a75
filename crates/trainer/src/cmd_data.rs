//! `diffmem data` (being written).
/// Arguments of `diffmem data`.
#[derive(clap::Args, Debug)]
pub struct DataArgs {}
/// Runs `diffmem data`.
pub fn run(_a: &DataArgs) -> anyhow::Result<()> {
    anyhow::bail!("diffmem data is being written")
}
