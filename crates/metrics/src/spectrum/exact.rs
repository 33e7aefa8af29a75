//! The float64 score field of an exact model spec (`linear-exact`, `empirical`), for the
//! spectrum analysis of runs of those models.
//!
//! The burn denoisers of the exact models compute in float32 and their Jacobian goes through
//! autodiff; at large noise the kept fraction of a manifold block,
//! kappa = (1 - r) / (1 - r_gen) with r and r_gen both close to 1 ([`super::manifold`]), loses
//! its digits to cancellation (a block of `linear-exact` on the paper's manifold reads 0.978 at
//! t = T instead of 1). The closed forms of [`super::analytic`] evaluate the same scores in
//! float64: J = -[abar_t Sigma0 + (1 - abar_t + lambda) I]^-1 for `linear-exact` (Merger &
//! Goldt, arXiv 2505.24769) and J = -I / sigma^2 + abar_t Cov_w / sigma^4 for `empirical`
//! (Achilli et al., arXiv 2410.08727), docs/theory.md §1 and §2.

use super::analytic::{EmpiricalScore, GaussianScore};
use super::field::{NoiseLevels, ScoreField};
use crate::{MetricsError, Result};
use diffmem_model::GaussianMoments;
use diffmem_model::ModelSpec;

/// The float64 closed-form score of `spec` fitted on the training rows (`[N, dim]`), or
/// `None` for a trainable model (whose Jacobian comes from autodiff).
pub fn exact_score_field(
    spec: &ModelSpec,
    rows: &[f32],
    dim: usize,
    levels: &NoiseLevels,
) -> Result<Option<Box<dyn ScoreField>>> {
    Ok(match spec {
        ModelSpec::LinearExact { lambda } => {
            let moments = GaussianMoments::from_samples(rows, dim)
                .map_err(|e| MetricsError::Linalg(format!("linear-exact moments: {e}")))?;
            Some(Box::new(GaussianScore::new(
                moments,
                *lambda,
                levels.clone(),
            )?))
        }
        ModelSpec::Empirical => Some(Box::new(EmpiricalScore::new(rows, dim, levels.clone())?)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectrum::jacobian::ModelScore;
    use crate::spectrum::manifold::{ManifoldBlocks, block_levels};
    use diffmem_data::{DataSpec, SubsetSpec, train_and_heldout};
    use diffmem_model::burn::prelude::Device;
    use diffmem_model::{Diffusion, Objective, Schedule, ScheduleKind};

    /// At t = T every block of the paper's manifold is fully kept by the Gaussian score (it
    /// generalises at every noise level): kappa = 1 up to O(abar_T) ~ 1e-5. The float64 closed
    /// form gives 1.000; the float32 autodiff path of the same model loses digits to
    /// cancellation (it measured 0.978 before the exact models got their float64 spectra).
    #[test]
    fn linear_exact_keeps_every_block_at_t_max_in_float64() {
        let spec = DataSpec::parse("manifold:paper").unwrap();
        let (train, _) = train_and_heldout(&spec, &SubsetSpec::new(200)).unwrap();
        let d = train.dim();
        let schedule = Schedule::new(ScheduleKind::default(), 1000).unwrap();
        let levels = NoiseLevels::of(&schedule);
        let blocks = ManifoldBlocks::from_truth(train.truth.as_ref().unwrap(), &train.samples, d)
            .unwrap()
            .unwrap();
        let model = ModelSpec::LinearExact { lambda: 0.0 };
        let field = exact_score_field(&model, &train.samples, d, &levels)
            .unwrap()
            .unwrap();
        let device = Device::flex();
        let diffusion = Diffusion::new(schedule.clone(), Objective::Eps, None, &device);
        let fitted = model
            .fit_exact(&train.samples, train.shape, &diffusion, &device)
            .unwrap()
            .unwrap();
        let f32_field = ModelScore::new(fitted.as_ref(), &diffusion, d, &device, d);
        let t = 999;
        let x: Vec<f64> = train.samples[..d]
            .iter()
            .map(|&v| levels.sqrt_abar(t) * f64::from(v))
            .collect();
        let kept = |f: &dyn ScoreField| -> Vec<f64> {
            let j = f.jacobian(&x, t).unwrap();
            block_levels(&j, &blocks, levels.ddpm_sigma2(t), levels.ve_sigma2(t))
                .unwrap()
                .iter()
                .map(|l| l.kept)
                .collect()
        };
        let exact = kept(field.as_ref());
        let single = kept(&f32_field);
        eprintln!("kept at t = T: float64 {exact:?}, float32 autodiff {single:?}");
        assert!(exact.iter().all(|k| (k - 1.0).abs() < 1e-3), "{exact:?}");
        assert!(
            exact_score_field(&ModelSpec::Empirical, &train.samples, d, &levels)
                .unwrap()
                .is_some()
        );
        assert!(
            exact_score_field(
                &ModelSpec::from_name("mlp").unwrap(),
                &train.samples,
                d,
                &levels
            )
            .unwrap()
            .is_none()
        );
    }
}
