//! Drawing samples from a loaded run and writing `samples.png` and `samples.npy`.

use crate::io::atomic::write_atomic;
use crate::io::npy::encode_f32;
use crate::io::progress::{Progress, Verbosity};
use crate::run::config::SampleSection;
use anyhow::{Result, anyhow};
use diffmem_data::SampleShape;
use diffmem_model::ModelContext;
use diffmem_model::noise::{DeviceNoise, NoiseSource};
use diffmem_model::sampler::{SampleJob, sample};
use std::path::{Path, PathBuf};

/// Draws `s.num` samples with the sampler of `s`, taking every Gaussian draw from `noise`
/// (None: the device RNG seeded with `s.seed`); non-finite samples are an error.
pub fn draw(
    ctx: ModelContext,
    s: &SampleSection,
    dim: usize,
    progress: Verbosity,
    noise: Option<&mut dyn NoiseSource>,
) -> Result<Vec<f32>> {
    let out = draw_unchecked(ctx, s, dim, progress, noise)?;
    if out.iter().any(|v| !v.is_finite()) {
        return Err(anyhow!(
            "sampling produced non-finite values: the model has diverged"
        ));
    }
    Ok(out)
}

/// [`draw`] that returns non-finite samples too (evaluation counts them, see `eval::health`).
pub fn draw_unchecked(
    ctx: ModelContext,
    s: &SampleSection,
    dim: usize,
    progress: Verbosity,
    noise: Option<&mut dyn NoiseSource>,
) -> Result<Vec<f32>> {
    let mut device_noise;
    let noise: &mut dyn NoiseSource = match noise {
        Some(n) => n,
        None => {
            device_noise = DeviceNoise::seeded(ctx.device, s.seed);
            &mut device_noise
        }
    };
    let progress = Progress::new("sample", s.num, 0, progress);
    let job = SampleJob {
        n: s.num,
        dim,
        batch: s.batch,
    };
    let out = sample(ctx, &s.sampler, *s.clip_x0, job, noise, &mut |done, _| {
        progress.report(done, "samples")
    })?;
    progress.finish();
    Ok(out)
}

/// Writes `dir/samples.png` (grid, values clamped to [-1, 1]) and `dir/samples.npy`
/// (shape [num, C, H, W] or [num, D]): the end-of-training grid.
pub fn write(dir: &Path, samples: &[f32], shape: SampleShape) -> Result<()> {
    write_named(dir, "samples", samples, shape).map(|_| ())
}

/// Writes `dir/STEM.npy` and, for images, `dir/STEM.png`; returns the PNG's path when one was
/// written.
pub fn write_named(
    dir: &Path,
    stem: &str,
    samples: &[f32],
    shape: SampleShape,
) -> Result<Option<PathBuf>> {
    let n = samples.len() / shape.dim().max(1);
    let npy_shape: Vec<usize> = match shape {
        SampleShape::Image { c, h, w } => vec![n, c, h, w],
        SampleShape::Flat { d } => vec![n, d],
    };
    write_atomic(
        &dir.join(format!("{stem}.npy")),
        &encode_f32(samples, &npy_shape),
    )?;
    let png = dir.join(format!("{stem}.png"));
    if let Err(e) = write_png(&png, samples, shape)? {
        eprintln!(
            "note: no {stem}.png for {}-dimensional vectors ({e})",
            shape.dim()
        );
        return Ok(None);
    }
    Ok(Some(png))
}

/// Writes the samples as a square-ish grid PNG at `path` (values clamped to [-1, 1]). Vectors
/// that are not square images have no picture: then nothing is written and the inner result
/// says why.
pub fn write_png(
    path: &Path,
    samples: &[f32],
    shape: SampleShape,
) -> Result<std::result::Result<(), diffmem_data::DataError>> {
    let n = samples.len() / shape.dim().max(1);
    let cols = (n as f64).sqrt().ceil() as usize;
    match diffmem_data::grid::write_grid(path, samples, shape, cols.max(1)) {
        Ok(()) => Ok(Ok(())),
        Err(e) if matches!(shape, SampleShape::Flat { .. }) => Ok(Err(e)),
        Err(e) => Err(crate::run::data::with_hint(e)),
    }
}
