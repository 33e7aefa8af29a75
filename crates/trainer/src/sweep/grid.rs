//! Grid expansion: every combination of axis values becomes a named grid point with its
//! resolved run config (defaults < `[base]` < the model's entry < axis values), resolved by
//! `RunConfig::resolve` exactly as `diffmem train` resolves a config file.

use super::axes::{AxisKind, is_line_axis, value_f64};
use super::naming::{make_unique, point_name};
use super::spec::SweepSpec;
use super::toml_path::{display, get_path, merge, set_path};
use crate::run::config::{CONFIG_VERSION, RunConfig, RunFlags, RunLayer};
use anyhow::{Context, Result, bail};
use diffmem_data::DataSpec;
use diffmem_model::ModelSpec;
use toml::{Table, Value};

/// One grid point.
#[derive(Clone, Debug)]
pub struct GridPoint {
    /// Position in the grid (the Slurm array task index).
    pub index: usize,
    /// Run name (directory under the sweep's `runs/`).
    pub name: String,
    /// `(axis key, value)` pairs, in axis order.
    pub axes: Vec<(String, String)>,
    /// The plot line this point belongs to (its non-N, non-seed axis values).
    pub line: String,
    /// The resolved run config.
    pub config: RunConfig,
}

fn to_table<T: serde::Serialize>(v: &T) -> Result<Table> {
    match Value::try_from(v)? {
        Value::Table(t) => Ok(t),
        _ => bail!("internal: not a table"),
    }
}

fn sub_table(t: &Table, key: &str) -> Table {
    t.get(key)
        .and_then(Value::as_table)
        .cloned()
        .unwrap_or_default()
}

fn kind_of(t: &Table) -> Option<&str> {
    t.get("name").and_then(Value::as_str)
}

/// The model table: the kind's defaults, then the base model when it is of the same kind,
/// then the entry's own settings.
fn model_table(spec: &SweepSpec, defaults: &Table, value: Option<&str>) -> Result<(Table, Table)> {
    let default_model = sub_table(defaults, "model");
    let base_model = sub_table(&spec.base, "model");
    let fresh = |kind: &str| -> Result<Table> { to_table(&ModelSpec::from_name(kind)?) };
    let mut resolved = match kind_of(&base_model) {
        Some(k) if Some(k) != kind_of(&default_model) => fresh(k)?,
        _ => default_model,
    };
    merge(&mut resolved, &base_model);
    let Some(v) = value else {
        return Ok((resolved, Table::new()));
    };
    let (kind, fields, config) = match spec.models.get(v) {
        Some(e) => (e.kind.as_str(), e.fields.clone(), e.config.clone()),
        None => (v, Table::new(), Table::new()),
    };
    if kind_of(&resolved) != Some(kind) {
        resolved = fresh(kind)
            .with_context(|| format!("model `{v}` is neither a model kind nor in [models]"))?;
    }
    merge(&mut resolved, &fields);
    Ok((resolved, config))
}

/// Data dimension d of a synthetic data spec (for `n_over_d`).
fn data_dim(spec: &str) -> Result<usize> {
    match DataSpec::parse(spec).map_err(|e| anyhow::anyhow!("{}", e.report()))? {
        DataSpec::Gaussian(g) => Ok(g.d),
        DataSpec::Manifold(m) => Ok(m.d),
        DataSpec::Mixture(m) => Ok(m.d),
        _ => bail!(
            "axis n_over_d needs synthetic data (gaussian:..., manifold:... or mixture:...), not `{spec}`: use n"
        ),
    }
}

fn resolve(spec: &SweepSpec, choice: &[usize]) -> Result<(RunConfig, Vec<(String, String)>)> {
    let value_of = |kind: &AxisKind| {
        spec.axes
            .0
            .iter()
            .zip(choice)
            .find(|(a, _)| &a.kind == kind)
            .map(|(a, &i)| &a.values[i])
    };
    let model_value = value_of(&AxisKind::Model).map(display);
    let plain = to_table(&RunConfig::default())?;
    let (model, model_config) = model_table(spec, &plain, model_value.as_deref())?;
    let data_spec = value_of(&AxisKind::Data)
        .or_else(|| get_path(&model_config, &["data", "spec"]))
        .or_else(|| get_path(&spec.base, &["data", "spec"]))
        .or_else(|| get_path(&plain, &["data", "spec"]))
        .map(display)
        .unwrap_or_default();
    let mut t = Table::new();
    t.insert(
        "config_version".into(),
        Value::Integer(CONFIG_VERSION.into()),
    );
    set_path(
        &mut t,
        &["data".into(), "spec".into()],
        Value::String(data_spec),
    )?;
    merge(&mut t, &spec.base);
    merge(&mut t, &model_config);
    t.insert("model".into(), Value::Table(model));
    let set = |t: &mut Table, path: &[&str], v: Value| {
        let p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        set_path(t, &p, v)
    };
    let mut axes = Vec::new();
    for (axis, &i) in spec.axes.0.iter().zip(choice) {
        let v = axis.values[i].clone();
        axes.push((axis.key.clone(), display(&v)));
        match &axis.kind {
            AxisKind::Model => {}
            AxisKind::Data => set(&mut t, &["data", "spec"], v)?,
            AxisKind::N => set(&mut t, &["data", "n"], v)?,
            AxisKind::NOverD => {
                let spec_text = get_path(&t, &["data", "spec"])
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let n = (value_f64(&v).unwrap_or(0.0) * data_dim(&spec_text)? as f64).round();
                set(&mut t, &["data", "n"], Value::Integer((n as i64).max(1)))?;
            }
            AxisKind::Lambda => {
                if get_path(&t, &["model", "name"]).and_then(Value::as_str) != Some("linear-exact")
                {
                    bail!(
                        "axis lambda applies to linear-exact only: put other models in a \
                         separate sweep, or set their ridge in [models]"
                    );
                }
                let l = value_f64(&v).unwrap_or(0.0);
                set(&mut t, &["model", "lambda"], Value::Float(l))?;
            }
            AxisKind::Seed => {
                set(&mut t, &["data", "seed"], v.clone())?;
                set(&mut t, &["train", "seed"], v)?;
            }
            AxisKind::Config(path) => set_path(&mut t, path, v)?,
        }
    }
    let layer = RunLayer::from_toml(t)
        .context("the resolved run config is invalid (check [base], [models] and the axes)")?;
    Ok((RunConfig::resolve(layer, &RunFlags::default())?, axes))
}

/// Expands the spec into its grid points.
pub fn expand(spec: &SweepSpec) -> Result<Vec<GridPoint>> {
    let count = spec.axes.grid_size();
    let mut points = Vec::with_capacity(count);
    let mut keys = Vec::with_capacity(count);
    for index in 0..count {
        let choice = spec.axes.combination(index);
        let parts: Vec<String> = spec
            .axes
            .0
            .iter()
            .zip(&choice)
            .map(|(a, &i)| a.name_part(&a.values[i]))
            .collect();
        let (config, axes) = resolve(spec, &choice)
            .with_context(|| format!("grid point {index} ({})", parts.join(", ")))?;
        let line_parts: Vec<&str> = axes
            .iter()
            .filter(|(k, _)| is_line_axis(k))
            .map(|(_, v)| v.as_str())
            .collect();
        let line = if line_parts.is_empty() {
            config.model.name().to_string()
        } else {
            line_parts.join(" / ")
        };
        keys.push(parts.join("\u{1f}"));
        points.push(GridPoint {
            index,
            name: point_name(&parts),
            axes,
            line,
            config,
        });
    }
    let mut names: Vec<String> = points.iter().map(|p| p.name.clone()).collect();
    make_unique(&mut names, &keys);
    for (p, n) in points.iter_mut().zip(names) {
        p.name = n;
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SweepSpec {
        SweepSpec::from_table(toml::from_str(text).unwrap(), "t", false, &[], "t.toml").unwrap()
    }

    #[test]
    fn expansion_resolves_models_sizes_and_samplers() {
        let s = spec(
            r#"
[base]
data.spec = "gaussian:d=10,spectrum=power:1"
train.steps = 7
model.name = "mlp"
model.width = 32
[axes]
model = ["mlp", "linear-exact", "tiny"]
n_over_d = [0.5, 2]
seed = [3]
[models.tiny]
name = "mlp"
depth = 1
config.train.steps = 3
"#,
        );
        let pts = expand(&s).unwrap();
        assert_eq!(pts.len(), 6);
        assert_eq!(pts[0].name, "mlp-nd0.5-s3");
        let c = &pts[0].config;
        assert_eq!(
            (c.data.n, c.data.seed, c.train.seed, c.train.steps),
            (5, 3, 3, 7)
        );
        assert_eq!(*c.sample.clip_x0, None);
        assert!(matches!(
            c.sample.sampler,
            diffmem_model::SamplerConfig::Ddpm {
                last_noise: true,
                ..
            }
        ));
        match &c.model {
            ModelSpec::Mlp(m) => assert_eq!(m.width, 32),
            m => panic!("{m:?}"),
        }
        assert_eq!(pts[2].config.model, ModelSpec::LinearExact { lambda: 0.0 });
        assert_eq!(pts[3].config.data.n, 20);
        match &pts[4].config.model {
            ModelSpec::Mlp(m) => assert_eq!((m.width, m.depth), (32, 1)),
            m => panic!("{m:?}"),
        }
        assert_eq!(pts[4].config.train.steps, 3);
        assert_eq!(pts[4].line, "tiny");
    }

    #[test]
    fn image_defaults_and_bad_points_are_named() {
        let pts = expand(&spec("[axes]\nn = [10]")).unwrap();
        // The data decide the sampler as with `diffmem train --data`.
        assert!(matches!(
            pts[0].config.sample.sampler,
            diffmem_model::SamplerConfig::Ddpm {
                variance: diffmem_model::DdpmVariance::Posterior,
                last_noise: false
            }
        ));
        assert_eq!(pts[0].config.data.spec.to_string(), "mnist-5k");
        let e = expand(&spec("[axes]\nn_over_d = [1]")).unwrap_err();
        assert!(format!("{e:#}").contains("synthetic"), "{e:#}");
        let e = expand(&spec("[axes]\nmodel = [\"mlp\"]\nlambda = [0.1]")).unwrap_err();
        assert!(format!("{e:#}").contains("grid point 0"), "{e:#}");
        let e = expand(&spec("[base]\ntrain.stepz = 1")).unwrap_err();
        assert!(format!("{e:#}").contains("stepz"), "{e:#}");
    }
}
