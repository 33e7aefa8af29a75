//! Frechet Wavelet Distance (Veeramacheneni et al., arXiv 2312.15289): map every image to its
//! Haar wavelet packets at level L ([`super::haar`]), fit a Gaussian per packet to each set, and
//! average the squared Frechet distances ([`super::frechet`]) over the 4^L packets:
//!
//!   FWD = 1/4^L sum_p d^2_F(N(mu_p^A, S_p^A), N(mu_p^B, S_p^B)).
//!
//! Pixels are mapped from diffmem's [-1, 1] to [0, 1] first, the range of the authors' code.
//! For flat (non-image) data there are no packets: the fallback is the Frechet distance of the
//! raw coordinates (one "packet", level 0), and [`Features::kind`] says so.
//! The interval is value +- 1.96 bootstrap standard deviations (rows of both sets resampled
//! with replacement), clipped at 0. Not the bootstrap percentiles: resampling repeats rows,
//! which shifts every resampled FWD up (the Frechet distance's finite-sample bias grows as the
//! number of distinct rows falls), so the percentile interval can miss the point value.

use super::frechet::{frechet_distance, moments};
use super::haar::{max_level, packet_features};
use crate::{MetricsError, Result};
use diffmem_data::SampleShape;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The wavelet-packet features of one set: `packets[p][i]` is packet p of row i.
#[derive(Clone, Debug)]
pub struct Features {
    /// Per packet, per row, the feature vector.
    pub packets: Vec<Vec<Vec<f64>>>,
    /// The level L used (0 for the raw-coordinate fallback).
    pub level: usize,
    /// "haar packets" or "raw coordinates (flat data)".
    pub kind: &'static str,
}

/// Features of the `[n, D]` rows of shape `shape`: Haar packets at the largest level <=
/// `level` that divides both image sides, or the raw coordinates for flat data.
pub fn features(rows: &[f32], shape: SampleShape, level: usize) -> Result<Features> {
    let d = shape.dim();
    if d == 0 || !rows.len().is_multiple_of(d) {
        return Err(MetricsError::Invalid(format!(
            "{} values are not rows of dimension {d}",
            rows.len()
        )));
    }
    Ok(match shape {
        SampleShape::Image { c, h, w } => {
            let level = max_level(h, w, level);
            let mut packets = vec![Vec::with_capacity(rows.len() / d); 1 << (2 * level)];
            let mut unit = vec![0.0f32; d];
            for row in rows.chunks(d) {
                for (u, v) in unit.iter_mut().zip(row) {
                    *u = (v + 1.0) * 0.5;
                }
                for (p, f) in packet_features(&unit, c, h, w, level)
                    .into_iter()
                    .enumerate()
                {
                    packets[p].push(f);
                }
            }
            Features {
                packets,
                level,
                kind: "haar packets",
            }
        }
        SampleShape::Flat { .. } => Features {
            packets: vec![
                rows.chunks(d)
                    .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                    .collect(),
            ],
            level: 0,
            kind: "raw coordinates (flat data: no wavelet packets)",
        },
    })
}

/// FWD between two feature sets of the same layout, using rows `ia` of `a` and `ib` of `b`.
fn fwd_rows(a: &Features, b: &Features, ia: &[usize], ib: &[usize]) -> Result<f64> {
    let mut total = 0.0;
    for (pa, pb) in a.packets.iter().zip(&b.packets) {
        let ra: Vec<Vec<f64>> = ia.iter().map(|&i| pa[i].clone()).collect();
        let rb: Vec<Vec<f64>> = ib.iter().map(|&i| pb[i].clone()).collect();
        let (ma, sa) = moments(&ra)?;
        let (mb, sb) = moments(&rb)?;
        total += frechet_distance(&ma, &sa, &mb, &sb)?;
    }
    Ok(total / a.packets.len().max(1) as f64)
}

/// FWD with a bootstrap interval.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Fwd {
    /// FWD on all rows.
    pub value: f64,
    /// max(0, value - 1.96 sd), sd = standard deviation of the bootstrap values.
    pub lo: f64,
    /// value + 1.96 sd.
    pub hi: f64,
    /// Bootstrap resamples.
    pub bootstrap: usize,
}

/// FWD between two feature sets, with the interval of `bootstrap` resamples (with replacement,
/// of both sets' rows; seeded ChaCha8 stream `seed`; module docs). `bootstrap < 2` gives the
/// point value as the interval.
pub fn fwd(a: &Features, b: &Features, bootstrap: usize, seed: u64) -> Result<Fwd> {
    if a.packets.len() != b.packets.len() || a.level != b.level {
        return Err(MetricsError::Invalid(
            "FWD of feature sets of different layouts".into(),
        ));
    }
    let (na, nb) = (a.packets[0].len(), b.packets[0].len());
    let all = |n: usize| (0..n).collect::<Vec<_>>();
    let value = fwd_rows(a, b, &all(na), &all(nb))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut boot = Vec::with_capacity(bootstrap);
    for _ in 0..bootstrap {
        let ia: Vec<usize> = (0..na).map(|_| rng.random_range(0..na)).collect();
        let ib: Vec<usize> = (0..nb).map(|_| rng.random_range(0..nb)).collect();
        boot.push(fwd_rows(a, b, &ia, &ib)?);
    }
    let k = boot.len() as f64;
    let sd = match boot.len() {
        0 | 1 => 0.0,
        _ => {
            let mean = boot.iter().sum::<f64>() / k;
            (boot.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt()
        }
    };
    Ok(Fwd {
        value,
        lo: (value - 1.96 * sd).max(0.0),
        hi: value + 1.96 * sd,
        bootstrap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    fn images(n: usize, scale: f32, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * 64)
            .map(|k| {
                let z: f32 = StandardNormal.sample(&mut rng);
                (scale * z + 0.1 * (k % 8) as f32).clamp(-1.0, 1.0)
            })
            .collect()
    }

    const SHAPE: SampleShape = SampleShape::Image { c: 1, h: 8, w: 8 };

    #[test]
    fn identical_sets_give_zero() {
        let x = images(200, 0.3, 1);
        let f = features(&x, SHAPE, 4).unwrap();
        assert_eq!(f.level, 3);
        assert_eq!(f.packets.len(), 64);
        let r = fwd(&f, &f, 0, 0).unwrap();
        assert!(r.value.abs() < 1e-9, "{r:?}");
    }

    /// Two disjoint halves of one data set sit at the finite-sample floor, far below a set
    /// from another distribution; the interval covers the point value.
    #[test]
    fn disjoint_halves_sit_far_below_another_distribution() {
        let x = images(800, 0.3, 2);
        let half = 400 * 64;
        let a = features(&x[..half], SHAPE, 2).unwrap();
        let b = features(&x[half..], SHAPE, 2).unwrap();
        let other = features(&images(400, 0.6, 3), SHAPE, 2).unwrap();
        let floor = fwd(&a, &b, 10, 4).unwrap();
        let far = fwd(&a, &other, 10, 4).unwrap();
        assert!(floor.value < 0.2 * far.value, "{floor:?} vs {far:?}");
        assert!(
            floor.lo <= floor.value && floor.value <= floor.hi,
            "{floor:?}"
        );
    }

    /// Haar packets are orthogonal, so at level 0 a single "packet" of all pixels (in [0, 1]
    /// units) equals the Frechet distance of the raw coordinates / 4 (flat fallback) for
    /// image data mapped from [-1, 1].
    #[test]
    fn flat_fallback_is_the_frechet_distance_of_the_coordinates() {
        let x = images(300, 0.3, 5);
        let y = images(300, 0.5, 6);
        let flat = SampleShape::Flat { d: 64 };
        let (fx, fy) = (
            features(&x, flat, 3).unwrap(),
            features(&y, flat, 3).unwrap(),
        );
        assert_eq!(fx.level, 0);
        assert!(fx.kind.contains("raw"));
        let raw = fwd(&fx, &fy, 0, 0).unwrap().value;
        let img0 = fwd(
            &features(&x, SHAPE, 0).unwrap(),
            &features(&y, SHAPE, 0).unwrap(),
            0,
            0,
        )
        .unwrap()
        .value;
        assert!((img0 - raw / 4.0).abs() < 1e-6 * raw, "{img0} vs {raw}");
    }
}
