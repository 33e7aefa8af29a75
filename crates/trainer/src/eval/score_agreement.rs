//! Score-level agreement of two runs' denoisers at a few fixed timesteps, on the same noised
//! held-out and training rows (`diffmem_metrics::score_agreement`), for
//! `eval --along-training --against RUN2`.

use anyhow::Result;
use diffmem_data::Dataset;
use diffmem_metrics::score_agreement::score_cosine;
use diffmem_model::burn::prelude::Device;
use diffmem_model::{Denoiser, Diffusion};

/// Fractions of T at which the agreement is measured: near the data (where memorising
/// networks copy their own halves), mid-way, and at half the noise schedule.
pub const T_FRACTIONS: [f64; 3] = [0.05, 0.2, 0.5];

/// Seed of the noise both denoisers see.
const NOISE_SEED: u64 = 0x5C0E;

/// The agreement at each timestep of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreAgreement {
    /// Paper (1-based) timesteps.
    pub paper_t: Vec<usize>,
    /// Mean cosine on held-out rows, per timestep.
    pub heldout: Vec<f64>,
    /// Mean cosine on rows of the first run's training set, per timestep.
    pub train: Vec<f64>,
}

impl ScoreAgreement {
    /// Mean over timesteps of the held-out cosines.
    pub fn heldout_mean(&self) -> f64 {
        self.heldout.iter().sum::<f64>() / self.heldout.len().max(1) as f64
    }

    /// Mean over timesteps of the training-row cosines.
    pub fn train_mean(&self) -> f64 {
        self.train.iter().sum::<f64>() / self.train.len().max(1) as f64
    }
}

/// The 0-based timesteps of [`T_FRACTIONS`] for a schedule of `t_max` steps.
pub fn grid(t_max: usize) -> Vec<usize> {
    let mut g: Vec<usize> = T_FRACTIONS
        .iter()
        .map(|f| ((f * t_max as f64).round() as usize).clamp(1, t_max.max(1)) - 1)
        .collect();
    g.dedup();
    g
}

/// The agreement of `a` and `b` on up to `max_rows` rows of `train` and of `heldout`.
pub fn measure(
    a: (&dyn Denoiser, &Diffusion),
    b: (&dyn Denoiser, &Diffusion),
    train: &Dataset,
    heldout: &Dataset,
    max_rows: usize,
    device: &Device,
) -> Result<ScoreAgreement> {
    let d = train.dim();
    let g = grid(a.1.steps());
    let cos = |set: &Dataset| -> Result<Vec<f64>> {
        if set.is_empty() {
            return Ok(vec![f64::NAN; g.len()]);
        }
        let rows = &set.samples[..set.len().min(max_rows) * d];
        g.iter()
            .map(|&t| Ok(score_cosine(a, b, rows, d, t, NOISE_SEED, device)?))
            .collect()
    };
    Ok(ScoreAgreement {
        paper_t: g.iter().map(|t| t + 1).collect(),
        heldout: cos(heldout)?,
        train: cos(train)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_in_range_and_distinct() {
        assert_eq!(grid(1000), vec![49, 199, 499]);
        assert_eq!(grid(2), vec![0]);
        assert!(grid(20).iter().all(|&t| t < 20));
    }
}
