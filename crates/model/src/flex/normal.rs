//! A vectorised standard normal generator for the sampler's noise on flex: counter-based
//! Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
//! gives the uniform bits, the Box-Muller transform (Box and Muller, Ann. Math. Statist.
//! 29(2), 1958) turns each pair into two normals:
//!
//!   u1 in (0, 1], u2 in [0, 1):  z0 = r cos(2 pi u2),  z1 = r sin(2 pi u2),  r = sqrt(-2 ln u1).
//!
//! Every step is branch-free arithmetic on lanes of 8 blocks, so LLVM vectorises it (an AVX2
//! and FMA copy chosen at run time, as the other flex kernels, whose Philox is written in AVX2
//! intrinsics): no scalar `ln`/`sin` call and no rejection loop per
//! element, unlike a ziggurat. Measured 3.7x flex's `Tensor::random` in bulk
//! (`DIFFMEM_BENCH_ONLY=normal`, docs/performance-log.md). `ln`, `cos` and `sin` are polynomials
//! (error < 1e-6, tested); u1 has 31 random bits and is at least 2^-32, so
//! |z| <= sqrt(64 ln 2) = 6.66 (the normal's mass beyond that is 3e-11).
//!
//! The stream: block k (a 64-bit counter) under the 64-bit key `seed` gives four 32-bit words
//! (x0, x1, x2, x3) and from them four normals, (x0, x1) -> (z0, z1), (x2, x3) -> (z2, z3).
//! Blocks go in groups of 8; group g writes its 32 normals as out[32 g + 8 j + l] = normal j
//! of block 8 g + l. A fill of n values takes ceil(n / 32) groups and drops the rest of the
//! last, so the values depend only on the seed and the sizes of the fills before.
//! This stream replaced flex's own `Tensor::random` (a scalar ziggurat over ChaCha12 per
//! element) for `--device flex` sampling: runs made before it are repeated with
//! `DIFFMEM_FLEX_KERNELS` excluding `sample`.

/// Normals per group of 8 Philox blocks.
const GROUP: usize = 32;
/// One normal's cost in the units of `flex::PARALLEL_WORK` (multiply-adds): about 8 cycles
/// (Philox's 10 rounds and Box-Muller's ln, sqrt and sin/cos), where a gemm multiply-add
/// costs well under one; so fills of 16 K normals and more are split across threads.
const NORMAL_WORK: usize = 16;
/// Philox4x32 round multipliers and Weyl key increments (Salmon et al., table 2).
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// The Philox4x32-10 block function on 8 counters at once: `c` holds the four 32-bit words
/// of each counter (word-major), `key` the two key words.
// Indexing by lane (not iterators over one word) is what lets LLVM vectorise across lanes.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn philox8(c: &mut [[u32; 8]; 4], key: [u32; 2]) {
    let (mut k0, mut k1) = (key[0], key[1]);
    for _ in 0..10 {
        for l in 0..8 {
            let p0 = u64::from(M0) * u64::from(c[0][l]);
            let p1 = u64::from(M1) * u64::from(c[2][l]);
            let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
            let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
            let (c1, c3) = (c[1][l], c[3][l]);
            c[0][l] = hi1 ^ c1 ^ k0;
            c[1][l] = lo1;
            c[2][l] = hi0 ^ c3 ^ k1;
            c[3][l] = lo0;
        }
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
}

/// [`philox8`] with AVX2 intrinsics: `_mm256_mul_epu32` forms the 32 x 32 -> 64-bit products
/// of the even lanes, and of the odd lanes shifted down, and blends put the high and low
/// halves back in lane order. LLVM turns the portable loop's u64 products partly into scalar
/// `imul`s, which made the generator a seventh of sampling; this is the same function (tested
/// against it and against Random123's vectors).
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn philox8_avx2(c: &mut [[u32; 8]; 4], key: [u32; 2]) {
    use std::arch::x86_64::*;
    /// (high, low) 32-bit halves of `a[l] * m` for each lane l.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn mul_hi_lo(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
        let even = _mm256_mul_epu32(a, m);
        let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
        let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
        let lo = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        (hi, lo)
    }
    // SAFETY: each row is 8 u32 = 32 bytes; loadu/storeu need no alignment.
    let load = |r: &[u32; 8]| unsafe { _mm256_loadu_si256(r.as_ptr().cast()) };
    let (mut c0, mut c1, mut c2, mut c3) = (load(&c[0]), load(&c[1]), load(&c[2]), load(&c[3]));
    let (m0, m1) = (_mm256_set1_epi32(M0 as i32), _mm256_set1_epi32(M1 as i32));
    let (mut k0, mut k1) = (key[0], key[1]);
    for _ in 0..10 {
        let (hi0, lo0) = mul_hi_lo(c0, m0);
        let (hi1, lo1) = mul_hi_lo(c2, m1);
        let (kv0, kv1) = (_mm256_set1_epi32(k0 as i32), _mm256_set1_epi32(k1 as i32));
        let n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), kv0);
        let n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), kv1);
        (c0, c1, c2, c3) = (n0, lo1, n2, lo0);
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    for (row, v) in c.iter_mut().zip([c0, c1, c2, c3]) {
        // SAFETY: as the loads.
        unsafe { _mm256_storeu_si256(row.as_mut_ptr().cast(), v) };
    }
}

/// ln x for x in (0, 1]: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s) with
/// s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^9 (truncation < 2 s^11 / 11 < 1e-9).
#[inline(always)]
fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series =
        s * (2.0 + s2 * (2.0 / 3.0 + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0)))));
    e as f32 * std::f32::consts::LN_2 + series
}

/// (cos, sin) of 2 pi u for u in [0, 1): u picks an angle d in [-pi/4, pi/4) around a quadrant
/// centre, whose sin and cos are Taylor polynomials to degree 9 and 10 (truncation
/// < (pi/4)^11 / 11! < 2e-9); the quadrant rotates them.
#[inline(always)]
fn cos_sin_2pi(u: f32) -> (f32, f32) {
    let q = (u * 4.0 + 0.5).floor(); // nearest quadrant centre, 0..=4
    let d = (u * 4.0 - q) * std::f32::consts::FRAC_PI_2;
    let d2 = d * d;
    let s = d
        * (1.0
            + d2 * (-1.0 / 6.0
                + d2 * (1.0 / 120.0 + d2 * (-1.0 / 5040.0 + d2 * (1.0 / 362_880.0)))));
    let c = 1.0
        + d2 * (-0.5
            + d2 * (1.0 / 24.0
                + d2 * (-1.0 / 720.0 + d2 * (1.0 / 40_320.0 + d2 * (-1.0 / 3_628_800.0)))));
    // Rotation by q quarter turns: (c, s) -> (-s, c) per turn.
    let q = q as i32 & 3;
    let (c1, s1) = if q & 1 == 1 { (-s, c) } else { (c, s) };
    if q & 2 == 2 { (-c1, -s1) } else { (c1, s1) }
}

/// Two normals from two 32-bit words by Box-Muller: u1 = ((x0 >> 1) + 1/2) 2^-31 in (0, 1]
/// (31 bits; f32 rounds the largest to 2^31, so u1 may be exactly 1 and r = 0), u2 = the top
/// 24 bits of x1 times 2^-24, in [0, 1).
#[inline(always)]
fn box_muller(x0: u32, x1: u32) -> (f32, f32) {
    let u1 = (((x0 >> 1) as i32) as f32 + 0.5) * (1.0 / 2_147_483_648.0);
    let u2 = ((x1 >> 8) as f32) * (1.0 / 16_777_216.0);
    let r = (-2.0 * ln(u1)).max(0.0).sqrt();
    let (c, s) = cos_sin_2pi(u2);
    (r * c, r * s)
}

/// One group: the 32 normals of blocks 8 g .. 8 g + 8 under `key`; `AVX2`: Philox by
/// [`philox8_avx2`] (only where the CPU has AVX2).
#[allow(clippy::needless_range_loop)] // lane-indexed, as philox8
#[inline(always)]
fn group<const AVX2: bool>(g: u64, key: [u32; 2], out: &mut [f32; GROUP]) {
    let mut c = [[0u32; 8]; 4];
    for l in 0..8 {
        let k = g * 8 + l as u64;
        c[0][l] = k as u32;
        c[1][l] = (k >> 32) as u32;
    }
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: AVX2 is only set by `fill_groups` after checking the CPU.
        unsafe { philox8_avx2(&mut c, key) };
    } else {
        philox8(&mut c, key);
    }
    #[cfg(not(target_arch = "x86_64"))]
    philox8(&mut c, key);
    for l in 0..8 {
        let (z0, z1) = box_muller(c[0][l], c[1][l]);
        let (z2, z3) = box_muller(c[2][l], c[3][l]);
        out[l] = z0;
        out[8 + l] = z1;
        out[16 + l] = z2;
        out[24 + l] = z3;
    }
}

/// Fills `out` from group `first` on; returns the number of groups used.
#[inline(always)]
fn fill_body<const AVX2: bool>(first: u64, key: [u32; 2], out: &mut [f32]) -> u64 {
    let mut g = first;
    let mut chunks = out.chunks_exact_mut(GROUP);
    for chunk in &mut chunks {
        group::<AVX2>(g, key, chunk.try_into().expect("chunks of GROUP"));
        g += 1;
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut tail = [0.0f32; GROUP];
        group::<AVX2>(g, key, &mut tail);
        rest.copy_from_slice(&tail[..rest.len()]);
        g += 1;
    }
    g - first
}

/// [`fill_body`] compiled with AVX2 + FMA, its Philox in intrinsics.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fill_wide(first: u64, key: [u32; 2], out: &mut [f32]) -> u64 {
    fill_body::<true>(first, key, out)
}

/// [`fill_body`] in its AVX2 + FMA copy when the CPU has both ([`super::simd::wide`]), else
/// as compiled for the baseline; both give the same values.
fn fill_groups(first: u64, key: [u32; 2], out: &mut [f32]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if super::simd::wide() {
        // SAFETY: the CPU has the features `fill_wide` was compiled for.
        return unsafe { fill_wide(first, key, out) };
    }
    fill_body::<false>(first, key, out)
}

/// A stream of standard normal f32 values (see the module doc for its exact definition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormalStream {
    key: [u32; 2],
    next_group: u64,
}

impl NormalStream {
    /// The stream of `seed`, from its start.
    pub fn seeded(seed: u64) -> Self {
        Self {
            key: [seed as u32, (seed >> 32) as u32],
            next_group: 0,
        }
    }

    /// Overwrites `out` with the next `out.len()` normals. A long fill is cut into one run of
    /// whole groups per rayon thread (the stream is counter-based, so the values do not depend
    /// on the cut): a sampler's [64, 784] noise is ~130 us of work on one core, which the
    /// other core would otherwise spend waiting between the network's parallel gemms.
    pub fn fill(&mut self, out: &mut [f32]) {
        let (first, key) = (self.next_group, self.key);
        let len = out
            .len()
            .div_ceil(rayon::current_num_threads().max(1))
            .next_multiple_of(GROUP)
            .max(GROUP);
        super::for_each_chunk(
            out,
            len,
            out.len() * NORMAL_WORK,
            || (),
            |_, i, chunk| {
                fill_groups(first + (i * len / GROUP) as u64, key, chunk);
            },
        );
        self.next_group += out.len().div_ceil(GROUP) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Philox4x32-10 against the known-answer vectors of Random123 (kat_vectors).
    #[test]
    fn philox_matches_random123() {
        let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0; 4],
                [0; 2],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (ctr, key, want) in cases {
            let mut c = [[0u32; 8]; 4];
            for (row, word) in c.iter_mut().zip(ctr) {
                *row = [word; 8];
            }
            philox8(&mut c, key);
            for (l, w0) in c[0].iter().enumerate() {
                assert_eq!([*w0, c[1][l], c[2][l], c[3][l]], want);
            }
        }
    }

    /// The AVX2 Philox equals the portable one on varied counters and keys (where the CPU
    /// has AVX2), and the two fill paths give the same normals.
    #[test]
    fn avx2_philox_matches_portable() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u32
            };
            for _ in 0..1000 {
                let mut c = [[0u32; 8]; 4];
                c.iter_mut().flatten().for_each(|w| *w = next());
                let key = [next(), next()];
                let mut wide = c;
                philox8(&mut c, key);
                // SAFETY: AVX2 checked above.
                unsafe { philox8_avx2(&mut wide, key) };
                assert_eq!(c, wide);
            }
        }
        let (mut a, mut b) = (vec![0.0f32; 1000], vec![0.0f32; 1000]);
        assert_eq!(fill_body::<false>(5, [1, 2], &mut a), 32);
        assert_eq!(fill_groups(5, [1, 2], &mut b), 32);
        assert_eq!(a, b);
    }

    /// The polynomial ln, cos and sin against f64's.
    #[test]
    fn polynomials_match_f64() {
        for i in 1..=100_000u32 {
            let x = i as f32 / 100_000.0;
            let want = (x as f64).ln();
            assert!(
                (ln(x) as f64 - want).abs() <= 1e-6 * want.abs().max(1e-1),
                "ln {x}"
            );
            let u = (i - 1) as f32 / 100_000.0;
            let (c, s) = cos_sin_2pi(u);
            let a = 2.0 * std::f64::consts::PI * u as f64;
            assert!(
                (c as f64 - a.cos()).abs() < 1e-6 && (s as f64 - a.sin()).abs() < 1e-6,
                "{u}"
            );
        }
        assert!(ln(2f32.powi(-31)) < -21.48 && ln(1.0) == 0.0);
    }

    /// 4 M draws: mean, variance and kurtosis of N(0, 1) within 5 standard errors of the
    /// estimates (sd of the mean 1/sqrt(n), of the variance sqrt(2/n), of the kurtosis
    /// sqrt(24/n)), and the tail mass beyond 3 within 5 binomial standard errors of 2.70e-3.
    #[test]
    fn moments_match_the_standard_normal() {
        let n = 1 << 22;
        let mut z = vec![0.0f32; n];
        let mut s = NormalStream::seeded(7);
        // Uneven fills cover the partial-group path.
        let (a, b) = z.split_at_mut(1000 * GROUP + 5);
        s.fill(a);
        s.fill(b);
        let nf = n as f64;
        let mean = z.iter().map(|&v| v as f64).sum::<f64>() / nf;
        let m2 = z.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / nf;
        let m4 = z.iter().map(|&v| (v as f64 - mean).powi(4)).sum::<f64>() / nf;
        let tail = z.iter().filter(|v| v.abs() > 3.0).count() as f64 / nf;
        assert!(mean.abs() < 5.0 / nf.sqrt(), "mean {mean}");
        assert!((m2 - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(), "variance {m2}");
        assert!(
            (m4 / (m2 * m2) - 3.0).abs() < 5.0 * (24.0 / nf).sqrt(),
            "kurtosis {}",
            m4 / (m2 * m2)
        );
        let p = 2.699_796e-3;
        assert!(
            (tail - p).abs() < 5.0 * (p * (1.0 - p) / nf).sqrt(),
            "tail {tail}"
        );
        assert!(z.iter().all(|v| v.is_finite() && v.abs() <= 6.67));
    }

    /// The values do not depend on the thread count (fills split across threads in tests).
    #[test]
    fn threads_do_not_change_the_stream() {
        let draw = |threads| {
            crate::flex::testing::with_threads(threads, || {
                let mut s = NormalStream::seeded(11);
                let mut v = vec![0.0f32; 10 * GROUP + 7];
                s.fill(&mut v[..3 * GROUP + 1]);
                s.fill(&mut v[3 * GROUP + 1..]);
                v
            })
        };
        let one = draw(1);
        assert_eq!(one, draw(3));
        assert_eq!(one, draw(2));
    }

    /// A seed fixes the stream; fills continue it; another seed gives other values.
    #[test]
    fn the_seed_fixes_the_stream() {
        let draw = |seed, sizes: &[usize]| {
            let mut s = NormalStream::seeded(seed);
            sizes
                .iter()
                .map(|&k| {
                    let mut v = vec![0.0f32; k];
                    s.fill(&mut v);
                    v
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3, &[100, 64]), draw(3, &[100, 64]));
        let two = draw(3, &[64, 64]);
        assert_eq!(
            draw(3, &[128])[0],
            [two[0].clone(), two[1].clone()].concat()
        );
        assert_ne!(draw(3, &[64]), draw(4, &[64]));
    }
}
