//! Memory estimated before the large allocations of a run, so that a huge `--n`,
//! `--batch-size`, `--width`, `--num` or `--sample-batch` is a clear error naming the flag and
//! the estimate instead of an abort ("memory allocation of N bytes failed", exit 134).
//! The estimates are lower bounds of the dominant buffers (f32 values), checked against what
//! this process may still use: the smallest of the machine's available memory, `ulimit -v`
//! and the memory cgroup's limit (`diffmem_model::memory_limit`). Work that would run for
//! days (`local` with large `--patch`, theory grids) gets a cost estimate ([`check_cost`]).

use crate::run::config::RunConfig;
use anyhow::{Result, bail};
use diffmem_data::DataSpec;
use diffmem_model::ModelSpec;
use diffmem_model::denoiser::linear::available_memory;

const F32: f64 = 4.0;
const GIB: f64 = (1u64 << 30) as f64;

/// Dimension of one sample, when the spec tells it without reading files.
pub fn known_dim(spec: &DataSpec) -> Option<usize> {
    match spec {
        DataSpec::Mnist5k | DataSpec::Mnist(_) | DataSpec::FashionMnist(_) => Some(784),
        DataSpec::Cifar10(_) => Some(3072),
        DataSpec::Gaussian(g) => Some(g.d),
        DataSpec::Manifold(m) => Some(m.d),
        DataSpec::Mixture(m) => Some(m.d),
        DataSpec::Folder { image, .. } | DataSpec::Celeba { image, .. } => {
            let channels = if image.grey { 1 } else { 3 };
            Some(channels * image.size * image.size)
        }
    }
}

/// Pixels per channel of an image spec, when the spec tells it without reading files.
pub fn known_pixels(spec: &DataSpec) -> Option<usize> {
    match spec {
        DataSpec::Mnist5k | DataSpec::Mnist(_) | DataSpec::FashionMnist(_) => Some(28 * 28),
        DataSpec::Cifar10(_) => Some(32 * 32),
        DataSpec::Folder { image, .. } | DataSpec::Celeba { image, .. } => {
            Some(image.size * image.size)
        }
        _ => None,
    }
}

/// Activations a UNet keeps for its backward pass at batch `batch` (f32): at level l, with
/// `base * mults[l]` channels on pixels / 4^l pixels, at least ~30 tensors of that size (two
/// residual blocks down and three up, each holding its norms, SiLUs and convolutions).
pub fn unet_activations(u: &diffmem_model::denoiser::UnetConfig, pixels: usize, batch: f64) -> f64 {
    const TENSORS_PER_LEVEL: f64 = 30.0;
    u.mults
        .iter()
        .enumerate()
        .map(|(l, &m)| {
            let level_pixels = pixels as f64 / 4f64.powi(l as i32);
            TENSORS_PER_LEVEL * batch * (u.base * m) as f64 * level_pixels * F32
        })
        .sum()
}

/// Fails when `bytes` exceed `avail`, naming what, the limit that binds now and the flag to
/// change.
pub fn check(what: &str, flag: &str, bytes: f64, avail: f64) -> Result<()> {
    if bytes > avail {
        bail!(
            "{what} needs about {:.1} GiB but only {:.1} GiB of memory is available (set by {}): \
             lower {flag}",
            bytes / GIB,
            avail / GIB,
            diffmem_model::memory_limit::available().source
        );
    }
    Ok(())
}

/// Floating-point operations above which work is refused rather than started: about a day
/// at 10 GFLOP/s, far beyond what the bundled experiments need.
pub const MAX_FLOPS: f64 = 1e15;

/// Fails when the estimated `flops` exceed [`MAX_FLOPS`], naming what, the estimate (as hours
/// at 10 GFLOP/s) and the flags to lower.
pub fn check_cost(what: &str, flags: &str, flops: f64) -> Result<()> {
    if flops > MAX_FLOPS {
        bail!(
            "{what} would take about {flops:.1e} floating-point operations (~{:.0} hours at \
             10 GFLOP/s; the limit is {MAX_FLOPS:.0e}): lower {flags}",
            flops / 1e10 / 3600.0
        );
    }
    Ok(())
}

/// The work of sampling `num` images with the `local` machine over `steps` denoiser calls:
/// each of the H W query patches (c P^2 values) meets N H W training patches (equivariant) or
/// N (same position only), 2 flops per value, at the largest patch P (Kamb & Ganguli's ELS
/// machine, `diffmem_model::denoiser::local`).
pub fn local_flops(
    num: f64,
    steps: f64,
    n: f64,
    (c, h, w): (usize, usize, usize),
    patch: usize,
    equivariant: bool,
) -> f64 {
    let l = (h * w) as f64;
    let keys = if equivariant { n * l } else { n };
    2.0 * num * steps * l * keys * (c * patch * patch) as f64
}

/// The dense matrices a synthetic spec builds: its rotation (d x d, f64) unless the spec is
/// axis-aligned; for image folders, one image at the output size. Its covariance stays factored (`diffmem_data::Covariance`); the one consumer of
/// the dense matrix, `eval --metrics gaussian`, checks that itself.
pub fn spec_estimates(spec: &DataSpec) -> Vec<(&'static str, &'static str, f64)> {
    let dense = |d: usize| (d as f64) * (d as f64) * 8.0;
    match spec {
        DataSpec::Gaussian(g) if g.rotate => {
            vec![(
                "the random d x d rotation",
                "d= of --data (or rotate=false)",
                dense(g.d),
            )]
        }
        DataSpec::Manifold(m) if !m.axis => {
            vec![(
                "the random d x d rotation",
                "d= of --data (or axis=true)",
                dense(m.d),
            )]
        }
        DataSpec::Mixture(m) => vec![(
            "the d x d eigenbasis of its covariance",
            "d= of --data",
            dense(m.d),
        )],
        // One decoded image at the output size (decode, resize, f32 copy).
        DataSpec::Folder { image, .. } | DataSpec::Celeba { image, .. } => {
            let channels = if image.grey { 1.0 } else { 3.0 };
            vec![(
                "one image of the folder at size=",
                "size= of --data",
                3.0 * channels * (image.size as f64).powi(2) * F32,
            )]
        }
        _ => vec![],
    }
}

/// Checks the dense matrices of a data spec against the memory available now.
pub fn check_spec(spec: &DataSpec) -> Result<()> {
    let avail = available_memory();
    for (what, flag, bytes) in spec_estimates(spec) {
        check(what, flag, bytes, avail)?;
    }
    Ok(())
}

/// The dominant buffers of a run, each as (what, flag, bytes).
pub fn estimates(cfg: &RunConfig) -> Vec<(&'static str, &'static str, f64)> {
    let (n, heldout) = (cfg.data.n as f64, cfg.data.heldout as f64);
    let batch = cfg.train.batch_size as f64;
    let mut out = spec_estimates(&cfg.data.spec);
    if let Some(d) = known_dim(&cfg.data.spec) {
        let d = d as f64;
        // The training and held-out sets, on the host and on the device.
        out.push(("the data set", "--n", 2.0 * (n + heldout) * d * F32));
        // A batch of inputs, noise and targets (with gradients: x3).
        out.push(("a training batch", "--batch-size", 9.0 * batch * d * F32));
        // The samples drawn, and one sampling batch (x, noise, prediction, mean).
        let num = cfg.sample.num as f64;
        out.push(("the samples", "--num", num * d * F32));
        let sb = cfg.sample.batch.min(cfg.sample.num) as f64;
        out.push(("a sampling batch", "--sample-batch", 4.0 * sb * d * F32));
    }
    if let ModelSpec::Mlp(m) = &cfg.model {
        let (w, depth) = (m.width as f64, m.depth as f64);
        // Parameters with gradient and two Adam moments, plus the EMA copy.
        out.push((
            "the MLP's parameters",
            "--width",
            5.0 * depth * 2.0 * w * w * F32,
        ));
        // Activations kept for the backward pass: a few per layer per row.
        out.push((
            "the MLP's activations",
            "--batch-size or --width",
            4.0 * (depth * 2.0 + 2.0) * batch * w * F32,
        ));
    }
    if let (ModelSpec::Unet(u), Some(pixels)) = (&cfg.model, known_pixels(&cfg.data.spec)) {
        out.push((
            "the UNet's activations",
            "--batch-size or --base",
            unet_activations(u, pixels, batch),
        ));
    }
    if let Some(d) = known_dim(&cfg.data.spec)
        && matches!(cfg.model, ModelSpec::LinearExact { .. })
    {
        // A D x D covariance (f64) and its decomposition.
        let d = d as f64;
        out.push((
            "the D x D covariance",
            "the data dimension d",
            3.0 * d * d * 8.0,
        ));
    }
    // The schedule: betas, alphas and abar in f64, one per timestep.
    let t = cfg.diffusion.timesteps as f64;
    out.push(("the noise schedule", "--timesteps", 3.0 * t * 8.0));
    if let (ModelSpec::Local { patch, .. }, Some(pixels), Some(d)) = (
        &cfg.model,
        known_pixels(&cfg.data.spec),
        known_dim(&cfg.data.spec),
    ) {
        // The query patches of a sampling batch: [b, c P^2, H W], about three copies.
        let p = patch.iter().copied().max().unwrap_or(1) as f64;
        let sb = cfg.sample.batch.min(cfg.sample.num) as f64;
        let c = (d / pixels.max(1)) as f64;
        out.push((
            "the local machine's query patches",
            "--patch or --sample-batch",
            3.0 * sb * c * p * p * pixels as f64 * F32,
        ));
    }
    if matches!(cfg.model, ModelSpec::Empirical) {
        // Distances of a sampling batch to every training sample, and their weights.
        let sb = cfg.sample.batch.min(cfg.sample.num) as f64;
        out.push((
            "the empirical denoiser's distances",
            "--sample-batch",
            2.0 * sb * n * F32,
        ));
    }
    out
}

/// The dominant buffers of `diffmem eval` on a run: its `num` samples (host, device and the
/// `.npy` copy), and with the Jacobian spectrum the backward pass of `rows_per_pass` rows.
pub fn eval_estimates(
    cfg: &RunConfig,
    num: usize,
    rows_per_pass: Option<usize>,
) -> Vec<(&'static str, &'static str, f64)> {
    let mut out = vec![];
    let Some(d) = known_dim(&cfg.data.spec) else {
        return out;
    };
    out.push((
        "the evaluation samples",
        "--num",
        3.0 * num as f64 * d as f64 * F32,
    ));
    if let Some(rows) = rows_per_pass.map(|r| r.min(d)) {
        // One input row per Jacobian row (at most D), with its output and input gradient.
        let mut bytes = 3.0 * rows as f64 * d as f64 * F32;
        if let (ModelSpec::Unet(u), Some(pixels)) = (&cfg.model, known_pixels(&cfg.data.spec)) {
            bytes += unet_activations(u, pixels, rows as f64);
        }
        out.push(("a Jacobian pass", "--spectrum-rows-per-pass", bytes));
    }
    out
}

/// Checks the estimates of `diffmem eval` against the memory available now.
pub fn check_eval(cfg: &RunConfig, num: usize, rows_per_pass: Option<usize>) -> Result<()> {
    let avail = available_memory();
    for (what, flag, bytes) in eval_estimates(cfg, num, rows_per_pass) {
        check(what, flag, bytes, avail)?;
    }
    Ok(())
}

/// Checks every estimate of the run against the memory available now, and the cost of the
/// `local` machine's end-of-training samples.
pub fn check_run(cfg: &RunConfig) -> Result<()> {
    let avail = available_memory();
    for (what, flag, bytes) in estimates(cfg) {
        check(what, flag, bytes, avail)?;
    }
    if let (ModelSpec::Local { patch, equivariant }, Some(pixels), Some(d)) = (
        &cfg.model,
        known_pixels(&cfg.data.spec),
        known_dim(&cfg.data.spec),
    ) {
        let side = (pixels as f64).sqrt().round() as usize;
        let shape = (d / pixels.max(1), side, side);
        let p = patch.iter().copied().max().unwrap_or(1);
        let flops = local_flops(
            cfg.sample.num as f64,
            cfg.diffusion.timesteps as f64,
            cfg.data.n as f64,
            shape,
            p,
            *equivariant,
        );
        check_cost(
            "sampling with the local machine",
            "--patch, --n, --num or --timesteps",
            flops,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_estimate_is_n_times_d_floats() {
        let mut cfg = RunConfig::default();
        cfg.data.n = 1000;
        cfg.data.heldout = 0;
        let data = estimates(&cfg)
            .into_iter()
            .find(|(w, _, _)| *w == "the data set")
            .unwrap();
        // MNIST: D = 784; host + device copies of N x D f32.
        assert_eq!(data.2, 2.0 * 1000.0 * 784.0 * 4.0);
        assert!(check("x", "--n", 2.0 * GIB, GIB).is_err());
        assert!(check("x", "--n", 0.5 * GIB, GIB).is_ok());
        // A million-dimensional rotation: 10^12 f64 values; an axis-aligned Gaussian of that
        // size builds no d x d matrix at all.
        let spec = DataSpec::parse("gaussian:d=1000000,spectrum=power:1,rotate=true").unwrap();
        assert_eq!(spec_estimates(&spec)[0].2, 8e12);
        let spec = DataSpec::parse("gaussian:d=1000000,spectrum=power:1,rotate=false").unwrap();
        assert!(spec_estimates(&spec).is_empty());
        // The default UNet (base 32, mults 1,2,2) at batch 64 on MNIST: 30 x 64 x 4 bytes x
        // (32 x 784 + 64 x 196 + 64 x 49) = 338 MB, the order of the measured peak (< 2 GB);
        // a run with a UNet is checked against it.
        let unet = diffmem_model::denoiser::UnetConfig::default();
        let want = 30.0 * 64.0 * 4.0 * (32.0 * 784.0 + 64.0 * 196.0 + 64.0 * 49.0);
        assert!((unet_activations(&unet, 784, 64.0) - want).abs() < 1.0);
        let mut big = cfg.clone();
        big.model = ModelSpec::Unet(unet);
        big.train.batch_size = 64;
        let unet_row = estimates(&big)
            .into_iter()
            .find(|(w, _, _)| *w == "the UNet's activations")
            .unwrap();
        assert!((unet_row.2 - want).abs() < 1.0);
        cfg.data.n = usize::MAX / 16;
        let err = format!("{:#}", check_run(&cfg).unwrap_err());
        assert!(err.contains("lower --n"), "{err}");
        assert!(err.contains("set by the"), "{err}");
    }

    /// A folder resized to 20000 pixels is 3 x 20000^2 floats per image; a huge --timesteps
    /// is three f64 per step: both are estimated (they used to abort with no estimate).
    #[test]
    fn folders_and_huge_schedules_are_estimated() {
        let mut cfg = RunConfig::default();
        cfg.data.spec = DataSpec::parse("folder:/nonexistent,size=20000").unwrap();
        assert_eq!(known_dim(&cfg.data.spec), Some(3 * 20000 * 20000));
        let err = format!("{:#}", check_run(&cfg).unwrap_err());
        assert!(
            err.contains("lower --n") || err.contains("lower size= of --data"),
            "{err}"
        );
        let mut t = RunConfig::default();
        t.diffusion.timesteps = 1 << 50;
        let err = format!("{:#}", check_run(&t).unwrap_err());
        assert!(err.contains("lower --timesteps"), "{err}");
    }

    /// The local machine's cost: 2 num T (H W) (N H W) c P^2 for the equivariant machine, by
    /// hand for a small case; the patch that used to hang is refused by cost.
    #[test]
    fn local_cost_is_the_patch_comparisons() {
        let f = local_flops(2.0, 10.0, 3.0, (1, 4, 4), 3, true);
        assert_eq!(f, 2.0 * 2.0 * 10.0 * 16.0 * (3.0 * 16.0) * 9.0);
        assert_eq!(local_flops(2.0, 10.0, 3.0, (1, 4, 4), 3, false), f / 16.0);
        let mut cfg = RunConfig::default();
        cfg.diffusion.objective = diffmem_model::Objective::Eps;
        cfg.model = ModelSpec::Local {
            patch: vec![55],
            equivariant: true,
        };
        let err = format!("{:#}", check_run(&cfg).unwrap_err());
        assert!(err.contains("lower --patch"), "{err}");
        assert!(check_cost("x", "--y", 1e9).is_ok());
    }
}
