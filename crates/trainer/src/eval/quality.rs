//! `--metrics quality`: sample quality without downloaded networks. FWD (Frechet Wavelet
//! Distance) and KID (unbiased polynomial-kernel MMD^2 on the coordinates) of the samples
//! against the HELD-OUT set, each beside its real-vs-real floor: a training subset against the
//! same held-out rows at the same count, the value a perfect generator would reach with that
//! many samples. (Against the training set a memorising model would look perfect.)
//! Formulas: `diffmem_metrics::quality`; `quality.csv`.

use crate::io::csv::{number, write_csv};
use anyhow::{Result, bail};
use diffmem_data::{Dataset, SampleShape};
use diffmem_metrics::quality::fwd::{Features, Fwd, features, fwd};
use diffmem_metrics::quality::kid::{Kid, default_subset_size, kid};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::path::Path;

/// Largest wavelet-packet level (capped by the image sides' divisibility by 2^L); the authors'
/// default.
pub const FWD_LEVEL: usize = 4;
/// Bootstrap resamples of the FWD interval.
pub const FWD_BOOTSTRAP: usize = 20;
/// Random subsets of the KID estimate.
pub const KID_SUBSETS: usize = 100;
/// Seed of the row subsets, bootstrap and KID subsets.
const SEED: u64 = 0x0_0a11;

/// `m` rows of `rows` (`[n, d]`), a seeded random choice without replacement when m < n.
fn choose(rows: &[f32], d: usize, m: usize, seed: u64) -> Vec<f32> {
    let n = rows.len() / d;
    if m >= n {
        return rows.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = rand::seq::index::sample(&mut rng, n, m).into_vec();
    idx.sort_unstable();
    idx.iter()
        .flat_map(|&i| rows[i * d..(i + 1) * d].iter().copied())
        .collect()
}

/// One comparison against the held-out rows.
struct Against {
    fwd: Fwd,
    kid: Kid,
}

/// The held-out side of every comparison, prepared once (also for the many sample sets of
/// `eval --along-training`): m rows of the held-out set and their wavelet features.
pub struct Reference {
    /// Rows compared from each set.
    pub m: usize,
    held: Vec<f32>,
    features: Features,
    shape: SampleShape,
}

impl Reference {
    /// The reference for up to `num` samples; an error naming the flag to change when the
    /// held-out set or the sample count is too small.
    pub fn new(num: usize, train: &Dataset, heldout: &Dataset) -> Result<Self> {
        let d = train.dim();
        if heldout.len() < 4 {
            bail!(
                "--metrics quality compares samples with the held-out set: train with --heldout >= 4 (better: >= the number of samples --num)"
            );
        }
        let m = num.min(train.len()).min(heldout.len());
        if m < 4 {
            bail!(
                "--metrics quality needs at least 4 samples (--num) and 4 training images (got {m})"
            );
        }
        let held = choose(&heldout.samples, d, m, SEED + 1);
        let features = features(&held, train.shape, FWD_LEVEL)?;
        Ok(Reference {
            m,
            held,
            features,
            shape: train.shape,
        })
    }

    /// The first m rows of `rows` (samples), or m rows of the training set (the floor).
    fn rows<'r>(&self, rows: &'r [f32]) -> &'r [f32] {
        &rows[..self.m * self.shape.dim()]
    }

    /// The training rows of the real-vs-real floor.
    pub fn floor_rows(&self, train: &Dataset) -> Vec<f32> {
        choose(&train.samples, train.dim(), self.m, SEED)
    }

    /// FWD of the first m rows of `rows` against the held-out rows (with its features).
    fn fwd_of(&self, rows: &[f32]) -> Result<(Fwd, Features)> {
        let f = features(self.rows(rows), self.shape, FWD_LEVEL)?;
        Ok((fwd(&f, &self.features, FWD_BOOTSTRAP, SEED)?, f))
    }

    /// FWD of the first m rows of `rows` against the held-out rows.
    pub fn fwd(&self, rows: &[f32]) -> Result<Fwd> {
        Ok(self.fwd_of(rows)?.0)
    }

    /// FWD and KID of the first m rows of `rows`, and the rows' features.
    fn compare(&self, rows: &[f32]) -> Result<(Against, Features)> {
        let (fwd, f) = self.fwd_of(rows)?;
        let subset = default_subset_size(self.m, self.m);
        let d = self.shape.dim();
        let kid = kid(self.rows(rows), &self.held, d, KID_SUBSETS, subset, SEED)?;
        Ok((Against { fwd, kid }, f))
    }
}

/// Computes FWD and KID of `samples` and of the floor against the held-out set; writes
/// `quality.csv`.
pub fn run(samples: &[f32], train: &Dataset, heldout: &Dataset, out: &Path) -> Result<Value> {
    let d = train.dim();
    let r = Reference::new(samples.len() / d, train, heldout)?;
    let m = r.m;
    let shape = train.shape;
    let (s, fg) = r.compare(samples)?;
    let (f, _) = r.compare(&r.floor_rows(train))?;
    let row = |name: &str, what: &str, v: f64, lo: f64, hi: f64| {
        vec![
            name.to_string(),
            what.to_string(),
            number(v),
            number(lo),
            number(hi),
        ]
    };
    write_csv(
        &out.join("quality.csv"),
        &["metric", "comparison", "value", "lo", "hi"],
        &[
            row("fwd", "samples_vs_heldout", s.fwd.value, s.fwd.lo, s.fwd.hi),
            row(
                "fwd",
                "train_vs_heldout_floor",
                f.fwd.value,
                f.fwd.lo,
                f.fwd.hi,
            ),
            row("kid", "samples_vs_heldout", s.kid.mean, s.kid.lo, s.kid.hi),
            row(
                "kid",
                "train_vs_heldout_floor",
                f.kid.mean,
                f.kid.lo,
                f.kid.hi,
            ),
        ],
    )?;
    Ok(json!({
        "rows": m,
        "fwd": {
            "features": fg.kind,
            "level": fg.level,
            "packets": fg.packets.len(),
            "pixel_range": match shape {
                diffmem_data::SampleShape::Image { .. } => "[0, 1]",
                diffmem_data::SampleShape::Flat { .. } => "data units",
            },
            "samples": s.fwd,
            "floor": f.fwd,
            "ratio_to_floor": s.fwd.value / f.fwd.value,
        },
        "kid": {
            "features": "raw coordinates (data units), kernel (x.y/d + 1)^3",
            "samples": s.kid,
            "floor": f.kid,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_takes_distinct_rows_in_order() {
        let rows: Vec<f32> = (0..20).map(|v| v as f32).collect(); // 10 rows of 2
        let c = choose(&rows, 2, 4, 1);
        assert_eq!(c.len(), 8);
        for p in c.chunks(2) {
            assert_eq!(p[1], p[0] + 1.0);
        }
        assert!(
            c.chunks(2)
                .zip(c.chunks(2).skip(1))
                .all(|(a, b)| a[0] < b[0])
        );
        assert_eq!(choose(&rows, 2, 20, 1), rows);
    }
}
