//! Known answers of the paper's panel: the Jacobian spectrum of a Gaussian score on a manifold
//! of two blocks gives each block's normalised values (lambda_n + sigma^2) / (s^2 + sigma^2).

use super::*;
use std::fmt::Write as _;

/// Off-manifold variance and the two blocks (dim, s^2) of the synthetic manifold in D = 10.
const NORMAL: f64 = 1e-3;
const D1: (usize, f64) = (2, 1.0);
const D2: (usize, f64) = (3, 0.1);
const D: usize = 10;
const LEVELS: [f64; 3] = [0.01, 0.1, 1.0];

/// Eigenvalues of the covariance: D1 and D2's directions, the rest off the manifold.
fn variances() -> Vec<f64> {
    let mut v = vec![D1.1; D1.0];
    v.extend(vec![D2.1; D2.0]);
    v.resize(D, NORMAL);
    v
}

/// spectra.csv of the Gaussian score's Jacobian, s = 1 / (lambda + sigma^2) sorted
/// descending, at three points per level whose values are scaled by 1 - e, 1 and 1 + e (the
/// median is the exact one), plus rows of another kind and probe that must be ignored.
fn csv() -> String {
    let mut s =
        String::from("set,point,probe,draw,method,kind,paper_t,ve_sigma2,index,value,raw\n");
    for (t, &ve) in LEVELS.iter().enumerate() {
        let mut raw: Vec<f64> = variances().iter().map(|l| 1.0 / (l + ve)).collect();
        raw.sort_by(|a, b| b.total_cmp(a));
        for (p, scale) in [0.9, 1.0, 1.1].into_iter().enumerate() {
            for (i, r) in raw.iter().enumerate() {
                let v = r / raw[1] * if i > 1 { scale } else { 1.0 };
                for (probe, kind, v) in [
                    ("noised", "singular", v),
                    ("clean", "singular", 7.0),
                    ("noised", "neg-sym-eig", 7.0),
                ] {
                    let _ = writeln!(
                        s,
                        "train,{p},{probe},0,jacobian,{kind},{t},{ve:e},{i},{v:e},{r:e}"
                    );
                }
            }
        }
    }
    s
}

fn blocks() -> Vec<BlockInfo> {
    let b = |label: &str, (dim, s2): (usize, f64)| BlockInfo {
        label: label.into(),
        dim,
        s2,
    };
    vec![b("d1", D1), b("d2", D2)]
}

#[test]
fn ranks_are_grouped_by_block_variance() {
    let g = rank_groups(D, &blocks()).unwrap();
    let got: Vec<(&str, Range<usize>)> = g.iter().map(|g| (&*g.label, g.ranks.clone())).collect();
    // Ranks 1..10: off-manifold 1-4, d2 (smaller variance, larger values) 5-7, d1 8-9.
    assert_eq!(got, [("off-manifold", 1..5), ("d2", 5..8), ("d1", 8..10)]);
    assert!(rank_groups(5, &blocks()).is_none());
}

#[test]
fn a_gaussian_score_gives_each_blocks_normalised_values() {
    let values = normalised_values(&csv()).unwrap();
    assert_eq!(values.len(), LEVELS.len() * 3 * (D - 1));
    let medians = rank_medians(&values);
    assert_eq!(medians.len(), LEVELS.len());
    let groups = rank_groups(D, &blocks()).unwrap();
    let curves: Vec<Series> = groups.iter().map(|g| group_curve(&medians, g)).collect();
    assert_eq!(curves[2].label, "d1 (ranks 8-9)");
    for (k, &ve) in LEVELS.iter().enumerate() {
        let expect = |s2: f64| (NORMAL + ve) / (s2 + ve);
        for (c, want) in curves.iter().zip([1.0, expect(D2.1), expect(D1.1)]) {
            assert_eq!(c.x[k], ve);
            assert!(
                (c.y[k] - want).abs() < 1e-12,
                "{} at {ve}: {}",
                c.label,
                c.y[k]
            );
        }
        // The band spans the group's ranks: equal values within a block.
        let (lo, hi) = curves[2].band.as_ref().unwrap();
        assert!((hi[k] - lo[k]).abs() < 1e-12);
    }
    // The d1 block dips below d2 while the score generalises (smaller values, larger s^2).
    assert!(curves[2].y[0] < curves[1].y[0] && curves[1].y[0] < 0.1);
}

#[test]
fn a_spectra_file_without_its_columns_is_an_error() {
    assert!(normalised_values("set,point\ntrain,0\n").is_err());
    let short = "set,point,probe,draw,method,kind,paper_t,ve_sigma2,index,value,raw\ntrain,0\n";
    assert!(normalised_values(short).is_err());
}
