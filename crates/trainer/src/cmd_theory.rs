//! `diffmem theory` (being written).
/// Arguments of `diffmem theory`.
#[derive(clap::Args, Debug)]
pub struct TheoryArgs {}
/// Runs `diffmem theory`.
pub fn run(_a: &TheoryArgs) -> anyhow::Result<()> {
    anyhow::bail!("diffmem theory is being written")
}
