//! The common input of the per-timestep metrics that compare the model on training and
//! held-out rows (`loss`, `mia`, `ref`, `calibrate-local`): the run's denoiser and schedule,
//! both sets, the timestep grid and the same number of rows from each set.

use anyhow::{Result, bail};
use diffmem_data::Dataset;
use diffmem_metrics::denoising_loss::{LossJob, LossUnits, timestep_grid};
use diffmem_model::ModelContext;

/// The signature of `diffmem_metrics::denoising_loss`'s loss functions.
pub type LossFn<T> = fn(ModelContext, &LossJob) -> T;

/// A run's denoiser and data, evaluated at `points` grid timesteps on up to `max_rows` rows
/// per set.
pub struct PairedRows<'a> {
    /// The run's denoiser, its diffusion and device.
    pub ctx: ModelContext<'a>,
    /// The training set.
    pub train: &'a Dataset,
    /// The held-out set (may be empty).
    pub heldout: &'a Dataset,
    /// Number of grid timesteps.
    pub points: usize,
    /// Most rows used from each set.
    pub max_rows: usize,
}

impl<'a> PairedRows<'a> {
    /// The denoiser now in `r` on `r`'s training and held-out sets.
    pub fn of_run(r: &'a crate::run::LoadedRun, points: usize, max_rows: usize) -> Self {
        PairedRows {
            ctx: r.ctx(),
            train: &r.train,
            heldout: &r.heldout,
            points,
            max_rows,
        }
    }

    /// Fails with `message` when the run has no held-out set.
    pub fn need_heldout(&self, message: &str) -> Result<()> {
        if self.heldout.is_empty() {
            bail!("{message}");
        }
        Ok(())
    }

    /// The 0-based timestep grid of `points` timesteps.
    pub fn grid(&self) -> Vec<usize> {
        timestep_grid(self.ctx.diffusion.steps(), self.points)
    }

    /// The sets compared: the training set, and the held-out set when there is one.
    pub fn sets(&self) -> Vec<(&'static str, &'a Dataset)> {
        let mut sets = vec![("train", self.train)];
        if !self.heldout.is_empty() {
            sets.push(("heldout", self.heldout));
        }
        sets
    }

    /// The same number of rows from every set, so all see the very same noise draws: the
    /// smallest set's size, at most `cap.max(floor)`.
    pub fn rows(&self, cap: usize, floor: usize) -> usize {
        self.sets()
            .iter()
            .map(|(_, s)| s.len())
            .min()
            .unwrap_or(0)
            .min(cap.max(floor))
    }

    /// `loss` (`per_timestep_loss` or `per_example_loss`) of the model on the first `m` rows
    /// of `set` at the `grid` timesteps, in eps units (comparable across objectives), with
    /// noise from `seed`, 512 rows a batch.
    pub fn eps_loss<T>(
        &self,
        loss: LossFn<T>,
        set: &Dataset,
        m: usize,
        grid: &[usize],
        seed: u64,
    ) -> T {
        let job = LossJob {
            rows: self.first(set, m),
            dim: set.dim(),
            grid,
            noise_seed: seed,
            batch: 512,
            units: LossUnits::Eps,
        };
        loss(self.ctx, &job)
    }

    /// The first `m` rows of `set`, flattened.
    pub fn first<'s>(&self, set: &'s Dataset, m: usize) -> &'s [f32] {
        &set.samples[..m * set.dim()]
    }
}
