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
use crate::spec::{DataSpec, Split};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One of two disjoint training subsets of the same size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
            return Err(too_large(
                format!("{}: class {c}", sub.describe()),
                q * sub.halves(),
                have,
            ));
        }
    }
    Ok(plan)
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
