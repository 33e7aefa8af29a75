//! Claims on how a quantity scales with N: a least-squares power law y ~ N^a (log-log, with
//! its 95% Student-t interval, `diffmem_metrics::dynamics::fit_power_law`) compared with an
//! exponent the paper gives, or only its sign.

use super::claims::Claim;
use diffmem_metrics::dynamics::fit_power_law;

/// What the exponent must satisfy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// The 95% interval of a contains this exponent (needs >= 3 points).
    Exponent(f64),
    /// a > 0 (with an interval: its lower end above 0).
    Grows,
}

/// The claim `id` that y grows with N as `expect` says, from the points (N, y).
pub fn claim(
    id: &str,
    statement: &str,
    source: &str,
    x: &[f64],
    y: &[f64],
    expect: Expect,
) -> Claim {
    let fit = fit_power_law(x, y);
    let interval = fit.as_ref().and_then(|f| f.a_interval);
    let holds = match (expect, &fit, interval) {
        (_, None, _) => None,
        (Expect::Exponent(e), Some(_), Some((lo, hi))) => Some(lo <= e && e <= hi),
        (Expect::Exponent(_), Some(_), None) => None,
        (Expect::Grows, Some(_), Some((lo, _))) => Some(lo > 0.0),
        (Expect::Grows, Some(f), None) => Some(f.a > 0.0),
    };
    let (expected, tolerance) = match expect {
        Expect::Exponent(e) => (e, "inside the 95% interval of the fitted exponent"),
        Expect::Grows => (
            0.0,
            "exponent > 0 (the interval's lower end, when it has one)",
        ),
    };
    let note = match &fit {
        Some(f) => format!("fit over {} points, R^2 = {:.3}", f.n, f.r2),
        None => "fewer than 2 usable points (N, y > 0)".into(),
    };
    Claim::decided(id, statement, source, holds)
        .with_expected(expected)
        .with_measured(fit.as_ref().map(|f| f.a))
        .with_interval(interval)
        .with_tolerance(tolerance)
        .with_note(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_law_has_exponent_one_and_a_flat_one_does_not_grow() {
        let x = [64.0, 128.0, 256.0, 512.0];
        let lin: Vec<f64> = x
            .iter()
            .map(|n| 3.0 * n * (1.0 + 0.01 * (n % 3.0)))
            .collect();
        let c = claim("a", "s", "p", &x, &lin, Expect::Exponent(1.0));
        assert!(c.holds, "{c:?}");
        assert!(claim("b", "s", "p", &x, &lin, Expect::Grows).holds);
        let flat = [200.0, 210.0, 190.0, 205.0];
        assert!(!claim("c", "s", "p", &x, &flat, Expect::Exponent(1.0)).holds);
        assert!(!claim("d", "s", "p", &x, &flat, Expect::Grows).holds);
        assert!(claim("e", "s", "p", &x, &flat, Expect::Exponent(0.0)).holds);
        let short = claim("f", "s", "p", &x[..1], &flat[..1], Expect::Grows);
        assert_eq!(short.status, "not measured");
    }
}
