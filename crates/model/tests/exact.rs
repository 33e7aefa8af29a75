//! The exact denoisers and the samplers against independent computations.

use diffmem_model::ModelContext;
use diffmem_model::burn::prelude::*;
use diffmem_model::denoiser::{Denoiser, Empirical, LinearExact};
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::{HostNoise, NoiseSource};
use diffmem_model::sampler::{SampleJob, SamplerConfig, sample};

/// Samples `n` rows in one batch on flex.
fn draw(
    model: &dyn Denoiser,
    diffusion: &Diffusion,
    cfg: &SamplerConfig,
    clip_x0: Option<f64>,
    n: usize,
    d: usize,
    noise: &mut dyn NoiseSource,
) -> Vec<f32> {
    let device = Device::flex();
    let job = SampleJob {
        n,
        dim: d,
        batch: n,
    };
    sample(
        ModelContext::new(model, diffusion, &device),
        cfg,
        clip_x0,
        job,
        noise,
        &mut |_, _| {},
    )
    .unwrap()
}
use diffmem_model::{DdpmVariance, Diffusion, NoiseLevel, Objective, Schedule, ScheduleKind};
use faer::linalg::solvers::Solve;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn theory_diffusion(t_max: usize, device: &Device) -> Diffusion {
    let kind = ScheduleKind::Linear {
        beta_1: 1e-4,
        beta_t: 1e-2,
    };
    Diffusion::new(
        Schedule::new(kind, t_max).unwrap(),
        Objective::Eps,
        None,
        device,
    )
}

/// N samples of a Gaussian with per-coordinate stds `std` (0 = absent direction), rotated by
/// a fixed orthogonal 2x2 block so the covariance is not diagonal.
fn gaussian_rows(n: usize, std: &[f64], seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = std.len();
    let (c, s) = (0.6f64, 0.8f64);
    let mut rows = Vec::with_capacity(n * d);
    for _ in 0..n {
        let mut z: Vec<f64> = std
            .iter()
            .map(|s| {
                let z: f64 = StandardNormal.sample(&mut rng);
                s * z
            })
            .collect();
        let (a, b) = (z[0], z[1]);
        z[0] = c * a - s * b + 0.5;
        z[1] = s * a + c * b - 0.25;
        rows.extend(z.iter().map(|&v| v as f32));
    }
    rows
}

fn mean_var(rows: &[f32], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len() / d;
    let mut m = vec![0f64; d];
    let mut v = vec![0f64; d];
    for r in rows.chunks_exact(d) {
        for j in 0..d {
            m[j] += r[j] as f64 / n as f64;
        }
    }
    for r in rows.chunks_exact(d) {
        for j in 0..d {
            v[j] += (r[j] as f64 - m[j]).powi(2) / n as f64;
        }
    }
    (m, v)
}

/// W_t* equals the ordinary least-squares regression of eps on (x_t, 1) over a large
/// noised sample of the training set.
#[test]
fn linear_exact_equals_least_squares_on_noised_samples() {
    let device = Device::flex();
    let d = 4;
    let diffusion = theory_diffusion(1000, &device);
    let train = gaussian_rows(50, &[1.0, 0.5, 0.3, 0.2], 1);
    let model = LinearExact::fit(&train, d, 0.0, &diffusion, &device).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for &t in &[10usize, 300, 900] {
        let abar = diffusion.schedule.abar[t];
        // Normal equations for [x_t, 1] -> eps, accumulated in f64.
        let p = d + 1;
        let mut xtx = faer::Mat::<f64>::zeros(p, p);
        let mut xty = faer::Mat::<f64>::zeros(p, d);
        let m = 200_000;
        for k in 0..m {
            let x0 = &train[(k % 50) * d..(k % 50 + 1) * d];
            let eps: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let mut feat: Vec<f64> = (0..d)
                .map(|j| abar.sqrt() * x0[j] as f64 + (1.0 - abar).sqrt() * eps[j])
                .collect();
            feat.push(1.0);
            for a in 0..p {
                for b in 0..p {
                    xtx[(a, b)] += feat[a] * feat[b];
                }
                for b in 0..d {
                    xty[(a, b)] += feat[a] * eps[b];
                }
            }
        }
        let sol = xtx.partial_piv_lu().solve(&xty); // [p, d]: row j = coefficient of x_j
        // The exact model's W and b read off the device by evaluating at 0 and unit vectors.
        let mut probe = vec![0f32; (d + 1) * d];
        for j in 0..d {
            probe[(j + 1) * d + j] = 1.0;
        }
        let out = to_vec(model.forward(
            matrix(&probe, d + 1, d, &device),
            timesteps(&vec![t; d + 1], &device),
        ));
        for i in 0..d {
            let b_exact = out[i] as f64;
            assert!(
                (sol[(d, i)] - b_exact).abs() < 0.02,
                "t={t} b[{i}]: ls {} exact {b_exact}",
                sol[(d, i)]
            );
            for j in 0..d {
                let w_exact = out[(j + 1) * d + i] as f64 - b_exact;
                assert!(
                    (sol[(j, i)] - w_exact).abs() < 0.02,
                    "t={t} W[{i},{j}]: ls {} exact {w_exact}",
                    sol[(j, i)]
                );
            }
        }
        // And the host-side W_t* matches the device one.
        let w_host = model
            .moments
            .optimum_weight(NoiseLevel::from_abar(abar), 0.0);
        for i in 0..d {
            for j in 0..d {
                let dev = out[(j + 1) * d + i] as f64 - out[i] as f64;
                assert!((w_host[i * d + j] - dev).abs() < 1e-4);
            }
        }
    }
}

/// docs/theory.md §1: the exact sampled variance along an eigen-direction with eigenvalue l0,
/// by the recursion v_T = 1, v_{t-1} = M_t^2 v_t + sigma_t^2. Written here independently of
/// the model code.
fn recursion_variance(s: &Schedule, l0: f64, lambda: f64, last_noise: bool) -> f64 {
    let mut v = 1.0;
    for i in (0..s.len()).rev() {
        let (beta, abar) = (s.betas[i], s.abar[i]);
        let w = (1.0 - abar).sqrt() / (abar * l0 + 1.0 - abar + lambda);
        let m = (1.0 - beta * w / (1.0 - abar).sqrt()) / (1.0 - beta).sqrt();
        let sigma2 = if i == 0 && !last_noise { 0.0 } else { beta };
        v = m * m * v + sigma2;
    }
    v
}

#[test]
fn linear_exact_samples_have_variance_beta1_in_absent_directions() {
    let device = Device::flex();
    let d = 5;
    let diffusion = theory_diffusion(1000, &device);
    // Directions 2, 3, 4 are absent from the training data.
    let train = gaussian_rows(400, &[1.0, 0.6, 0.0, 0.0, 0.0], 3);
    let model = LinearExact::fit(&train, d, 0.0, &diffusion, &device).unwrap();
    let cfg = SamplerConfig::Ddpm {
        variance: DdpmVariance::Beta,
        last_noise: true,
    };
    let m = 4000;
    let out = draw(
        &model,
        &diffusion,
        &cfg,
        None,
        m,
        d,
        &mut HostNoise::seeded(7),
    );
    let (_, var) = mean_var(&out, d);
    let want = recursion_variance(&diffusion.schedule, 0.0, 0.0, true);
    assert!(
        (want / 1e-4 - 1.0).abs() < 0.5,
        "recursion gives c ~ beta_1: {want}"
    );
    for (j, v) in var.iter().enumerate().skip(2) {
        // Relative standard error of a variance from 4000 samples is sqrt(2/4000) = 2.2%.
        assert!(
            (v / want - 1.0).abs() < 0.1,
            "dir {j}: sampled {v}, theory {want}"
        );
    }
    // Without last-step noise, samples lie in mu0 + span(data): variance ~ 0 there.
    let cfg = SamplerConfig::Ddpm {
        variance: DdpmVariance::Beta,
        last_noise: false,
    };
    let out = draw(
        &model,
        &diffusion,
        &cfg,
        None,
        1000,
        d,
        &mut HostNoise::seeded(8),
    );
    let (_, var) = mean_var(&out, d);
    let want0 = recursion_variance(&diffusion.schedule, 0.0, 0.0, false);
    for v in &var[2..] {
        assert!(
            *v < 3.0 * want0 + 1e-9,
            "no last noise: {v} vs theory {want0}"
        );
    }
}

#[test]
fn empirical_samples_land_on_training_points() {
    let device = Device::flex();
    let (d, n) = (6, 12);
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), 300).unwrap(),
        Objective::Eps,
        None,
        &device,
    );
    let train = gaussian_rows(n, &[1.0; 6], 11);
    // Small chunks exercise the streamed log-sum-exp across chunk boundaries.
    let model = Empirical::new(&train, d, &diffusion, 5, &device);
    let cfg = SamplerConfig::Ddpm {
        variance: DdpmVariance::Posterior,
        last_noise: false,
    };
    let out = draw(
        &model,
        &diffusion,
        &cfg,
        None,
        40,
        d,
        &mut HostNoise::seeded(5),
    );
    let mut hit = std::collections::HashSet::new();
    for s in out.chunks_exact(d) {
        let (best, idx) = train
            .chunks_exact(d)
            .enumerate()
            .map(|(i, t)| {
                (
                    t.iter()
                        .zip(s)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f32>()
                        .sqrt(),
                    i,
                )
            })
            .fold((f32::MAX, 0), |a, b| if b.0 < a.0 { b } else { a });
        assert!(
            best < 1e-2,
            "sample is {best} from its nearest training point"
        );
        hit.insert(idx);
    }
    assert!(
        hit.len() > 4,
        "samples spread over training points: {}",
        hit.len()
    );
}

#[test]
fn empirical_eps_matches_a_direct_softmax() {
    let device = Device::flex();
    let (d, n) = (3, 7);
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), 100).unwrap(),
        Objective::Eps,
        None,
        &device,
    );
    let train = gaussian_rows(n, &[1.0; 3], 4);
    let model = Empirical::new(&train, d, &diffusion, 3, &device);
    let x = [0.3f32, -0.2, 0.9, 1.5, 0.1, -1.0];
    let ts = [20usize, 80];
    let out = to_vec(model.forward(matrix(&x, 2, d, &device), timesteps(&ts, &device)));
    for (r, &t) in ts.iter().enumerate() {
        let a = diffusion.schedule.abar[t].sqrt();
        let s2 = 1.0 - diffusion.schedule.abar[t];
        let xs: Vec<f64> = x[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
        let logits: Vec<f64> = train
            .chunks_exact(d)
            .map(|p| {
                -p.iter()
                    .zip(&xs)
                    .map(|(&pi, xi)| (xi - a * pi as f64).powi(2))
                    .sum::<f64>()
                    / (2.0 * s2)
            })
            .collect();
        let mx = logits.iter().cloned().fold(f64::MIN, f64::max);
        let w: Vec<f64> = logits.iter().map(|l| (l - mx).exp()).collect();
        let z: f64 = w.iter().sum();
        for j in 0..d {
            let mean: f64 = train
                .chunks_exact(d)
                .zip(&w)
                .map(|(p, wi)| wi / z * a * p[j] as f64)
                .sum();
            let eps = (xs[j] - mean) / s2.sqrt();
            assert!(
                (out[r * d + j] as f64 - eps).abs() < 1e-3 * (1.0 + eps.abs()),
                "t={t} j={j}"
            );
        }
    }
}

/// DDIM with eta = 1 and T steps has the DDPM posterior-variance update: same distribution.
#[test]
fn ddim_eta1_agrees_with_ddpm_and_eta0_is_deterministic() {
    let device = Device::flex();
    let d = 3;
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), 200).unwrap(),
        Objective::Eps,
        None,
        &device,
    );
    let train = gaussian_rows(300, &[1.0, 0.5, 0.2], 9);
    let model = LinearExact::fit(&train, d, 0.0, &diffusion, &device).unwrap();
    let m = 4000;
    let run = |cfg: &SamplerConfig, seed| {
        draw(
            &model,
            &diffusion,
            cfg,
            None,
            m,
            d,
            &mut HostNoise::seeded(seed),
        )
    };
    let ddpm = run(
        &SamplerConfig::Ddpm {
            variance: DdpmVariance::Posterior,
            last_noise: false,
        },
        1,
    );
    let ddim = run(
        &SamplerConfig::Ddim {
            steps: 200,
            eta: 1.0,
        },
        2,
    );
    let (m1, v1) = mean_var(&ddpm, d);
    let (m2, v2) = mean_var(&ddim, d);
    for j in 0..d {
        let se = (v1[j] / m as f64).sqrt() * 4.0;
        assert!(
            (m1[j] - m2[j]).abs() < 2.0 * se,
            "mean {j}: {} vs {}",
            m1[j],
            m2[j]
        );
        assert!(
            (v1[j] / v2[j] - 1.0).abs() < 0.12,
            "var {j}: {} vs {}",
            v1[j],
            v2[j]
        );
    }
    // eta = 0: the same initial noise gives bit-identical samples, and only one draw is used.
    struct Counting(HostNoise, usize);
    impl NoiseSource for Counting {
        fn next(&mut self, shape: [usize; 2], device: &Device) -> Tensor<2> {
            self.1 += 1;
            self.0.next(shape, device)
        }
    }
    let cfg = SamplerConfig::Ddim {
        steps: 20,
        eta: 0.0,
    };
    let mut a = Counting(HostNoise::seeded(3), 0);
    let mut b = Counting(HostNoise::seeded(3), 0);
    let sa = draw(&model, &diffusion, &cfg, None, 50, d, &mut a);
    let sb = draw(&model, &diffusion, &cfg, None, 50, d, &mut b);
    assert_eq!(sa, sb);
    assert_eq!((a.1, b.1), (1, 1));
}

#[test]
fn same_seed_same_samples_with_device_noise() {
    let device = Device::flex();
    let d = 2;
    let diffusion = theory_diffusion(50, &device);
    let train = gaussian_rows(20, &[1.0, 0.5], 1);
    let model = LinearExact::fit(&train, d, 0.1, &diffusion, &device).unwrap();
    let cfg = SamplerConfig::default();
    let draw = |seed| {
        let mut noise = diffmem_model::noise::DeviceNoise::seeded(&device, seed);
        draw(&model, &diffusion, &cfg, None, 8, d, &mut noise)
    };
    assert_eq!(draw(4), draw(4));
    assert_ne!(draw(4), draw(5));
}

/// With a clip bound that never binds, the posterior-mean (x0) form of the DDPM step and the
/// clamped DDIM step give the same samples as the eps form.
#[test]
fn loose_x0_clipping_changes_nothing_and_tight_clipping_bounds_samples() {
    let device = Device::flex();
    let d = 3;
    let diffusion = Diffusion::new(
        Schedule::new(ScheduleKind::default(), 100).unwrap(),
        Objective::Eps,
        None,
        &device,
    );
    let train = gaussian_rows(50, &[1.0, 0.5, 0.2], 2);
    let model = LinearExact::fit(&train, d, 0.0, &diffusion, &device).unwrap();
    for cfg in [
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            last_noise: false,
        },
        SamplerConfig::Ddim {
            steps: 20,
            eta: 0.5,
        },
    ] {
        let plain = draw(
            &model,
            &diffusion,
            &cfg,
            None,
            30,
            d,
            &mut HostNoise::seeded(1),
        );
        let loose = draw(
            &model,
            &diffusion,
            &cfg,
            Some(1e6),
            30,
            d,
            &mut HostNoise::seeded(1),
        );
        for (a, b) in plain.iter().zip(&loose) {
            assert!(
                (a - b).abs() < 1e-3 * (1.0 + a.abs()),
                "{cfg:?}: {a} vs {b}"
            );
        }
        let tight = draw(
            &model,
            &diffusion,
            &cfg,
            Some(0.1),
            30,
            d,
            &mut HostNoise::seeded(1),
        );
        assert!(
            tight.iter().all(|v| v.abs() <= 0.1 + 1e-4),
            "{cfg:?}: clipped samples leave [-0.1, 0.1]"
        );
    }
}
