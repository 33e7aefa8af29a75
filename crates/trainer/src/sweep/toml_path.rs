//! Dotted paths into TOML tables: deep merges of partial configs and `KEY=VALUE` overrides.
//!
//! The string value `"none"` is kept as it is: the typed config reads it as "not set" for an
//! optional setting (such as `sample.clip_x0`), which may differ from leaving the key out
//! ("use the default", e.g. `optim.clip` defaults to 1.0).

use anyhow::{Result, bail};
use toml::{Table, Value};

/// Splits `a.b."c.d"` into `["a", "b", "c.d"]` (double quotes protect dots).
pub fn split_path(key: &str) -> Result<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            c => parts.last_mut().map_or((), |p| p.push(c)),
        }
    }
    if quoted || parts.iter().any(|p| p.trim().is_empty()) {
        bail!("`{key}` is not a dotted key like train.steps or axes.\"optim.lr\"");
    }
    Ok(parts.into_iter().map(|p| p.trim().to_string()).collect())
}

/// Sets `path` in `table` to `value`, creating tables on the way.
pub fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<()> {
    let Some((last, parents)) = path.split_last() else {
        bail!("empty key");
    };
    let mut t = table;
    for (i, p) in parents.iter().enumerate() {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        t = match entry {
            Value::Table(inner) => inner,
            _ => bail!(
                "`{}` is a value, not a table, so `{}` cannot be set",
                parents[..=i].join("."),
                path.join(".")
            ),
        };
    }
    t.insert(last.clone(), value);
    Ok(())
}

/// The value at `path`, if any.
pub fn get_path<'a>(table: &'a Table, path: &[&str]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut t = table;
    for p in parents {
        t = t.get(*p)?.as_table()?;
    }
    t.get(*last)
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else replaces.
pub fn merge(base: &mut Table, over: &Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A TOML value from command-line text: `50`, `1e-3`, `true`, `[1, 2]`, `"x"`; anything that
/// does not parse as TOML is taken as a plain string (`mnist-5k`).
pub fn parse_value(text: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Parses `KEY=VALUE` into the key path and the value.
pub fn parse_assignment(text: &str) -> Result<(Vec<String>, Value)> {
    let Some((k, v)) = text.split_once('=') else {
        bail!("`{text}` is not of the form KEY=VALUE (e.g. train.steps=100)");
    };
    Ok((split_path(k.trim())?, parse_value(v.trim())))
}

/// A short display of a value for names and tables (strings without quotes).
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_values_and_merges() {
        assert_eq!(
            split_path("axes.\"optim.lr\"").unwrap(),
            vec!["axes", "optim.lr"]
        );
        assert!(split_path("a..b").is_err());
        assert_eq!(parse_value("50"), Value::Integer(50));
        assert_eq!(parse_value("[1, 2]").as_array().unwrap().len(), 2);
        assert_eq!(parse_value("mnist-5k"), Value::String("mnist-5k".into()));
        let mut t: Table =
            toml::from_str("[train]\nsteps = 5\nseed = 1\n[sample]\nclip_x0 = 1.0").unwrap();
        let over: Table =
            toml::from_str("[train]\nsteps = 7\n[sample]\nclip_x0 = \"none\"").unwrap();
        merge(&mut t, &over);
        assert_eq!(get_path(&t, &["train", "steps"]), Some(&Value::Integer(7)));
        assert_eq!(get_path(&t, &["train", "seed"]), Some(&Value::Integer(1)));
        assert_eq!(
            get_path(&t, &["sample", "clip_x0"]),
            Some(&Value::String("none".into()))
        );
        let (path, v) = parse_assignment("train.lr = 1e-3").unwrap();
        set_path(&mut t, &path, v).unwrap();
        assert_eq!(get_path(&t, &["train", "lr"]), Some(&Value::Float(1e-3)));
        assert!(
            set_path(
                &mut t,
                &split_path("train.steps.x").unwrap(),
                Value::Integer(1)
            )
            .is_err()
        );
    }
}
