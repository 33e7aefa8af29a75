//! `diffmem completions SHELL` and `diffmem man`: shell completions (clap_complete) and a
//! roff man page (clap_mangen), generated from the same clap definition as `--help`.
//!
//! Install, e.g.: `diffmem completions bash > ~/.local/share/bash-completion/completions/diffmem`,
//! `diffmem man > ~/.local/share/man/man1/diffmem.1`.

use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;

/// Arguments of `diffmem completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `a.shell` of the command `cmd` to stdout.
pub fn completions(a: &CompletionsArgs, mut cmd: clap::Command) -> Result<()> {
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, name, &mut out);
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the completions to stdout")
}

/// Writes the man page (section 1) of `cmd` to stdout.
pub fn man(cmd: clap::Command) -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("cannot render the man page")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the man page to stdout")
}
