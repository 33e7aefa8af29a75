//! Score spectra and latent dimension: closed forms against autodiff, the linear-exact
//! spectrum against theory, the estimators on synthetic spectra, the score-matrix method, and
//! geometric memorisation on the paper's linear manifold (Achilli et al., arXiv 2410.08727).

use diffmem_data::synthetic::haar_orthogonal;
use diffmem_data::{DataSpec, SubsetSpec, train_and_heldout};
use diffmem_metrics::spectrum::latent_dim::{DimParams, Flat, cliff, estimate, largest_gap};
use diffmem_metrics::spectrum::report::{Analysis, Probe, ProbeConfig, TimeGrid};
use diffmem_metrics::spectrum::score_matrix::score_matrix_singular_values;
use diffmem_metrics::spectrum::svd::{neg_sym_eigenvalues, singular_values};
use diffmem_metrics::spectrum::{
    EmpiricalScore, GaussianScore, ManifoldBlocks, Method, ModelScore, NoiseLevels, Perturbation,
    PointSet, ScoreField, ScoreMatrixConfig, SpectrumConfig, SpectrumSummary, analyse,
    write_report,
};
use diffmem_model::burn::prelude::*;
use diffmem_model::denoiser::{Empirical, LinearExact};
use diffmem_model::linear_gaussian::GaussianMoments;
use diffmem_model::{Diffusion, Objective, Schedule, ScheduleKind};
use faer::Mat;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use std::path::Path;

/// The Ho et al. schedule (beta 1e-4..0.02, T = 1000) on `device`.
fn ho_diffusion(device: &Device) -> Diffusion {
    let schedule = Schedule::new(ScheduleKind::default(), 1000).unwrap();
    Diffusion::new(schedule, Objective::Eps, None, device)
}

/// ||a - b||_F / ||b||_F.
fn rel_err(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut num = 0.0;
    let mut den = 0.0;
    for j in 0..b.ncols() {
        for i in 0..b.nrows() {
            num += (a[(i, j)] - b[(i, j)]).powi(2);
            den += b[(i, j)].powi(2);
        }
    }
    (num / den).sqrt()
}

/// `n` rows of N(0, Q diag(vars) Q^T) for a Haar-random Q, and that covariance.
fn gaussian(vars: &[f64], n: usize, seed: u64) -> (Vec<f32>, Mat<f64>) {
    let d = vars.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let q = haar_orthogonal(d, &mut rng);
    let cov = Mat::<f64>::from_fn(d, d, |i, j| {
        (0..d).map(|k| q[i * d + k] * vars[k] * q[j * d + k]).sum()
    });
    let mut rows = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z: Vec<f64> = vars
            .iter()
            .map(|v| {
                let g: f64 = StandardNormal.sample(&mut rng);
                v.sqrt() * g
            })
            .collect();
        rows.extend((0..d).map(|i| (0..d).map(|k| q[i * d + k] * z[k]).sum::<f64>() as f32));
    }
    (rows, cov)
}

#[test]
fn cliff_and_gap_on_synthetic_spectra() {
    let p = DimParams::default();
    // Step: 23 normal values at 1, then 7 at 0.1 (with tiny jitter).
    let step: Vec<f64> = (0..30)
        .map(|i| {
            if i < 23 {
                1.0 - 1e-6 * i as f64
            } else {
                0.1 - 1e-6 * i as f64
            }
        })
        .collect();
    assert_eq!(cliff(&step, &p), Some(7));
    assert_eq!(largest_gap(&step, p.floor), Some(7));
    // Smooth power-law decay of the normal values, then a cliff before the last 12.
    let smooth: Vec<f64> = (0..60)
        .map(|i| {
            if i < 48 {
                1.0 / (1.0 + 0.01 * i as f64)
            } else {
                0.05 / (1.0 + 0.01 * i as f64)
            }
        })
        .collect();
    assert_eq!(cliff(&smooth, &p), Some(12));
    assert_eq!(largest_gap(&smooth, p.floor), Some(12));
    // Two drops: the cliff estimator takes the first (counts both lower plateaus), the gap
    // estimator the larger one.
    let two: Vec<f64> = (0..30)
        .map(|i| match i {
            0..23 => 20.0,
            23..28 => 12.5,
            _ => 2.2,
        })
        .collect();
    assert_eq!(cliff(&two, &p), Some(7));
    assert_eq!(largest_gap(&two, p.floor), Some(2));
    // A cliff inside the first d_bar values is skipped by the cliff estimator.
    let early: Vec<f64> = (0..30).map(|i| if i < 2 { 1.0 } else { 0.5 }).collect();
    assert_eq!(cliff(&early, &p), None);
    // Flat spectra: no cliff, no gap; the raw level decides.
    let flat = vec![1.0; 30];
    let d = estimate(&flat, &p, Flat::from_level(&[100.0; 31], 0.01));
    assert_eq!(
        (d.cliff, d.gap, d.cliff_found, d.gap_found),
        (0, 0, false, false)
    );
    let d = estimate(&flat, &p, Flat::from_level(&[10.0; 31], 0.01));
    assert_eq!((d.cliff, d.gap), (30, 30));
    // Too short for the cliff estimator.
    assert_eq!(cliff(&[1.0, 0.5, 0.1], &p), None);
}

#[test]
fn linear_exact_neg_jacobian_eigenvalues_are_one_over_sigma2_plus_l() {
    let vars: Vec<f64> = (1..=12).map(|k| 2.0 / k as f64).collect();
    let d = vars.len();
    let (_, cov) = gaussian(&vars, 1, 3);
    let mean: Vec<f64> = (0..d).map(|i| 0.1 * i as f64).collect();
    let cov: Vec<f64> = (0..d * d).map(|k| cov[(k / d, k % d)]).collect();
    let moments = GaussianMoments::from_mean_cov(mean.clone(), &cov, 1000).unwrap();
    let schedule = Schedule::new(ScheduleKind::default(), 1000).unwrap();
    let levels = NoiseLevels::of(&schedule);
    let field = GaussianScore::new(moments, 0.0, levels.clone()).unwrap();
    let mut sorted_vars = vars.clone();
    sorted_vars.sort_by(f64::total_cmp);
    for t in [0, 9, 99, 499, 999] {
        let abar = levels.abar[t];
        let x: Vec<f64> = (0..d).map(|i| (i as f64 * 0.7).sin()).collect();
        let neg = neg_sym_eigenvalues(&field.jacobian(&x, t).unwrap()).unwrap();
        // DDPM reading: sigma^2 = 1 - abar, l_i = abar * var_i (the scaled data's variance);
        // eigenvalues ascending in l, i.e. descending like `neg`.
        for (e, v) in neg.iter().zip(&sorted_vars) {
            let ddpm = 1.0 / ((1.0 - abar) + abar * v);
            assert!((e / ddpm - 1.0).abs() < 1e-10, "t={t}: {e} vs {ddpm}");
            // VE reading: -abar J has eigenvalues 1 / (sigma_VE^2 + var_i).
            let ve = 1.0 / (levels.ve_sigma2(t) + v);
            assert!(
                (abar * e / ve - 1.0).abs() < 1e-10,
                "t={t}: {} vs {ve}",
                abar * e
            );
        }
        // The exact score is symmetric: singular values equal the eigenvalues of -J.
        let sv = singular_values(&field.jacobian(&x, t).unwrap()).unwrap();
        for (a, b) in sv.iter().zip(&neg) {
            assert!((a / b - 1.0).abs() < 1e-10);
        }
    }
}

#[test]
fn autodiff_jacobian_matches_closed_form_linear_exact() {
    let device = Device::flex();
    let diffusion = ho_diffusion(&device);
    let vars: Vec<f64> = (1..=16).map(|k| 1.0 / k as f64).collect();
    let d = vars.len();
    let (rows, _) = gaussian(&vars, 400, 5);
    let model = LinearExact::fit(&rows, d, 0.0, &diffusion, &device).unwrap();
    let levels = NoiseLevels::of(&diffusion.schedule);
    let exact = GaussianScore::new(model.moments.clone(), 0.0, levels.clone()).unwrap();
    let auto = ModelScore::new(&model, &diffusion, d, &device, 5);
    for t in [0, 49, 199, 999] {
        let a = levels.sqrt_abar(t);
        let x: Vec<f64> = rows[..d].iter().map(|&v| a * v as f64 + 0.1).collect();
        let ja = auto.jacobian(&x, t).unwrap();
        let je = exact.jacobian(&x, t).unwrap();
        let err = rel_err(&ja, &je);
        eprintln!("linear-exact t={t}: Jacobian relative error {err:.2e}");
        assert!(err < 1e-4, "t={t}: relative error {err:e}");
        // -J eigenvalues of the fitted Gaussian: 1 / (1 - abar + abar l_i), l_i of Sigma0.
        let neg = neg_sym_eigenvalues(&ja).unwrap();
        let mut want = exact.neg_jacobian_eigenvalues(t).unwrap();
        want.sort_by(|p, q| q.total_cmp(p));
        for (e, w) in neg.iter().zip(&want) {
            assert!((e / w - 1.0).abs() < 1e-4, "t={t}: {e} vs {w}");
        }
        // The score itself.
        let sa = auto.score(&x, t).unwrap();
        let se = exact.score(&x, t).unwrap();
        let num: f64 = sa.iter().zip(&se).map(|(p, q)| (p - q).powi(2)).sum();
        let den: f64 = se.iter().map(|q| q * q).sum();
        assert!((num / den).sqrt() < 1e-4, "t={t}: score mismatch");
    }
}

#[test]
fn autodiff_jacobian_matches_closed_form_empirical() {
    let device = Device::flex();
    let diffusion = ho_diffusion(&device);
    let spec = DataSpec::parse("manifold:paper,normalize=true").unwrap();
    let sub = SubsetSpec {
        heldout_n: 4,
        ..SubsetSpec::new(300)
    };
    let (train, held) = train_and_heldout(&spec, &sub).unwrap();
    let d = train.dim();
    let model = Empirical::new(&train.samples, d, &diffusion, 128, &device);
    let levels = NoiseLevels::of(&diffusion.schedule);
    let exact = EmpiricalScore::new(&train.samples, d, levels.clone()).unwrap();
    let auto = ModelScore::new(&model, &diffusion, d, &device, 16);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for t in [9, 29, 59, 99, 299] {
        let a = levels.sqrt_abar(t);
        let s = levels.ddpm_sigma2(t).sqrt();
        // A noised training point and a held-out point: the posterior is spread over
        // several training points (Cov_w matters) without being uniform.
        for x0 in [train.row(3), held.row(1)] {
            let x: Vec<f64> = x0
                .iter()
                .map(|&v| {
                    let g: f64 = StandardNormal.sample(&mut rng);
                    a * v as f64 + 0.3 * s * g
                })
                .collect();
            let ja = auto.jacobian(&x, t).unwrap();
            let je = exact.jacobian(&x, t).unwrap();
            // The covariance part alone, so that agreement is not carried by -I / sigma^2.
            let mut ca = ja.clone();
            let mut ce = je.clone();
            for i in 0..d {
                ca[(i, i)] += 1.0 / levels.ddpm_sigma2(t);
                ce[(i, i)] += 1.0 / levels.ddpm_sigma2(t);
            }
            let err = rel_err(&ja, &je);
            eprintln!("empirical t={t}: Jacobian relative error {err:.2e}");
            assert!(err < 1e-4, "t={t}: relative error {err:e}");
            let cov_norm = (0..d)
                .map(|i| (0..d).map(|j| ce[(i, j)].powi(2)).sum::<f64>())
                .sum::<f64>()
                .sqrt();
            if cov_norm > 0.05 / levels.ddpm_sigma2(t) {
                let err = rel_err(&ca, &ce);
                eprintln!("empirical t={t}: covariance part relative error {err:.2e}");
                assert!(err < 1e-3, "t={t}: covariance part relative error {err:e}");
            }
        }
    }
}

#[test]
fn symmetric_score_matrix_of_a_linear_score_has_the_jacobian_singular_values() {
    let vars: Vec<f64> = (1..=10).map(|k| 1.5 / k as f64).collect();
    let d = vars.len();
    let (rows, _) = gaussian(&vars, 200, 7);
    let moments = GaussianMoments::from_samples(&rows, d).unwrap();
    let schedule = Schedule::new(ScheduleKind::default(), 1000).unwrap();
    let levels = NoiseLevels::of(&schedule);
    let field = GaussianScore::new(moments, 0.0, levels.clone()).unwrap();
    let x: Vec<f64> = rows[..d]
        .iter()
        .map(|&v| v as f64 * levels.sqrt_abar(150))
        .collect();
    let want = singular_values(&field.jacobian(&x, 150).unwrap()).unwrap();
    for k_mult in [1.0, 2.5] {
        let cfg = ScoreMatrixConfig {
            k_mult,
            perturbation: Perturbation::Haar,
            symmetric: true,
        };
        let got = score_matrix_singular_values(
            &field,
            &x,
            150,
            &levels,
            &cfg,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap();
        assert_eq!(got.len(), d);
        if k_mult == 1.0 {
            // K = D rows of one orthogonal matrix: S = Q J^T exactly.
            for (g, w) in got.iter().zip(&want) {
                assert!((g / w - 1.0).abs() < 1e-9, "{got:?} vs {want:?}");
            }
        } else {
            // 2.5 D rows: two full orthogonal matrices and half of a third; close to J.
            for (g, w) in got.iter().zip(&want) {
                assert!((g / w - 1.0).abs() < 0.5, "{got:?} vs {want:?}");
            }
        }
    }
    // Non-symmetric: the rank-one term s(x) / sigma adds one large value; the rest interlace.
    let cfg = ScoreMatrixConfig {
        k_mult: 1.0,
        perturbation: Perturbation::Haar,
        symmetric: false,
    };
    let got = score_matrix_singular_values(
        &field,
        &x,
        150,
        &levels,
        &cfg,
        &mut ChaCha8Rng::seed_from_u64(2),
    )
    .unwrap();
    for i in 1..d {
        assert!(
            got[i] <= want[i - 1] * (1.0 + 1e-9),
            "interlacing at {i}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn image_block_perturbations_estimate_the_jacobian_spectrum() {
    // A 2 x 6 x 6 "image" Gaussian; 4 D perturbations of per-channel orthogonal 6 x 6 blocks.
    let vars: Vec<f64> = (1..=72).map(|k| 1.0 / k as f64).collect();
    let d = vars.len();
    let (rows, _) = gaussian(&vars, 300, 9);
    let moments = GaussianMoments::from_samples(&rows, d).unwrap();
    let schedule = Schedule::new(ScheduleKind::default(), 1000).unwrap();
    let levels = NoiseLevels::of(&schedule);
    let field = GaussianScore::new(moments, 0.0, levels.clone()).unwrap();
    let x: Vec<f64> = rows[..d]
        .iter()
        .map(|&v| v as f64 * levels.sqrt_abar(80))
        .collect();
    let want = singular_values(&field.jacobian(&x, 80).unwrap()).unwrap();
    let cfg = ScoreMatrixConfig {
        k_mult: 4.0,
        perturbation: Perturbation::ImageBlocks {
            channels: 2,
            height: 6,
            width: 6,
        },
        symmetric: true,
    };
    let got = score_matrix_singular_values(
        &field,
        &x,
        80,
        &levels,
        &cfg,
        &mut ChaCha8Rng::seed_from_u64(4),
    )
    .unwrap();
    // Largest and median values within the random-design fluctuations of K = 4 D.
    assert!(
        (got[0] / want[0] - 1.0).abs() < 0.5,
        "{} vs {}",
        got[0],
        want[0]
    );
    assert!(
        (got[d / 2] / want[d / 2] - 1.0).abs() < 0.5,
        "{} vs {}",
        got[d / 2],
        want[d / 2]
    );
    let mismatched = ScoreMatrixConfig {
        perturbation: Perturbation::ImageBlocks {
            channels: 3,
            height: 6,
            width: 6,
        },
        ..cfg
    };
    assert!(
        score_matrix_singular_values(
            &field,
            &x,
            80,
            &levels,
            &mismatched,
            &mut ChaCha8Rng::seed_from_u64(4)
        )
        .is_err()
    );
}

/// Timestep indices whose VE noise variances are roughly geometric between 1e-4 and 2.
fn noise_grid(levels: &NoiseLevels, k: usize) -> Vec<usize> {
    let (lo, hi) = (1e-4f64.ln(), 2f64.ln());
    let mut ts: Vec<usize> = (0..k)
        .map(|i| {
            let target = (lo + (hi - lo) * i as f64 / (k - 1) as f64).exp();
            levels.step_at_ve_sigma2(target).unwrap_or(levels.len() - 1)
        })
        .collect();
    ts.sort_unstable();
    ts.dedup();
    ts
}

/// The spectrum settings the tests share (Haar score-matrix perturbations, default dimension
/// estimators, collapse at half the variance kept), at `timesteps` with `method`, `seed` and
/// `probe`.
fn spectrum_config(
    timesteps: Vec<usize>,
    method: Method,
    seed: u64,
    probe: ProbeConfig,
) -> SpectrumConfig {
    SpectrumConfig {
        timesteps,
        method,
        score_matrix: ScoreMatrixConfig {
            k_mult: 1.0,
            perturbation: Perturbation::Haar,
            symmetric: false,
        },
        dims: DimParams::default(),
        seed,
        collapse_threshold: 0.5,
        probe,
    }
}

/// Clean points and two noised draws of each.
fn clean_and_two_noised() -> ProbeConfig {
    ProbeConfig {
        probes: vec![Probe::Clean, Probe::Noised],
        noise_draws: 2,
    }
}

/// The paper's experiment with the exact empirical score: on the normalised linear manifold
/// (d = 30, 2 directions with std 1.0, 5 with std 0.3, 23 with std 0.01; N = 1000) the
/// spectrum shows the 7 manifold directions at large noise, none at small noise, and the
/// std-1.0 block collapses onto the training points at a larger noise level than the std-0.3
/// block. Checked with the closed form and with autodiff through the `empirical` denoiser.
#[test]
fn empirical_score_loses_the_high_variance_block_first() {
    let spec = DataSpec::parse("manifold:paper,normalize=true").unwrap();
    let n = 1000;
    let (train, _) = train_and_heldout(&spec, &SubsetSpec::new(n)).unwrap();
    let d = train.dim();
    let device = Device::flex();
    let diffusion = ho_diffusion(&device);
    let levels = NoiseLevels::of(&diffusion.schedule);
    let closed_form = EmpiricalScore::new(&train.samples, d, levels.clone()).unwrap();
    let model = Empirical::new(&train.samples, d, &diffusion, 512, &device);
    let autodiff = ModelScore::new(&model, &diffusion, d, &device, d);
    let blocks = ManifoldBlocks::from_truth(train.truth.as_ref().unwrap(), &train.samples, d)
        .unwrap()
        .unwrap();
    assert!(blocks.normalized);
    let cfg = spectrum_config(
        noise_grid(&levels, 24),
        Method::Jacobian,
        0,
        ProbeConfig::default(),
    );
    let points = PointSet::choose("train", &train.samples, d, 12, 1);
    check_collapse_order_and_dims("closed form", &closed_form, &levels, &points, &cfg, &blocks);
    check_collapse_order_and_dims("autodiff", &autodiff, &levels, &points, &cfg, &blocks);
}

/// On the paper's manifold, the score field `field` (called `name`) has its std-1.0 block
/// collapse at a larger noise level than its std-0.3 block, as theory orders them, and its
/// latent dimension (cliff, symmetric part of -J) is the manifold's 7 at large noise and 0 at
/// small noise, for every point.
fn check_collapse_order_and_dims(
    name: &str,
    field: &dyn ScoreField,
    levels: &NoiseLevels,
    points: &PointSet,
    cfg: &SpectrumConfig,
    blocks: &ManifoldBlocks,
) {
    let a = analyse(
        field,
        levels,
        std::slice::from_ref(points),
        cfg,
        Some(blocks),
        &mut |_, _| {},
    )
    .unwrap();
    let summary = diffmem_metrics::spectrum::SpectrumSummary::of(&a);
    let bs = summary.blocks.as_ref().unwrap();
    for b in &bs.blocks {
        let c = &b.curves[0];
        eprintln!(
            "{name}: {} s2 {:.4} theory sigma2_c {:.3e} measured collapse {:?}",
            b.label, b.s2, b.critical_sigma2, c.collapse_sigma2
        );
    }
    let big = bs.blocks[0].curves[0]
        .collapse_sigma2
        .expect("std-1.0 block collapses on the grid");
    let small = bs.blocks[1].curves[0]
        .collapse_sigma2
        .expect("std-0.3 block collapses on the grid");
    assert!(
        big > small,
        "{name}: std-1.0 block collapses at sigma^2 {big:e}, std-0.3 block at {small:e}"
    );
    // Theory orders them the same way.
    assert!(bs.blocks[0].critical_sigma2 > bs.blocks[1].critical_sigma2);
    // Latent dimension (cliff, symmetric part of -J): the manifold's 7 at large noise,
    // 0 at small noise, for every point.
    for r in summary.dims.iter().filter(|r| r.kind == "neg-sym-eig") {
        eprintln!(
            "{name}: sigma2 {:.3e} cliff {:.2} +- {:.2}",
            r.ve_sigma2, r.cliff_mean, r.cliff_std
        );
        if r.ve_sigma2 > 0.1 {
            assert_eq!(
                (r.cliff_mean, r.cliff_std),
                (7.0, 0.0),
                "{name} at sigma^2 {}",
                r.ve_sigma2
            );
        }
        if r.ve_sigma2 < 5e-4 {
            assert_eq!(
                (r.cliff_mean, r.cliff_std),
                (0.0, 0.0),
                "{name} at sigma^2 {}",
                r.ve_sigma2
            );
        }
    }
}

/// The analysis the report test writes: an empirical model of 50 rows of a 10-dimensional
/// two-block manifold, 2 train and 2 held-out points, 4 log-spaced timesteps, both methods,
/// clean points and two noised draws; with the data dimension.
fn report_analysis() -> (Analysis, usize) {
    let device = Device::flex();
    let diffusion = ho_diffusion(&device);
    let spec = DataSpec::parse("manifold:d=10,blocks=2x1.0+2x0.3,ambient=0.01").unwrap();
    let sub = SubsetSpec {
        heldout_n: 3,
        ..SubsetSpec::new(50)
    };
    let (train, held) = train_and_heldout(&spec, &sub).unwrap();
    let d = train.dim();
    let model = Empirical::new(&train.samples, d, &diffusion, 64, &device);
    let field = ModelScore::new(&model, &diffusion, d, &device, 10);
    let levels = NoiseLevels::of(&diffusion.schedule);
    let blocks =
        ManifoldBlocks::from_truth(train.truth.as_ref().unwrap(), &train.samples, d).unwrap();
    let timesteps = "log:4".parse::<TimeGrid>().unwrap().resolve(1000).unwrap();
    let cfg = spectrum_config(timesteps, Method::Both, 3, clean_and_two_noised());
    assert_eq!(cfg.timesteps, vec![0, 9, 99, 999]);
    let sets = [
        PointSet::choose("train", &train.samples, d, 2, 0),
        PointSet::choose("heldout", &held.samples, d, 2, 0),
    ];
    let mut calls = 0;
    let a = analyse(
        &field,
        &levels,
        &sets,
        &cfg,
        blocks.as_ref(),
        &mut |_, _| calls += 1,
    )
    .unwrap();
    assert_eq!(calls, 4);
    // 2 sets x 2 points x 4 timesteps x (1 clean + 2 noised) x (2 Jacobian kinds + score
    // matrix).
    assert_eq!(a.spectra.len(), 144);
    (a, d)
}

/// The header columns of the CSV file `dir/f`.
fn csv_header(dir: &Path, f: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(f)).unwrap();
    text.lines()
        .next()
        .unwrap()
        .split(',')
        .map(String::from)
        .collect()
}

/// The report's files in `dir`: every CSV and plot written and non-empty, one spectra row per
/// singular value, the paper's t (1..=T) in a column named so, the probe of each row.
fn check_report_files(dir: &Path, d: usize) {
    for f in [
        "spectra.csv",
        "dims.csv",
        "blocks.csv",
        "spectra_jacobian_singular_train.png",
        "spectra_jacobian_singular_train_noised.png",
        "spectra_score-matrix_singular_heldout.png",
        "latent_dim_train.png",
        "blocks_heldout.png",
    ] {
        let meta = std::fs::metadata(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(meta.len() > 0, "{f} is empty");
    }
    let spectra = std::fs::read_to_string(dir.join("spectra.csv")).unwrap();
    assert_eq!(spectra.lines().count(), 1 + 144 * d);
    // One timestep convention: the paper's t (1..=T), in a column named so; each row says
    // which probe it measured.
    for f in ["spectra.csv", "dims.csv", "blocks.csv"] {
        let h = csv_header(dir, f);
        assert!(
            h.contains(&"paper_t".into()) && !h.contains(&"t".into()),
            "{f}: {h:?}"
        );
        assert!(
            h.contains(&"probe".into()) && h.contains(&"draw".into()),
            "{f}: {h:?}"
        );
    }
    assert!(csv_header(dir, "dims.csv").contains(&"cliff_authors".into()));
    let dims = std::fs::read_to_string(dir.join("dims.csv")).unwrap();
    let ts: std::collections::BTreeSet<&str> = dims
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(6).unwrap())
        .collect();
    assert_eq!(
        ts.into_iter().collect::<Vec<_>>(),
        ["1", "10", "100", "1000"]
    );
    let blocks_csv = std::fs::read_to_string(dir.join("blocks.csv")).unwrap();
    // 2 sets x 2 points x 4 timesteps x 3 probe draws x 2 blocks.
    assert_eq!(blocks_csv.lines().count(), 1 + 96);
    assert_eq!(
        blocks_csv
            .lines()
            .filter(|l| l.contains(",noised,"))
            .count(),
        64
    );
}

/// The report's summary: a dimension row per (set, probe, method and kind, timestep), all at a
/// paper t, one block curve per (set, probe), and each block's critical level given as the
/// paper t where the VE noise variance first reaches it.
fn check_summary_json(summary: &SpectrumSummary, levels: &NoiseLevels) {
    let json = serde_json::to_value(summary).unwrap();
    // 2 sets x 2 probes x 3 (method, kind) x 4 timesteps.
    let rows = json["dims"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2 * 3 * 4);
    assert!(rows.iter().all(|r| r["paper_t"].as_u64().unwrap() >= 1));
    assert_eq!(
        json["config"]["paper_t"],
        serde_json::json!([1, 10, 100, 1000])
    );
    let blocks = json["blocks"]["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    // blocks=2x1.0+2x0.3: two directions each.
    assert!(blocks.iter().all(|b| b["dim"] == 2), "{blocks:?}");
    // One curve per (set, probe); the critical level's step is a paper t.
    assert_eq!(blocks[0]["curves"].as_array().unwrap().len(), 4);
    let crit_t = blocks[0]["critical_paper_t"].as_u64().unwrap() as usize;
    let crit = blocks[0]["critical_sigma2"].as_f64().unwrap();
    assert!(levels.ve_sigma2(crit_t - 1) >= crit && levels.ve_sigma2(crit_t - 2) < crit);
}

#[test]
fn report_writes_csv_files_and_plots() {
    let (a, d) = report_analysis();
    let dir = std::env::temp_dir().join(format!("diffmem-spectrum-{}", std::process::id()));
    let summary = write_report(&a, &dir).unwrap();
    check_report_files(&dir, d);
    check_summary_json(&summary, &a.levels);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Time grids: a log grid needs at least one point, and lists are the paper's t (1..=T, so
/// 0 and T + 1 are refused).
#[test]
fn time_grid_lists_are_the_papers_t() {
    assert!("log:0".parse::<TimeGrid>().is_err());
    assert_eq!(TimeGrid::List(vec![1000]).resolve(1000).unwrap(), vec![999]);
    assert_eq!(
        "1,10".parse::<TimeGrid>().unwrap().resolve(1000).unwrap(),
        vec![0, 9]
    );
    assert!(TimeGrid::List(vec![0]).resolve(1000).is_err());
    assert!(TimeGrid::List(vec![1001]).resolve(1000).is_err());
}

/// The headline's known answer: on the paper's normalised linear manifold (2 directions of std
/// 1.0 + 5 of std 0.3 in d = 30), the exact Gaussian score (`linear-exact`) and the exact
/// empirical score (`empirical`, N = 1000) both show the manifold's 7 directions at the
/// `before-collapse` level, for every point, clean or noised; the empirical score has lost
/// them (0) at the paper's image level t = 2 (sigma_t 0.019, VE 3.6e-4), far below both
/// blocks' critical levels, where the Gaussian score still keeps all 7.
#[test]
fn headline_gives_the_manifold_dimension_before_collapse() {
    let spec = DataSpec::parse("manifold:paper").unwrap();
    let (train, _) = train_and_heldout(&spec, &SubsetSpec::new(1000)).unwrap();
    let d = train.dim();
    let schedule = Schedule::new(ScheduleKind::default(), 1000).unwrap();
    let levels = NoiseLevels::of(&schedule);
    let blocks = ManifoldBlocks::from_truth(train.truth.as_ref().unwrap(), &train.samples, d)
        .unwrap()
        .unwrap();
    let moments = GaussianMoments::from_samples(&train.samples, d).unwrap();
    let gaussian = GaussianScore::new(moments, 0.0, levels.clone()).unwrap();
    let empirical = EmpiricalScore::new(&train.samples, d, levels.clone()).unwrap();
    let headline_levels = diffmem_metrics::spectrum::headline::levels(&levels, Some(&blocks));
    let names: Vec<&str> = headline_levels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["before-collapse", "achilli-t2", "achilli-t15"]);
    let cfg = spectrum_config(
        headline_levels.iter().map(|l| l.t).collect(),
        Method::Jacobian,
        0,
        clean_and_two_noised(),
    );
    let points = PointSet::choose("train", &train.samples, d, 8, 3);
    for (name, field, low_noise) in [
        ("linear-exact", &gaussian as &dyn ScoreField, 7.0),
        ("empirical", &empirical, 0.0),
    ] {
        let a = analyse(
            field,
            &levels,
            std::slice::from_ref(&points),
            &cfg,
            Some(&blocks),
            &mut |_, _| {},
        )
        .unwrap();
        let h = diffmem_metrics::spectrum::SpectrumSummary::of(&a).headline;
        eprintln!("{name}:\n{}", h.lines().join("\n"));
        assert!(h.estimator.starts_with("cliff"), "{}", h.estimator);
        for probe in [Probe::Clean, Probe::Noised] {
            let at = |level: &str| {
                h.dims
                    .iter()
                    .find(|r| r.level == level && r.probe == probe)
                    .unwrap_or_else(|| panic!("{name}: no {level} row"))
            };
            let before = at("before-collapse");
            assert_eq!(
                (before.q25, before.q75),
                (7.0, 7.0),
                "{name} {probe:?}: {before:?}"
            );
            let late = at("achilli-t2");
            let want = (low_noise, low_noise);
            assert_eq!((late.q25, late.q75), want, "{name} {probe:?}: {late:?}");
        }
    }
}
