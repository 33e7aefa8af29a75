//! `diffmem sweep SWEEP.toml`: every grid point of a sweep as an ordinary run directory under
//! `SWEEP_DIR/runs/`, trained and evaluated by child `diffmem` processes; locally with
//! `--jobs`, one point with `--task I`, or as a Slurm job array with `--emit slurm`.
//! Rerunning skips finished points and resumes interrupted ones. A local sweep ends with
//! `diffmem report SWEEP_DIR`.

use crate::cmd::report;
use crate::io::atomic::write_atomic;
use crate::io::print_json;
use crate::sweep::grid::{GridPoint, expand};
use crate::sweep::point::{Context as PointContext, Outcome, Report};
use crate::sweep::slurm::{SlurmJob, script, tasks_tsv};
use crate::sweep::spec::SweepSpec;
use crate::sweep::{RUNS_DIR, SPEC_COPY, pool, summary};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--emit`: the scheduler a script is written for.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// A Slurm job array: `sweep.sbatch` and `tasks.tsv`.
    Slurm,
}

/// Arguments of `diffmem sweep`.
// The field docs are `--help` text: `[base]`, `[ci]` name TOML tables there, not doc links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Args, Debug, Default)]
pub struct SweepArgs {
    /// The sweep spec (TOML: [base] run config, [axes], [models], [eval], [slurm], [ci]).
    pub spec: PathBuf,
    /// Sweep directory (default sweeps/NAME, or sweeps/NAME-ci with --ci).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Grid points run at once (reduced so that jobs x threads <= cores).
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// CPU threads per run (RAYON_NUM_THREADS of each run; default: RAYON_NUM_THREADS if set, else cores / jobs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write a scheduler script instead of running: `slurm` (sweep.sbatch and tasks.tsv).
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// Run grid point I only (the Slurm array task index, see tasks.tsv).
    #[arg(long)]
    pub task: Option<usize>,
    /// List the grid with each point's state and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the spec's [ci] reductions (a small budget for tests).
    #[arg(long)]
    pub ci: bool,
    /// Override a spec value, e.g. train.steps=100 or axes.seed=[0,1] (repeatable).
    #[arg(long = "set", alias = "override", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm time limit per task, e.g. 02:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm CPUs per task.
    #[arg(long)]
    pub cpus: Option<usize>,
    /// Slurm memory per task, e.g. 8G.
    #[arg(long)]
    pub mem: Option<String>,
    /// The diffmem binary the Slurm tasks run (default: this one).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Do not write the report at the end.
    #[arg(long)]
    pub no_report: bool,
    /// Print the outcome as JSON on stdout (schema diffmem.sweep/1: every point's outcome and
    /// time, the counts, the report's report.json); with --dry-run, the grid and its states.
    #[arg(long)]
    pub json: bool,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))
}

/// The user's own `RAYON_NUM_THREADS`, if set to a positive number: it stands for `--threads`.
fn user_threads() -> Option<usize> {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `diffmem sweep`.
pub fn run(a: &SweepArgs) -> Result<()> {
    let spec = SweepSpec::load(&a.spec, a.ci, &a.sets)?;
    let points = expand(&spec).with_context(|| format!("sweep spec {}", a.spec.display()))?;
    let sweep_dir = match &a.out {
        Some(o) => o.clone(),
        None => PathBuf::from("sweeps").join(if a.ci {
            format!("{}-ci", spec.name)
        } else {
            spec.name.clone()
        }),
    };
    let exe = std::env::current_exe().context("cannot locate the diffmem binary")?;
    let stop = Arc::new(AtomicBool::new(false));
    let ctx = PointContext {
        exe: exe.clone(),
        runs_dir: sweep_dir.join(RUNS_DIR),
        eval_flags: spec.eval.enabled().then(|| spec.eval.flags()),
        threads: 1,
        stop: stop.clone(),
    };
    if a.dry_run {
        if a.json {
            print_json(&grid_json(&points, &ctx, &sweep_dir));
        } else {
            print_grid(&points, &ctx, &sweep_dir);
        }
        return Ok(());
    }
    if let Some(i) = a.task {
        return run_task(a, &points, ctx, &sweep_dir, i);
    }
    std::fs::create_dir_all(&sweep_dir)
        .with_context(|| format!("cannot create {}", sweep_dir.display()))?;
    let spec_copy = sweep_dir.join(SPEC_COPY);
    if absolute(&spec_copy)? != absolute(&a.spec)? {
        write_atomic(&spec_copy, spec.to_toml()?.as_bytes())?;
    }
    if a.emit.is_some() {
        return emit_slurm(a, &spec, &points, &sweep_dir, &exe);
    }
    run_local(a, &spec.name, &points, ctx, &sweep_dir)
}

/// SIGINT/SIGTERM: children saved checkpoints; exit 130/143 with the resume command.
fn interrupted(spec: &Path, dir: &Path) -> Result<()> {
    let sig = crate::run::signals::received().unwrap_or(signal_hook::consts::SIGINT);
    let hint = format!(
        "resume with: diffmem sweep {} --out {}",
        spec.display(),
        dir.display()
    );
    eprintln!("{}", crate::run::signals::stopped_message(sig, Some(&hint)));
    std::process::exit(crate::run::signals::exit_code(sig))
}

fn print_outcome(p: &GridPoint, r: &Report, k: usize, total: usize) {
    let what = match &r.outcome {
        Outcome::Skipped => "already finished".to_string(),
        Outcome::Finished { steps } => format!("ok ({})", steps.join(" + ")),
        Outcome::Failed { stage, message } => format!("FAILED in {stage}: {message}"),
        Outcome::Interrupted => "interrupted".to_string(),
    };
    eprintln!("[{k}/{total}] {} {what} in {:.1}s", p.name, r.seconds);
}

/// `--dry-run --json`: every point with its axes and state.
fn grid_json(points: &[GridPoint], ctx: &PointContext, dir: &Path) -> serde_json::Value {
    let list: Vec<serde_json::Value> = points
        .iter()
        .map(|p| {
            let mut v = summary::point(p, None);
            v["outcome"] = serde_json::Value::Null;
            v["state"] = match ctx.state(p) {
                Ok(s) => s.label().into(),
                Err(e) => format!("conflict: {e:#}").into(),
            };
            v
        })
        .collect();
    serde_json::json!({
        "schema": "diffmem.sweep/1",
        "dir": dir.display().to_string(),
        "points": list,
    })
}

fn print_grid(points: &[GridPoint], ctx: &PointContext, dir: &Path) {
    // Write errors (a closed pipe such as `| head`) end the listing quietly.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{} grid point(s) in {}:", points.len(), dir.display());
    for p in points {
        let state = ctx
            .state(p)
            .map_or_else(|e| format!("conflict: {e:#}"), |s| s.label().to_string());
        let axes: Vec<String> = p.axes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let line = format!(
            "{:>4}  {:<40} {:<9} {}",
            p.index,
            p.name,
            state,
            axes.join(" ")
        );
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

fn emit_slurm(
    a: &SweepArgs,
    spec: &SweepSpec,
    points: &[GridPoint],
    sweep_dir: &Path,
    exe: &Path,
) -> Result<()> {
    let mut resources = spec.slurm.clone();
    let or = |flag: &Option<String>, v: &mut Option<String>| {
        if flag.is_some() {
            v.clone_from(flag);
        }
    };
    or(&a.partition, &mut resources.partition);
    or(&a.time, &mut resources.time);
    or(&a.mem, &mut resources.mem);
    if a.cpus.is_some() {
        resources.cpus = a.cpus;
    }
    let dir = absolute(sweep_dir)?;
    std::fs::create_dir_all(dir.join("slurm"))
        .with_context(|| format!("cannot create {}/slurm", dir.display()))?;
    let binary = absolute(a.binary.as_deref().unwrap_or(exe))?;
    let spec_copy = dir.join(SPEC_COPY);
    let job = SlurmJob {
        name: &spec.name,
        resources,
        binary: &binary,
        spec: &spec_copy,
        sweep_dir: &dir,
        tasks: points.len(),
    };
    let sbatch = dir.join("sweep.sbatch");
    write_atomic(&sbatch, script(&job).as_bytes())?;
    write_atomic(&dir.join("tasks.tsv"), tasks_tsv(points).as_bytes())?;
    if a.json {
        print_json(&serde_json::json!({
            "schema": "diffmem.sweep/1",
            "dir": dir.display().to_string(),
            "sbatch": sbatch.display().to_string(),
            "tasks_tsv": dir.join("tasks.tsv").display().to_string(),
            "tasks": points.len(),
        }));
        return Ok(());
    }
    println!(
        "wrote {} ({} array tasks) and {}\nsubmit with: sbatch {}\nthen: diffmem report {}",
        sbatch.display(),
        points.len(),
        dir.join("tasks.tsv").display(),
        sbatch.display(),
        dir.display()
    );
    Ok(())
}

/// `--task I`: one grid point in this process (a Slurm array task), with the threads the
/// scheduler gave it.
fn run_task(
    a: &SweepArgs,
    points: &[GridPoint],
    ctx: PointContext,
    sweep_dir: &Path,
    i: usize,
) -> Result<()> {
    let Some(p) = points.get(i) else {
        bail!(
            "--task {i}: the grid has {} points (0..{})",
            points.len(),
            points.len().saturating_sub(1)
        );
    };
    let threads = a.threads.unwrap_or_else(|| {
        std::env::var("SLURM_CPUS_PER_TASK")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(cores)
    });
    let ctx = PointContext { threads, ..ctx };
    forward_signals(&ctx.stop);
    let r = ctx.run(p);
    print_outcome(p, &r, 1, 1);
    if a.json {
        print_json(&summary::point(p, Some(&r)));
    }
    match r.outcome {
        Outcome::Failed { .. } => bail!("grid point {i} ({}) failed", p.name),
        Outcome::Interrupted => interrupted(&a.spec, sweep_dir),
        _ => Ok(()),
    }
}

/// SIGINT/SIGTERM: start no further point, pass the signal on to the running children (in
/// their own process groups) and wait for their checkpoints.
fn forward_signals(stop: &Arc<AtomicBool>) {
    let flag = stop.clone();
    crate::run::signals::deferred(true);
    crate::run::signals::on_each(move |sig| {
        flag.store(true, Ordering::SeqCst);
        crate::sweep::point::signal_children(sig);
    });
}

/// Runs every grid point here, `--jobs` at a time, then reports.
fn run_local(
    a: &SweepArgs,
    name: &str,
    points: &[GridPoint],
    ctx: PointContext,
    sweep_dir: &Path,
) -> Result<()> {
    let (jobs, threads, note) = pool::plan(cores(), a.jobs, a.threads.or_else(user_threads));
    if let Some(n) = note {
        eprintln!("{n}");
    }
    let stop = ctx.stop.clone();
    forward_signals(&stop);
    let ctx = PointContext { threads, ..ctx };
    eprintln!(
        "sweep {}: {} grid point(s) in {}, {jobs} at a time with {threads} thread(s) each",
        name,
        points.len(),
        sweep_dir.display()
    );
    let done = std::sync::atomic::AtomicUsize::new(0);
    let reports = pool::run(points, jobs, &stop, |p| {
        let r = ctx.run(p);
        let k = done.fetch_add(1, Ordering::SeqCst) + 1;
        print_outcome(p, &r, k, points.len());
        r
    });
    let failed: Vec<(&GridPoint, &Report)> = points
        .iter()
        .zip(&reports)
        .filter_map(|(p, r)| r.as_ref().map(|r| (p, r)))
        .filter(|(_, r)| matches!(r.outcome, Outcome::Failed { .. }))
        .collect();
    let stopped = stop.load(Ordering::SeqCst)
        || reports
            .iter()
            .flatten()
            .any(|r| r.outcome == Outcome::Interrupted);
    if a.json {
        let report = if stopped || a.no_report {
            None
        } else {
            let args = report::ReportArgs::for_dir(sweep_dir);
            Some(report::build(sweep_dir, &args)?.doc)
        };
        print_json(&summary::sweep(name, sweep_dir, points, &reports, report));
    } else {
        print_text_summary(name, &reports, &failed);
        if !stopped && !a.no_report {
            report::build(sweep_dir, &report::ReportArgs::for_dir(sweep_dir))?.print(false)?;
        }
    }
    if stopped {
        return interrupted(&a.spec, sweep_dir);
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} grid points failed (their logs: SWEEP_DIR/runs/NAME/sweep.log); rerun the \
             same command to retry them",
            failed.len(),
            points.len()
        );
    }
    Ok(())
}

/// The text summary of a local sweep: counts, then each failure.
fn print_text_summary(name: &str, reports: &[Option<Report>], failed: &[(&GridPoint, &Report)]) {
    let count =
        |f: fn(&Outcome) -> bool| reports.iter().flatten().filter(|r| f(&r.outcome)).count();
    println!(
        "sweep {}: {} ran, {} already finished, {} failed, {} not started",
        name,
        count(|o| matches!(o, Outcome::Finished { .. })),
        count(|o| *o == Outcome::Skipped),
        failed.len(),
        reports.iter().filter(|r| r.is_none()).count()
    );
    for (p, r) in failed {
        if let Outcome::Failed { stage, message } = &r.outcome {
            println!("  FAILED {} ({stage}): {message}", p.name);
        }
    }
}
