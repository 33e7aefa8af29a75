//! Numbers and values for people: the plain summaries print strings without JSON quotes and
//! floats rounded to 4 significant digits (metrics.json and summary.json keep every digit).

use serde_json::Value;

/// Significant digits of a printed float.
pub const DIGITS: usize = 4;

/// `x` with [`DIGITS`] significant digits and no trailing zeros ("0.1846", "12.5", "3.2e-5",
/// "1.235e6"); "nan"/"inf" as such.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-3..6).contains(&mag) {
        let s = format!("{:.*e}", DIGITS - 1, x);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{e}", trim(m));
    }
    let decimals = (DIGITS as i32 - 1 - mag).max(0) as usize;
    trim(&format!("{x:.decimals$}")).to_string()
}

fn trim(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A JSON value for a summary line: strings bare, floats by [`num`], integers whole, null as
/// "-", arrays and objects as compact JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => num(n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rounds_to_four_significant_digits() {
        assert_eq!(num(0.184_623_1), "0.1846");
        assert_eq!(num(0.031), "0.031");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(1234.56), "1235");
        assert_eq!(num(-0.000_032_14), "-3.214e-5");
        assert_eq!(num(1_234_567.0), "1.235e6");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "NaN");
    }

    #[test]
    fn shows_values_without_json_quotes() {
        assert_eq!(show(&json!("mlp")), "mlp");
        assert_eq!(show(&json!(6000)), "6000");
        assert_eq!(show(&json!(0.231_987)), "0.232");
        assert_eq!(show(&json!(null)), "-");
    }
}
