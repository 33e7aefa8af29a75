//! `diffmem reproduce NAME`: one source paper's experiment (see `crate::reproduce`): writes
//! the shipped sweep file into the output directory, runs it with `diffmem sweep` (which ends
//! with `diffmem report`), then each panel's sweep into its own directory under it, decides
//! the claims, draws the figures, writes `claims.json` and prints a one-screen summary. A claim that does not hold is a result, not an error: the exit
//! status is non-zero only when something failed to run.

use crate::cmd::sweep::{self, SweepArgs};
use crate::io::atomic::write_atomic;
use crate::reproduce::{ALL, Context, Panel, Reproduction, claims, find};
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
    /// Run this sweep file instead of the shipped one (an edited copy of NAME.toml); the
    /// panels are not run then.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Run only these parts: `main` (the main sweep; bonnaire's is also called `mnist`) or a
    /// panel's name (repeatable; default all; the claims are decided from every part found in
    /// the output directory).
    #[arg(long, value_name = "PART")]
    pub only: Vec<String>,
    /// Override a sweep value, e.g. `axes.seed=[0]` (repeatable; as `diffmem sweep --set`),
    /// in every part that runs.
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
    let Err(e) = run_parts(a, r, &dir) else {
        return judge(r, &dir, a.ci);
    };
    if !dir.join(crate::sweep::RUNS_DIR).is_dir() && r.panels.iter().all(|p| !ran(&dir, p)) {
        return Err(e);
    }
    eprintln!("a sweep did not finish: {e:#}\ndeciding the claims from the runs that did");
    judge(r, &dir, a.ci)?;
    Err(e)
}

/// Whether panel `p` has runs under `dir`.
fn ran(dir: &Path, p: &Panel) -> bool {
    dir.join(p.name).join(crate::sweep::RUNS_DIR).is_dir()
}

/// The parts to run: `--only`, else the main sweep and (without `--spec`) every panel.
fn parts<'r>(a: &ReproduceArgs, r: &'r Reproduction) -> Result<(bool, Vec<&'r Panel>)> {
    let main_names = r.main_names();
    let is_main = |p: &str| main_names.contains(&p);
    let known = |p: &str| is_main(p) || r.panels.iter().any(|q| q.name == p);
    if let Some(bad) = a.only.iter().find(|p| !known(p)) {
        let panels: Vec<&str> = r.panels.iter().map(|p| p.name).collect();
        bail!(
            "--only {bad}: the parts of {} are {} {}",
            r.name,
            main_names.join(" "),
            panels.join(" ")
        );
    }
    if a.only.is_empty() {
        let panels = if a.spec.is_some() {
            Vec::new()
        } else {
            r.panels.iter().collect()
        };
        return Ok((true, panels));
    }
    let main = a.only.iter().any(|p| is_main(p));
    if a.spec.is_some() && !main {
        bail!("--spec replaces the main sweep: add --only main");
    }
    let panels = r
        .panels
        .iter()
        .filter(|p| a.only.iter().any(|o| o == p.name));
    Ok((main, panels.collect()))
}

/// Runs the selected parts in order; every part runs even when an earlier one failed, and
/// the first failure is returned.
fn run_parts(a: &ReproduceArgs, r: &Reproduction, dir: &Path) -> Result<()> {
    let (main, panels) = parts(a, r)?;
    let mut first: Option<anyhow::Error> = None;
    if main {
        let spec = match &a.spec {
            Some(p) => p.clone(),
            None => shipped(dir, &format!("{}.toml", r.name), r.spec)?,
        };
        first = run_sweep(a, spec, dir).err();
    }
    for p in panels {
        let sub = dir.join(p.name);
        let res = shipped(&sub, &p.file_name(r.name), p.spec).and_then(|f| run_sweep(a, f, &sub));
        if let Err(e) = res {
            eprintln!("panel {} did not finish: {e:#}", p.name);
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
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
        if !r.panels.is_empty() {
            let names: Vec<&str> = r.panels.iter().map(|p| p.name).collect();
            s.push_str(&format!("{:<18} panels: {}\n", "", names.join(", ")));
        }
    }
    s
}

/// Writes the shipped sweep file `text` as `dir/file` (an identical copy may be there; an
/// edited one is never overwritten) and returns its path.
fn shipped(dir: &Path, file: &str, text: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let p = dir.join(file);
    match std::fs::read_to_string(&p) {
        Ok(old) if old != text => bail!(
            "{} differs from the shipped sweep file: run your edit with --spec {0}, or remove it",
            p.display()
        ),
        Ok(_) => {}
        Err(_) => write_atomic(&p, text.as_bytes())?,
    }
    Ok(p)
}

/// Runs the sweep file `spec` into `dir`.
fn run_sweep(a: &ReproduceArgs, spec: PathBuf, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
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
    // The main sweep may not have run (`--only PANEL`): its claims are then not measured.
    let main_ran = dir.join(crate::sweep::RUNS_DIR).is_dir();
    let runs = if main_ran || r.panels.iter().all(|p| !ran(dir, p)) {
        crate::report::collect::collect(dir)?
    } else {
        Vec::new()
    };
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
