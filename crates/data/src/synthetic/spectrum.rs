//! Covariance spectra of synthetic Gaussians: `power:K` (lambda_nu proportional to nu^-K,
//! nu = 1..d, normalised so that the trace is d) or `list:a,b,c` (explicit, d positive
//! values used as given).

use crate::error::DataError;
use std::fmt;

/// A spectrum recipe, before the dimension is known.
#[derive(Clone, Debug, PartialEq)]
pub enum Spectrum {
    /// lambda_nu proportional to nu^-K, normalised to sum d.
    Power(f64),
    /// Explicit eigenvalues, in order.
    List(Vec<f64>),
}

fn bad(spec: &str, msg: impl Into<String>) -> DataError {
    DataError::BadSpec {
        spec: spec.into(),
        msg: msg.into(),
    }
}

/// Parses a finite real number, naming the spec in the error.
pub(crate) fn parse_real(spec: &str, what: &str, s: &str) -> Result<f64, DataError> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(spec, format!("{what} `{s}` is not a finite number"))),
    }
}

impl Spectrum {
    /// Parses `power:K` or `list:a,b,c`.
    pub fn parse(s: &str) -> Result<Spectrum, DataError> {
        if let Some(k) = s.strip_prefix("power:") {
            Ok(Spectrum::Power(parse_real(s, "power-law exponent", k)?))
        } else if let Some(list) = s.strip_prefix("list:") {
            let values = list
                .split(',')
                .map(|v| parse_real(s, "eigenvalue", v))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(v) = values.iter().find(|&&v| v <= 0.0) {
                return Err(bad(s, format!("eigenvalue {v} is not positive")));
            }
            Ok(Spectrum::List(values))
        } else {
            Err(bad(s, "a spectrum is `power:K` or `list:a,b,c,...`"))
        }
    }

    /// The d eigenvalues, largest first for power laws.
    pub fn values(&self, d: usize) -> Result<Vec<f64>, DataError> {
        if d == 0 {
            return Err(DataError::BadSize {
                what: "d".into(),
                value: 0,
            });
        }
        match self {
            Spectrum::Power(k) => {
                let raw: Vec<f64> = (1..=d).map(|nu| (nu as f64).powf(-k)).collect();
                let sum: f64 = raw.iter().sum();
                if !sum.is_finite() || sum <= 0.0 {
                    return Err(bad(&self.to_string(), "the power law overflows for this d"));
                }
                Ok(raw.iter().map(|l| l * d as f64 / sum).collect())
            }
            Spectrum::List(v) if v.len() == d => Ok(v.clone()),
            Spectrum::List(v) => Err(bad(
                &self.to_string(),
                format!("the list has {} eigenvalues but d = {d}", v.len()),
            )),
        }
    }
}

impl fmt::Display for Spectrum {
    /// `power:K` or `list:a,b,c` (shortest round-trip number formatting).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spectrum::Power(k) => write!(f, "power:{k}"),
            Spectrum::List(v) => {
                let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "list:{}", s.join(","))
            }
        }
    }
}

/// Parses a spectrum recipe and evaluates it in dimension `d`.
pub fn parse_spectrum(spec: &str, d: usize) -> Result<Vec<f64>, DataError> {
    Spectrum::parse(spec)?.values(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_law_is_normalised_and_decays() {
        for (k, d) in [(1.0, 100), (0.0, 7), (2.5, 30)] {
            let l = parse_spectrum(&format!("power:{k}"), d).unwrap();
            assert_eq!(l.len(), d);
            let sum: f64 = l.iter().sum();
            assert!((sum - d as f64).abs() < 1e-9 * d as f64);
            for nu in 1..d {
                let ratio = l[nu] / l[0];
                assert!((ratio - ((nu + 1) as f64).powf(-k)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn explicit_list_and_errors() {
        assert_eq!(
            parse_spectrum("list:1,0.5,0.25", 3).unwrap(),
            vec![1.0, 0.5, 0.25]
        );
        assert!(matches!(
            parse_spectrum("list:1,0.5", 3),
            Err(DataError::BadSpec { .. })
        ));
        assert!(matches!(
            parse_spectrum("list:1,0,2", 3),
            Err(DataError::BadSpec { .. })
        ));
        assert!(matches!(
            parse_spectrum("power:x", 3),
            Err(DataError::BadSpec { .. })
        ));
        assert!(matches!(
            parse_spectrum("flat", 3),
            Err(DataError::BadSpec { .. })
        ));
        assert!(matches!(
            parse_spectrum("power:1", 0),
            Err(DataError::BadSize { .. })
        ));
        let s = Spectrum::parse("list:1,0.5,0.25").unwrap();
        assert_eq!(Spectrum::parse(&s.to_string()).unwrap(), s);
    }
}
