//! Times the exact Jacobian of a denoiser's score on the flex CPU backend plus its spectrum
//! (singular values and symmetric-part eigenvalues, faer f64): the 784-512-512-784 MLP
//! (MNIST, D = 784), the same MLP widths at D = 3072 (CIFAR-10), and the default UNet at
//! D = 3072 (one pass of rows, extrapolated to all D rows). The performance evidence of the
//! spectrum metric; not a test.
//!
//!   cargo run --release -p diffmem-metrics --example jacobian_speed [-- REPEATS]
//!
//! Reference: PyTorch jacrev + eigvals of a 784-512-512-784 MLP takes ~0.2 s on this kind of
//! 2-core machine.

use diffmem_metrics::spectrum::ScoreField;
use diffmem_metrics::spectrum::jacobian::{ModelScore, jacobian_rows};
use diffmem_metrics::spectrum::svd::{gram_singular_values, neg_sym_eigenvalues, singular_values};
use diffmem_model::burn::prelude::*;
use diffmem_model::denoiser::{MlpConfig, UnetConfig};
use diffmem_model::{Diffusion, Net, Objective, Schedule, ScheduleKind};
use std::time::Instant;

fn main() {
    let repeats: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let device = Device::flex();
    device.seed(0);
    let schedule = Schedule::new(ScheduleKind::default(), 1000).expect("schedule");
    let diffusion = Diffusion::new(schedule, Objective::Eps, None, &device);
    let point = |dim: usize| -> Vec<f64> {
        (0..dim)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect()
    };
    for dim in [784usize, 3072] {
        let mlp = Net::Mlp(
            MlpConfig {
                width: 512,
                depth: 1,
                temb: 128,
            }
            .init(dim, &device),
        );
        let x = point(dim);
        for rows_per_pass in [dim, 256] {
            let field = ModelScore::new(&mlp, &diffusion, dim, &device, rows_per_pass);
            // Warm-up (allocations, thread pools).
            let _ = field.jacobian(&x, 100).expect("jacobian");
            let (mut tj, mut ts, mut tg, mut te) = (0.0, 0.0, 0.0, 0.0);
            for _ in 0..repeats {
                let start = Instant::now();
                let j = field.jacobian(&x, 100).expect("jacobian");
                tj += start.elapsed().as_secs_f64();
                let start = Instant::now();
                let s = singular_values(&j).expect("svd");
                ts += start.elapsed().as_secs_f64();
                let start = Instant::now();
                let g = gram_singular_values(&(j.transpose() * &j), dim).expect("gram");
                tg += start.elapsed().as_secs_f64();
                let start = Instant::now();
                let e = neg_sym_eigenvalues(&j).expect("eig");
                te += start.elapsed().as_secs_f64();
                let dev = s
                    .iter()
                    .zip(&g)
                    .map(|(a, b)| ((a - b) / s[0]).abs())
                    .fold(0.0, f64::max);
                assert!(
                    e[0].is_finite() && dev < 1e-6,
                    "Gram route deviates by {dev:e}"
                );
            }
            let r = repeats as f64;
            println!(
                "mlp  D = {dim:4}  rows/pass = {rows_per_pass:4}  jacobian {:.3} s  singular values: \
                 SVD {:.3} s, Gram {:.3} s  sym eigenvalues {:.3} s",
                tj / r,
                ts / r,
                tg / r,
                te / r,
            );
        }
    }
    let unet = Net::Unet(UnetConfig::default().init(3, 32, &device).expect("unet"));
    let x: Vec<f32> = point(3072).into_iter().map(|v| v as f32).collect();
    let rows = 64;
    let _ = jacobian_rows(&unet, &diffusion, &x, 100, 0..rows, &device).expect("unet rows");
    let start = Instant::now();
    let _ = jacobian_rows(&unet, &diffusion, &x, 100, 0..rows, &device).expect("unet rows");
    let per_pass = start.elapsed().as_secs_f64();
    println!(
        "unet D = 3072  {rows} rows in one pass {per_pass:.3} s  => full Jacobian ~{:.0} s (extrapolated, {} passes)",
        per_pass * 3072.0 / rows as f64,
        3072 / rows
    );
}
