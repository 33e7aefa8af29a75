//! `diffmem train`: resolve the run (defaults < --config file < flags, or the run being
//! resumed), prepare its directory, train (or fit an exact denoiser), draw the sample grid and
//! print a summary.

use crate::io::summary;
use crate::run::config::{LrSchedule, RunConfig, RunFlags, RunLayer};
use crate::run::layout::LATEST;
use crate::run::lock::{self, RunLock};
use crate::run::{RunDir, checkpoint, dir, signals};
use crate::{sample, train};
use anyhow::{Result, bail};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `diffmem train` (every flag overrides the config file).
#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// Run config (TOML), e.g. a previous run's runs/NAME/config.toml.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run's settings, one group per config section.
    #[command(flatten)]
    pub run: RunFlags,
    /// Run directory (default runs/MODEL-DATA-nN-sSEED).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Resume: `latest` (with --out), a run directory or a checkpoint directory.
    #[arg(long)]
    pub resume: Option<String>,
    /// Progress: `--quiet` (none) or `--plain` (lines instead of a bar).
    #[command(flatten)]
    pub progress: crate::io::progress::ProgressArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Start the run in --out over: removes a run there that stopped before its first
    /// checkpoint (its config, log and indices only); refused for a run with checkpoints.
    #[arg(long, requires = "out", conflicts_with = "resume")]
    pub restart: bool,
    /// Skip the check of a GPU against the CPU that runs once per device and driver (see
    /// `diffmem doctor`).
    #[arg(long)]
    pub no_doctor: bool,
    /// Behave as if Ctrl-C were pressed after this many steps (for tests and scripts).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

/// What `train` will do: the resolved run, where, and from which checkpoint; the run
/// directory's lock is held from planning to exit.
struct Plan {
    cfg: RunConfig,
    run_dir: PathBuf,
    resume: Option<PathBuf>,
    /// This process created `run_dir`: a failure before the run starts removes it again.
    created: bool,
    _lock: RunLock,
}

/// Training settings that `--resume` may change.
const RESUMABLE: [&str; 2] = ["steps", "device"];

/// A resumed run keeps its own config: only --steps (not below the checkpoint's step) and
/// --device apply, every other setting is refused by name. With an --out other than the run,
/// the run is forked: config, indices, log and the chosen checkpoint are copied there and
/// training continues in the copy, leaving the original untouched.
fn plan_resume(a: &TrainArgs, r: &str) -> Result<Plan> {
    let mut refused = a.run.set_flags_except(&RESUMABLE);
    if a.config.is_some() {
        refused.insert(0, "--config".to_string());
    }
    if !refused.is_empty() {
        bail!(
            "--resume continues a run with its own settings, and {} would change it: drop {} \
             (only --steps and --device may change), or start a new run with --config \
             RUN/config.toml and the changed flags",
            refused.join(", "),
            if refused.len() == 1 { "it" } else { "them" }
        );
    }
    let ckpt = checkpoint::resolve(r, a.out.as_deref())?;
    let src = RunDir::of_checkpoint(&ckpt)?;
    let mut cfg = RunConfig::load(&src.config())?;
    let at = checkpoint::load_state(&ckpt)?.step;
    if let Some(s) = a.run.train.steps {
        cfg.optim.lr_restart = crate::train::lr::restart_for(&cfg, at, s).into();
        cfg.train.steps = s;
        cfg.train.epochs = None.into();
    }
    if let Some(d) = a.run.train.device {
        cfg.train.device = d;
    }
    if cfg.total_steps() < at {
        bail!(
            "--steps {} is below the step of checkpoint {} ({at}): a resumed run cannot \
             train backwards; give --steps {at} or more, or sample that checkpoint's run",
            cfg.total_steps(),
            ckpt.display()
        );
    }
    eprintln!("{}", schedule_note(&cfg, at));
    let fork_to = a
        .out
        .as_ref()
        .filter(|o| r != LATEST && !dir::same_dir(o, src.root()));
    let (run_dir, resume, lock) = match fork_to {
        Some(out) => {
            if !RunDir::at(out).holds_run() {
                // A fork, like a new run, goes into a new or empty directory only.
                dir::check_train_out(out)?;
            }
            let created = !out.exists();
            let lock = lock::acquire(out)?;
            let ckpt = src.fork(&ckpt, &RunDir::at(out)).inspect_err(|_| {
                if created {
                    dir::remove_unstarted(out);
                }
            })?;
            (out.clone(), ckpt, lock)
        }
        None => (src.root().to_path_buf(), ckpt, lock::acquire(src.root())?),
    };
    Ok(Plan {
        cfg,
        run_dir,
        resume: Some(resume),
        created: false,
        _lock: lock,
    })
}

/// What a resumed run does with its learning-rate schedule from checkpoint step `at`.
fn schedule_note(cfg: &RunConfig, at: usize) -> String {
    let (o, total) = (&cfg.optim, cfg.total_steps());
    let rate = crate::train::lr::rate_at(cfg, at);
    match *o.lr_restart {
        _ if o.lr_schedule == LrSchedule::Constant => {
            format!(
                "learning rate: constant {:.3e} from step {at} to {total}",
                o.lr
            )
        }
        Some(r) if r.at == at => format!(
            "learning rate: warm restart at step {at} (the original cosine ran to 0 at step \
             {}): cosine from the peak {:.3e} to 0 at the new end, step {total}",
            r.planned, o.lr
        ),
        _ => format!("learning rate: {rate:.3e} at step {at}, cosine to 0 at step {total}"),
    }
}

fn plan(a: &TrainArgs) -> Result<Plan> {
    if let Some(r) = &a.resume {
        return plan_resume(a, r);
    }
    let file = match &a.config {
        Some(p) => RunLayer::load(p)?,
        None => RunLayer::default(),
    };
    let cfg = RunConfig::resolve(file, &a.run)?;
    if let (true, Some(out)) = (a.restart, &a.out) {
        crate::run::restart::clear(out)?;
    }
    let run_dir = dir::new_run_dir(&cfg, a.out.as_deref())?;
    let created = !run_dir.exists();
    let lock = lock::acquire(&run_dir)?;
    // Under the lock: another process may have started this run since the check above.
    if RunDir::at(&run_dir).holds_run() {
        bail!("{}", crate::run::restart::already_holds(&run_dir));
    }
    Ok(Plan {
        cfg,
        run_dir,
        resume: None,
        created,
        _lock: lock,
    })
}

/// Runs `diffmem train`. A new run directory that fails before its run starts (bad data, no
/// device, an invalid model) is removed again rather than left behind holding only its lock.
pub fn run(a: &TrainArgs) -> Result<()> {
    let plan = plan(a)?;
    let (run_dir, created) = (plan.run_dir.clone(), plan.created);
    let result = run_plan(a, plan);
    if result.is_err() && created {
        dir::remove_unstarted(&run_dir);
    }
    result
}

fn run_plan(a: &TrainArgs, plan: Plan) -> Result<()> {
    let Plan {
        cfg,
        run_dir,
        resume,
        _lock,
        ..
    } = plan;
    let device = crate::run::device::open(cfg.train.device)?;
    crate::doctor::gate::before_training(&device, &cfg.model, a.no_doctor)?;
    let (train_set, heldout) = crate::run::data::load(&cfg.data)?;
    cfg.model
        .validate(train_set.shape, cfg.diffusion.timesteps, cfg.objective())?;
    dir::prepare(&run_dir, &cfg, &train_set, resume.is_some())?;
    eprintln!(
        "run {}: {} on {} (N = {}, D = {}, held-out {})",
        run_dir.display(),
        cfg.model.name(),
        train_set.provenance.source,
        train_set.len(),
        train_set.dim(),
        heldout.len()
    );
    let started = std::time::Instant::now();
    let mut summary = train::fit(&train::FitInputs {
        cfg: &cfg,
        run_dir: &run_dir,
        device: &device.device,
        train: &train_set,
        heldout: &heldout,
        resume,
        progress: a.progress.verbosity(),
        stop_after: a.stop_after,
    })?;
    let run = run_dir.display();
    // Training is complete and its weights are saved: a signal that arrived since (or that
    // arrives while sampling) ends the program with that news, not with a resume hint.
    signals::set_hint(format!(
        "training finished and its weights are saved in {run}/weights; draw the samples with: \
         diffmem sample {run}"
    ));
    if let Some(signal) = signals::received() {
        signals::exit_now(signal);
    }
    signals::deferred(false);
    let sample_started = std::time::Instant::now();
    sample::grid(&run_dir, device.kind, a.progress.verbosity())?;
    summary["device"] = device.description.clone().into();
    summary["matmul_precision"] = device.matmul.to_string().into();
    summary["sample_seconds"] = sample_started.elapsed().as_secs_f64().into();
    summary["total_seconds"] = started.elapsed().as_secs_f64().into();
    summary["run"] = run_dir.display().to_string().into();
    summary["samples"] = RunDir::at(&run_dir)
        .samples_png()
        .display()
        .to_string()
        .into();
    let d = crate::verdict::of_training(&run_dir, &summary);
    (summary["verdict"], summary["next"]) = (d.line().into(), d.next.clone().into());
    summary["verdict_kind"] = d.kind.key().into();
    summary::finish(&RunDir::at(&run_dir).summary(), &summary, a.json)
}
