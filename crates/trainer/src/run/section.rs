//! `section!`: one declaration per config section gives both the resolved section (every field
//! with its default, as burn-nn's `LinearConfig` keeps defaults on the fields) and its layer
//! (every field optional: what a config file or the command line said), with each field's
//! command-line flag declared next to it. Adding a setting is one line here.

/// Declares `$name` (the resolved section, written whole to `config.toml`) and `$layer` (the
/// same fields as `Option`s, read from a partial TOML table and from clap flags, flattened
/// into the command's arguments). A field reads
/// `/// doc` `[clap arg attributes]` `name: Type = default,`; `[skip]` gives no flag.
macro_rules! section {
    (
        $(#[doc = $sdoc:literal])*
        $name:ident, $layer:ident {
            $(
                $(#[doc = $doc:literal])*
                [$($arg:tt)*] $field:ident : $ty:ty = $default:expr,
            )*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        $(#[doc = $sdoc])*
        ///
        /// (Layer: only what a config file or the flags set.)
        #[derive(Clone, Debug, Default, PartialEq, clap::Args, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        #[command(mut_args($layer::show_default))]
        pub struct $layer {
            $( $(#[doc = $doc])* #[arg($($arg)*)] pub $field: Option<$ty>, )*
        }

        impl $layer {
            /// Takes every field that `over` sets.
            pub fn merge(&mut self, over: Self) {
                $( if over.$field.is_some() { self.$field = over.$field; } )*
            }

            /// The names of the set fields (their clap ids).
            pub fn set_fields(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$field.is_some() { out.push(stringify!($field)); } )*
                out
            }

            /// Appends `[default: X]` to the help of this section's flag `a` (X as
            /// `config.toml` writes it); other flags pass unchanged.
            fn show_default(a: clap::Arg) -> clap::Arg {
                let d = $name::default();
                match a.get_id().as_str() {
                    $( stringify!($field) => $crate::run::section::with_default(a, &d.$field), )*
                    _ => a,
                }
            }

            /// Writes every set field into `section`.
            pub fn apply(self, section: &mut $name) {
                $( if let Some(v) = self.$field { section.$field = v; } )*
            }
        }
    };
}

pub(crate) use section;

/// `a` with `[default: X]` after its help, X the TOML form of `value` (strings unquoted, as
/// the flag takes them). A help that already explains its default (a derived one, such as
/// the objective's) is left as it is.
pub fn with_default<T: serde::Serialize>(a: clap::Arg, value: &T) -> clap::Arg {
    let help = a.get_help().map(ToString::to_string).unwrap_or_default();
    if help.contains("default") {
        return a;
    }
    let shown = match toml::Value::try_from(value) {
        Ok(toml::Value::String(s)) => s,
        // Lists as the flags take them: `1,2,2`.
        Ok(toml::Value::Array(items)) if items.is_empty() => "empty".into(),
        Ok(toml::Value::Array(items)) => items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Ok(v) => v.to_string(),
        Err(_) => return a,
    };
    a.help(format!("{help} [default: {shown}]"))
}
