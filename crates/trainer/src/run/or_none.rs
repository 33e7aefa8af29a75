//! An optional setting that is always written: a value, or the word `none`.
//!
//! TOML has no null, so a plain `Option` left out of `config.toml` would be read back as "use
//! today's default" and a saved run would change when a default changes. `OrNone<T>` writes
//! `none` instead, and parses `none` on the command line (`--clip none`) and in sweeps.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// The word that means "not set".
pub const NONE: &str = "none";

/// `Some(value)` or `none`; dereferences to `Option<T>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OrNone<T>(pub Option<T>);

impl<T> OrNone<T> {
    /// A set value.
    pub const fn some(v: T) -> Self {
        Self(Some(v))
    }

    /// Not set.
    pub const fn none() -> Self {
        Self(None)
    }
}

impl<T> Deref for OrNone<T> {
    type Target = Option<T>;
    fn deref(&self) -> &Option<T> {
        &self.0
    }
}

impl<T> From<Option<T>> for OrNone<T> {
    fn from(v: Option<T>) -> Self {
        Self(v)
    }
}

impl<T: FromStr> FromStr for OrNone<T>
where
    T::Err: fmt::Display,
{
    type Err = String;
    /// `none` or a value of `T`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case(NONE) {
            return Ok(Self(None));
        }
        s.parse()
            .map(|v| Self(Some(v)))
            .map_err(|e| format!("{e} (or `{NONE}` to turn the setting off)"))
    }
}

impl<T: Serialize> Serialize for OrNone<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(v) => v.serialize(s),
            None => s.serialize_str(NONE),
        }
    }
}

/// Accepts only the string `none`.
struct NoneWord;

impl<'de> Deserialize<'de> for NoneWord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == NONE {
            Ok(NoneWord)
        } else {
            Err(serde::de::Error::custom(format!("expected `{NONE}`")))
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a value or the string \"none\"")]
enum Raw<T> {
    None(NoneWord),
    Some(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrNone<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Raw::<T>::deserialize(d)? {
            Raw::None(_) => Self(None),
            Raw::Some(v) => Self(Some(v)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct T {
        a: OrNone<f64>,
        b: OrNone<f64>,
    }

    #[test]
    fn none_is_written_and_read_back() {
        let t = T {
            a: OrNone::some(1.5),
            b: OrNone::none(),
        };
        let text = toml::to_string(&t).unwrap();
        assert!(text.contains("b = \"none\""), "{text}");
        assert_eq!(toml::from_str::<T>(&text).unwrap(), t);
        assert_eq!(
            toml::from_str::<T>("a = 2\nb = \"none\"").unwrap().a,
            OrNone::some(2.0)
        );
        assert!(toml::from_str::<T>("a = \"off\"\nb = 1.0").is_err());
    }

    #[test]
    fn flags_parse_none_and_values() {
        assert_eq!("none".parse::<OrNone<f64>>().unwrap(), OrNone::none());
        assert_eq!("0.5".parse::<OrNone<f64>>().unwrap(), OrNone::some(0.5));
        let e = "x".parse::<OrNone<f64>>().unwrap_err();
        assert!(e.contains("none"), "{e}");
    }
}
