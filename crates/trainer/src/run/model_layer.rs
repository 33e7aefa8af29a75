//! The model part of a run's layers: `[model]` of a config file (kept as a table, since its
//! keys depend on the model kind) and the model flags, resolved into one `ModelSpec`.
//!
//! Settings live on the model crate's configs (`MlpConfig`, `UnetConfig`, `LinearConfig`): a
//! new model setting is a field there, plus one flag line below if it deserves a flag.

use super::config::RunConfig;
use anyhow::{Context, Result, bail};
use diffmem_model::ModelSpec;
use toml::{Table, Value};

/// Declares every model flag once: its doc (the `--help` text), its clap attributes, its field
/// and value type, and the TOML key of the model table it sets. From that one list come the
/// `ModelFlags` struct, `FLAG_KEYS`, `set_fields` and `entries`, so a new model setting is a
/// field of the model crate's config plus one line here.
macro_rules! model_flags {
    ($( $(#[$doc:meta])* [$($arg:tt)*] $field:ident : $ty:ty => $key:literal, )*) => {
        /// The model flags of `diffmem train` (each is a key of the model's TOML table).
        #[derive(Clone, Debug, Default, PartialEq, clap::Args)]
        #[command(mut_args(ModelFlags::show_default))]
        pub struct ModelFlags {
            /// Model: linear, mlp, unet, linear-exact, empirical, local.
            #[arg(long = "model")]
            pub name: Option<String>,
            $( $(#[$doc])* #[arg($($arg)*)] pub $field: Option<$ty>, )*
        }

        /// (clap id, TOML key) of every model setting flag.
        const FLAG_KEYS: &[(&str, &str)] = &[$((stringify!($field), $key),)*];

        impl ModelFlags {
            /// The names of the set flags (their clap ids).
            pub fn set_fields(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                if self.name.is_some() {
                    set.push("name");
                }
                $( if self.$field.is_some() { set.push(stringify!($field)); } )*
                set
            }

            /// The set flags as (flag, TOML key, value).
            fn entries(&self) -> Vec<(String, &'static str, Value)> {
                let mut set = Vec::new();
                $( if let Some(v) = &self.$field {
                    set.push((format!("--{}", stringify!($field)), $key, v.to_toml()));
                } )*
                set
            }
        }
    };
}

model_flags! {
    /// MLP width.
    [long] width: usize => "width",
    /// MLP residual blocks.
    [long] depth: usize => "depth",
    /// Time-embedding width (MLP).
    [long] temb: usize => "temb",
    /// UNet base channels.
    [long] base: usize => "base",
    /// UNet channel multipliers, e.g. 1,2,2.
    [long, value_delimiter = ','] mults: Vec<usize> => "mults",
    /// UNet self-attention resolutions, e.g. 8.
    [long, value_delimiter = ','] attn: Vec<usize> => "attn_res",
    /// `linear`: number of timestep bins (default: one per timestep).
    [long] bins: usize => "bins",
    /// `linear-exact`: ridge lambda.
    [long] lambda: f64 => "lambda",
    /// `local`: odd patch sizes P_t over equal bins of timesteps, low noise first, e.g. 3,5,7.
    [long, value_delimiter = ','] patch: Vec<usize> => "patch",
    /// `local`: patches at every position (true: the ELS machine) or the same position only.
    [long] equivariant: bool => "equivariant",
}

/// A flag's value as a TOML value of the model table.
trait ToToml {
    fn to_toml(&self) -> Value;
}

impl ToToml for usize {
    fn to_toml(&self) -> Value {
        Value::Integer(*self as i64)
    }
}

impl ToToml for f64 {
    fn to_toml(&self) -> Value {
        Value::Float(*self)
    }
}

impl ToToml for bool {
    fn to_toml(&self) -> Value {
        Value::Boolean(*self)
    }
}

impl ToToml for Vec<usize> {
    fn to_toml(&self) -> Value {
        Value::Array(self.iter().map(|&x| Value::Integer(x as i64)).collect())
    }
}

impl ModelFlags {
    /// Appends `[default: X]` to the help of a model flag: X from the default run's model
    /// ([`RunConfig::default`]) when it has that setting, else from the defaults of the first
    /// model kind that has it (`--base` from the UNet's).
    fn show_default(a: clap::Arg) -> clap::Arg {
        let base = RunConfig::default().model;
        let id = a.get_id().as_str().to_string();
        if id == "name" {
            return super::section::with_default(a, &base.name());
        }
        let Some(&(_, key)) = FLAG_KEYS.iter().find(|(i, _)| *i == id) else {
            return a;
        };
        let kinds = ["mlp", "unet", "linear", "linear-exact", "local"];
        let specs = std::iter::once(Ok(base)).chain(kinds.iter().map(|k| ModelSpec::from_name(k)));
        let value = specs
            .filter_map(|s| s.ok().and_then(|s| table_of(&s).ok()))
            .find_map(|t| t.get(key).cloned());
        match value {
            Some(v) => super::section::with_default(a, &v),
            None => a,
        }
    }
}

/// A model's settings as a TOML table (with its `name`).
fn table_of(spec: &ModelSpec) -> Result<Table> {
    match Value::try_from(spec)? {
        Value::Table(t) => Ok(t),
        _ => bail!("internal: a model spec is not a table"),
    }
}

/// The model: `base` (the defaults), then the file's `[model]` table, then the flags. A file or
/// flag that names another kind starts from that kind's defaults (settings of the old kind do
/// not carry over); a flag that the chosen kind does not have is an error naming both.
pub fn resolve_model(base: &ModelSpec, file: &Table, flags: &ModelFlags) -> Result<ModelSpec> {
    let file_kind = file.get("name").and_then(Value::as_str);
    let kind = flags
        .name
        .as_deref()
        .or(file_kind)
        .unwrap_or(base.name())
        .to_string();
    let mut table = if kind == base.name() {
        table_of(base)?
    } else {
        table_of(&ModelSpec::from_name(&kind)?)?
    };
    let known: Vec<String> = table.keys().cloned().collect();
    if file_kind.is_none_or(|k| k == kind) {
        for (k, v) in file {
            table.insert(k.clone(), v.clone());
        }
    }
    for (flag, key, v) in flags.entries() {
        let applies = known.iter().any(|k| k == key) || (kind == "linear" && key == "bins");
        if !applies {
            bail!("{flag} applies to another model, not --model {kind}");
        }
        table.insert(key.to_string(), v);
    }
    // "none" means "not set" (as in sweeps); the model configs use plain options.
    table.retain(|_, v| v.as_str() != Some("none"));
    let spec: ModelSpec = Value::Table(table.clone())
        .try_into()
        .with_context(|| format!("invalid [model] settings for `{kind}`"))?;
    reject_unknown(&kind, &table, &spec)?;
    Ok(spec)
}

/// Every key of the model table must be a setting of the model: a key that the parsed spec
/// does not write back (a typo such as `widht`) was ignored by the parse, so it is an error
/// naming the key and the settings the kind has. (The model configs are plain serde structs
/// shared with the model crate, so the check lives here, on the round trip.)
fn reject_unknown(kind: &str, table: &Table, spec: &ModelSpec) -> Result<()> {
    let back = table_of(spec)?;
    let defaults = table_of(&ModelSpec::from_name(kind)?)?;
    let unknown: Vec<&String> = table.keys().filter(|k| !back.contains_key(*k)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let mut settings: Vec<&str> = defaults
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "name")
        .collect();
    if kind == "linear" {
        settings.push("bins");
    }
    bail!(
        "unknown [model] key{} {} for `{kind}` (a typo?): `{kind}` takes {}",
        if unknown.len() > 1 { "s" } else { "" },
        unknown
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", "),
        if settings.is_empty() {
            "no settings".to_string()
        } else {
            settings.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_model::denoiser::MlpConfig;

    fn mlp(width: usize, depth: usize) -> ModelSpec {
        ModelSpec::Mlp(MlpConfig {
            width,
            depth,
            temb: 128,
        })
    }

    #[test]
    fn flags_override_file_which_overrides_base() {
        let file: Table = toml::from_str("name = \"mlp\"\nwidth = 64").unwrap();
        let flags = ModelFlags {
            depth: Some(1),
            ..Default::default()
        };
        assert_eq!(
            resolve_model(&mlp(1024, 3), &file, &flags).unwrap(),
            mlp(64, 1)
        );
    }

    #[test]
    fn a_typo_in_the_model_table_is_an_error_naming_it() {
        let file: Table = toml::from_str("name = \"mlp\"\nwidht = 32").unwrap();
        let e = resolve_model(&mlp(512, 3), &file, &ModelFlags::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("`widht`"), "{msg}");
        assert!(msg.contains("takes depth, temb, width"), "{msg}");
        // Known keys and `none` still pass.
        let ok: Table = toml::from_str("name = \"linear\"\nbins = 4").unwrap();
        assert!(resolve_model(&mlp(512, 3), &ok, &ModelFlags::default()).is_ok());
        let none: Table = toml::from_str("name = \"linear\"\nbins = \"none\"").unwrap();
        assert!(resolve_model(&mlp(512, 3), &none, &ModelFlags::default()).is_ok());
    }

    #[test]
    fn another_kind_starts_from_its_defaults_and_foreign_flags_are_named() {
        let flags = ModelFlags {
            name: Some("linear".into()),
            bins: Some(10),
            ..Default::default()
        };
        let m = resolve_model(&mlp(1024, 3), &Table::new(), &flags).unwrap();
        assert_eq!(m.name(), "linear");
        let bad = ModelFlags {
            name: Some("unet".into()),
            width: Some(8),
            ..Default::default()
        };
        let e = resolve_model(&mlp(1024, 3), &Table::new(), &bad).unwrap_err();
        assert!(e.to_string().contains("--width"), "{e}");
        assert!(e.to_string().contains("unet"), "{e}");
    }
}
