//! Per-training-point memorisation against hand counts and brute force.

use super::*;
use crate::memorization::{DEFAULT_THRESHOLD, nn_ratios};
use crate::nn::{NnConfig, nearest_neighbours};
use crate::test_data::{gaussian, rng, uniform};
use burn::prelude::Device;
use rand::RngExt;

#[test]
fn copy_counts_count_memorised_samples_per_nearest_row() {
    let nn1 = [0, 2, 2, 1, 2, 0];
    let ratios = [0.1, 0.2, 0.5, 0.0, 0.3, 0.9];
    let c = copy_counts(&nn1, &ratios, DEFAULT_THRESHOLD, 4).unwrap();
    assert_eq!(c, vec![1, 1, 2, 0]);
    assert!(copy_counts(&[7], &[0.0], 0.3, 4).is_err());
    assert!(copy_counts(&[0, 1], &[0.0], 0.3, 4).is_err());
    assert_eq!(most_copied(&c, 10), vec![2, 0, 1]);
}

/// Samples drawn like the empirical model's (a uniformly chosen training row plus a little
/// noise) from a training set in which one image is planted ten times: every sample is a
/// copy, the copies sum to the number of samples, and the planted image is the most copied.
#[test]
fn a_planted_image_is_the_most_copied() {
    let (d, distinct, m) = (16, 40, 400);
    let mut r = rng(7);
    let mut train = uniform(&mut r, distinct * d, -1.0, 1.0);
    let planted = train[..d].to_vec();
    for _ in 0..9 {
        train.extend_from_slice(&planted);
    }
    let n = train.len() / d;
    let noise = gaussian(&mut r, m * d, 1e-3);
    let samples: Vec<f32> = (0..m)
        .flat_map(|i| {
            let j = r.random_range(0..n);
            let row = train[j * d..(j + 1) * d].to_vec();
            let e = noise[i * d..(i + 1) * d].to_vec();
            row.into_iter().zip(e).map(|(a, b)| a + b)
        })
        .collect();
    // Against every row, a copy of the planted image is as close to its ten copies: d1 = d2,
    // and Gu's ratio calls it unmemorised.
    let nn =
        nearest_neighbours(&samples, &train, d, &NnConfig::new(2, d), &Device::flex()).unwrap();
    let ratios = nn_ratios(&nn).unwrap();
    let counts = copy_counts(&nn.indices_at(0).unwrap(), &ratios, DEFAULT_THRESHOLD, n).unwrap();
    assert!(counts.iter().sum::<usize>() < m);
    // Against the distinct rows every sample is a copy.
    let (first, group) = distinct_rows(&train, d);
    assert_eq!(first.len(), distinct);
    assert!(group[distinct..].iter().all(|&g| g == 0));
    let unique: Vec<f32> = first
        .iter()
        .flat_map(|&j| train[j * d..(j + 1) * d].to_vec())
        .collect();
    let nn =
        nearest_neighbours(&samples, &unique, d, &NnConfig::new(2, d), &Device::flex()).unwrap();
    let ratios = nn_ratios(&nn).unwrap();
    let nn1 = nn.indices_at(0).unwrap();
    let counts = copy_counts(&nn1, &ratios, DEFAULT_THRESHOLD, first.len()).unwrap();
    assert_eq!(counts.iter().sum::<usize>(), m);
    let top = most_copied(&counts, 1)[0];
    assert_eq!(&unique[top * d..(top + 1) * d], planted.as_slice());
    // Ten times as likely: about 10 m / n = 80 copies against about 8.
    assert!(counts[top] > 40, "{counts:?}");
}

#[test]
fn kth_other_matches_brute_force_and_skips_the_row_itself() {
    let (d, n, k) = (5, 30, 3);
    let rows = uniform(&mut rng(3), n * d, -1.0, 1.0);
    let own =
        nearest_neighbours(&rows, &rows, d, &NnConfig::new(k + 1, d), &Device::flex()).unwrap();
    let got = kth_other(&own, k).unwrap();
    for i in 0..n {
        let mut dist: Vec<f64> = (0..n)
            .filter(|&j| j != i)
            .map(|j| {
                distance_to(
                    &rows[j * d..(j + 1) * d],
                    &row_f64(&rows[i * d..(i + 1) * d]),
                )
            })
            .collect();
        dist.sort_by(f64::total_cmp);
        assert!(
            (got[i] - dist[k - 1]).abs() < 1e-5,
            "{i}: {} {}",
            got[i],
            dist[k - 1]
        );
    }
    assert!(kth_other(&own, k + 1).is_err());
}

#[test]
fn duplicated_rows_have_zero_density_distance() {
    let d = 4;
    let mut rows = vec![0.5f32; 3 * d];
    rows.extend(uniform(&mut rng(1), 5 * d, -1.0, 1.0));
    let own = nearest_neighbours(&rows, &rows, d, &NnConfig::new(3, d), &Device::flex()).unwrap();
    let r2 = kth_other(&own, 2).unwrap();
    assert_eq!(&r2[..3], &[0.0, 0.0, 0.0]);
}

fn row_f64(r: &[f32]) -> Vec<f64> {
    r.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn distances_to_mean_and_class_centroids() {
    // Rows (0,0), (2,0) of class 1 and (0,4) of class 2: centroids (1,0) and (0,4).
    let rows = [0.0f32, 0.0, 2.0, 0.0, 0.0, 4.0];
    let m = mean_row(&rows, 2);
    assert_eq!(m, vec![2.0 / 3.0, 4.0 / 3.0]);
    let c = class_centroid_distances(&rows, 2, &[1, 1, 2]);
    let s = (0.5f64).sqrt(); // ||(1, 0)|| / sqrt(2)
    assert!((c[0] - s).abs() < 1e-12 && (c[1] - s).abs() < 1e-12 && c[2] == 0.0);
}

#[test]
fn wilson_interval_known_values() {
    let (lo, hi) = wilson(5, 10, Z95);
    assert!(
        (lo - 0.2366).abs() < 1e-4 && (hi - 0.7634).abs() < 1e-4,
        "{lo} {hi}"
    );
    let (lo, hi) = wilson(0, 10, Z95);
    assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4, "{hi}");
    assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
}

#[test]
fn density_bins_split_rows_by_density() {
    let density = [0.5, 0.1, 0.4, 0.2, 0.3, f64::NAN, 0.6];
    let copies = [0, 3, 0, 1, 0, 9, 2];
    let b = density_bins(&density, &copies, 2);
    assert_eq!(b.len(), 2);
    // Sorted finite rows: 0.1(3) 0.2(1) 0.3(0) | 0.4(0) 0.5(0) 0.6(2).
    assert_eq!((b[0].rows, b[0].copied_rows, b[0].copies), (3, 2, 4));
    assert_eq!((b[1].rows, b[1].copied_rows, b[1].copies), (3, 1, 2));
    assert_eq!(
        (b[0].density_lo, b[0].density_hi, b[0].density_median),
        (0.1, 0.3, 0.2)
    );
    assert!((b[1].copy_rate - 1.0 / 3.0).abs() < 1e-12);
    assert!(b[0].lo < b[0].copy_rate && b[0].copy_rate < b[0].hi);
    assert!(density_bins(&[], &[], 4).is_empty());
}

#[test]
fn class_sums() {
    let c = by_class(&[3, 1, 3, 3], &[2, 0, 0, 1], &[0.1, 0.2, 0.3, f64::NAN]);
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].label, c[0].rows, c[0].copied_rows, c[0].copies),
        (1, 1, 0, 0)
    );
    assert_eq!(
        (c[1].label, c[1].rows, c[1].copied_rows, c[1].copies),
        (3, 3, 2, 3)
    );
    assert!((c[1].mean_density - 0.2).abs() < 1e-12);
}

#[test]
fn variance_collapse_of_shrunk_coordinates() {
    let (n, d) = (500, 6);
    let data = gaussian(&mut rng(2), n * d, 1.0);
    // Samples: the data with coordinates 0 and 1 shrunk 10 times (variance ratio 0.01) and
    // coordinate 5 replaced by a constant in both.
    let shrink = |rows: &[f32]| -> Vec<f32> {
        rows.chunks(d)
            .flat_map(|r| {
                r.iter().enumerate().map(|(i, &v)| match i {
                    0 | 1 => v * 0.1,
                    5 => 0.25,
                    _ => v,
                })
            })
            .collect()
    };
    let mut data5 = data.clone();
    data5.chunks_mut(d).for_each(|r| r[5] = 0.25);
    let (vd, vs) = (
        coordinate_variance(&data5, d),
        coordinate_variance(&shrink(&data), d),
    );
    // Against a naive two-pass variance of coordinate 2.
    let col: Vec<f64> = data5.chunks(d).map(|r| f64::from(r[2])).collect();
    let mu = col.iter().sum::<f64>() / n as f64;
    let v2 = col.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / n as f64;
    assert!((vd[2] - v2).abs() < 1e-12);
    let ratio = variance_ratio(&vs, &vd);
    assert!((ratio[0] - 0.01).abs() < 1e-6 && ratio[5].is_nan());
    let c = collapse(&ratio, COLLAPSE_FRACTION).unwrap();
    assert_eq!((c.coordinates, c.collapsed), (5, 2));
    assert!((c.collapsed_fraction - 0.4).abs() < 1e-12);
    assert!((c.median_ratio - 1.0).abs() < 1e-6);
    assert!(collapse(&ratio, 0.0).is_err());
}

#[test]
fn spearman_known_values() {
    assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 1.0, 0.0]) + 1.0).abs() < 1e-12);
    // Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): 4.5 / sqrt(4.5 * 5).
    let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
    assert!((r - 4.5 / (22.5f64).sqrt()).abs() < 1e-12, "{r}");
    assert!(spearman(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
    assert!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
}
