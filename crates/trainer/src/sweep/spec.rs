//! The SWEEP.toml file: a base run config (partial, merged over the defaults), axes, named
//! model settings, the evaluation to run, Slurm resources and a `[ci]` reduction.
//!
//! ```toml
//! name = "mnist5k"                  # default output directory: sweeps/NAME
//! description = "free text shown in the report"
//! [base]                            # same schema as runs/NAME/config.toml, any subset
//! data.spec = "mnist-5k"
//! train.steps = 6000
//! [axes]                            # the grid is the product of all axes
//! n = "log:100:5000:6"              # or a list; `n_over_d` instead for synthetic data
//! model = ["mlp", "unet-small"]     # model names or entries of [models]
//! seed = [0, 1]
//! # data = [...], lambda = [...] (linear-exact ridge), "optim.lr" = [...] (any config key)
//! [models.unet-small]               # `name` is the model kind (default: the entry's name)
//! name = "unet"
//! base = 16
//! config.train.batch_size = 64      # run-config settings for this model only
//! [eval]
//! metrics = ["mem", "loss"]         # omitted: eval's defaults; [] skips the evaluation
//! args = ["--num", "1000"]          # more `diffmem eval` flags
//! [slurm]
//! time = "02:00:00"                 # also partition, cpus, mem, account, max_parallel, extra
//! [ci]                              # applied by `--ci`: KEY = VALUE as with `--set`
//! "train.steps" = 50
//! ```
//!
//! `--set KEY=VALUE` and `[ci]` keys are dotted paths from the top of the file; a key that
//! does not start with a section name is taken inside `[base]` (`train.steps=50`).

use super::axes::Axes;
use super::naming::sanitize;
use super::toml_path::{get_path, merge, parse_assignment, set_path, split_path};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::{Table, Value};

/// Top-level keys of a SWEEP.toml.
pub const SECTIONS: [&str; 8] = [
    "name",
    "description",
    "base",
    "axes",
    "models",
    "eval",
    "slurm",
    "ci",
];

/// Which evaluation runs after training.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// `--metrics` of `diffmem eval` (None: its defaults; empty: no evaluation).
    pub metrics: Option<Vec<String>>,
    /// Further `diffmem eval` flags.
    #[serde(default)]
    pub args: Vec<String>,
}

impl EvalSection {
    /// Whether an evaluation runs at all.
    pub fn enabled(&self) -> bool {
        self.metrics.as_ref().is_none_or(|m| !m.is_empty())
    }

    /// The `diffmem eval` flags after the run directory.
    pub fn flags(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(m) = self.metrics.as_ref().filter(|m| !m.is_empty()) {
            v.push("--metrics".to_string());
            v.push(m.join(","));
        }
        v.extend(self.args.iter().cloned());
        v
    }
}

/// Slurm resources (each can be overridden by the flag of the same name).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSection {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`, e.g. `02:00:00`.
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus: Option<usize>,
    /// `--mem`, e.g. `8G`.
    pub mem: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// At most this many array tasks at once (`--array=0-K%M`).
    pub max_parallel: Option<usize>,
    /// Further `#SBATCH` options, e.g. `--gres=gpu:1`.
    #[serde(default)]
    pub extra: Vec<String>,
}

/// One entry of `[models]`: a model kind with settings and run-config settings of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelEntry {
    /// The model kind (`mlp`, `unet`, ...).
    pub kind: String,
    /// Model settings (merged over the kind's defaults).
    pub fields: Table,
    /// Run-config settings for this model (merged over `[base]`).
    pub config: Table,
}

/// A parsed SWEEP.toml with `[ci]` and `--set` applied.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    /// Sweep name (file-name safe).
    pub name: String,
    /// The partial base run config.
    pub base: Table,
    /// The axes.
    pub axes: Axes,
    /// Named model settings.
    pub models: BTreeMap<String, ModelEntry>,
    /// The evaluation.
    pub eval: EvalSection,
    /// Slurm resources.
    pub slurm: SlurmSection,
    /// The whole spec as resolved (without `[ci]`), for the copy in the sweep directory.
    pub resolved: Table,
}

/// The path of an override key from the top of the spec (`[base]` when no section is named;
/// `axes.optim.lr` is the axis "optim.lr").
fn spec_path(mut path: Vec<String>) -> Vec<String> {
    if !SECTIONS.contains(&path[0].as_str()) {
        path.insert(0, "base".into());
    }
    if path[0] == "axes" && path.len() > 2 {
        let axis = path[1..].join(".");
        path.truncate(1);
        path.push(axis);
    }
    path
}

/// Applies one override: a table merges into the table at `path`, other values replace.
fn apply(root: &mut Table, path: &[String], value: Value) -> Result<()> {
    if let Value::Table(over) = &value {
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        let mut current = match get_path(root, &keys) {
            Some(Value::Table(t)) => t.clone(),
            _ => Table::new(),
        };
        merge(&mut current, over);
        return set_path(root, path, Value::Table(current));
    }
    set_path(root, path, value)
}

fn table(root: &Table, key: &str, origin: &str) -> Result<Table> {
    match root.get(key) {
        None => Ok(Table::new()),
        Some(Value::Table(t)) => Ok(t.clone()),
        Some(_) => bail!("{origin}: `{key}` must be a table ([{key}])"),
    }
}

fn model_entries(root: &Table, origin: &str) -> Result<BTreeMap<String, ModelEntry>> {
    let mut out = BTreeMap::new();
    for (name, v) in table(root, "models", origin)? {
        let Value::Table(mut fields) = v else {
            bail!("{origin}: [models.{name}] must be a table");
        };
        let kind = match fields.remove("name") {
            Some(Value::String(k)) => k,
            Some(_) => bail!("{origin}: [models.{name}] name must be a model kind string"),
            None => name.clone(),
        };
        diffmem_model::ModelSpec::from_name(&kind)
            .with_context(|| format!("{origin}: [models.{name}]"))?;
        let config = match fields.remove("config") {
            Some(Value::Table(t)) => t,
            Some(_) => bail!("{origin}: [models.{name}] config must be a table"),
            None => Table::new(),
        };
        out.insert(
            name,
            ModelEntry {
                kind,
                fields,
                config,
            },
        );
    }
    Ok(out)
}

/// Gives a `--ci` sweep its own description (unless `[ci]` sets one): that it is the reduced
/// CI budget, which settings the reduction changed, then the full sweep's description, so a
/// report of the reduced sweep is never read as the full one's results.
fn describe_ci(root: &mut Table, reductions: &Table) {
    if reductions.contains_key("description") {
        return;
    }
    let keys: Vec<String> = reductions
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    let full = match root.get("description") {
        Some(Value::String(d)) => format!(" The full sweep (without --ci): {d}"),
        _ => String::new(),
    };
    let text = format!(
        "Reduced CI budget (diffmem sweep --ci): a smoke test of the pipeline, not results; its \
         numbers are not the full sweep's. Reductions: {}.{full}",
        keys.join(", ")
    );
    root.insert("description".into(), Value::String(text));
}

impl SweepSpec {
    /// Reads `path`; `ci` applies its `[ci]` table, then each `KEY=VALUE` of `sets`.
    pub fn load(path: &Path, ci: bool, sets: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sweep spec {}", path.display()))?;
        let root: Table = toml::from_str(&text)
            .with_context(|| format!("sweep spec {} is not valid TOML", path.display()))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("sweep");
        Self::from_table(root, stem, ci, sets, &path.display().to_string())
    }

    /// Builds the spec from parsed TOML (`origin` names the file in errors).
    pub fn from_table(
        mut root: Table,
        default_name: &str,
        ci: bool,
        sets: &[String],
        origin: &str,
    ) -> Result<Self> {
        let ci_table = root.remove("ci");
        if ci {
            let Some(Value::Table(reductions)) = ci_table else {
                bail!("--ci: {origin} has no [ci] table");
            };
            describe_ci(&mut root, &reductions);
            for (k, v) in reductions {
                let what = || format!("{origin}: [ci] key `{k}`");
                let path = spec_path(split_path(&k).with_context(what)?);
                apply(&mut root, &path, v).with_context(what)?;
            }
        }
        for s in sets {
            let (path, value) = parse_assignment(s).with_context(|| format!("--set {s}"))?;
            apply(&mut root, &spec_path(path), value).with_context(|| format!("--set {s}"))?;
        }
        if let Some(k) = root.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            bail!(
                "{origin}: unknown top-level key `{k}` (allowed: {})",
                SECTIONS.join(", ")
            );
        }
        let text_of = |key: &str| -> Result<Option<String>> {
            match root.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => bail!("{origin}: `{key}` must be a string"),
            }
        };
        text_of("description")?;
        let name = sanitize(
            &text_of("name")?.unwrap_or_else(|| default_name.to_string()),
            60,
        );
        let de = |key: &str| -> Result<Value> { Ok(Value::Table(table(&root, key, origin)?)) };
        let eval: EvalSection = de("eval")?
            .try_into()
            .with_context(|| format!("{origin}: bad [eval] section"))?;
        let slurm: SlurmSection = de("slurm")?
            .try_into()
            .with_context(|| format!("{origin}: bad [slurm] section"))?;
        Ok(SweepSpec {
            name,
            base: table(&root, "base", origin)?,
            axes: Axes::parse(&table(&root, "axes", origin)?)
                .with_context(|| format!("{origin}: bad [axes]"))?,
            models: model_entries(&root, origin)?,
            eval,
            slurm,
            resolved: root,
        })
    }

    /// The resolved spec as TOML text (what `--task` runs read back).
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(&self.resolved)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name = "t"
[base]
data.spec = "mnist-5k"
train.steps = 100
[axes]
n = [10, 20]
model = ["mlp", "small"]
[models.small]
name = "mlp"
width = 16
config.train.batch_size = 8
[eval]
metrics = ["mem"]
[ci]
"train.steps" = 5
"axes.n" = [10]
"#;

    fn load(ci: bool, sets: &[&str]) -> Result<SweepSpec> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        SweepSpec::from_table(toml::from_str(SPEC).unwrap(), "x", ci, &sets, "test.toml")
    }

    #[test]
    fn ci_and_set_overrides_apply_in_order() {
        let s = load(true, &["train.lr=0.01", "axes.\"optim.lr\"=[0.1]"]).unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.base["train"]["steps"].as_integer(), Some(5));
        assert_eq!(s.base["train"]["lr"].as_float(), Some(0.01));
        assert_eq!(s.axes.0.len(), 3);
        assert!(!s.to_toml().unwrap().contains("[ci]"));
        assert_eq!(s.models["small"].kind, "mlp");
        assert_eq!(
            s.models["small"].config["train"]["batch_size"].as_integer(),
            Some(8)
        );
        assert_eq!(s.eval.flags(), vec!["--metrics", "mem"]);
        let plain = load(false, &[]).unwrap();
        assert_eq!(plain.base["train"]["steps"].as_integer(), Some(100));
    }

    #[test]
    fn a_ci_sweep_describes_itself_as_the_reduced_budget() {
        let mut t: Table = toml::from_str(SPEC).unwrap();
        t.insert("description".into(), "N from 10 to 20".into());
        let ci = SweepSpec::from_table(t.clone(), "x", true, &[], "t.toml").unwrap();
        let d = ci.resolved["description"].as_str().unwrap();
        assert!(d.starts_with("Reduced CI budget"), "{d}");
        assert!(
            d.contains("train.steps = 5") && d.ends_with("N from 10 to 20"),
            "{d}"
        );
        let full = SweepSpec::from_table(t.clone(), "x", false, &[], "t.toml").unwrap();
        assert_eq!(
            full.resolved["description"].as_str(),
            Some("N from 10 to 20")
        );
        // A [ci] table's own description wins.
        if let Some(Value::Table(ci)) = t.get_mut("ci") {
            ci.insert("description".into(), "smoke".into());
        }
        let own = SweepSpec::from_table(t, "x", true, &[], "t.toml").unwrap();
        assert_eq!(own.resolved["description"].as_str(), Some("smoke"));
    }

    #[test]
    fn unknown_sections_and_bad_sets_are_named() {
        let mut t: Table = toml::from_str(SPEC).unwrap();
        t.insert("axis".into(), Value::Table(Table::new()));
        let e = SweepSpec::from_table(t, "x", false, &[], "f.toml").unwrap_err();
        assert!(format!("{e:#}").contains("unknown top-level key `axis`"));
        let e = load(false, &["steps"]).unwrap_err();
        assert!(format!("{e:#}").contains("--set steps"));
    }
}
