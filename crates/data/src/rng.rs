//! Portable seeded randomness: ChaCha8 streams keyed by explicit bytes, an unbiased bounded
//! integer draw and a Fisher-Yates shuffle written here, so the same seed gives the same
//! indices on any machine and across `rand` releases (only the ChaCha8 keystream matters).

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// What a random stream is used for; part of the ChaCha8 key so that streams with the same
/// user seed but different purposes are independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// The shuffle that picks subsets of a dataset.
    Subset = 1,
    /// The shuffle that picks held-out rows of a test split.
    Heldout = 2,
    /// Structure of a synthetic distribution (rotation, mean).
    Structure = 3,
    /// Training samples of a synthetic distribution.
    TrainSamples = 4,
    /// Held-out (test) samples of a synthetic distribution.
    TestSamples = 5,
    /// The per-epoch order of training minibatches.
    Batches = 6,
    /// Per-step timesteps and noise of training.
    Steps = 7,
}

/// A ChaCha8 generator keyed by (`seed`, `purpose`, `extra`), little-endian in the 32-byte key.
pub fn stream(seed: u64, purpose: Purpose, extra: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
    key[16..24].copy_from_slice(&extra.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// Uniform integer in `0..n` without modulo bias (rejection of the low 2^64 mod n values).
/// `n` must be at least 1.
pub fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    let n = n.max(1);
    let threshold = n.wrapping_neg() % n;
    loop {
        let v = rng.next_u64();
        if v >= threshold {
            return v % n;
        }
    }
}

/// Shuffles `items` in place (Fisher-Yates, from the back).
pub fn shuffle<T, R: Rng + ?Sized>(rng: &mut R, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A seeded random permutation of `0..len`.
pub fn permutation(len: usize, seed: u64, purpose: Purpose) -> Vec<usize> {
    let mut p: Vec<usize> = (0..len).collect();
    shuffle(&mut stream(seed, purpose, 0), &mut p);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_deterministic() {
        let p = permutation(1000, 7, Purpose::Subset);
        let mut s = p.clone();
        s.sort_unstable();
        assert_eq!(s, (0..1000).collect::<Vec<_>>());
        assert_eq!(p, permutation(1000, 7, Purpose::Subset));
        assert_ne!(p, permutation(1000, 8, Purpose::Subset));
        assert_ne!(p, permutation(1000, 7, Purpose::Heldout));
    }

    #[test]
    fn below_is_roughly_uniform() {
        // 60000 draws in 6 bins: each count is Binomial(60000, 1/6), std ~ 91; allow 5 std.
        let mut rng = stream(1, Purpose::Subset, 0);
        let mut counts = [0usize; 6];
        for _ in 0..60000 {
            counts[below(&mut rng, 6) as usize] += 1;
        }
        for c in counts {
            assert!((c as f64 - 10000.0).abs() < 5.0 * 91.3, "{counts:?}");
        }
    }
}
