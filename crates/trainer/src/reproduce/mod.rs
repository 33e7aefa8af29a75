//! `diffmem reproduce NAME`: the experiments of the source papers, each as a sweep file shipped
//! in the binary (scripts/reproduce/NAME.toml, copied into the output directory so a user can
//! edit and rerun it), run by `diffmem sweep`, reported by `diffmem report`, and then judged
//! by one module per reproduction that turns the runs' metrics into claims ([`claims`]) and
//! draws the paper-style figures.
//!
//! - [`merger_goldt`]: trained linear denoisers on Gaussian data against the exact theory
//!   (Merger & Goldt, arXiv 2505.24769), with three panels of its open questions (an MLP, early
//!   stopping, the spectrum exponent), each a sweep of its own ([`Panel`]);
//! - [`achilli_manifold`]: block collapse on the linear manifold (Achilli et al., arXiv
//!   2410.08727), with the paper's panel of normalised singular values ([`achilli_spectrum`]);
//! - [`achilli_mnist`]: latent dimension of the learned score against N on MNIST (same paper);
//! - [`bonnaire`]: tau_mem and tau_gen against N (Bonnaire et al., arXiv 2505.17638), on
//!   MNIST and, as a panel, on their Gaussian mixture.

pub mod achilli_manifold;
pub mod achilli_mnist;
pub mod achilli_spectrum;
pub mod bonnaire;
pub mod claims;
pub mod figure;
pub mod growth;
pub mod isotropic_c;
pub mod merger_goldt;
pub mod records;

use crate::report::collect::RunRecord;
use anyhow::Result;
use claims::{Claim, Outcome};
use std::path::Path;

/// What a reproduction's judge sees: its directory, the collected runs and the size.
pub struct Context<'a> {
    /// The reproduction's directory (the sweep directory).
    pub dir: &'a Path,
    /// The sweep's runs (every run under runs/, with its metrics).
    pub runs: &'a [RunRecord],
    /// Whether this is the reduced CI size (its tolerances are the CI ones).
    pub ci: bool,
}

impl Context<'_> {
    /// The runs of panel `name` (its sweep directory `dir/name`); empty when it was not run.
    pub fn panel_runs(&self, name: &str) -> Result<Vec<RunRecord>> {
        let dir = self.dir.join(name);
        if !dir.join(crate::sweep::RUNS_DIR).is_dir() {
            return Ok(Vec::new());
        }
        crate::report::collect::collect(&dir)
    }
}

/// A further sweep of a reproduction (one panel of the paper's figure), run into its own
/// directory `DIR/NAME` after the main sweep and judged with it.
pub struct Panel {
    /// Its directory under the reproduction's and its name for `--only`.
    pub name: &'static str,
    /// The sweep file (scripts/reproduce/REPRODUCTION-NAME.toml).
    pub spec: &'static str,
}

impl Panel {
    /// The file name of its sweep file in its directory.
    pub fn file_name(&self, reproduction: &str) -> String {
        format!("{reproduction}-{}.toml", self.name)
    }
}

/// The claim standing for the claims of `panel` of `reproduction` when it left no runs:
/// not measured (a missing measurement never holds), with the command that runs it.
pub fn panel_not_run(ctx: &Context, reproduction: &str, source: &str, panel: &Panel) -> Claim {
    Claim::decided(
        format!("panel-{}", panel.name),
        format!("the {} panel's claims", panel.name),
        source,
        None,
    )
    .with_note(format!(
        "no runs in {}: run `diffmem reproduce {reproduction} --only {}`",
        ctx.dir.join(panel.name).display(),
        panel.name
    ))
}

/// One reproduction: its sweep file and its judge.
pub struct Reproduction {
    /// Name on the command line.
    pub name: &'static str,
    /// The paper it reproduces.
    pub paper: &'static str,
    /// What the full size runs, in one line.
    pub summary: &'static str,
    /// How complete this version is (shown by `--list`).
    pub state: &'static str,
    /// The sweep file (scripts/reproduce/NAME.toml).
    pub spec: &'static str,
    /// Further sweeps run after the main one (none for most).
    pub panels: &'static [Panel],
    /// Decides the claims and writes the figures.
    pub judge: fn(&Context) -> Result<Outcome>,
}

/// Every reproduction, in the order `--list` prints them.
pub const ALL: [Reproduction; 4] = [
    merger_goldt::REPRODUCTION,
    achilli_manifold::REPRODUCTION,
    achilli_mnist::REPRODUCTION,
    bonnaire::REPRODUCTION,
];

/// The reproduction called `name`.
pub fn find(name: &str) -> Option<&'static Reproduction> {
    ALL.iter().find(|r| r.name == name)
}

/// Other names `--only` accepts for a reproduction's main sweep (its data, where a panel
/// runs other data).
const MAIN_ALIASES: [(&str, &str); 1] = [(bonnaire::REPRODUCTION.name, bonnaire::MAIN_ALIAS)];

impl Reproduction {
    /// The names of its main sweep for `--only`: `main` and, for some, the name of its data.
    pub fn main_names(&self) -> Vec<&'static str> {
        let alias = MAIN_ALIASES.iter().filter(|(r, _)| *r == self.name);
        std::iter::once("main").chain(alias.map(|a| a.1)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_sweep_file_parses_at_both_sizes() {
        for r in &ALL {
            let panels = r.panels.iter().map(|p| (p.file_name(r.name), p.spec));
            for (name, text) in std::iter::once((r.name.to_string(), r.spec)).chain(panels) {
                for ci in [false, true] {
                    let root: toml::Table = toml::from_str(text).unwrap();
                    let spec =
                        crate::sweep::spec::SweepSpec::from_table(root, &name, ci, &[], &name)
                            .unwrap_or_else(|e| panic!("{name} (ci {ci}): {e:#}"));
                    crate::sweep::grid::expand(&spec)
                        .unwrap_or_else(|e| panic!("{name} (ci {ci}): {e:#}"));
                }
            }
        }
        assert!(find("merger-goldt").is_some() && find("nope").is_none());
        assert_eq!(find("bonnaire").unwrap().main_names(), ["main", "mnist"]);
        assert_eq!(find("merger-goldt").unwrap().main_names(), ["main"]);
    }
}
