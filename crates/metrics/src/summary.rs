//! Summary statistics of a list of values, for metrics.json.

use serde::{Deserialize, Serialize};

/// Location and spread of a set of values. Non-finite values are left out; every statistic is
/// NaN when no finite value is left, written as `null` in JSON (and read back as NaN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionSummary {
    /// Number of finite values summarised.
    pub count: usize,
    /// Arithmetic mean.
    #[serde(deserialize_with = "null_as_nan")]
    pub mean: f64,
    /// Population standard deviation sqrt(mean((v - mean)^2)).
    #[serde(deserialize_with = "null_as_nan")]
    pub std: f64,
    /// Smallest value.
    #[serde(deserialize_with = "null_as_nan")]
    pub min: f64,
    /// 5 % quantile (linear interpolation between order statistics, numpy's default).
    #[serde(deserialize_with = "null_as_nan")]
    pub q05: f64,
    /// 25 % quantile (lower quartile).
    #[serde(deserialize_with = "null_as_nan")]
    pub q25: f64,
    /// Median (50 % quantile).
    #[serde(deserialize_with = "null_as_nan")]
    pub median: f64,
    /// 75 % quantile (upper quartile).
    #[serde(deserialize_with = "null_as_nan")]
    pub q75: f64,
    /// 95 % quantile.
    #[serde(deserialize_with = "null_as_nan")]
    pub q95: f64,
    /// Largest value.
    #[serde(deserialize_with = "null_as_nan")]
    pub max: f64,
}

impl DistributionSummary {
    /// Summarise the finite entries of `values`.
    pub fn of(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let q = |p: f64| quantile_sorted(&v, p);
        Self {
            count: v.len(),
            mean,
            std: var.sqrt(),
            min: q(0.0),
            q05: q(0.05),
            q25: q(0.25),
            median: q(0.5),
            q75: q(0.75),
            q95: q(0.95),
            max: q(1.0),
        }
    }
}

/// Read a JSON number, or `null` as NaN (serde_json writes non-finite floats as `null`).
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The median of the finite values of `v` (the mean of the middle two for an even count).
pub fn median(v: &[f64]) -> Option<f64> {
    let mut x: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    x.sort_by(f64::total_cmp);
    let n = x.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(x[n / 2]),
        _ => Some((x[n / 2 - 1] + x[n / 2]) / 2.0),
    }
}

/// The p-quantile (0 <= p <= 1) of ascending `sorted` values by linear interpolation between
/// order statistics at position p (n - 1) (Hyndman and Fan type 7); NaN when empty.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() || p.is_nan() {
        return f64::NAN;
    }
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median by hand: odd count the middle value, even count the mean of the middle two,
    /// non-finite values left out.
    #[test]
    fn median_of_the_finite_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, f64::NAN, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let s = DistributionSummary::of(&[4.0, 1.0, f64::NAN, 3.0, 2.0, f64::INFINITY]);
        assert_eq!(s.count, 4);
        assert_eq!(
            (s.min, s.q25, s.median, s.q75, s.max),
            (1.0, 1.75, 2.5, 3.25, 4.0)
        );
        assert!((s.q05 - 1.15).abs() < 1e-12 && (s.q95 - 3.85).abs() < 1e-12);
        assert_eq!(s.mean, 2.5);
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn empty_input_is_nan_and_serialises_as_null() {
        let s = DistributionSummary::of(&[]);
        assert_eq!(s.count, 0);
        assert!(s.mean.is_nan() && s.median.is_nan());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"median\":null"), "{json}");
        let back: DistributionSummary = serde_json::from_str(&json).unwrap();
        assert!(back.count == 0 && back.median.is_nan());
        let one = DistributionSummary::of(&[2.0]);
        assert_eq!(
            (one.min, one.median, one.max, one.std),
            (2.0, 2.0, 2.0, 0.0)
        );
    }
}
