//! Times a nearest-neighbour search of M queries against N references in dimension D on the
//! flex (CPU) device; by default an MNIST-sized eval (10k x 60k x 784, k = 2).
//!
//! `cargo run --release -p diffmem-metrics --example nn_speed [-- M N D]`

use std::time::Instant;

use burn::prelude::Device;
use diffmem_metrics::nn::{NnConfig, nearest_neighbours};
use rand::{RngExt, SeedableRng};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are M N D (integers)"))
        .collect();
    let [m, n, d] = match args.as_slice() {
        [] => [10_000, 60_000, 784],
        &[m, n, d] => [m, n, d],
        _ => panic!("usage: nn_speed [M N D]"),
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut random =
        |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let (queries, references) = (random(m * d), random(n * d));
    let device = Device::flex();
    let cfg = NnConfig::new(2, d);
    println!(
        "M = {m}, N = {n}, D = {d}, k = 2, blocks {} x {}",
        cfg.query_chunk, cfg.ref_chunk
    );
    let start = Instant::now();
    let nn = nearest_neighbours(&queries, &references, d, &cfg, &device).expect("search");
    let secs = start.elapsed().as_secs_f64();
    let gflop = 2.0 * (m * n * d) as f64 / 1e9;
    println!(
        "flex: {secs:.2} s ({:.1} GFLOP/s in the matrix products), mean d1 {:.4}",
        gflop / secs,
        nn.distances_at(0).unwrap().iter().sum::<f64>() / m.max(1) as f64
    );
}
