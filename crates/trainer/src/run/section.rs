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

            /// Writes every set field into `section`.
            pub fn apply(self, section: &mut $name) {
                $( if let Some(v) = self.$field { section.$field = v; } )*
            }
        }
    };
}

pub(crate) use section;
