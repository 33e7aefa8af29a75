//! `diffmem sweep`: a grid of ordinary runs described by a SWEEP.toml (a base run config plus
//! axes), executed locally with bounded parallelism or as a Slurm job array.
//!
//! - [`spec`]: the SWEEP.toml file, `[ci]` reductions and `--set` overrides;
//! - [`axes`]: the axes and their values; [`grid`]: expansion into named grid points with
//!   resolved run configs; [`naming`]: run names from axis values;
//! - [`state`]: what a grid point's run directory already holds (done, needs eval, resumable);
//! - [`point`]: one grid point as `diffmem train` and `diffmem eval` child processes;
//! - [`pool`]: the local executor; [`slurm`]: the job-array script and task table.

pub mod axes;
pub mod grid;
pub mod naming;
pub mod point;
pub mod pool;
pub mod slurm;
pub mod spec;
pub mod state;
pub mod summary;
pub mod toml_path;

/// Sub-directory of a sweep directory holding one run directory per grid point.
pub const RUNS_DIR: &str = "runs";
/// The grid point's axes, written into its run directory (read by `diffmem report`).
pub const AXES_FILE: &str = "axes.json";
/// Outcome of the last sweep attempt at a grid point.
pub const STATUS_FILE: &str = "sweep_status.json";
/// Output of the child processes of a grid point.
pub const LOG_FILE: &str = "sweep.log";
/// The eval flags that produced metrics.json (a change triggers a new eval).
pub const EVAL_ARGS_FILE: &str = "eval_args.txt";
/// The resolved sweep spec, written into the sweep directory.
pub const SPEC_COPY: &str = "sweep.toml";
