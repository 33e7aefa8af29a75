//! Memory estimated before the large allocations of a run, so that a huge `--n`,
//! `--batch-size`, `--width`, `--num` or `--sample-batch` is a clear error naming the flag and
//! the estimate instead of an abort ("memory allocation of N bytes failed", exit 134).
//! The estimates are lower bounds of the dominant buffers (f32 values).

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
        _ => None,
    }
}

/// Fails when `bytes` exceed `avail`, naming what and the flag to change.
pub fn check(what: &str, flag: &str, bytes: f64, avail: f64) -> Result<()> {
    if bytes > avail {
        bail!(
            "{what} needs about {:.1} GiB but only {:.1} GiB of memory is available: lower {flag}",
            bytes / GIB,
            avail / GIB
        );
    }
    Ok(())
}

/// The dense matrices a synthetic spec builds: its true covariance (d x d, f64) and, when
/// rotated, its rotation.
pub fn spec_estimates(spec: &DataSpec) -> Vec<(&'static str, &'static str, f64)> {
    let dense = |d: usize| (d as f64) * (d as f64) * 8.0;
    match spec {
        DataSpec::Gaussian(g) => {
            let k = if g.rotate { 2.0 } else { 1.0 };
            vec![("the true d x d covariance", "d= of --data", k * dense(g.d))]
        }
        DataSpec::Manifold(m) => vec![("the true d x d covariance", "d= of --data", dense(m.d))],
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

/// Checks every estimate of the run against the memory available now.
pub fn check_run(cfg: &RunConfig) -> Result<()> {
    let avail = available_memory();
    for (what, flag, bytes) in estimates(cfg) {
        check(what, flag, bytes, avail)?;
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
        let spec = DataSpec::parse("gaussian:d=1000000,spectrum=power:1").unwrap();
        let dense = spec_estimates(&spec);
        // A million-dimensional covariance: 10^12 f64 values.
        assert_eq!(dense[0].2, 8e12);
        cfg.data.n = usize::MAX / 16;
        let err = format!("{:#}", check_run(&cfg).unwrap_err());
        assert!(err.contains("lower --n"), "{err}");
    }
}
