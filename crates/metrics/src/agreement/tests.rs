//! Agreement on sets with known similarity.

use super::*;
use crate::test_data::{gaussian, rng, uniform};

#[test]
fn a_set_with_itself_agrees_perfectly() {
    let dim = 100;
    let a = uniform(&mut rng(20), 30 * dim, -1.0, 1.0);
    for c in [
        Centering::PerSample,
        Centering::None,
        Centering::Image(&a[..dim]),
    ] {
        let cos = paired_cosine(&a, &a, dim, c).unwrap();
        assert!(cos.iter().all(|&v| (v - 1.0).abs() < 1e-12), "{c:?}");
    }
}

#[test]
fn independent_random_sets_agree_about_zero() {
    let dim = 400;
    let mut g = rng(21);
    let a = gaussian(&mut g, 200 * dim, 1.0);
    let b = gaussian(&mut g, 200 * dim, 1.0);
    let s = summarize(
        &paired_cosine(&a, &b, dim, Centering::PerSample).unwrap(),
        None,
        None,
        Centering::PerSample,
    );
    assert_eq!(s.num_pairs, 200);
    // Each cosine has std 1/sqrt(D) = 0.05; the mean of 200 has std 0.0035.
    assert!(s.cosine.mean.abs() < 0.015, "{s:?}");
    assert!(s.cosine.max < 0.25 && s.cosine.min > -0.25);
}

#[test]
fn centring_removes_brightness_offsets() {
    let dim = 50;
    let a = uniform(&mut rng(22), dim, -1.0, 1.0);
    let b: Vec<f32> = a.iter().map(|v| v + 5.0).collect();
    assert!((paired_cosine(&a, &b, dim, Centering::PerSample).unwrap()[0] - 1.0).abs() < 1e-9);
    assert!(paired_cosine(&a, &b, dim, Centering::None).unwrap()[0] < 0.99);
    // Constant images: both centre to zero (1); one constant, one not (0).
    let flat = vec![0.3f32; dim];
    assert_eq!(
        paired_cosine(&flat, &flat, dim, Centering::PerSample).unwrap(),
        vec![1.0]
    );
    assert_eq!(
        paired_cosine(&flat, &a, dim, Centering::PerSample).unwrap(),
        vec![0.0]
    );
}

#[test]
fn nn_cosine_uses_the_given_indices() {
    let dim = 20;
    let train = uniform(&mut rng(23), 5 * dim, -1.0, 1.0);
    let samples: Vec<f32> = [3, 1]
        .iter()
        .flat_map(|&j| train[j * dim..(j + 1) * dim].to_vec())
        .collect();
    let cos = nn_cosine(&samples, &train, dim, &[3, 1], Centering::PerSample).unwrap();
    assert!(cos.iter().all(|&v| (v - 1.0).abs() < 1e-12));
    let other = nn_cosine(&samples, &train, dim, &[0, 2], Centering::PerSample).unwrap();
    assert!(other.iter().all(|&v| v < 0.9));
    let s = summarize(&cos, Some(&cos), Some(&other), Centering::PerSample);
    assert_eq!(s.nn_cosine_a.as_ref().unwrap().min, s.cosine.min);
    assert!(
        serde_json::to_string(&s)
            .unwrap()
            .contains("\"centering\":\"per-sample\"")
    );
}

#[test]
fn shape_errors() {
    let a = vec![0.0f32; 6];
    assert!(paired_cosine(&a, &a[..3], 3, Centering::None).is_err());
    assert!(paired_cosine(&a, &a, 4, Centering::None).is_err());
    assert!(paired_cosine(&a, &a, 0, Centering::None).is_err());
    assert!(paired_cosine(&a, &a, 3, Centering::Image(&[0.0; 2])).is_err());
    assert!(nn_cosine(&a, &a, 3, &[0], Centering::None).is_err());
    assert!(nn_cosine(&a, &a, 3, &[0, 2], Centering::None).is_err());
}
