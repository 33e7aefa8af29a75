//! `diffmem report SWEEP_DIR`: one CSV row per run (axes and every scalar metric), plots of
//! memorisation ratio, loss gap, Gaussian KL (with the linear-diffusion theory), latent
//! dimension, membership inference, sample quality and reference following against N, `report.json` (transition points, theory table) and a self-contained
//! `report.html`, all written into the sweep directory.

use crate::io::atomic::write_atomic;
use crate::report::accounting::Accounting;
use crate::report::aggregate::{Crossing, Line, crossing, lines};
use crate::report::collect::RunRecord;
use crate::report::collect::collect;
use crate::report::dynamics::TauFit;
use crate::report::html::{Page, render};
use crate::report::{plots, science, table, theory};
use crate::sweep::SPEC_COPY;
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `diffmem report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// The sweep directory (holds runs/ and sweep.toml).
    pub sweep_dir: PathBuf,
    /// Training sets per N for the theory curve of Gaussian sweeps.
    #[arg(long, default_value_t = 5)]
    pub theory_seeds: usize,
    /// R_mem level whose crossing marks the transition.
    #[arg(long, default_value_t = 0.5)]
    pub level: f64,
    /// Print report.json to stdout.
    #[arg(long)]
    pub json: bool,
    /// Put runs under runs/ that are no point of the sweep's grid on the curves too (by
    /// default they are listed apart and left out).
    #[arg(long)]
    pub include_strays: bool,
}

impl ReportArgs {
    /// The defaults for `dir` (as used at the end of `diffmem sweep`).
    pub fn for_dir(dir: &Path) -> Self {
        Self {
            sweep_dir: dir.to_path_buf(),
            theory_seeds: 5,
            level: 0.5,
            json: false,
            include_strays: false,
        }
    }
}

/// Runs `diffmem report`.
pub fn run(a: &ReportArgs) -> Result<()> {
    build(&a.sweep_dir, a)?.print(a.json)
}

/// A written report: report.json's document and what its text summary shows.
pub struct Built<'a> {
    dir: &'a Path,
    runs: Vec<RunRecord>,
    r_mem: Vec<Line>,
    crossings: Vec<Crossing>,
    accounting: Vec<String>,
    theory: theory::Theory,
    tau_fits: Vec<TauFit>,
    /// report.json's document.
    pub doc: serde_json::Value,
}

impl Built<'_> {
    /// Prints report.json (`json`) or the text summary.
    pub fn print(&self, json: bool) -> Result<()> {
        if json {
            crate::io::print_json(&self.doc);
            return Ok(());
        }
        print_summary(
            self.dir,
            &self.runs,
            &self.r_mem,
            &self.crossings,
            &self.theory,
        );
        for line in &self.accounting {
            println!("  {line}");
        }
        for f in &self.tau_fits {
            println!("  tau_mem ~ N^a  {}", f.describe());
        }
        Ok(())
    }
}

/// The sweep's name and description from its sweep.toml copy.
fn spec_info(dir: &Path) -> (String, Option<String>, Option<String>) {
    let text = std::fs::read_to_string(dir.join(SPEC_COPY)).ok();
    let table: Option<toml::Table> = text.as_deref().and_then(|t| toml::from_str(t).ok());
    let get = |k: &str| {
        table
            .as_ref()
            .and_then(|t| t.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let dir_name = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "sweep".into());
    (get("name").unwrap_or(dir_name), get("description"), text)
}

/// Writes the report of the sweep in `dir` (report.csv, figures, report.html, report.json);
/// printing is left to the caller ([`Built::print`]).
pub fn build<'a>(dir: &'a Path, a: &ReportArgs) -> Result<Built<'a>> {
    let all = collect(dir)?;
    let accounting = Accounting::of(dir, &all, a.include_strays);
    // The curves stand on the grid's points (and the strays only when asked for).
    let runs: Vec<RunRecord> = all
        .iter()
        .filter(|r| accounting.on_curves(&r.name))
        .cloned()
        .collect();
    let theory = theory::compute(&runs, a.theory_seeds)?;
    table::write_runs(&dir.join("report.csv"), &all)?;
    if !theory.rows.is_empty() {
        table::write_theory(&dir.join("kl_theory.csv"), &theory.rows)?;
    }
    let mut figures = plots::write_all(dir, &runs, &theory)?;
    figures.extend(science::write(dir, &runs)?);
    figures.extend(crate::report::points::write(dir, &runs)?);
    let tau_fits = crate::report::dynamics::fits(&runs);
    figures.extend(crate::report::dynamics::write(dir, &runs, &tau_fits)?);
    let crossings: Vec<_> = lines(&runs, |r| r.get("mem.r_mem"))
        .iter()
        .filter_map(|l| crossing(l, a.level))
        .map(|c| Crossing {
            missing: accounting.missing_on(&c.label),
            ..c
        })
        .collect();
    let account_lines = accounting.lines();
    let (name, description, spec_text) = spec_info(dir);
    let html = render(&Page {
        title: &name,
        description: description.as_deref(),
        spec_text: spec_text.as_deref(),
        runs: &all,
        figures: &figures,
        crossings: &crossings,
        theory: &theory.rows,
        sweep_dir: dir,
        accounting: &account_lines,
    });
    write_atomic(&dir.join("report.html"), html.as_bytes())?;
    let r_mem = lines(&runs, |r| r.get("mem.r_mem"));
    let doc = serde_json::json!({
        "sweep": name,
        "runs": all.len(),
        "status": all.iter().map(|r| (r.name.clone(), r.status.clone())).collect::<std::collections::BTreeMap<_, _>>(),
        "grid": accounting,
        "r_mem": r_mem,
        "crossings": crossings,
        "theory": theory,
        "tau_mem_fit": tau_fits,
        "figures": figures.iter().map(|f| f.file.clone()).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&doc)?;
    write_atomic(&dir.join("report.json"), text.as_bytes())?;
    Ok(Built {
        dir,
        runs: all,
        r_mem,
        crossings,
        accounting: account_lines,
        theory,
        tau_fits,
        doc,
    })
}

fn print_summary(
    dir: &Path,
    runs: &[RunRecord],
    r_mem: &[Line],
    crossings: &[Crossing],
    theory: &theory::Theory,
) {
    let done = runs.iter().filter(|r| r.status == "done").count();
    let failed = runs.iter().filter(|r| r.status == "failed").count();
    println!(
        "report of {}: {} runs ({done} done, {failed} failed)",
        dir.display(),
        runs.len()
    );
    for l in r_mem {
        let pts: Vec<String> =
            l.n.iter()
                .zip(&l.mean)
                .map(|(n, m)| format!("{n}:{m:.3}"))
                .collect();
        println!("  R_mem {:<24} {}", l.label, pts.join("  "));
    }
    for c in crossings {
        match (c.last_above, c.first_below) {
            (Some(hi), None) => {
                println!("  {}: R_mem stays >= {} up to N = {hi}", c.label, c.level)
            }
            (None, Some(lo)) => println!(
                "  {}: R_mem < {} from the smallest N = {lo}",
                c.label, c.level
            ),
            (above, below) => println!(
                "  {}: R_mem falls below {} between N = {} and N = {} (interpolated N = {})",
                c.label,
                c.level,
                above.unwrap_or(f64::NAN),
                below.unwrap_or(f64::NAN),
                c.interpolated.map_or("-".into(), |v| format!("{v:.0}"))
            ),
        }
        if !c.missing.is_empty() {
            println!(
                "    caution: computed with grid points missing, it may move once they have \
                 R_mem: {}",
                c.missing.join(", ")
            );
        }
    }
    if failed > 0 {
        let names: Vec<&str> = runs
            .iter()
            .filter(|r| r.status == "failed")
            .map(|r| r.name.as_str())
            .collect();
        println!(
            "  caution: {failed} run(s) failed and are missing from these curves, so the \
             crossings above may move once they are re-run: {}",
            names.join(", ")
        );
        for r in runs.iter().filter(|r| r.status == "failed") {
            if let Some(m) = &r.message {
                println!("    {}: {m}", r.name);
            }
        }
    }
    if !theory.rows.is_empty() {
        println!("  KL vs theory (line, N/d, measured mean, theory, theory + fit):");
        for r in &theory.rows {
            println!(
                "    {:<20} {:>7.2} {:>10.4} {:>10.4} {:>10.4}",
                r.line, r.n_over_d, r.kl_mean, r.theory, r.theory_fit
            );
        }
    }
    println!(
        "  wrote report.csv, report.json, plots and {}",
        dir.join("report.html").display()
    );
}
