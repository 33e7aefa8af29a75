//! Linear-manifold data: which block of latent directions a score still keeps at a noise level,
//! beside the theory's critical noise level per block (Achilli et al., arXiv 2410.08727;
//! docs/theory.md §2).
//!
//! For a block with orthonormal basis B (D x k) and data variance s^2 along its directions,
//! project the symmetric part of -J on the block, P = B^T (-(J + J^T)/2) B, and compare the
//! mean of its eigenvalues with the two references of an exact score (DDPM scaling, see
//! [`super::analytic`]):
//!
//! - memorised (posterior on one training point): -J = 1 / (1 - abar_t), so
//!   r = (1 - abar_t) mean eig(P) = 1;
//! - generalising (Gaussian posterior): r_gen = sigma_VE^2 / (sigma_VE^2 + s^2) with
//!   sigma_VE^2 = (1 - abar_t) / abar_t.
//!
//! The kept fraction kappa = (1 - r) / (1 - r_gen) is the share of the generalising posterior
//! variance the score keeps along the block: 1 when the block generalises, 0 when it has
//! collapsed onto the training points. (For the empirical score, 1 - r = abar_t Cov_w /
//! (1 - abar_t), so kappa = Cov_w / (sigma_VE^2 s^2 / (sigma_VE^2 + s^2)).) The block's
//! collapse noise level is where kappa falls below 1/2, scanning from large to small noise.
//!
//! Theory: the critical VE noise level sigma^2_c = s^2 / (2 ln N) for normalised data and
//! [s^2 + sqrt(s^4 + 4 ln N sum_j s_j^4)] / (4 ln N) otherwise ([`crate::theory::critical`]).
//! Higher-variance blocks collapse at larger noise.
//!
//! The empirical score weighs every training point by one softmax over whole-row distances,
//! so the blocks do not collapse independently: a competitor x_j keeps weight at a probe
//! x = x_i + sigma z only if it is close in every direction at once. Averaged over Gaussian
//! competitors, the total weight of the other N - 1 points against x_i's own is
//! (N - 1) prod_k (1 + lambda_k / sigma^2)^(-1/2) over the training covariance's eigenvalues
//! lambda_k, which falls below 1 where 1/2 sum_k ln(1 + lambda_k / sigma^2) = ln N: the
//! collapse level of the whole training set, Biroli et al.'s collapse time t_C (arXiv
//! 2402.18491, [`crate::theory::collapse`]) written as a VE noise level,
//! sigma_C^2 = e^{2 t_C} - 1. [`ManifoldBlocks::joint_sigma2`] carries it beside the per-block
//! levels; docs/reproductions.md (achilli-manifold) compares both with the measurements.

use super::svd::neg_sym_eigenvalues;
use crate::theory::critical::{critical_sigma2, critical_sigma2_normalized};
use crate::{MetricsError, Result};
use diffmem_data::Truth;
use faer::Mat;
use serde::Serialize;

/// Rows whose norms are all within this of 1 count as unit-normalised data.
const UNIT_NORM_TOL: f64 = 1e-4;

/// One block of a linear manifold, with the variance the training set has along it.
#[derive(Clone, Debug)]
pub struct Block {
    /// Label, e.g. `block1 (2 x std 1)`.
    pub label: String,
    /// Std of the generator along the block (before any normalisation).
    pub std: f64,
    /// Orthonormal basis, D x k.
    pub basis: Mat<f64>,
    /// Variance of the training set along the block, mean over its k directions.
    pub s2: f64,
    /// Theory's critical VE noise level sigma^2_c of the block.
    pub critical_sigma2: f64,
}

/// The blocks of a linear manifold and what the theory needs about the training set.
#[derive(Clone, Debug)]
pub struct ManifoldBlocks {
    /// The blocks, in the generator's order.
    pub blocks: Vec<Block>,
    /// True when every training row has unit norm.
    pub normalized: bool,
    /// Training-set size N.
    pub n: usize,
    /// The whole training set's collapse level (VE sigma^2, module docs): the root of
    /// 1/2 sum_k ln(1 + lambda_k / sigma^2) = ln N over the training covariance's eigenvalues.
    pub joint_sigma2: f64,
}

impl ManifoldBlocks {
    /// The blocks of `truth` (None when it describes no manifold), with variances and
    /// critical levels from the training rows (`[N, d]`).
    pub fn from_truth(truth: &Truth, train: &[f32], d: usize) -> Result<Option<Self>> {
        let Some(blocks) = truth.blocks.as_ref() else {
            return Ok(None);
        };
        let bases = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if b.basis.len() != d * b.dim {
                    return Err(MetricsError::Invalid(format!(
                        "block {} has a basis of {} values, expected {d} x {}",
                        i + 1,
                        b.basis.len(),
                        b.dim
                    )));
                }
                let basis = Mat::<f64>::from_fn(d, b.dim, |r, c| b.basis[r * b.dim + c]);
                Ok((
                    format!("block{} ({} x std {})", i + 1, b.dim, b.std),
                    b.std,
                    basis,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_bases(bases, train, d).map(Some)
    }

    /// Blocks from (label, std, D x k basis) triples and the training rows (`[N, d]`).
    pub fn from_bases(
        bases: Vec<(String, f64, Mat<f64>)>,
        train: &[f32],
        d: usize,
    ) -> Result<Self> {
        let n = train.len() / d.max(1);
        if n < 2 || train.len() != n * d {
            return Err(MetricsError::Invalid(format!(
                "block analysis needs at least 2 training rows of dimension {d}"
            )));
        }
        let cov = covariance(train, d);
        let sum_s4: f64 = (0..d)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| cov[(i, j)].powi(2))
            .sum();
        let normalized = train.chunks_exact(d).all(|r| {
            let norm2: f64 = r.iter().map(|&v| (v as f64).powi(2)).sum();
            (norm2.sqrt() - 1.0).abs() < UNIT_NORM_TOL
        });
        let blocks = bases
            .into_iter()
            .map(|(label, std, basis)| {
                let k = basis.ncols();
                let proj = basis.transpose() * &cov * &basis;
                let s2 = (0..k).map(|i| proj[(i, i)]).sum::<f64>() / k.max(1) as f64;
                let critical_sigma2 = if normalized {
                    critical_sigma2_normalized(s2, n as f64)
                } else {
                    critical_sigma2(s2, sum_s4, n as f64)
                };
                Block {
                    label,
                    std,
                    basis,
                    s2,
                    critical_sigma2,
                }
            })
            .collect();
        Ok(Self {
            blocks,
            normalized,
            n,
            joint_sigma2: joint_collapse_sigma2(&cov, n)?,
        })
    }
}

/// The collapse level of the whole training set with covariance `cov` and `n` rows: Biroli et
/// al.'s collapse time t_C over the covariance's eigenvalues as a VE noise level e^{2 t_C} - 1
/// (module docs).
pub fn joint_collapse_sigma2(cov: &Mat<f64>, n: usize) -> Result<f64> {
    let eig = cov
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .map_err(|e| MetricsError::Linalg(format!("training covariance eigenvalues: {e:?}")))?;
    let spectrum: Vec<f64> = eig.into_iter().map(|l| l.max(0.0)).collect();
    let t_c = crate::theory::collapse::collapse_time(&spectrum, n as f64)?;
    Ok((2.0 * t_c).exp_m1())
}

/// Eigenvalues of B^T (-(J + J^T)/2) B, descending.
pub fn projected_neg_sym_eigenvalues(j: &Mat<f64>, basis: &Mat<f64>) -> Result<Vec<f64>> {
    if j.nrows() != basis.nrows() {
        return Err(MetricsError::Invalid(format!(
            "a {} x {} Jacobian and a basis of {} rows",
            j.nrows(),
            j.ncols(),
            basis.nrows()
        )));
    }
    let p = basis.transpose() * j * basis;
    neg_sym_eigenvalues(&p)
}

/// Kept fraction kappa = (1 - r) / (1 - r_gen) of a block (module docs), from the mean
/// projected eigenvalue of -J, the DDPM and VE noise variances and the block variance s^2.
pub fn kept_fraction(mean_projected: f64, ddpm_sigma2: f64, ve_sigma2: f64, s2: f64) -> f64 {
    let r = ddpm_sigma2 * mean_projected;
    let r_gen = ve_sigma2 / (ve_sigma2 + s2);
    (1.0 - r) / (1.0 - r_gen)
}

/// Per-block result at one noise level (one point or averaged over points).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockLevel {
    /// Block index.
    pub block: usize,
    /// Eigenvalues of the block-projected symmetric part of -J, descending.
    pub eig: Vec<f64>,
    /// Their mean.
    pub mean_eig: f64,
    /// Kept fraction kappa.
    pub kept: f64,
}

/// Kept fraction of every block for one Jacobian.
pub fn block_levels(
    j: &Mat<f64>,
    blocks: &ManifoldBlocks,
    ddpm_sigma2: f64,
    ve_sigma2: f64,
) -> Result<Vec<BlockLevel>> {
    blocks
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let eig = projected_neg_sym_eigenvalues(j, &b.basis)?;
            let mean_eig = eig.iter().sum::<f64>() / eig.len().max(1) as f64;
            Ok(BlockLevel {
                block: i,
                eig,
                mean_eig,
                kept: kept_fraction(mean_eig, ddpm_sigma2, ve_sigma2, b.s2),
            })
        })
        .collect()
}

/// The noise level (VE sigma^2) at which a kept fraction first falls below `threshold`
/// when the noise decreases, interpolated linearly in ln sigma^2 between grid points. `None`
/// when the block is never kept on the grid or never falls below the threshold after being
/// kept. `ve_sigma2` and `kept` are paired, in any order.
pub fn collapse_level(ve_sigma2: &[f64], kept: &[f64], threshold: f64) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = ve_sigma2
        .iter()
        .copied()
        .zip(kept.iter().copied())
        .filter(|(s, k)| *s > 0.0 && s.is_finite() && k.is_finite())
        .collect();
    pts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let first_kept = pts.iter().position(|p| p.1 >= threshold)?;
    let i = first_kept + pts[first_kept..].iter().position(|p| p.1 < threshold)?;
    let ((s0, k0), (s1, k1)) = (pts[i - 1], pts[i]);
    let frac = (k0 - threshold) / (k0 - k1);
    Some((s0.ln() + frac * (s1.ln() - s0.ln())).exp())
}

/// Covariance (1/N) of `[N, d]` rows in float64.
fn covariance(rows: &[f32], d: usize) -> Mat<f64> {
    let n = rows.len() / d;
    let mut mean = vec![0.0; d];
    for r in rows.chunks_exact(d) {
        mean.iter_mut()
            .zip(r)
            .for_each(|(m, &v)| *m += v as f64 / n as f64);
    }
    let c = Mat::<f64>::from_fn(n, d, |i, j| rows[i * d + j] as f64 - mean[j]);
    c.transpose() * &c * faer::Scale(1.0 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    /// The mean posterior weight the empirical score puts on a training point x_i at probes
    /// x_i + sigma z (VE noise sigma^2), over `probes` training points.
    fn own_weight(rows: &[Vec<f64>], sigma2: f64, probes: usize, rng: &mut ChaCha8Rng) -> f64 {
        let mut total = 0.0;
        for x_i in rows.iter().take(probes) {
            let x: Vec<f64> = x_i
                .iter()
                .map(|v| {
                    let z: f64 = StandardNormal.sample(rng);
                    v + sigma2.sqrt() * z
                })
                .collect();
            let dist = |r: &[f64]| r.iter().zip(&x).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
            let own = dist(x_i);
            let others: f64 = rows
                .iter()
                .map(|r| (-(dist(r) - own) / (2.0 * sigma2)).exp())
                .sum::<f64>()
                - 1.0;
            total += 1.0 / (1.0 + others);
        }
        total / probes as f64
    }

    /// Known answer: the joint level is where the empirical posterior concentrates on one
    /// training point. On Gaussian rows (two directions of variance 1, three of 0.1, one of
    /// 0.01; N = 300) the mean weight on the probe's own point, computed exactly from the
    /// softmax, is small at 4 sigma_C^2 and large at sigma_C^2 / 4, and crosses 1/2 within a
    /// factor 2 of sigma_C^2; the per-block formula of the low-variance block (s^2 / (2 ln N),
    /// 0.0088) lies far below it, as the measured d2 collapse does.
    #[test]
    fn joint_level_is_where_the_empirical_posterior_concentrates() {
        let (n, scales) = (300usize, [1.0, 1.0, 0.1, 0.1, 0.1, 0.01_f64]);
        let d = scales.len();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                scales
                    .iter()
                    .map(|s| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        s.sqrt() * z
                    })
                    .collect()
            })
            .collect();
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        let s_c = joint_collapse_sigma2(&covariance(&flat, d), n).unwrap();
        let w = |s2: f64, rng: &mut ChaCha8Rng| own_weight(&rows, s2, 100, rng);
        let (high, low) = (w(4.0 * s_c, &mut rng), w(s_c / 4.0, &mut rng));
        assert!(
            high < 0.2 && low > 0.8,
            "sigma_C^2 {s_c}: {high} at 4x, {low} at 1/4"
        );
        assert!(w(2.0 * s_c, &mut rng) < 0.5 && w(s_c / 2.0, &mut rng) > 0.5);
        let per_block = crate::theory::critical::critical_sigma2_normalized(0.1, n as f64);
        assert!(per_block < s_c / 3.0, "{per_block} vs {s_c}");
    }
}
