//! The isotropic variance c of a linear model's samples (Merger & Goldt: rho_N = N(mu0,
//! Sigma0 + c I)), measured where it is alone: for N <= d the directions orthogonal to the
//! span of the centred training rows carry no data variance, so the samples' variance there is
//! c. docs/theory.md §1: c ~ beta_1 for DDPM with sigma_t^2 = beta_t and last-step noise.
//!
//! c = (1 / (d - r)) (1/M) sum_m ||Q (x_m - xbar)||^2, with Q the projector on the complement
//! of the rank-r span of the centred training rows and xbar the samples' mean.

use crate::io::npy::read_f32;
use crate::report::collect::RunRecord;
use crate::run::RunDir;
use crate::sweep::RUNS_DIR;
use anyhow::{Result, bail};
use std::path::Path;

/// Centred rows of a `[n, d]` array in float64.
fn centred(rows: &[f32], d: usize) -> Vec<Vec<f64>> {
    let n = rows.len() / d;
    let mut mean = vec![0.0; d];
    for r in rows.chunks_exact(d) {
        mean.iter_mut()
            .zip(r)
            .for_each(|(m, &v)| *m += v as f64 / n as f64);
    }
    rows.chunks_exact(d)
        .map(|r| r.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An orthonormal basis of the span of `rows` (modified Gram-Schmidt, twice for stability;
/// a direction whose residual is below 1e-8 of its norm is dependent and dropped).
fn basis(rows: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::new();
    for mut v in rows {
        let norm0 = dot(&v, &v).sqrt();
        for _ in 0..2 {
            for b in &out {
                let p = dot(&v, b);
                v.iter_mut().zip(b).for_each(|(x, y)| *x -= p * y);
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-8 * norm0.max(f64::MIN_POSITIVE) {
            out.push(v.into_iter().map(|x| x / norm).collect());
        }
    }
    out
}

/// The samples' mean variance in the complement of the span of the centred training rows
/// (None when the training rows span all d directions).
pub fn complement_variance(samples: &[f32], train: &[f32], d: usize) -> Option<f64> {
    let b = basis(centred(train, d));
    if b.len() >= d {
        return None;
    }
    let ys = centred(samples, d);
    let total: f64 = ys
        .iter()
        .map(|y| dot(y, y) - b.iter().map(|u| dot(y, u).powi(2)).sum::<f64>())
        .sum();
    Some(total / ys.len() as f64 / (d - b.len()) as f64)
}

/// c of the run's evaluated samples (`eval_samples.npy`) against its training set, read from
/// the run's directory under `sweep_dir`; None for N > d or a run without samples.
pub fn of_run(sweep_dir: &Path, r: &RunRecord) -> Result<Option<f64>> {
    let Some(cfg) = r.config.as_ref() else {
        return Ok(None);
    };
    let path = RunDir::at(sweep_dir.join(RUNS_DIR).join(&r.name)).eval_samples();
    if !path.exists() {
        return Ok(None);
    }
    let (samples, shape) = read_f32(&path)?;
    let d = *shape.last().unwrap_or(&0);
    if cfg.data.n >= d {
        return Ok(None);
    }
    let (train, _) = crate::run::data::load(&cfg.data)?;
    if train.dim() != d {
        bail!(
            "{}: samples of dimension {d}, data of {}",
            path.display(),
            train.dim()
        );
    }
    Ok(complement_variance(&samples, &train.samples, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_complement_variance_of_known_samples_is_found() {
        // Training rows span e1 and e2 (after centring) in d = 4.
        let train = [
            1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0f32,
        ];
        // Samples: anything along e1, e2; +-0.5 along e3 and e4 (variance 0.25).
        let mut samples = Vec::new();
        for (a, s3, s4) in [
            (3.0, 0.5, 0.5),
            (-1.0, -0.5, 0.5),
            (2.0, 0.5, -0.5),
            (0.0, -0.5, -0.5),
        ] {
            samples.extend_from_slice(&[a, -a, s3, s4]);
        }
        let c = complement_variance(&samples, &train, 4).unwrap();
        assert!((c - 0.25).abs() < 1e-12, "{c}");
        // Rows spanning every direction leave no complement.
        let mut full = vec![0.0f32; 4];
        for i in 0..4 {
            full.extend((0..4).map(|j| if i == j { 1.0 } else { 0.0 }));
        }
        assert!(complement_variance(&samples, &full, 4).is_none());
    }
}
