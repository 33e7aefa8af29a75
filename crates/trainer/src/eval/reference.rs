//! `--metrics ref`: which reference denoiser the run follows, per timestep. The references are
//! the exact denoisers built from the run's own training set (`linear-exact`: the Gaussian
//! optimum; `empirical`: the memorising optimum; for images `local`: the same-position patch
//! machine of Kamb & Ganguli with the default patch sizes); all are evaluated with the run's model on the
//! same noised training and held-out inputs x_t = sqrt(abar) x0 + sqrt(1 - abar) eps (the same
//! eps for both sets), and compared as denoised images x0_hat by r^2 and nmse
//! (`diffmem_metrics::reference`). `ref.csv`, `ref.png`; the summary names the best-followed
//! reference at low, middle and high noise (thirds of 1..T).

use crate::eval::paired::PairedRows;
use crate::io::csv::{number, write_csv};
use anyhow::{Result, bail};
use diffmem_data::Dataset;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::reference::{Agreement, BANDS, followed};
use diffmem_model::burn::prelude::*;
use diffmem_model::diffusion::{matrix, timesteps, to_vec};
use diffmem_model::noise::HostNoise;
use diffmem_model::{Denoiser, Diffusion, ModelSpec};
use serde_json::{Value, json};
use std::path::Path;

/// Seed of the noise draws shared by both sets.
const NOISE_SEED: u64 = 0x0_0ef;
/// Rows per set at most (also capped by --loss-rows): the `local` reference costs
/// H W N P^2 per image, about 1 s per 7 images at N = 1000 on MNIST on 2 CPU cores.
pub const MAX_ROWS: usize = 100;
/// Rows per device batch.
const BATCH: usize = 256;

/// The reference denoisers of a run: (name, eps-denoiser). For image data also `local`: the
/// same-position patch machine with the default patch sizes (the equivariant one compares
/// every patch with every training patch at every position, too slow for a routine eval).
pub fn references(
    train: &Dataset,
    diffusion: &Diffusion,
    device: &Device,
) -> Result<Vec<(&'static str, Box<dyn Denoiser>)>> {
    let mut out = Vec::new();
    let mut specs = vec![ModelSpec::LinearExact { lambda: 0.0 }, ModelSpec::Empirical];
    if matches!(train.shape, diffmem_data::SampleShape::Image { .. }) {
        specs.push(ModelSpec::Local {
            patch: diffmem_model::spec::DEFAULT_LOCAL_PATCH.to_vec(),
            equivariant: false,
        });
    }
    for spec in specs {
        let model = spec
            .fit_exact(&train.samples, train.shape, diffusion, device)?
            .expect("an exact model");
        out.push((spec.name(), model));
    }
    Ok(out)
}

/// x0_hat = (x_t - sqrt(1 - abar) eps) / sqrt(abar) on the host, float64.
fn denoised(xt: &[f32], eps: &[f32], a: f64, s: f64) -> Vec<f64> {
    xt.iter()
        .zip(eps)
        .map(|(&x, &e)| (f64::from(x) - s * f64::from(e)) / a)
        .collect()
}

/// Agreement of `model` with each reference on `rows` at each grid timestep:
/// `out[reference][j]`.
pub(crate) fn agreements(
    model: &dyn Denoiser,
    refs: &[(&'static str, Box<dyn Denoiser>)],
    diffusion: &Diffusion,
    rows: &[f32],
    d: usize,
    grid: &[usize],
    device: &Device,
) -> Vec<Vec<Agreement>> {
    let m = rows.len() / d;
    let mut out = vec![vec![Agreement::default(); grid.len()]; refs.len()];
    let mut noise = HostNoise::seeded(NOISE_SEED);
    for (j, &t) in grid.iter().enumerate() {
        let (a, s) = (
            diffusion.schedule.abar[t].sqrt(),
            (1.0 - diffusion.schedule.abar[t]).sqrt(),
        );
        for start in (0..m).step_by(BATCH) {
            let b = BATCH.min(m - start);
            let x0 = matrix(&rows[start * d..(start + b) * d], b, d, device);
            let eps = matrix(&noise.next_vec(b * d), b, d, device);
            let tt = timesteps(&vec![t; b], device);
            let xt = diffusion.q_sample(x0, &tt, eps);
            let xt_host = to_vec(xt.clone());
            let f = denoised(
                &xt_host,
                &to_vec(diffusion.predict_eps(model, xt.clone(), &tt)),
                a,
                s,
            );
            for (r, (_, reference)) in refs.iter().enumerate() {
                // The exact references predict eps whatever the run's objective.
                let g = denoised(
                    &xt_host,
                    &to_vec(reference.forward(xt.clone(), tt.clone())),
                    a,
                    s,
                );
                out[r][j].add(&f, &g, d);
            }
        }
    }
    out
}

/// Computes r^2 and nmse per set, reference and timestep; writes `ref.csv` and `ref.png`.
pub fn run(p: &PairedRows, out: &Path) -> Result<Value> {
    let (model, diffusion, train, device) = (p.model, p.diffusion, p.train, p.device);
    if train.len() < 2 {
        bail!("--metrics ref needs at least 2 training examples");
    }
    let d = train.dim();
    let refs = references(train, diffusion, device)?;
    let grid = p.grid();
    let paper_t: Vec<usize> = grid.iter().map(|t| t + 1).collect();
    let sets = p.sets();
    let m = p.rows(p.max_rows.min(MAX_ROWS), 2);
    let mut csv = Vec::new();
    let mut series = Vec::new();
    let mut per_set = serde_json::Map::new();
    // r2[set][reference][j]
    let mut r2_all = Vec::new();
    for (name, set) in &sets {
        let ag = agreements(
            model,
            &refs,
            diffusion,
            &set.samples[..m * d],
            d,
            &grid,
            device,
        );
        let mut entry = serde_json::Map::new();
        let mut r2_set = Vec::new();
        for (r, (rname, _)) in refs.iter().enumerate() {
            let r2: Vec<f64> = ag[r].iter().map(Agreement::r_squared).collect();
            let nmse: Vec<f64> = ag[r].iter().map(Agreement::nmse).collect();
            for j in 0..grid.len() {
                csv.push(vec![
                    name.to_string(),
                    rname.to_string(),
                    paper_t[j].to_string(),
                    number(r2[j]),
                    number(nmse[j]),
                ]);
            }
            let x: Vec<f64> = paper_t.iter().map(|&t| t as f64).collect();
            let clipped: Vec<f64> = r2.iter().map(|v| v.max(-1.0)).collect();
            let s = Series::new(format!("{rname} ({name})"), x, clipped);
            series.push(if *name == "train" { s } else { s.as_dashed() });
            entry.insert(rname.to_string(), json!({ "r2": r2, "nmse": nmse }));
            r2_set.push(r2);
        }
        per_set.insert(name.to_string(), Value::Object(entry));
        r2_all.push(r2_set);
    }
    write_csv(
        &out.join("ref.csv"),
        &["set", "reference", "paper_t", "r2", "nmse"],
        &csv,
    )?;
    line_plot(
        &out.join("ref.png"),
        &PlotSpec {
            log_x: true,
            ..PlotSpec::new(
                "Agreement with reference denoisers (x0_hat; dashed: held-out inputs)",
                "timestep t",
                "r^2 (clipped at -1)",
            )
        },
        &series,
    )?;
    // Per band: the reference with the best mean r^2, averaged over the sets.
    let mean_r2: Vec<Vec<f64>> = (0..refs.len())
        .map(|r| {
            (0..grid.len())
                .map(|j| r2_all.iter().map(|s| s[r][j]).sum::<f64>() / r2_all.len() as f64)
                .collect()
        })
        .collect();
    let bands = followed(&mean_r2, &grid, diffusion.steps());
    let follows: serde_json::Map<String, Value> = BANDS
        .iter()
        .zip(bands)
        .map(|(b, f)| {
            let v = match f {
                Some((r, r2)) => json!({ "reference": refs[r].0, "mean_r2": r2 }),
                None => Value::Null,
            };
            (b.to_string(), v)
        })
        .collect();
    // Every reference's band means, as scalars a sweep report can plot against N.
    let band_means: serde_json::Map<String, Value> = BANDS
        .iter()
        .enumerate()
        .map(|(b, name)| {
            let per_ref: serde_json::Map<String, Value> = refs
                .iter()
                .enumerate()
                .map(|(r, (rname, _))| {
                    let one = followed(&mean_r2[r..=r], &grid, diffusion.steps())[b];
                    (rname.to_string(), json!(one.map(|(_, v)| v)))
                })
                .collect();
            (name.to_string(), Value::Object(per_ref))
        })
        .collect();
    Ok(json!({
        "band_r2": band_means,
        "rows_per_set": m,
        "compared": "denoised images x0_hat = (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar)",
        "references": refs.iter().map(|r| r.0).collect::<Vec<_>>(),
        "paper_t": paper_t,
        "sets": per_set,
        "follows": follows,
    }))
}
