//! Memorisation ratio on constructed cases whose answer is known.

use super::*;
use crate::nn::{NnConfig, nearest_neighbours};
use crate::test_data::{gaussian, rng, uniform};
use burn::prelude::Device;

fn neighbours(samples: &[f32], refs: &[f32], dim: usize) -> Neighbours {
    let cfg = NnConfig {
        k: 2,
        query_chunk: 32,
        ref_chunk: 48,
    };
    nearest_neighbours(samples, refs, dim, &cfg, &Device::flex()).unwrap()
}

fn manual(d1: &[f64], d2: &[f64]) -> Neighbours {
    let distances = d1.iter().zip(d2).flat_map(|(&a, &b)| [a, b]).collect();
    Neighbours {
        k: 2,
        dim: 4,
        distances,
        indices: (0..2 * d1.len()).collect(),
    }
}

#[test]
fn copies_of_training_points_are_all_memorised() {
    let dim = 64;
    let mut g = rng(10);
    let train = uniform(&mut g, 200 * dim, -1.0, 1.0);
    // 50 samples: training images 0, 4, 8, ... plus noise of std 1e-3.
    let noise = gaussian(&mut g, 50 * dim, 1e-3);
    let samples: Vec<f32> = (0..50)
        .flat_map(|i| train[4 * i * dim..(4 * i + 1) * dim].to_vec())
        .zip(noise)
        .map(|(x, e)| x + e)
        .collect();
    let s = summarize(&neighbours(&samples, &train, dim), None, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(s.num_samples, 50);
    assert_eq!(s.r_mem, 1.0);
    assert!(s.ratio.max < 0.01, "{:?}", s.ratio);
    assert!(s.d1.max < 2e-3 && s.d2.min > 0.3);
}

#[test]
fn broad_gaussian_far_from_a_small_set_is_not_memorised() {
    let dim = 64;
    let mut g = rng(11);
    let train = uniform(&mut g, 20 * dim, -0.1, 0.1);
    let samples = gaussian(&mut g, 300 * dim, 3.0);
    let train_nn = neighbours(&samples, &train, dim);
    let held = uniform(&mut g, 20 * dim, -0.1, 0.1);
    let held_nn = neighbours(&samples, &held, dim);
    let s = summarize(&train_nn, Some(&held_nn), DEFAULT_THRESHOLD).unwrap();
    assert_eq!(s.r_mem, 0.0);
    assert!(s.ratio.min > 0.9, "{:?}", s.ratio);
    let h = s.heldout.unwrap();
    // Train and held-out sets are exchangeable: about half the samples are closer to each.
    assert!((h.frac_closer_to_heldout - 0.5).abs() < 0.15, "{h:?}");
    assert_eq!(h.r_mem_heldout, Some(0.0));
}

#[test]
fn threshold_edge_cases() {
    let ratios = [0.0, 0.25, 1.0 / 3.0, 0.5, 1.0];
    // Strict inequality: a ratio equal to the threshold is not memorised.
    assert_eq!(
        memorization_fraction(&ratios, DEFAULT_THRESHOLD).unwrap(),
        0.4
    );
    assert_eq!(memorization_fraction(&ratios, 1e-9).unwrap(), 0.2);
    assert_eq!(memorization_fraction(&ratios, 0.999).unwrap(), 0.8);
    // Outside (0, 1) the ratio test is vacuous (nothing or everything memorised): refused.
    for bad in [0.0, 1.0, 1.5, -0.1, f64::NAN, f64::INFINITY] {
        assert!(memorization_fraction(&ratios, bad).is_err());
    }
    assert!(memorization_fraction(&[], 0.3).is_err());
}

#[test]
fn duplicated_training_image_copied_exactly_counts_as_memorised() {
    let nn = manual(&[0.0, 0.0, 0.2], &[0.0, 0.4, 0.2]);
    assert_eq!(nn_ratios(&nn).unwrap(), vec![0.0, 0.0, 1.0]);
    let s = summarize(&nn, None, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(s.exact_copies, 2);
    assert!((s.r_mem - 2.0 / 3.0).abs() < 1e-15);
}

/// A perfect copier of a training set in which every image is stored twice: with plain
/// neighbours a noisy copy has d_1 ~ d_2 (ratio ~ 1, "not memorised"); with the distinct rule
/// d_2 is the distance to the next distinct image, so every copy is memorised (R_mem = 1).
#[test]
fn copies_of_duplicated_training_images_are_all_memorised() {
    let dim = 16;
    let mut g = rng(11);
    let images = uniform(&mut g, 20 * dim, -1.0, 1.0);
    let train: Vec<f32> = images.iter().chain(&images).copied().collect();
    let noise = gaussian(&mut g, 20 * dim, 1e-6);
    let samples: Vec<f32> = images.iter().zip(&noise).map(|(x, e)| x + e).collect();
    let plain = summarize(&neighbours(&samples, &train, dim), None, DEFAULT_THRESHOLD).unwrap();
    assert!(plain.r_mem < 0.5, "{plain:?}");
    let cfg = NnConfig::new(2, dim);
    let (nn, dups) =
        crate::nn::nearest_distinct_neighbours(&samples, &train, dim, &cfg, &Device::flex())
            .unwrap();
    assert_eq!(dups, 20);
    let s = summarize(&nn, None, DEFAULT_THRESHOLD).unwrap();
    assert_eq!(s.r_mem, 1.0);
    // Ties go to the first occurrence: every NN_1 is one of the first 20 rows.
    assert!(nn.indices_at(0).unwrap().iter().all(|&i| i < 20));
}

#[test]
fn k1_and_mismatched_heldout_are_errors() {
    let nn = manual(&[0.1, 0.2], &[0.3, 0.4]);
    let k1 = Neighbours {
        k: 1,
        dim: 4,
        distances: vec![0.1, 0.2],
        indices: vec![0, 1],
    };
    assert!(summarize(&k1, None, DEFAULT_THRESHOLD).is_err());
    let short = Neighbours {
        distances: vec![0.1],
        indices: vec![0],
        ..k1.clone()
    };
    assert!(summarize(&nn, Some(&short), DEFAULT_THRESHOLD).is_err());
    assert!(per_sample(&nn, Some(&short), DEFAULT_THRESHOLD).is_err());
    let s = summarize(&nn, Some(&k1), DEFAULT_THRESHOLD).unwrap();
    let h = s.heldout.unwrap();
    assert_eq!((h.frac_closer_to_heldout, h.r_mem_heldout), (0.0, None));
}

#[test]
fn per_sample_rows_and_json_round_trip() {
    let nn = manual(&[0.1, 0.3], &[0.5, 0.4]);
    let held = manual(&[0.05, 0.6], &[0.7, 0.8]);
    let rows = per_sample(&nn, Some(&held), DEFAULT_THRESHOLD).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].memorized && !rows[1].memorized);
    assert_eq!(
        (rows[1].nn1, rows[1].nn2, rows[0].d1_heldout),
        (2, 3, Some(0.05))
    );
    let s = summarize(&nn, Some(&held), DEFAULT_THRESHOLD).unwrap();
    assert_eq!(s.heldout.as_ref().unwrap().frac_closer_to_heldout, 0.5);
    let json = serde_json::to_string_pretty(&s).unwrap();
    let back: MemorizationSummary = serde_json::from_str(&json).unwrap();
    // serde_json may parse a float one ulp off without its float_roundtrip feature.
    assert_eq!((back.num_samples, back.r_mem), (s.num_samples, s.r_mem));
    assert!((back.ratio.median - s.ratio.median).abs() < 1e-12);
    assert_eq!(back.heldout.unwrap().r_mem_heldout, Some(0.5));
}
