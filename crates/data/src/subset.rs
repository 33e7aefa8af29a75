//! Seeded training subsets, disjoint halves A/B and held-out sets.
//!
//! Rows come from one seeded shuffle of the training split (ChaCha8 + our own Fisher-Yates,
//! see [`crate::rng`]): half A (or the plain subset) is the first N rows of the shuffle,
//! half B the next N. With `balanced`, the shuffle is walked and each class takes rows until
//! it has its quota (N/C each, the remainder going to the smallest labels), A first then B.
//!
//! Held-out rows: the dataset's own test split where it has one (a seeded shuffle of it,
//! first `heldout_n` rows); otherwise (mnist-5k, folders) the LAST `heldout_n` rows of the
//! training shuffle, which training never uses, so the held-out set is the same for the
//! plain subset and both halves and disjoint from all of them. Synthetic data: train rows
//! from the train stream (A = rows 0..N, B = rows N..2N), held-out from the test stream.

use crate::dataset::{Dataset, Provenance};
use crate::error::DataError;
use crate::rng::{Purpose, permutation};
use crate::spec::DataSpec;
use crate::split::Split;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One of two disjoint training subsets of the same size (`a` or `b` in configs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Half {
    /// The first N rows of the shuffle (identical to the unsplit subset).
    A,
    /// The next N rows.
    B,
}

impl fmt::Display for Half {
    /// `a` or `b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Half::A => "a",
            Half::B => "b",
        })
    }
}

impl FromStr for Half {
    type Err = DataError;
    /// `a` or `b` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "a" => Ok(Half::A),
            "b" => Ok(Half::B),
            _ => Err(DataError::BadSpec {
                spec: s.into(),
                msg: "a split half is `a` or `b`".into(),
            }),
        }
    }
}

/// Which training rows and held-out rows to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubsetSpec {
    /// Training set size N (at least 1).
    pub n: usize,
    /// Seed of the shuffle (or of the sample streams for synthetic data).
    pub seed: u64,
    /// Same number of samples per class (needs labels).
    pub balanced: bool,
    /// Take half A or B of two disjoint size-N subsets; `None` is the plain subset (= A).
    pub split: Option<Half>,
    /// Size of the held-out set (0 for none).
    pub heldout_n: usize,
}

impl SubsetSpec {
    /// N samples with seed 0, not balanced, no halves, no held-out set.
    pub fn new(n: usize) -> SubsetSpec {
        SubsetSpec {
            n,
            seed: 0,
            balanced: false,
            split: None,
            heldout_n: 0,
        }
    }

    fn halves(&self) -> usize {
        if self.split.is_some() { 2 } else { 1 }
    }

    fn describe(&self) -> String {
        let kind = if self.balanced { "class-balanced " } else { "" };
        match self.split {
            None => format!("{kind}training subset N={}", self.n),
            Some(_) => format!("{kind}training halves A and B of N={} each", self.n),
        }
    }
}

/// Rows (positions in the training split) chosen by [`plan_rows`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowPlan {
    /// Half A (= the plain subset).
    pub a: Vec<usize>,
    /// Half B (empty unless a split was requested).
    pub b: Vec<usize>,
    /// Held-out rows taken from the same split (empty unless `heldout_in_pool`).
    pub heldout: Vec<usize>,
}

impl RowPlan {
    /// The training rows `sub` asks for.
    pub fn train(&self, sub: &SubsetSpec) -> &[usize] {
        match sub.split {
            Some(Half::B) => &self.b,
            _ => &self.a,
        }
    }
}

/// Chooses training rows (and, with `heldout_in_pool`, held-out rows) from a split of `len`
/// rows with optional `labels`. `dataset` names the source in errors.
pub fn plan_rows(
    len: usize,
    labels: Option<&[u32]>,
    sub: &SubsetSpec,
    heldout_in_pool: bool,
    dataset: &str,
) -> Result<RowPlan, DataError> {
    if sub.n == 0 {
        return Err(DataError::BadSize {
            what: "n".into(),
            value: 0,
        });
    }
    let too_large = |what: String, requested: usize, available: usize| DataError::TooLarge {
        dataset: dataset.into(),
        what,
        requested,
        available,
    };
    let reserved = if heldout_in_pool { sub.heldout_n } else { 0 };
    let needed = sub.n * sub.halves() + reserved;
    if needed > len {
        let what = if reserved > 0 {
            format!("{} plus {reserved} held-out rows", sub.describe())
        } else {
            sub.describe()
        };
        return Err(too_large(what, needed, len));
    }
    let perm = permutation(len, sub.seed, Purpose::Subset);
    let pool_len = len - reserved;
    let (pool, tail) = perm.split_at(pool_len);
    let mut plan = RowPlan {
        heldout: tail.to_vec(),
        ..RowPlan::default()
    };
    if !sub.balanced {
        plan.a = pool[..sub.n].to_vec();
        if sub.split.is_some() {
            plan.b = pool[sub.n..2 * sub.n].to_vec();
        }
        return Ok(plan);
    }
    let labels = labels.ok_or_else(|| DataError::BadSpec {
        spec: dataset.into(),
        msg: "--balanced needs class labels and this source has none".into(),
    })?;
    balanced_rows(pool, labels, sub, &mut plan)
        .map_err(|(what, requested, available)| too_large(what, requested, available))?;
    Ok(plan)
}

/// Class-balanced halves: walks the seeded `pool` and gives each class an equal share of
/// `sub.n` (the first `n % k` classes one more) in half A, then in half B. A class with too
/// few rows is an error (what, requested, available).
fn balanced_rows(
    pool: &[usize],
    labels: &[u32],
    sub: &SubsetSpec,
    plan: &mut RowPlan,
) -> Result<(), (String, usize, usize)> {
    let classes: Vec<u32> = labels
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let k = classes.len();
    let quota: BTreeMap<u32, usize> = classes
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, sub.n / k + usize::from(i < sub.n % k)))
        .collect();
    let mut taken: BTreeMap<u32, [usize; 2]> = classes.iter().map(|&c| (c, [0, 0])).collect();
    for &row in pool {
        let c = labels[row];
        let (q, t) = (quota[&c], taken.entry(c).or_default());
        if t[0] < q {
            t[0] += 1;
            plan.a.push(row);
        } else if sub.split.is_some() && t[1] < q {
            t[1] += 1;
            plan.b.push(row);
        }
    }
    for (&c, &q) in &quota {
        let have = pool.iter().filter(|&&r| labels[r] == c).count();
        if have < q * sub.halves() {
            return Err((
                format!("{}: class {c}", sub.describe()),
                q * sub.halves(),
                have,
            ));
        }
    }
    Ok(())
}

/// The training subset and held-out set that `sub` describes, in one call.
///
/// Train: the seeded (optionally class-balanced) subset of the training split, or half A/B.
/// Held-out: see the module documentation. Provenance indices are original indices.
pub fn train_and_heldout(
    spec: &DataSpec,
    sub: &SubsetSpec,
) -> Result<(Dataset, Dataset), DataError> {
    if sub.n == 0 {
        return Err(DataError::BadSize {
            what: "n".into(),
            value: 0,
        });
    }
    if let Some(g) = spec.generator()? {
        if sub.balanced {
            return Err(DataError::BadSpec {
                spec: spec.to_string(),
                msg: "--balanced needs class labels and synthetic data have none".into(),
            });
        }
        let start = if sub.split == Some(Half::B) { sub.n } else { 0 };
        let name = |split| format!("{} seed={}", spec.source_name(split), sub.seed);
        let train = g.dataset(
            Split::Train,
            sub.seed,
            start..start + sub.n,
            name(Split::Train),
        );
        let held = g.dataset(Split::Test, sub.seed, 0..sub.heldout_n, name(Split::Test));
        return Ok((train, held));
    }
    let cat = spec.catalog(Split::Train)?;
    let in_pool = !spec.has_test_split();
    let plan = plan_rows(cat.len(), cat.labels(), sub, in_pool, cat.source())?;
    let train = cat.load_rows(plan.train(sub))?;
    let held = if in_pool {
        cat.load_rows(&plan.heldout)?
    } else if sub.heldout_n == 0 {
        empty_like(&train, spec.source_name(Split::Test))
    } else {
        let test = spec.catalog(Split::Test)?;
        if sub.heldout_n > test.len() {
            return Err(DataError::TooLarge {
                dataset: test.source().into(),
                what: "the held-out set".into(),
                requested: sub.heldout_n,
                available: test.len(),
            });
        }
        let rows = permutation(test.len(), sub.seed, Purpose::Heldout);
        test.load_rows(&rows[..sub.heldout_n])?
    };
    Ok((train, held))
}

/// An empty dataset with the shape (and label presence) of `like`.
fn empty_like(like: &Dataset, source: String) -> Dataset {
    Dataset {
        samples: Vec::new(),
        shape: like.shape,
        labels: like.labels.as_ref().map(|_| Vec::new()),
        provenance: Provenance {
            source,
            indices: Vec::new(),
        },
        truth: like.truth.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, write_mnist};
    use std::collections::HashSet;

    fn sub(
        n: usize,
        seed: u64,
        balanced: bool,
        split: Option<Half>,
        heldout_n: usize,
    ) -> SubsetSpec {
        SubsetSpec {
            n,
            seed,
            balanced,
            split,
            heldout_n,
        }
    }

    fn set(v: &[usize]) -> HashSet<usize> {
        v.iter().copied().collect()
    }

    #[test]
    fn fixed_indices_for_fixed_seeds() {
        // Hard-coded: any change of RNG, shuffle or plan breaks reproducibility of old runs.
        assert_eq!(
            permutation(10, 42, Purpose::Subset),
            vec![2, 6, 1, 5, 4, 3, 0, 9, 8, 7]
        );
        let (a, h) = train_and_heldout(&DataSpec::Mnist5k, &sub(8, 0, false, None, 5)).unwrap();
        assert_eq!(
            a.provenance.indices,
            vec![4097, 4846, 2378, 2376, 372, 4461, 465, 4261]
        );
        assert_eq!(h.provenance.indices, vec![2345, 2321, 1674, 3067, 861]);
        let (b, _) =
            train_and_heldout(&DataSpec::Mnist5k, &sub(8, 0, true, Some(Half::B), 5)).unwrap();
        assert_eq!(
            b.provenance.indices,
            vec![2376, 465, 3197, 948, 3907, 1589, 2935, 1116]
        );
        // Same call, same rows and same pixels.
        let (a2, _) = train_and_heldout(&DataSpec::Mnist5k, &sub(8, 0, false, None, 5)).unwrap();
        assert_eq!(a, a2);
    }

    #[test]
    fn mnist_5k_subsets_shuffle_and_match_the_rows() {
        let all = crate::bundled_mnist_5k().unwrap();
        let (a, _) = train_and_heldout(&DataSpec::Mnist5k, &sub(100, 3, false, None, 0)).unwrap();
        let labels = a.labels.as_ref().unwrap();
        assert!(labels.iter().any(|&l| l != 0), "subset is not shuffled");
        assert!(set(&a.provenance.indices).len() == 100);
        for (i, &orig) in a.provenance.indices.iter().enumerate() {
            assert_eq!(a.row(i), all.row(orig));
            assert_eq!(labels[i], all.labels.as_ref().unwrap()[orig]);
        }
    }

    #[test]
    fn halves_and_heldout_are_disjoint_and_heldout_is_shared() {
        for balanced in [false, true] {
            let get = |split| {
                train_and_heldout(&DataSpec::Mnist5k, &sub(1000, 9, balanced, split, 1500)).unwrap()
            };
            let (plain, h0) = get(None);
            let (a, ha) = get(Some(Half::A));
            let (b, hb) = get(Some(Half::B));
            assert_eq!(plain.provenance, a.provenance);
            assert_eq!(h0.provenance, ha.provenance);
            assert_eq!(ha.provenance, hb.provenance);
            let (sa, sb, sh) = (
                set(&a.provenance.indices),
                set(&b.provenance.indices),
                set(&ha.provenance.indices),
            );
            assert_eq!((sa.len(), sb.len(), sh.len()), (1000, 1000, 1500));
            assert!(sa.is_disjoint(&sb) && sa.is_disjoint(&sh) && sb.is_disjoint(&sh));
        }
    }

    #[test]
    fn class_balance() {
        for (n, want) in [
            (100, vec![10; 10]),
            (25, vec![3, 3, 3, 3, 3, 2, 2, 2, 2, 2]),
        ] {
            for split in [Some(Half::A), Some(Half::B)] {
                let (d, _) =
                    train_and_heldout(&DataSpec::Mnist5k, &sub(n, 1, true, split, 0)).unwrap();
                let counts: Vec<usize> = d.class_counts().unwrap().iter().map(|c| c.1).collect();
                assert_eq!(counts, want);
            }
        }
        // Unlabelled sources cannot be balanced.
        let g = DataSpec::parse("manifold:paper").unwrap();
        let e = train_and_heldout(&g, &sub(10, 0, true, None, 0)).unwrap_err();
        assert!(matches!(e, DataError::BadSpec { .. }));
    }

    #[test]
    fn too_large_and_zero_sizes() {
        let e = train_and_heldout(&DataSpec::Mnist5k, &sub(5001, 0, false, None, 0)).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::TooLarge {
                    requested: 5001,
                    available: 5000,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("mnist-5k"));
        assert!(e.hint().unwrap().contains("5000"));
        // Two halves of 2500 leave no room for a held-out row.
        let e = train_and_heldout(&DataSpec::Mnist5k, &sub(2500, 0, false, Some(Half::B), 1))
            .unwrap_err();
        assert!(
            matches!(
                e,
                DataError::TooLarge {
                    requested: 5001,
                    ..
                }
            ),
            "{e:?}"
        );
        // 501 per class does not exist (500 per class).
        let e = train_and_heldout(&DataSpec::Mnist5k, &sub(5010, 0, true, None, 0)).unwrap_err();
        assert!(matches!(e, DataError::TooLarge { .. }));
        let e = plan_rows(
            5000,
            None,
            &sub(2600, 0, false, Some(Half::A), 0),
            false,
            "x",
        )
        .unwrap_err();
        assert!(matches!(
            e,
            DataError::TooLarge {
                requested: 5200,
                ..
            }
        ));
        let e = train_and_heldout(&DataSpec::Mnist5k, &sub(0, 0, false, None, 0)).unwrap_err();
        assert!(matches!(e, DataError::BadSize { value: 0, .. }), "{e:?}");
        let e = crate::check_size("--n", -5).unwrap_err();
        assert!(matches!(e, DataError::BadSize { value: -5, .. }));
        assert!(e.to_string().contains("--n"));
        assert_eq!(crate::check_size("--n", 7).unwrap(), 7);
    }

    #[test]
    fn heldout_from_the_test_split() {
        let t = TempDir::new("subset-test-split");
        write_mnist(&t.0, "train", 30, 2, 2, true);
        write_mnist(&t.0, "t10k", 12, 2, 2, false);
        let spec = DataSpec::Mnist(t.0.clone());
        let (a, h) = train_and_heldout(&spec, &sub(15, 4, false, Some(Half::A), 12)).unwrap();
        let (b, _) = train_and_heldout(&spec, &sub(15, 4, false, Some(Half::B), 0)).unwrap();
        assert!(set(&a.provenance.indices).is_disjoint(&set(&b.provenance.indices)));
        assert!(h.provenance.source.ends_with("test"));
        assert_eq!(set(&h.provenance.indices), (0..12).collect());
        let e = train_and_heldout(&spec, &sub(15, 4, false, None, 13)).unwrap_err();
        assert!(matches!(
            e,
            DataError::TooLarge {
                requested: 13,
                available: 12,
                ..
            }
        ));
    }

    #[test]
    fn synthetic_streams() {
        let g = DataSpec::parse("gaussian:d=2,spectrum=list:1,1").unwrap();
        let (t, _) = train_and_heldout(&g, &SubsetSpec::new(2)).unwrap();
        // Hard-coded first samples: catches drift in the ChaCha8 / normal sampler.
        let want = [-0.8383661f32, 0.009209336, -1.0794941, -1.3456794];
        assert!(
            t.samples
                .iter()
                .zip(want)
                .all(|(a, b)| (a - b).abs() < 1e-6),
            "{:?}",
            t.samples
        );
        let m = DataSpec::parse("manifold:paper").unwrap();
        let (a, h) = train_and_heldout(&m, &sub(50, 1, false, Some(Half::A), 40)).unwrap();
        let (b, h2) = train_and_heldout(&m, &sub(50, 1, false, Some(Half::B), 40)).unwrap();
        let (ab, _) = train_and_heldout(&m, &sub(100, 1, false, None, 0)).unwrap();
        // A and B are consecutive rows of one train stream; held-out is another stream.
        assert_eq!(ab.samples[..50 * 30], a.samples[..]);
        assert_eq!(ab.samples[50 * 30..], b.samples[..]);
        assert_eq!(b.provenance.indices, (50..100).collect::<Vec<_>>());
        assert_eq!(h, h2);
        assert_eq!((h.len(), h.dim()), (40, 30));
        assert_ne!(h.samples[..30], a.samples[..30]);
        // Same structure seed, same truth; another sample seed, other samples.
        let (c, _) = train_and_heldout(&m, &sub(50, 2, false, None, 0)).unwrap();
        assert_eq!(c.truth, a.truth);
        assert_ne!(c.samples, a.samples);
        assert!(a.truth.as_ref().unwrap().blocks.is_some());
    }
}
