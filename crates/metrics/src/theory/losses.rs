//! Per-timestep eps-prediction losses of linear denoisers: on the training set, on the true
//! distribution, and the population optimum (docs/theory.md §1, arXiv 2505.24769).
//!
//! Losses are summed over the d coordinates: L_t = E ||eps - W_t x_t - b_t||^2 with
//! x_t = sqrt(abar_t) x0 + sqrt(1-abar_t) eps.

use super::linear::LinearDenoiser;
use crate::error::{MetricsError, Result};
use crate::gaussian::Gaussian;
use diffmem_model::linear_gaussian::{Eigen, GaussianMoments};

/// Per-timestep losses (index i is t = i + 1), summed over coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct LossCurves {
    /// Loss on the training distribution (x0 uniform over the training set).
    pub train: Vec<f64>,
    /// Loss on the true distribution.
    pub test: Vec<f64>,
    /// Loss of the best possible (population) denoiser, Tr[Sigma (Sigma + c_t I)^-1].
    pub optimum: Vec<f64>,
}

/// The second moments of a data distribution as seen by a denoiser trained on `train`:
/// diag(U^T S U) and U^T (m - mu0), in the eigenbasis U of Sigma0.
#[derive(Clone, Debug, PartialEq)]
pub struct DataMoments {
    /// Variance of the data along each eigendirection of Sigma0.
    pub variance: Vec<f64>,
    /// Offset of the data mean from mu0 along each eigendirection.
    pub offset: Vec<f64>,
}

impl DataMoments {
    /// Moments of the training distribution itself: (l0, 0).
    pub fn of_training_set(train: &GaussianMoments) -> Self {
        DataMoments {
            variance: train.eigen.values.clone(),
            offset: vec![0.0; train.d()],
        }
    }

    /// Moments of a Gaussian data distribution (e.g. the truth) in the basis of Sigma0.
    pub fn of_gaussian(train: &GaussianMoments, data: &Gaussian) -> Result<Self> {
        if data.d != train.d() {
            return Err(MetricsError::Invalid(format!(
                "data of dimension {} for a training set of dimension {}",
                data.d,
                train.d()
            )));
        }
        let dmu: Vec<f64> = data
            .mean
            .iter()
            .zip(&train.mean)
            .map(|(a, b)| a - b)
            .collect();
        Ok(DataMoments {
            variance: train.eigen.diag_in_basis(&data.cov),
            offset: train.eigen.to_basis(&dmu),
        })
    }
}

/// Loss at index `i` of a linear denoiser whose W_t is diagonal in the eigenbasis of Sigma0 and
/// b_t = -sqrt(abar_t) W_t mu0, on data with `moments` (exact Gaussian integral):
///
///   L_t = sum_j (1 - sqrt(1-abar_t) w_j)^2 + abar_t sum_j w_j^2 (S_jj + dmu_j^2).
///
/// Valid for any ridge lambda and any gradient-flow time; with lambda = 0 and tau = infinity it
/// reduces to [`closed_form_train_loss`] / [`closed_form_test_loss`].
pub fn eps_loss(den: &LinearDenoiser, i: usize, moments: &DataMoments) -> f64 {
    let abar = den.schedule.abar[i];
    (0..den.d())
        .map(|j| {
            let w = den.gain(i, j);
            den.residual(i, j).powi(2)
                + abar * w * w * (moments.variance[j] + moments.offset[j].powi(2))
        })
        .sum()
}

/// Closed-form training loss of the optimum (lambda = 0), c_t = (1-abar_t)/abar_t:
/// L_train(t) = Tr[Sigma0 (Sigma0 + c_t I)^-1] = sum_j l0_j / (l0_j + c_t).
pub fn closed_form_train_loss(l0: &[f64], c: f64) -> f64 {
    l0.iter().map(|l| l / (l + c)).sum()
}

/// Closed-form test loss of the optimum (lambda = 0):
/// L_test(t) = L_train(t) + c_t Tr[(Sigma - Sigma0 + dmu dmu^T)(Sigma0 + c_t I)^-2],
/// with `moments` the truth's moments in the eigenbasis of Sigma0.
pub fn closed_form_test_loss(l0: &[f64], moments: &DataMoments, c: f64) -> f64 {
    let extra: f64 = l0
        .iter()
        .enumerate()
        .map(|(j, l)| (moments.variance[j] - l + moments.offset[j].powi(2)) / (l + c).powi(2))
        .sum();
    closed_form_train_loss(l0, c) + c * extra
}

/// Loss of the population optimum (the denoiser of the true Gaussian),
/// Tr[Sigma (Sigma + c_t I)^-1] = sum_i lambda_i / (lambda_i + c_t).
pub fn population_optimum_loss(truth_spectrum: &[f64], c: f64) -> f64 {
    closed_form_train_loss(truth_spectrum, c)
}

/// All three per-timestep curves of `den` against the true Gaussian `truth`, whose
/// eigendecomposition is `truth_eigen`.
pub fn loss_curves(
    den: &LinearDenoiser,
    truth: &Gaussian,
    truth_eigen: &Eigen,
) -> Result<LossCurves> {
    let train_m = DataMoments::of_training_set(&den.train);
    let test_m = DataMoments::of_gaussian(&den.train, truth)?;
    let s = &den.schedule;
    Ok(LossCurves {
        train: (0..s.len()).map(|i| eps_loss(den, i, &train_m)).collect(),
        test: (0..s.len()).map(|i| eps_loss(den, i, &test_m)).collect(),
        optimum: (0..s.len())
            .map(|i| population_optimum_loss(&truth_eigen.values, s.c(i)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::Schedule;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn setup(n: usize, lambda: f64) -> (Gaussian, Vec<f64>, LinearDenoiser) {
        let truth = Gaussian::new(
            vec![0.3, -0.2, 0.1],
            vec![2.0, 0.3, 0.0, 0.3, 1.0, 0.1, 0.0, 0.1, 0.4],
            3,
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let xs = truth.sample(n, &mut rng).unwrap();
        let tr = GaussianMoments::from_samples(&xs, 3).unwrap();
        let den = LinearDenoiser::optimum(tr, Schedule::linear(1e-3, 2e-2, 100).unwrap(), lambda)
            .unwrap();
        (truth, xs, den)
    }

    /// Monte-Carlo loss of (W_t, b_t) on the rows `x0s` (one fresh noise draw per row), with
    /// its standard error.
    fn mc_loss(den: &LinearDenoiser, i: usize, x0s: &[f64]) -> (f64, f64) {
        let d = den.d();
        let (w, b) = (den.weight(i), den.bias(i));
        let (sa, so) = (
            den.schedule.abar[i].sqrt(),
            den.schedule.one_minus_abar[i].sqrt(),
        );
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let vals: Vec<f64> = x0s
            .chunks_exact(d)
            .map(|x0| {
                let eps: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
                let xt: Vec<f64> = (0..d).map(|r| sa * x0[r] + so * eps[r]).collect();
                (0..d)
                    .map(|r| {
                        let pred = (0..d).map(|c| w[r * d + c] * xt[c]).sum::<f64>() + b[r];
                        (eps[r] - pred).powi(2)
                    })
                    .sum()
            })
            .collect();
        let m = vals.len() as f64;
        let mean = vals.iter().sum::<f64>() / m;
        let sd = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m).sqrt();
        (mean, sd / m.sqrt())
    }

    #[test]
    fn general_loss_equals_closed_form_at_lambda_zero() {
        let (truth, _, den) = setup(2, 0.0);
        let test_m = DataMoments::of_gaussian(&den.train, &truth).unwrap();
        let train_m = DataMoments::of_training_set(&den.train);
        let l0 = &den.train.eigen.values;
        for i in [0, 10, 99] {
            let c = den.schedule.c(i);
            let (g_tr, g_te) = (eps_loss(&den, i, &train_m), eps_loss(&den, i, &test_m));
            let (c_tr, c_te) = (
                closed_form_train_loss(l0, c),
                closed_form_test_loss(l0, &test_m, c),
            );
            assert!(
                (g_tr - c_tr).abs() < 1e-9 * c_tr.max(1.0),
                "{g_tr} vs {c_tr}"
            );
            assert!(
                (g_te - c_te).abs() < 1e-9 * c_te.max(1.0),
                "{g_te} vs {c_te}"
            );
        }
    }

    #[test]
    fn closed_forms_match_monte_carlo_losses() {
        for (n, lambda) in [(5, 0.0), (2, 0.0), (5, 0.1)] {
            let (truth, xs, den) = setup(n, lambda);
            let eig = Eigen::of_symmetric(&truth.cov, 3).unwrap();
            let curves = loss_curves(&den, &truth, &eig).unwrap();
            let m = 60_000;
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let from_train: Vec<f64> = (0..m)
                .flat_map(|_| {
                    let k = rng.random_range(0..n);
                    xs[k * 3..k * 3 + 3].to_vec()
                })
                .collect();
            let from_truth = truth.sample(m, &mut rng).unwrap();
            for i in [20, 60] {
                let (tr, se) = mc_loss(&den, i, &from_train);
                assert!(
                    (tr - curves.train[i]).abs() < 5.0 * se,
                    "n={n} train {tr}±{se} vs {}",
                    curves.train[i]
                );
                let (te, se) = mc_loss(&den, i, &from_truth);
                assert!(
                    (te - curves.test[i]).abs() < 5.0 * se,
                    "n={n} test {te}±{se} vs {}",
                    curves.test[i]
                );
            }
        }
    }

    #[test]
    fn population_optimum_is_the_loss_of_the_true_score() {
        // A "training set" equal to the truth gives test = train = optimum.
        let l = [2.0, 0.5];
        let c = 0.3;
        let m = DataMoments {
            variance: l.to_vec(),
            offset: vec![0.0; 2],
        };
        assert!((closed_form_test_loss(&l, &m, c) - population_optimum_loss(&l, c)).abs() < 1e-15);
        assert!((population_optimum_loss(&l, c) - (2.0 / 2.3 + 0.5 / 0.8)).abs() < 1e-15);
    }
}
