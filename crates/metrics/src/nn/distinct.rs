//! Neighbours among the *distinct* reference rows: the rule R_mem needs when the training set
//! holds duplicated images.
//!
//! With a training image stored twice, a verbatim copy of it has d_1 = d_2 = 0 and a copy with
//! float noise has d_1 ~ d_2 (ratio ~ 1): whether it counts as memorised would depend on
//! rounding. So the search runs over the reference rows distinct by value, and
//!
//! ```text
//! d_2(x) = distance from x to the nearest reference row whose value differs from NN_1(x)
//! ```
//!
//! Ties are deterministic: each distinct value stands for its first occurrence (the lowest
//! row index), and equal distances rank the lower index first ([`super::nearest_neighbours`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use burn::prelude::*;

use super::{Neighbours, NnConfig, nearest_neighbours};
use crate::{MetricsError, Result};

/// The rows of a `[N, dim]` array that are distinct by value, in order of first occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct DistinctRows<'a> {
    /// The distinct rows, row-major (borrowed when every row is distinct).
    pub rows: Cow<'a, [f32]>,
    /// For each distinct row, the index of its first occurrence in the input.
    pub first: Vec<usize>,
    /// Rows of the input equal to an earlier row (N minus the number of distinct rows).
    pub duplicates: usize,
}

/// The bit pattern of a value, with -0.0 read as 0.0 (equal by value).
fn bits(v: f32) -> u32 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

fn row_hash(row: &[f32]) -> u64 {
    let mut h = DefaultHasher::new();
    row.iter().for_each(|&v| bits(v).hash(&mut h));
    h.finish()
}

/// The distinct rows of `data` (`[N, dim]`, `dim > 0`). Rows are compared by value (-0.0
/// equals 0.0), through a hash of each row and an exact comparison on a hash match, so memory
/// beyond the input is one hash per distinct row (plus a copy when there are duplicates).
pub fn distinct_rows(data: &[f32], dim: usize) -> DistinctRows<'_> {
    let dim = dim.max(1);
    let row = |i: usize| &data[i * dim..(i + 1) * dim];
    let same = |a: usize, b: usize| row(a).iter().zip(row(b)).all(|(x, y)| x == y);
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut first = Vec::new();
    for i in 0..data.len() / dim {
        let bucket = seen.entry(row_hash(row(i))).or_default();
        if !bucket.iter().any(|&j| same(i, j)) {
            bucket.push(i);
            first.push(i);
        }
    }
    let n = data.len() / dim;
    let duplicates = n - first.len();
    let rows = if duplicates == 0 {
        Cow::Borrowed(data)
    } else {
        Cow::Owned(first.iter().flat_map(|&i| row(i).iter().copied()).collect())
    };
    DistinctRows {
        rows,
        first,
        duplicates,
    }
}

/// [`nearest_neighbours`] among the reference rows distinct by value (see the module doc),
/// with indices into the original `references`. Returns the neighbours and the number of
/// duplicated reference rows. An error when fewer than `cfg.k` distinct rows exist.
pub fn nearest_distinct_neighbours(
    queries: &[f32],
    references: &[f32],
    dim: usize,
    cfg: &NnConfig,
    device: &Device,
) -> Result<(Neighbours, usize)> {
    let distinct = distinct_rows(references, dim);
    if distinct.first.len() < cfg.k {
        return Err(MetricsError::Invalid(format!(
            "{} neighbours requested but the reference set has only {} distinct row(s) \
             ({} duplicated)",
            cfg.k,
            distinct.first.len(),
            distinct.duplicates
        )));
    }
    let mut nn = nearest_neighbours(queries, &distinct.rows, dim, cfg, device)?;
    for i in nn.indices.iter_mut() {
        *i = distinct.first[*i];
    }
    Ok((nn, distinct.duplicates))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_counted_and_the_first_occurrence_kept() {
        let data = [1.0, 2.0, 0.0, 0.0, 1.0, 2.0, -0.0, 0.0, 3.0, 3.0];
        let d = distinct_rows(&data, 2);
        assert_eq!(d.first, vec![0, 1, 4]);
        assert_eq!(d.duplicates, 2);
        assert_eq!(&*d.rows, &[1.0, 2.0, 0.0, 0.0, 3.0, 3.0]);
        let all = [1.0, 2.0, 3.0];
        assert!(matches!(distinct_rows(&all, 1).rows, Cow::Borrowed(_)));
    }

    /// A perfect copier of a training set with duplicated rows: every sample is a copy, and
    /// d_2 is the distance to the nearest *other* value, so each copy has ratio 0 whatever the
    /// float noise on it (the rule of the module doc), against an independent brute force.
    #[test]
    fn a_copy_of_a_duplicated_row_has_d2_to_the_next_distinct_value() {
        let refs = [0.0f32, 0.0, 0.0, 0.0, 3.0, 4.0, 3.0, 4.0, 6.0, 8.0];
        let noise = 6.7e-11f32;
        let queries = [0.0f32, 0.0, 3.0, 4.0 + noise];
        let cfg = NnConfig::new(2, 2);
        let (nn, dups) =
            nearest_distinct_neighbours(&queries, &refs, 2, &cfg, &Device::flex()).unwrap();
        assert_eq!(dups, 2);
        assert_eq!(nn.indices, vec![0, 2, 2, 0]);
        let scale = 2f64.sqrt();
        // Brute force over the distinct values (0,0), (3,4), (6,8).
        let dist =
            |q: (f64, f64), r: (f64, f64)| ((q.0 - r.0).powi(2) + (q.1 - r.1).powi(2)).sqrt();
        let q1 = (3.0, 4.0 + noise as f64);
        let want = [
            0.0,
            5.0 / scale,
            dist(q1, (3.0, 4.0)) / scale,
            dist(q1, (0.0, 0.0)).min(dist(q1, (6.0, 8.0))) / scale,
        ];
        for (got, want) in nn.distances.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{:?} vs {want}", nn.distances);
        }
    }

    #[test]
    fn too_few_distinct_rows_is_an_error() {
        let refs = [1.0f32, 1.0, 1.0];
        let e =
            nearest_distinct_neighbours(&[0.5], &refs, 1, &NnConfig::new(2, 1), &Device::flex())
                .unwrap_err();
        assert!(e.to_string().contains("only 1 distinct row"), "{e}");
    }
}
