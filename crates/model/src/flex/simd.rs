//! Element-wise f32 kernels written so that LLVM vectorises them: a polynomial `exp` (no libm
//! call per element), and SiLU's forward and backward built on it. Each kernel is compiled
//! twice, plainly (SSE2, the x86-64 baseline) and with AVX2 + FMA enabled, and picks the wide
//! copy at run time, so the binary stays portable. Large slices are split across rayon's pool
//! in chunks of [`CHUNK`] elements; small ones stay on the calling thread (splitting a
//! 64 K-element activation costs more than it saves).

use rayon::prelude::*;

/// Elements per rayon task (and the size below which a kernel runs on the calling thread).
pub const CHUNK: usize = 1 << 16;

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two (Cody and Waite) so that n ln 2 is subtracted without rounding error for
/// |n| <= 128: LN2_HI has 8 trailing zero bits.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: adding and subtracting it rounds an f32 of magnitude < 2^22 to the nearest
/// integer, and leaves that integer in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;

/// e^x for f32 in a form LLVM vectorises. x = n ln 2 + r with n = round(x / ln 2) and
/// |r| <= ln 2 / 2; e^r by its Taylor polynomial to degree 7 (truncation error
/// < r^8 / 8! <= 5e-9 relative), 2^n by writing n + 127 into the exponent bits.
/// Inputs are clamped to [-86.5, 88] (n stays in [-125, 127], so p 2^n is a normal f32 even
/// for p < 1), so a very negative x gives ~2.7e-38 rather than 0 and a very positive one
/// 1.65e38; NaN maps to the lower clamp. Results never fall below f32's smallest normal:
/// arithmetic on subnormals takes a microcode assist of ~100 cycles per vector on x86.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Not `clamp`: f32::max maps NaN to the lower bound (documented above), clamp keeps NaN.
    #[allow(clippy::manual_clamp)]
    let x = x.max(-86.5).min(88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // (n + 127 + ROUND)'s low mantissa bits hold n + 127; shifting them into the exponent
    // field discards ROUND's own bits.
    let scale = f32::from_bits((n + (ROUND + 127.0)).to_bits() << 23);
    p * scale
}

/// The logistic sigmoid 1 / (1 + e^-x) with [`exp`], its argument clamped to [-80, 80]:
/// sigmoid(-80) = 1.8e-35 stays a normal f32 (and so do its products with gradients down to
/// ~1e-3), where sigmoid(-88) would be subnormal and slow every op that touches it (an
/// untrained MLP's activations reach such values). The clamp changes SiLU by at most
/// |x| e^-80 absolutely.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    #[allow(clippy::manual_clamp)]
    let x = x.max(-80.0).min(80.0);
    1.0 / (1.0 + exp(-x))
}

/// SiLU, x * sigmoid(x) (Elfwing et al. 2018; Hendrycks and Gimpel's GELU paper call it
/// the sigmoid-weighted linear unit).
#[inline(always)]
fn silu_one(x: f32) -> f32 {
    x * sigmoid(x)
}

/// d silu / dx = s (1 + x (1 - s)) with s = sigmoid(x), times the upstream gradient g.
#[inline(always)]
fn silu_grad_one(x: f32, g: f32) -> f32 {
    let s = sigmoid(x);
    g * s * (1.0 + x * (1.0 - s))
}

/// Whether the CPU has AVX2 and FMA (the wide copies of the kernels), checked once.
pub fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *WIDE.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Defines `fn $name(args) -> R` that runs `$body(args)` (an `#[inline(always)]` function)
/// compiled with AVX2 + FMA enabled when the CPU has them ([`wide`]), and as compiled for the
/// baseline otherwise: the kernels' one run-time dispatch, so the binary stays portable.
macro_rules! wide_copy {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? = $body:path;) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) $(-> $r)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn wide($($a: $t),*) $(-> $r)? {
                $body($($a),*)
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::flex::simd::wide() {
                // SAFETY: the CPU has the features `wide` was compiled for.
                return unsafe { wide($($a),*) };
            }
            $body($($a),*)
        }
    };
}
pub(crate) use wide_copy;

/// [`sum`]'s body: 8 interleaved partial sums, added at the end, so that LLVM vectorises the
/// reduction (it may not reorder a float sum by itself).
#[inline(always)]
fn sum_lanes(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f32>() + rest
}

wide_copy!(
    /// The sum of `x`, in 8 lanes (the same value at any thread count; rounded differently
    /// from a sum in order), in its AVX2 copy when the CPU has it.
    pub fn sum(x: &[f32]) -> f32 = sum_lanes;
);

/// Defines `$name(input slices.., out)`: the element-wise map `$f` over equal-length slices,
/// in an AVX2 + FMA copy chosen at run time and a baseline copy, split across rayon in
/// [`CHUNK`]s when long.
macro_rules! elementwise {
    ($(#[$doc:meta])* $name:ident, $f:ident, ($($x:ident),+)) => {
        $(#[$doc])*
        pub fn $name($($x: &[f32],)+ out: &mut [f32]) {
            $(assert_eq!($x.len(), out.len(), concat!(stringify!($name), ": length mismatch"));)+
            #[inline(always)]
            fn body($($x: &[f32],)+ out: &mut [f32]) {
                // Indexing by one shared range lets LLVM drop the bounds checks and vectorise.
                let n = out.len();
                $(let $x = &$x[..n];)+
                for i in 0..n {
                    out[i] = $f($($x[i]),+);
                }
            }
            wide_copy!(fn run($($x: &[f32]),+, out: &mut [f32]) = body;);
            if out.len() <= CHUNK {
                run($($x,)+ out);
            } else {
                out.par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(c, o)| {
                        let at = c * CHUNK..c * CHUNK + o.len();
                        run($(&$x[at.clone()],)+ o)
                    });
            }
        }
    };
}

elementwise!(
    /// out = silu(x), element-wise.
    silu_forward, silu_one, (x)
);
elementwise!(
    /// out = g * silu'(x), element-wise (the input gradient of SiLU).
    silu_backward, silu_grad_one, (x, g)
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Max relative error of [`exp`] against f64's `exp` over [-86.5, 88] is below 4 ulp-ish
    /// (3e-7); the clamps hold at the ends.
    #[test]
    fn exp_matches_f64_reference() {
        let mut worst = 0.0f64;
        let n = 200_001;
        for i in 0..n {
            let x = -86.5 + 174.5 * i as f64 / (n - 1) as f64;
            let got = exp(x as f32) as f64;
            let want = (x as f32 as f64).exp();
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 3e-7, "max relative error {worst}");
        assert!(exp(-200.0) >= f32::MIN_POSITIVE && exp(-200.0) < 3e-38);
        assert!(
            exp(-86.49) >= f32::MIN_POSITIVE,
            "exp stays normal at its lower clamp"
        );
        assert!(exp(200.0).is_finite() && exp(200.0) > 1.6e38);
        assert_eq!(exp(0.0), 1.0);
    }

    /// SiLU and its gradient against f64 formulas, and the gradient against a central
    /// difference of the f64 SiLU; slices longer than CHUNK (the rayon path) agree with the
    /// element-wise calls.
    #[test]
    fn silu_kernels_match_f64() {
        let len = CHUNK * 2 + 77;
        let x: Vec<f32> = (0..len)
            .map(|i| -30.0 + 60.0 * ((i * 7919) % len) as f32 / len as f32)
            .collect();
        let g: Vec<f32> = (0..len).map(|i| ((i % 13) as f32 - 6.0) * 0.37).collect();
        let mut y = vec![0.0; len];
        let mut dx = vec![0.0; len];
        silu_forward(&x, &mut y);
        silu_backward(&x, &g, &mut dx);
        let silu64 = |v: f64| v / (1.0 + (-v).exp());
        for i in 0..len {
            let v = x[i] as f64;
            let s = 1.0 / (1.0 + (-v).exp());
            assert!((y[i] as f64 - silu64(v)).abs() <= 1e-6 * (1.0 + silu64(v).abs()));
            let want = g[i] as f64 * s * (1.0 + v * (1.0 - s));
            assert!(
                (dx[i] as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "{v}"
            );
            let h = 1e-4;
            let fd = g[i] as f64 * (silu64(v + h) - silu64(v - h)) / (2.0 * h);
            assert!(
                (dx[i] as f64 - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "{v}: {fd}"
            );
        }
        assert_eq!(y[CHUNK + 5], silu_one(x[CHUNK + 5]));
    }

    /// No kernel output is subnormal, even for activations far beyond SiLU's interesting
    /// range, and the clamped tail stays within |x| e^-80 of the exact SiLU.
    #[test]
    fn extreme_inputs_stay_normal() {
        let x: Vec<f32> = [-1e4f32, -500.0, -100.0, -88.0, -81.0, 81.0, 100.0, 1e4].to_vec();
        let g = vec![1e-3f32; x.len()];
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        silu_forward(&x, &mut y);
        silu_backward(&x, &g, &mut dx);
        for (i, &v) in x.iter().enumerate() {
            for (what, out) in [("silu", y[i]), ("silu'", dx[i])] {
                assert!(
                    out == 0.0 || out.abs() >= f32::MIN_POSITIVE,
                    "{what}({v}) = {out:e}"
                );
            }
            let exact = v as f64 / (1.0 + (-v as f64).exp());
            assert!(
                (y[i] as f64 - exact).abs()
                    <= (v.abs() as f64) * (-80f64).exp() + 1e-6 * exact.abs()
            );
        }
    }

    /// The 8-lane sum equals an f64 sum to f32 rounding, for lengths around the lane count.
    #[test]
    fn lane_sum_matches_f64() {
        for n in [0, 1, 7, 8, 9, 1000, 4097] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 23) as f32 / 7.0 - 1.5).collect();
            let want: f64 = x.iter().map(|&v| v as f64).sum();
            let scale: f64 = x.iter().map(|&v| v.abs() as f64).sum::<f64>().max(1.0);
            assert!((sum(&x) as f64 - want).abs() <= 1e-6 * scale, "n = {n}");
        }
    }

    #[test]
    #[should_panic(expected = "length mismatch")]
    fn mismatched_lengths_panic() {
        silu_forward(&[1.0, 2.0], &mut [0.0]);
    }
}
