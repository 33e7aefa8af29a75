//! Tick values of a logarithmic axis. plotters labels only the powers of ten of a log axis,
//! so a range within one decade (a loss from 0.3 to 1) showed a single label; these ticks
//! are the round values m x 10^k with the fewest mantissas m that give at least three labels
//! (at most eight: whole decades are thinned to every second, third... decade).

/// Mantissa sets from sparse to dense.
const MANTISSAS: [&[f64]; 4] = [
    &[1.0],
    &[1.0, 2.0, 5.0],
    &[1.0, 2.0, 3.0, 5.0, 7.0],
    &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
];

/// Most labels on an axis.
const MAX_TICKS: usize = 8;
/// Fewest labels wanted (when the range allows).
const MIN_TICKS: usize = 3;

/// The values m x 10^k in `lo..=hi` for the mantissas `ms`, every `stride`-th decade.
fn values(lo: f64, hi: f64, ms: &[f64], stride: i32) -> Vec<f64> {
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (k0..=k1)
        .filter(|k| k.rem_euclid(stride) == 0)
        .flat_map(|k| ms.iter().map(move |m| m * 10f64.powi(k)))
        .filter(|v| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12))
        .collect()
}

/// Tick values for a log axis over `lo..hi` (both > 0): the sparsest mantissa set with at
/// least `MIN_TICKS` values in range and at most `MAX_TICKS`; decades thinned when even
/// one value per decade is too many. Empty for an unusable range.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if !(lo > 0.0 && hi.is_finite()) {
        return Vec::new();
    }
    let mut stride = 1;
    loop {
        let decades = values(lo, hi, MANTISSAS[0], stride);
        if decades.len() <= MAX_TICKS || stride > 64 {
            break;
        }
        stride += 1;
    }
    if stride > 1 {
        return values(lo, hi, MANTISSAS[0], stride);
    }
    let mut best = values(lo, hi, MANTISSAS[0], 1);
    for ms in &MANTISSAS[1..] {
        if best.len() >= MIN_TICKS {
            break;
        }
        let denser = values(lo, hi, ms, 1);
        if denser.len() > MAX_TICKS && best.len() >= 2 {
            break;
        }
        best = denser;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::log_ticks;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs())
    }

    #[test]
    fn within_one_decade_gets_round_intermediate_values() {
        // A loss between 0.28 and 1.05: 1 alone before, now 0.3, 0.5, 0.7, 1.
        let t = log_ticks(0.28, 1.05);
        assert!(close(&t, &[0.3, 0.5, 0.7, 1.0]), "{t:?}");
        // N from 14 to 37 (a tiny sweep): 15, 20, 30.
        let t = log_ticks(14.0, 37.0);
        assert!(close(&t, &[15.0, 20.0, 30.0]), "{t:?}");
    }

    #[test]
    fn a_few_decades_use_one_two_five_and_many_are_thinned() {
        let t = log_ticks(0.9, 120.0);
        assert!(close(&t, &[1.0, 10.0, 100.0]), "{t:?}");
        let t = log_ticks(40.0, 1100.0);
        assert!(close(&t, &[50.0, 100.0, 200.0, 500.0, 1000.0]), "{t:?}");
        let t = log_ticks(1.0, 1e12);
        assert!(t.len() <= 8 && t.len() >= 4, "{t:?}");
        assert!(
            t.iter()
                .all(|v| (v.log10() - v.log10().round()).abs() < 1e-9)
        );
    }

    #[test]
    fn unusable_ranges_give_no_ticks() {
        assert!(log_ticks(0.0, 1.0).is_empty());
        assert!(log_ticks(-1.0, 1.0).is_empty());
        assert!(log_ticks(1.0, f64::INFINITY).is_empty());
    }
}
