//! Allowed ranges of numeric settings, checked once where a value enters (a flag's parser, a
//! config's `validate`), with a message naming the flag, the range and the value given.

use anyhow::{Result, bail};

/// `v` must be finite and > 0.
pub fn positive(flag: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v.is_finite()) {
        bail!("{flag} must be a finite number > 0 (got {v})");
    }
    Ok(())
}

/// `v` must be finite and >= 0.
pub fn non_negative(flag: &str, v: f64) -> Result<()> {
    if !(v >= 0.0 && v.is_finite()) {
        bail!("{flag} must be a finite number >= 0 (got {v})");
    }
    Ok(())
}

/// `v` must be at least 1.
pub fn at_least_one(flag: &str, v: usize) -> Result<()> {
    if v == 0 {
        bail!("{flag} must be at least 1 (got 0)");
    }
    Ok(())
}

/// clap value parser: a finite number > 0.
pub fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("must be a finite number > 0 (got {s})"))
    }
}

/// clap value parser: a finite number >= 0.
pub fn non_negative_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v >= 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(format!("must be a finite number >= 0 (got {s})"))
    }
}

/// clap value parser: a number strictly between 0 and 1 (a ratio threshold or a level).
pub fn open_unit_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("must lie strictly between 0 and 1 (got {s})"))
    }
}

/// clap value parser: an integer >= 1.
pub fn positive_usize(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1 (got 0)".to_string()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("`{s}` is not a whole number >= 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reject_nan_zero_and_negatives() {
        assert!(positive_f64("nan").is_err());
        assert!(positive_f64("inf").is_err());
        assert!(positive_f64("0").is_err());
        assert!(positive_f64("-1").is_err());
        assert_eq!(positive_f64("0.5"), Ok(0.5));
        assert!(non_negative_f64("-0.1").is_err());
        assert_eq!(non_negative_f64("0"), Ok(0.0));
        assert!(positive_usize("0").is_err());
        assert!(positive_usize("-1").is_err());
        assert_eq!(positive_usize("3"), Ok(3));
        assert!(positive("--min-snr", f64::NAN).is_err());
        assert!(non_negative("--weight-decay", 0.0).is_ok());
        assert!(at_least_one("--heldout", 0).is_err());
        for bad in ["0", "1", "1.5", "-0.2", "nan", "inf"] {
            assert!(open_unit_f64(bad).is_err(), "{bad}");
        }
        assert_eq!(open_unit_f64("0.25"), Ok(0.25));
    }
}
