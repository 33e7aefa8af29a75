//! The axes of a sweep: which setting each one varies and its values, in a fixed order
//! (data, model, n_over_d, n, lambda, config keys, seed) so run names and task indices do not
//! depend on how the file is laid out.

use super::toml_path::{display, split_path};
use anyhow::{Result, bail};
use diffmem_metrics::theory::{parse_grid, parse_n_grid};
use toml::{Table, Value};

/// What an axis varies.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisKind {
    /// `data.spec`.
    Data,
    /// The model: a kind name or an entry of `[models]`.
    Model,
    /// Training-set size as a multiple of the data dimension d (synthetic data).
    NOverD,
    /// Training-set size N.
    N,
    /// Ridge lambda of `linear-exact`.
    Lambda,
    /// Any run-config key, as its dotted path.
    Config(Vec<String>),
    /// `data.seed` and `train.seed`.
    Seed,
}

/// One axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// Its key in `[axes]`.
    pub key: String,
    /// What it varies.
    pub kind: AxisKind,
    /// Its values.
    pub values: Vec<Value>,
}

/// Whether an axis distinguishes lines of a plot (N and seeds do not).
pub fn is_line_axis(key: &str) -> bool {
    !matches!(key, "n" | "n_over_d" | "seed")
}

impl Axis {
    /// The part of a run name for value `v` (before sanitising).
    pub fn name_part(&self, v: &Value) -> String {
        let text = display(v);
        match &self.kind {
            AxisKind::Data | AxisKind::Model => text,
            AxisKind::NOverD => format!("nd{text}"),
            AxisKind::N => format!("n{text}"),
            AxisKind::Lambda => format!("lam{text}"),
            AxisKind::Seed => format!("s{text}"),
            AxisKind::Config(path) => {
                format!("{}{text}", path.last().map_or("", String::as_str))
            }
        }
    }
}

/// The axes of a sweep in canonical order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Axes(pub Vec<Axis>);

fn as_list(key: &str, v: &Value) -> Result<Vec<Value>> {
    let list = match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    if list.is_empty() {
        bail!("axis `{key}` has no values");
    }
    Ok(list)
}

fn check_all(key: &str, list: &[Value], what: &str, ok: impl Fn(&Value) -> bool) -> Result<()> {
    match list.iter().find(|v| !ok(v)) {
        Some(v) => bail!("axis `{key}`: {v} is not {what}"),
        None => Ok(()),
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

fn sizes(key: &str, v: &Value) -> Result<Vec<Value>> {
    if let Value::String(grid) = v {
        return Ok(parse_n_grid(grid)?
            .into_iter()
            .map(|n| Value::Integer(n as i64))
            .collect());
    }
    let list = as_list(key, v)?;
    check_all(key, &list, "a positive integer", |v| {
        v.as_integer().is_some_and(|i| i > 0)
    })?;
    Ok(list)
}

fn ratios(key: &str, v: &Value) -> Result<Vec<Value>> {
    let list: Vec<Value> = match v {
        Value::String(grid) => parse_grid(grid)?.into_iter().map(Value::Float).collect(),
        other => as_list(key, other)?,
    };
    check_all(key, &list, "a positive number", |v| {
        number(v).is_some_and(|x| x > 0.0 && x.is_finite())
    })?;
    Ok(list)
}

impl Axes {
    /// Parses the `[axes]` table.
    pub fn parse(t: &Table) -> Result<Self> {
        if t.contains_key("n") && t.contains_key("n_over_d") {
            bail!("give either `n` or `n_over_d`, not both");
        }
        let mut axes = Vec::new();
        for (key, v) in t {
            let (kind, values) = match key.as_str() {
                "n" => (AxisKind::N, sizes(key, v)?),
                "n_over_d" => (AxisKind::NOverD, ratios(key, v)?),
                "model" | "data" => {
                    let list = as_list(key, v)?;
                    check_all(key, &list, "a string", Value::is_str)?;
                    let kind = if key == "model" {
                        AxisKind::Model
                    } else {
                        AxisKind::Data
                    };
                    (kind, list)
                }
                "seed" => {
                    let list = as_list(key, v)?;
                    check_all(key, &list, "a non-negative integer", |v| {
                        v.as_integer().is_some_and(|i| i >= 0)
                    })?;
                    (AxisKind::Seed, list)
                }
                "lambda" => {
                    let list = as_list(key, v)?;
                    check_all(key, &list, "a non-negative number", |v| {
                        number(v).is_some_and(|x| x >= 0.0)
                    })?;
                    (AxisKind::Lambda, list)
                }
                k if k.contains('.') => (AxisKind::Config(split_path(k)?), as_list(key, v)?),
                k => bail!(
                    "unknown axis `{k}`: use n, n_over_d, model, seed, data, lambda or a quoted \
                     config key such as \"optim.lr\""
                ),
            };
            axes.push(Axis {
                key: key.clone(),
                kind,
                values,
            });
        }
        axes.sort_by_key(|a| (rank(&a.kind), a.key.clone()));
        Ok(Axes(axes))
    }

    /// Number of grid points (the product of the axis lengths).
    pub fn grid_size(&self) -> usize {
        self.0.iter().map(|a| a.values.len()).product()
    }

    /// The value index of every axis at grid point `index` (the last axis varies fastest).
    pub fn combination(&self, mut index: usize) -> Vec<usize> {
        let mut out = vec![0; self.0.len()];
        for (slot, axis) in out.iter_mut().zip(&self.0).rev() {
            *slot = index % axis.values.len();
            index /= axis.values.len();
        }
        out
    }
}

fn rank(kind: &AxisKind) -> u8 {
    match kind {
        AxisKind::Data => 0,
        AxisKind::Model => 1,
        AxisKind::NOverD => 2,
        AxisKind::N => 3,
        AxisKind::Lambda => 4,
        AxisKind::Config(_) => 5,
        AxisKind::Seed => 6,
    }
}

/// A number from an axis value (integers and floats).
pub fn value_f64(v: &Value) -> Option<f64> {
    number(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_parse_in_canonical_order() {
        let t: Table = toml::from_str(
            "seed = [0, 1]\nn = \"log:100:5000:6\"\nmodel = \"mlp\"\n\"optim.lr\" = [0.1, 0.2]",
        )
        .unwrap();
        let a = Axes::parse(&t).unwrap();
        let keys: Vec<&str> = a.0.iter().map(|x| x.key.as_str()).collect();
        assert_eq!(keys, ["model", "n", "optim.lr", "seed"]);
        assert_eq!(a.0[1].values.len(), 6);
        assert_eq!(a.0[1].values[0].as_integer(), Some(100));
        assert_eq!(a.grid_size(), 24);
        assert_eq!(a.combination(1), vec![0, 0, 0, 1]);
        assert_eq!(a.combination(23), vec![0, 5, 1, 1]);
        assert_eq!(a.0[2].name_part(&a.0[2].values[0]), "lr0.1");
    }

    #[test]
    fn bad_axes_are_named() {
        for (text, needle) in [
            ("n = [0]", "positive integer"),
            ("size = [1]", "unknown axis `size`"),
            ("n = [1]\nn_over_d = [1]", "either"),
            ("model = []", "no values"),
            ("n = \"log:1:x:3\"", "not a number"),
        ] {
            let t: Table = toml::from_str(text).unwrap();
            let e = format!("{:#}", Axes::parse(&t).unwrap_err());
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
