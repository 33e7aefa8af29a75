//! `diffmem export RUN --weights model.safetensors`: a trained MLP's or UNet's weights in the
//! safetensors format, named and shaped as the PyTorch modules of docs/export.md
//! (`scripts/export/check_torch.py`, `scripts/export/unet_torch.py`), with three check tensors
//! (an input, its timesteps and this network's output) so that a port can be verified to 1e-5.
//! The training and held-out rows are exported by `diffmem data export`. The file is never
//! written over a run's own files: it must end in `.safetensors`, and a file already there
//! must be an earlier export.

use crate::io::atomic::write_atomic;
use crate::run::config::RunConfig;
use crate::run::{Weights, load_net};
use anyhow::{Context, Result, bail};
use clap::Args;
use diffmem_model::burn::prelude::Device;
use diffmem_model::denoiser::mlp::NamedTensor;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::HostNoise;
use diffmem_model::{Denoiser, ModelSpec, Net};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Arguments of `diffmem export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Run directory (a trained `mlp` or `unet` run).
    pub run: PathBuf,
    /// Write the weights to this new .safetensors file (names and shapes: docs/export.md); an
    /// existing file is replaced only if it is an earlier `diffmem export`.
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
    let cfg_path = crate::run::RunDir::at(&a.run).config();
    if !cfg_path.exists() {
        bail!(
            "{} is not a run directory: {} is missing",
            a.run.display(),
            cfg_path.display()
        );
    }
    let cfg = RunConfig::load(&cfg_path)?;
    check_destination(&a.run, &a.weights)?;
    if !matches!(cfg.model, ModelSpec::Mlp(_) | ModelSpec::Unet(_)) {
        bail!(
            "diffmem export writes mlp and unet runs (docs/export.md has their PyTorch modules); \
             {} is a `{}` run. Its training rows: diffmem data export --run {}",
            a.run.display(),
            cfg.model.name(),
            a.run.display()
        );
    }
    let device = crate::run::device::open(diffmem_model::DeviceChoice::Flex)?.device;
    let (train, _) = crate::run::data::load(&cfg.data)?;
    let weights = if a.raw { Weights::Raw } else { Weights::Ema };
    let (net, source) = load_net(&a.run, &cfg, &train, &device, weights)?;
    let (named, shape_meta) = layout(&net, &cfg.model)?;
    let dim = train.dim();
    let big_t = cfg.diffusion.timesteps;
    let mut tensors: Vec<Tensor> = named
        .into_iter()
        .map(|n| (n.name, n.shape, Dtype::F32, f32_bytes(&n.values)))
        .collect();
    tensors.extend(check_tensors(&net, dim, big_t, &device));
    let views = tensors
        .iter()
        .map(|(name, shape, dtype, bytes)| {
            Ok((name.clone(), TensorView::new(*dtype, shape.clone(), bytes)?))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .context("cannot lay out the tensors")?;
    let meta: HashMap<String, String> = [
        ("format", "pt".to_string()),
        ("model", cfg.model.name().into()),
        ("dim", dim.to_string()),
        ("timesteps", big_t.to_string()),
        ("objective", format!("{:?}", cfg.objective()).to_lowercase()),
        ("source", source.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(shape_meta)
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

/// One tensor of the file: name, shape, dtype and little-endian bytes.
type Tensor = (String, Vec<usize>, Dtype, Vec<u8>);

/// The check: fixed inputs (`check.x`, host normal draws) at four timesteps across the schedule
/// (`check.t`), and this network's output for them (`check.out`).
fn check_tensors(net: &Net, dim: usize, big_t: usize, device: &Device) -> Vec<Tensor> {
    let x = HostNoise::seeded(CHECK_SEED).next_vec(CHECK_ROWS * dim);
    let t: Vec<i64> = (0..CHECK_ROWS)
        .map(|k| (k * (big_t - 1) / (CHECK_ROWS - 1)) as i64)
        .collect();
    let t_idx: Vec<usize> = t.iter().map(|&v| v as usize).collect();
    let out = to_vec(net.forward(
        matrix(&x, CHECK_ROWS, dim, device),
        timesteps(&t_idx, device),
    ));
    let t_bytes: Vec<u8> = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    vec![
        (
            "check.x".into(),
            vec![CHECK_ROWS, dim],
            Dtype::F32,
            f32_bytes(&x),
        ),
        ("check.t".into(), vec![CHECK_ROWS], Dtype::I64, t_bytes),
        (
            "check.out".into(),
            vec![CHECK_ROWS, dim],
            Dtype::F32,
            f32_bytes(&out),
        ),
    ]
}

/// The safetensors header's metadata: (key, value) pairs.
type Metadata = Vec<(String, String)>;

/// The network's named tensors and the metadata its PyTorch module is built from: `width`,
/// `depth`, `temb` for the MLP; `channels`, `size`, `base`, `mults`, `attn_res` (comma
/// separated) and `norm_eps` for the UNet.
fn layout(net: &Net, spec: &ModelSpec) -> Result<(Vec<NamedTensor>, Metadata)> {
    let meta = |kv: Vec<(&str, String)>| -> Metadata {
        kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    };
    let list = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    match (net, spec) {
        (Net::Mlp(m), ModelSpec::Mlp(c)) => Ok((
            m.named_tensors(),
            meta(vec![
                ("width", c.width.to_string()),
                ("depth", c.depth.to_string()),
                ("temb", c.temb.to_string()),
            ]),
        )),
        (Net::Unet(u), ModelSpec::Unet(c)) => {
            let (channels, size, _, base) = u.layout();
            Ok((
                u.named_tensors(),
                meta(vec![
                    ("channels", channels.to_string()),
                    ("size", size.to_string()),
                    ("base", base.to_string()),
                    ("mults", list(&c.mults)),
                    ("attn_res", list(&c.attn_res)),
                    ("norm_eps", u.norm_epsilon().to_string()),
                ]),
            ))
        }
        _ => bail!("diffmem export writes mlp and unet runs"),
    }
}

/// Refuses an export that would replace a run's own files or a file of the user's: the name
/// must end in `.safetensors`, and an existing file must be an earlier `diffmem export`.
fn check_destination(run: &Path, file: &Path) -> Result<()> {
    if file.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        bail!(
            "--weights {}: give a new file name ending in .safetensors (export never writes \
             over the run's own .bpk weights or other files), e.g. {}",
            file.display(),
            run.with_extension("safetensors").display()
        );
    }
    let Ok(m) = std::fs::symlink_metadata(file) else {
        return Ok(());
    };
    let ours = m.is_file()
        && std::fs::read(file).ok().is_some_and(|bytes| {
            safetensors::SafeTensors::read_metadata(&bytes)
                .ok()
                .and_then(|(_, h)| h.metadata().clone())
                .is_some_and(|kv| kv.contains_key("source") && kv.contains_key("objective"))
        });
    if !ours {
        bail!(
            "--weights {} exists and is not an earlier diffmem export: choose a new file name, \
             so that it is not replaced",
            file.display()
        );
    }
    Ok(())
}

/// Little-endian bytes of f32 values (the safetensors byte order).
fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
