//! The flags the theory commands share: the linear beta schedule (`--beta1`, `--betaT`, `--T`
//! or `--run RUN`) and the `--spectrum` recipe.

use crate::run::RunDir;
use crate::run::config::RunConfig;
use anyhow::{Context, Result, bail};
use diffmem_metrics::theory::Schedule;
use diffmem_model::ScheduleKind;
use std::path::PathBuf;

/// The linear beta schedule flags shared by the theory commands; `--beta-1`, `--beta-T` and
/// `--timesteps` (the `train` spellings) are accepted too. The defaults are `diffmem train`'s
/// (the model crate's default schedule, Ho et al.: beta 1e-4..0.02, T = 1000), so a theory
/// curve and a default run share one schedule; `--run RUN` takes the schedule of a run
/// instead. (Merger & Goldt, arXiv 2505.24769, use beta_T = 0.01: `--betaT 0.01`.)
#[derive(clap::Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// First beta (t = 1) [default: train's, 1e-4].
    #[arg(long = "beta1", alias = "beta-1")]
    pub beta1: Option<f64>,
    /// Last beta (t = T) [default: train's, 0.02].
    #[arg(long = "betaT", alias = "beta-T")]
    pub beta_t: Option<f64>,
    /// Number of diffusion steps T [default: train's, 1000].
    #[arg(long = "T", alias = "timesteps")]
    pub t_max: Option<usize>,
    /// Use the schedule of this run directory (its config.toml).
    #[arg(long = "run", conflicts_with_all = ["beta1", "beta_t", "t_max"])]
    pub run: Option<PathBuf>,
}

/// A resolved linear schedule: beta_1, beta_T, T.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleValues {
    /// First beta.
    pub beta1: f64,
    /// Last beta.
    pub beta_t: f64,
    /// Number of steps T.
    pub t_max: usize,
}

impl ScheduleArgs {
    /// beta_1, beta_T and T: from `--run`, else the flags over `diffmem train`'s defaults.
    pub fn values(&self) -> Result<ScheduleValues> {
        if let Some(dir) = &self.run {
            let path = RunDir::at(dir).config();
            if !path.exists() {
                bail!(
                    "--run {}: not a run directory ({} is missing)",
                    dir.display(),
                    path.display()
                );
            }
            let cfg = RunConfig::load(&path)?;
            return match cfg.diffusion.schedule {
                ScheduleKind::Linear { beta_1, beta_t } => Ok(ScheduleValues {
                    beta1: beta_1,
                    beta_t,
                    t_max: cfg.diffusion.timesteps,
                }),
                _ => bail!(
                    "--run {}: the run uses a cosine schedule; the theory needs a linear one",
                    dir.display()
                ),
            };
        }
        let ScheduleKind::Linear { beta_1, beta_t } = ScheduleKind::default() else {
            bail!("the default schedule of `diffmem train` is not linear");
        };
        Ok(ScheduleValues {
            beta1: self.beta1.unwrap_or(beta_1),
            beta_t: self.beta_t.unwrap_or(beta_t),
            t_max: self
                .t_max
                .unwrap_or(RunConfig::default().diffusion.timesteps),
        })
    }

    /// The float64 schedule.
    pub fn schedule(&self) -> Result<Schedule> {
        let v = self.values()?;
        Ok(Schedule::linear(v.beta1, v.beta_t, v.t_max)?)
    }

    /// `linear beta 0.0001..0.02, T = 1000` (and the run it comes from).
    pub fn describe(&self) -> String {
        match self.values() {
            Ok(v) => format!(
                "linear beta {}..{}, T = {}{}",
                v.beta1,
                v.beta_t,
                v.t_max,
                self.run
                    .as_ref()
                    .map_or(String::new(), |r| format!(" (from run {})", r.display()))
            ),
            Err(e) => format!("unresolved schedule ({e})"),
        }
    }

    /// `{"beta1", "betaT", "T", "run"}` for the JSON outputs.
    pub fn json(&self) -> Result<serde_json::Value> {
        let v = self.values()?;
        Ok(serde_json::json!({
            "beta1": v.beta1, "betaT": v.beta_t, "T": v.t_max,
            "run": self.run.as_ref().map(|r| r.display().to_string()),
        }))
    }
}

/// The eigenvalues of a `--spectrum` recipe in dimension `d` (the data crate's grammar:
/// `power:K`, `list:a,b,...`).
pub fn spectrum(spec: &str, d: usize) -> Result<Vec<f64>> {
    diffmem_data::synthetic::parse_spectrum(spec, d)
        .with_context(|| format!("bad --spectrum `{spec}` for d = {d}"))
}
