//! `diffmem reproduce NAME`: one source paper's experiment (see `crate::reproduce`): writes
//! the shipped sweep file into the output directory, runs it with `diffmem sweep` (which ends
//! with `diffmem report`), decides the claims, draws the figures, writes `claims.json` and
//! prints a one-screen summary. A claim that does not hold is a result, not an error: the exit
//! status is non-zero only when something failed to run.

use crate::cmd::sweep::{self, SweepArgs};
use crate::io::atomic::write_atomic;
use crate::reproduce::{ALL, Context, Reproduction, claims, find};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `diffmem reproduce`.
#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// The reproduction (see --list).
    pub name: Option<String>,
    /// List the reproductions and exit.
    #[arg(long)]
    pub list: bool,
    /// The reduced CI size (its claims use the CI tolerances stated in the sweep file).
    #[arg(long)]
    pub ci: bool,
    /// Grid points run at once.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// CPU threads per run (default: cores / jobs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output directory (default reproductions/NAME, or reproductions/NAME-ci with --ci).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run this sweep file instead of the shipped one (an edited copy of NAME.toml).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Override a sweep value, e.g. `axes.seed=[0]` (repeatable; as `diffmem sweep --set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Only decide the claims from the runs already in the output directory.
    #[arg(long)]
    pub claims_only: bool,
}

/// Runs `diffmem reproduce`.
pub fn run(a: &ReproduceArgs) -> Result<()> {
    if a.list {
        print!("{}", listing());
        return Ok(());
    }
    let Some(name) = a.name.as_deref() else {
        bail!("name a reproduction (diffmem reproduce --list shows them)");
    };
    let Some(r) = find(name) else {
        bail!(
            "no reproduction `{name}`; there are: {}",
            names().join(", ")
        );
    };
    let dir = a.out.clone().unwrap_or_else(|| {
        let leaf = if a.ci {
            format!("{name}-ci")
        } else {
            name.to_string()
        };
        PathBuf::from("reproductions").join(leaf)
    });
    if a.claims_only {
        return judge(r, &dir, a.ci);
    }
    let Err(e) = run_sweep(a, r, &dir) else {
        return judge(r, &dir, a.ci);
    };
    if !dir.join(crate::sweep::RUNS_DIR).is_dir() {
        return Err(e);
    }
    eprintln!("the sweep did not finish: {e:#}\ndeciding the claims from the runs that did");
    judge(r, &dir, a.ci)?;
    Err(e)
}

fn names() -> Vec<&'static str> {
    ALL.iter().map(|r| r.name).collect()
}

/// `--list`: name, paper, what it runs and how complete it is.
pub fn listing() -> String {
    let mut s = String::new();
    for r in &ALL {
        s.push_str(&format!(
            "{:<18} {}\n{:<18} runs: {}\n{:<18} state: {}\n",
            r.name, r.paper, "", r.summary, "", r.state
        ));
    }
    s
}

/// Writes the sweep file into `dir` (unless --spec) and runs the sweep there.
fn run_sweep(a: &ReproduceArgs, r: &Reproduction, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let spec = match &a.spec {
        Some(p) => p.clone(),
        None => {
            let p = dir.join(format!("{}.toml", r.name));
            match std::fs::read_to_string(&p) {
                Ok(text) if text != r.spec => bail!(
                    "{} differs from the shipped sweep file: run your edit with --spec {0}, or \
                     remove it",
                    p.display()
                ),
                Ok(_) => {}
                Err(_) => write_atomic(&p, r.spec.as_bytes())?,
            }
            p
        }
    };
    sweep::run(&SweepArgs {
        spec,
        out: Some(dir.to_path_buf()),
        jobs: a.jobs,
        threads: a.threads,
        ci: a.ci,
        sets: a.sets.clone(),
        ..SweepArgs::default()
    })
}

/// Decides the claims from the runs in `dir`, writes claims.json and prints the summary.
fn judge(r: &Reproduction, dir: &Path, ci: bool) -> Result<()> {
    let runs = crate::report::collect::collect(dir)?;
    let outcome = (r.judge)(&Context {
        dir,
        runs: &runs,
        ci,
    })?;
    claims::write(dir, r.name, ci, &outcome)?;
    print!("{}", claims::summary(r.name, ci, &outcome));
    println!(
        "  wrote {} and {} figure(s) ({}); the sweep's report: {}",
        dir.join("claims.json").display(),
        outcome.figures.len(),
        outcome.figures.join(", "),
        dir.join("report.html").display()
    );
    Ok(())
}
