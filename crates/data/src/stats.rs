//! Summary statistics of a [`Dataset`] (what `diffmem data inspect` prints).

use crate::dataset::Dataset;
use serde::Serialize;

/// Value range and moments over every scalar of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Smallest value (0 for an empty dataset).
    pub min: f32,
    /// Largest value (0 for an empty dataset).
    pub max: f32,
    /// Mean over all N*D values.
    pub mean: f64,
    /// Standard deviation over all N*D values (population, 1/(ND)).
    pub std: f64,
}

impl Dataset {
    /// Range, mean and std over all values (accumulated in f64).
    pub fn stats(&self) -> Stats {
        if self.samples.is_empty() {
            return Stats {
                min: 0.0,
                max: 0.0,
                mean: 0.0,
                std: 0.0,
            };
        }
        let (mut min, mut max, mut sum, mut sq) = (f32::INFINITY, f32::NEG_INFINITY, 0.0, 0.0);
        for &x in &self.samples {
            min = min.min(x);
            max = max.max(x);
            sum += f64::from(x);
            sq += f64::from(x) * f64::from(x);
        }
        let n = self.samples.len() as f64;
        let mean = sum / n;
        Stats {
            min,
            max,
            mean,
            std: (sq / n - mean * mean).max(0.0).sqrt(),
        }
    }

    /// Number of samples of each class, sorted by label (`None` without labels).
    pub fn class_counts(&self) -> Option<Vec<(u32, usize)>> {
        let labels = self.labels.as_ref()?;
        let mut m = std::collections::BTreeMap::new();
        for &l in labels {
            *m.entry(l).or_insert(0usize) += 1;
        }
        Some(m.into_iter().collect())
    }
}
