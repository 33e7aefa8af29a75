//! `diffmem export RUN --weights model.safetensors`: a trained MLP's weights in the
//! safetensors format, named and shaped as the PyTorch module of docs/export.md, with three
//! check tensors (an input, its timesteps and this network's output) so that a port can be
//! verified to 1e-5. The training rows are exported by `diffmem data export`.

use crate::io::atomic::write_atomic;
use crate::run::config::RunConfig;
use crate::run::{Weights, load_net};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::HostNoise;
use diffmem_model::{Denoiser, ModelSpec, Net};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::PathBuf;

/// Arguments of `diffmem export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Run directory (a trained `mlp` run).
    pub run: PathBuf,
    /// Write the weights to this .safetensors file (names and shapes: docs/export.md).
    #[arg(long)]
    pub weights: PathBuf,
    /// Export the raw weights instead of the EMA.
    #[arg(long)]
    pub raw: bool,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Rows of the check input.
pub const CHECK_ROWS: usize = 4;
/// Seed of the check input (host ChaCha8 normal draws).
pub const CHECK_SEED: u64 = 0;

/// Runs `diffmem export`.
pub fn run(a: &ExportArgs) -> Result<()> {
    let cfg_path = a.run.join("config.toml");
    if !cfg_path.exists() {
        bail!(
            "{} is not a run directory: {} is missing",
            a.run.display(),
            cfg_path.display()
        );
    }
    let cfg = RunConfig::load(&cfg_path)?;
    let ModelSpec::Mlp(mlp) = &cfg.model else {
        bail!(
            "diffmem export writes mlp runs (docs/export.md has the PyTorch module); {} is a `{}` \
             run. Its training rows: diffmem data export --run {}",
            a.run.display(),
            cfg.model.name(),
            a.run.display()
        );
    };
    let device = crate::run::device::open(diffmem_model::DeviceChoice::Flex)?.device;
    let (train, _) = crate::run::data::load(&cfg.data)?;
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let (net, source) = load_net(&a.run, &cfg, &train, &device, weights)?;
    let Net::Mlp(m) = &net else {
        bail!("{} holds no MLP weights", a.run.display());
    };
    let dim = train.dim();
    // The check: fixed inputs at four timesteps across the schedule, and this network's output.
    let x = HostNoise::seeded(CHECK_SEED).next_vec(CHECK_ROWS * dim);
    let big_t = cfg.diffusion.timesteps;
    let t: Vec<i64> = (0..CHECK_ROWS)
        .map(|k| (k * (big_t - 1) / (CHECK_ROWS - 1)) as i64)
        .collect();
    let t_idx: Vec<usize> = t.iter().map(|&v| v as usize).collect();
    let out = to_vec(net.forward(
        matrix(&x, CHECK_ROWS, dim, &device),
        timesteps(&t_idx, &device),
    ));
    let mut tensors: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = m
        .named_tensors()
        .into_iter()
        .map(|n| (n.name, n.shape, Dtype::F32, f32_bytes(&n.values)))
        .collect();
    tensors.push((
        "check.x".into(),
        vec![CHECK_ROWS, dim],
        Dtype::F32,
        f32_bytes(&x),
    ));
    let t_bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensors.push(("check.t".into(), vec![CHECK_ROWS], Dtype::I64, t_bytes));
    tensors.push((
        "check.out".into(),
        vec![CHECK_ROWS, dim],
        Dtype::F32,
        f32_bytes(&out),
    ));
    let views = tensors
        .iter()
        .map(|(name, shape, dtype, bytes)| {
            Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .context("cannot lay out the tensors")?;
    let meta: HashMap<String, String> = [
        ("format", "pt".to_string()),
        ("model", "mlp".into()),
        ("dim", dim.to_string()),
        ("width", mlp.width.to_string()),
        ("depth", mlp.depth.to_string()),
        ("temb", mlp.temb.to_string()),
        ("timesteps", big_t.to_string()),
        ("objective", format!("{:?}", cfg.objective()).to_lowercase()),
        ("source", source.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(views, Some(meta)).context("cannot encode safetensors")?;
    write_atomic(&a.weights, &bytes)?;
    let summary = serde_json::json!({
        "weights": a.weights.display().to_string(), "source": source,
        "tensors": tensors.len(), "bytes": bytes.len(),
    });
    if a.json {
        crate::io::print_json(&summary);
    } else {
        println!(
            "wrote {} ({} tensors, {} bytes) from {source}\nload it in PyTorch: docs/export.md",
            a.weights.display(),
            tensors.len(),
            bytes.len()
        );
    }
    Ok(())
}

/// Little-endian bytes of f32 values (the safetensors byte order).
fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
