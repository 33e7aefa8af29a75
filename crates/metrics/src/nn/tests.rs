//! Nearest neighbours against a brute-force f64 search.

use super::*;
use crate::test_data::{rng, uniform};

/// Exact k nearest neighbours in f64: (normalised distance, index), ties by lower index.
fn brute_force(q: &[f32], r: &[f32], dim: usize, k: usize) -> Vec<Vec<(f64, usize)>> {
    q.chunks(dim)
        .map(|x| {
            let mut all: Vec<(f64, usize)> = r
                .chunks(dim)
                .enumerate()
                .map(|(j, y)| {
                    let sq: f64 = x
                        .iter()
                        .zip(y)
                        .map(|(&a, &b)| (a as f64 - b as f64).powi(2))
                        .sum();
                    (sq.sqrt() / (dim as f64).sqrt(), j)
                })
                .collect();
            all.sort_by(|a, b| a.partial_cmp(b).unwrap());
            all.truncate(k);
            all
        })
        .collect()
}

/// Check `nn` against brute force: same distances, and every index really has that distance.
fn check(nn: &Neighbours, q: &[f32], r: &[f32], dim: usize) {
    let k = nn.k;
    let exact = brute_force(q, r, dim, k);
    let all = brute_force(q, r, dim, r.len() / dim);
    assert_eq!(nn.len(), exact.len());
    for (i, want) in exact.iter().enumerate() {
        for (j, &(d, _)) in want.iter().enumerate() {
            let (got, idx) = (nn.distances[i * k + j], nn.indices[i * k + j]);
            assert!(
                (got - d).abs() <= 1e-6 * (1.0 + d),
                "query {i} nn {j}: {got} vs {d}"
            );
            let at_idx = all[i].iter().find(|e| e.1 == idx).unwrap().0;
            assert!(
                (at_idx - got).abs() <= 1e-6 * (1.0 + d),
                "query {i} nn {j} index {idx}"
            );
        }
        let idx = &nn.indices[i * k..(i + 1) * k];
        assert!(
            (1..k).all(|j| !idx[..j].contains(&idx[j])),
            "repeated index for {i}"
        );
    }
}

/// Random references with exact duplicates, and queries that include copies of references.
fn data(m: usize, n: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut g = rng(seed);
    let mut r = uniform(&mut g, n * dim, -1.0, 1.0);
    let mut q = uniform(&mut g, m * dim, -1.0, 1.0);
    // Row 5 duplicated at row n - 1 and row 2 at row 3 (ties).
    r.copy_within(5 * dim..6 * dim, (n - 1) * dim);
    r.copy_within(2 * dim..3 * dim, 3 * dim);
    // Query 0 equals reference 5 (and n - 1); query 1 equals reference 7.
    q[..dim].copy_from_slice(&r[5 * dim..6 * dim]);
    q[dim..2 * dim].copy_from_slice(&r[7 * dim..8 * dim]);
    (q, r)
}

#[test]
fn matches_brute_force_for_chunk_sizes_that_do_not_divide() {
    let (m, n, dim) = (37, 101, 13);
    let (q, r) = data(m, n, dim, 1);
    let device = Device::flex();
    for (qc, rc) in [(7, 13), (37, 101), (1, 1), (64, 1000), (5, 2)] {
        for k in [1, 2, 3] {
            let cfg = NnConfig {
                k,
                query_chunk: qc,
                ref_chunk: rc,
            };
            let nn = nearest_neighbours(&q, &r, dim, &cfg, &device).unwrap();
            check(&nn, &q, &r, dim);
        }
    }
}

#[test]
fn identical_query_has_distance_exactly_zero_and_ties_keep_lower_index() {
    let (m, n, dim) = (4, 50, 784);
    let (mut q, mut r) = data(m, n, dim, 2);
    // Offset far from the origin: large norms make the Gram formula alone inexact.
    q.iter_mut().chain(r.iter_mut()).for_each(|v| *v += 30.0);
    let cfg = NnConfig {
        k: 2,
        query_chunk: 3,
        ref_chunk: 16,
    };
    let nn = nearest_neighbours(&q, &r, dim, &cfg, &Device::flex()).unwrap();
    assert_eq!(&nn.distances[..2], &[0.0, 0.0]);
    assert_eq!(&nn.indices[..2], &[5, n - 1]);
    assert_eq!(nn.distances[2], 0.0);
    assert_eq!(nn.indices[2], 7);
    assert!(nn.distances[3] > 0.0);
    check(&nn, &q, &r, dim);
}

#[test]
fn tensor_input_gives_the_same_result() {
    let (m, n, dim) = (23, 61, 9);
    let (q, r) = data(m, n, dim, 3);
    let device = Device::flex();
    let cfg = NnConfig {
        k: 2,
        query_chunk: 6,
        ref_chunk: 11,
    };
    let host = nearest_neighbours(&q, &r, dim, &cfg, &device).unwrap();
    let qt = Tensor::<2>::from_data(TensorData::new(q.clone(), [m, dim]), &device);
    let rt = Tensor::<2>::from_data(TensorData::new(r.clone(), [n, dim]), &device);
    let dev = nearest_neighbours_tensor(&qt, &rt, &cfg).unwrap();
    assert_eq!(host.indices, dev.indices);
    for (a, b) in host.distances.iter().zip(&dev.distances) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    check(&dev, &q, &r, dim);
}

#[test]
fn columns_and_lengths() {
    let nn = Neighbours {
        k: 2,
        dim: 4,
        distances: vec![0.1, 0.2, 0.3, 0.4],
        indices: vec![7, 8, 9, 10],
    };
    assert_eq!(nn.len(), 2);
    assert_eq!(nn.distances_at(1).unwrap(), vec![0.2, 0.4]);
    assert_eq!(nn.indices_at(0).unwrap(), vec![7, 9]);
    assert!(nn.distances_at(2).is_err());
}

#[test]
fn invalid_inputs_are_errors_and_no_queries_is_empty() {
    let device = Device::flex();
    let r = vec![0.0f32; 6];
    let cfg = |k| NnConfig {
        k,
        query_chunk: 4,
        ref_chunk: 4,
    };
    assert!(nearest_neighbours(&[0.0; 3], &r, 3, &cfg(3), &device).is_err()); // k > N
    assert!(nearest_neighbours(&[0.0; 3], &r, 3, &cfg(0), &device).is_err()); // k = 0
    assert!(nearest_neighbours(&[0.0; 4], &r, 3, &cfg(1), &device).is_err()); // ragged
    assert!(nearest_neighbours(&[f32::NAN; 3], &r, 3, &cfg(1), &device).is_err());
    assert!(nearest_neighbours(&[0.0; 3], &r, 0, &cfg(1), &device).is_err());
    let empty = nearest_neighbours(&[], &r, 3, &cfg(2), &device).unwrap();
    assert!(empty.is_empty());
    assert_eq!((empty.len(), empty.indices.len()), (0, 0));
}

#[test]
fn block_reduction_handles_ties_on_the_device() {
    let device = Device::flex();
    let sq = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0, 5.0, 4.0, 3.0, 3.0], [2, 4]),
        &device,
    );
    let (v, i) = block_smallest(sq, 3).unwrap();
    assert_eq!(v, vec![0.0, 0.0, 1.0, 3.0, 3.0, 4.0]);
    assert_eq!(i, vec![1, 2, 0, 2, 3, 1]);
}

#[test]
fn budget_bounds_the_block() {
    for (dim, bytes) in [
        (784, NnConfig::DEFAULT_BUDGET_BYTES),
        (3072, 64 << 20),
        (10, 1000),
        (784, 0),
    ] {
        let c = NnConfig::for_budget(2, dim, bytes);
        assert!(c.query_chunk >= 1 && c.ref_chunk >= 1);
        let elems = 3 * c.query_chunk * c.ref_chunk + (c.query_chunk + 2 * c.ref_chunk) * dim;
        assert!(elems * 4 <= bytes.max(4 * (3 + 3 * dim)), "{c:?}");
    }
    let c = NnConfig::new(2, 784);
    assert_eq!(c.query_chunk, 1024);
    assert!(c.ref_chunk > 10_000);
}
