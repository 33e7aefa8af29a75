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
use diffmem_model::{Denoiser, Diffusion, ModelContext, ModelSpec};
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
    ctx: ModelContext,
    refs: &[(&'static str, Box<dyn Denoiser>)],
    rows: &[f32],
    d: usize,
    grid: &[usize],
) -> Vec<Vec<Agreement>> {
    let ModelContext {
        model,
        diffusion,
        device,
    } = ctx;
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

/// r^2 and nmse of one set against every reference: `r2[reference][j]`, `nmse[reference][j]`.
struct SetAgreement {
    name: &'static str,
    r2: Vec<Vec<f64>>,
    nmse: Vec<Vec<f64>>,
}

/// Computes r^2 and nmse per set, reference and timestep; writes `ref.csv` and `ref.png`.
pub fn run(p: &PairedRows, out: &Path) -> Result<Value> {
    let (train, diffusion) = (p.train, p.ctx.diffusion);
    if train.len() < 2 {
        bail!("--metrics ref needs at least 2 training examples");
    }
    let d = train.dim();
    let refs = references(train, diffusion, p.ctx.device)?;
    let grid = p.grid();
    let paper_t: Vec<usize> = grid.iter().map(|t| t + 1).collect();
    let m = p.rows(p.max_rows.min(MAX_ROWS), 2);
    let sets: Vec<SetAgreement> = p
        .sets()
        .iter()
        .map(|&(name, set)| {
            let ag = agreements(p.ctx, &refs, &set.samples[..m * d], d, &grid);
            SetAgreement {
                name,
                r2: ag
                    .iter()
                    .map(|a| a.iter().map(Agreement::r_squared).collect())
                    .collect(),
                nmse: ag
                    .iter()
                    .map(|a| a.iter().map(Agreement::nmse).collect())
                    .collect(),
            }
        })
        .collect();
    let names: Vec<&'static str> = refs.iter().map(|r| r.0).collect();
    write_outputs(out, &sets, &names, &paper_t)?;
    let (follows, band_means) = band_summary(&sets, &names, &grid, diffusion.steps());
    let per_set: serde_json::Map<String, Value> = sets
        .iter()
        .map(|s| {
            let entry: serde_json::Map<String, Value> = names
                .iter()
                .enumerate()
                .map(|(r, n)| (n.to_string(), json!({ "r2": s.r2[r], "nmse": s.nmse[r] })))
                .collect();
            (s.name.to_string(), Value::Object(entry))
        })
        .collect();
    Ok(json!({
        "band_r2": band_means,
        "rows_per_set": m,
        "compared": "denoised images x0_hat = (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar)",
        "references": names,
        "paper_t": paper_t,
        "sets": per_set,
        "follows": follows,
    }))
}

/// `ref.csv` (one row per set, reference and timestep) and `ref.png` (r^2 against t, dashed
/// for held-out inputs, clipped at -1).
fn write_outputs(
    out: &Path,
    sets: &[SetAgreement],
    names: &[&'static str],
    paper_t: &[usize],
) -> Result<()> {
    let mut csv = Vec::new();
    let mut series = Vec::new();
    let x: Vec<f64> = paper_t.iter().map(|&t| t as f64).collect();
    for set in sets {
        for (r, rname) in names.iter().enumerate() {
            for (j, t) in paper_t.iter().enumerate() {
                csv.push(vec![
                    set.name.to_string(),
                    rname.to_string(),
                    t.to_string(),
                    number(set.r2[r][j]),
                    number(set.nmse[r][j]),
                ]);
            }
            let clipped: Vec<f64> = set.r2[r].iter().map(|v| v.max(-1.0)).collect();
            let s = Series::new(format!("{rname} ({})", set.name), x.clone(), clipped);
            series.push(if set.name == "train" {
                s
            } else {
                s.as_dashed()
            });
        }
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
    Ok(())
}

/// Per noise band: the reference with the best mean r^2 (averaged over the sets), and every
/// reference's band mean as scalars a sweep report can plot against N.
fn band_summary(
    sets: &[SetAgreement],
    names: &[&'static str],
    grid: &[usize],
    steps: usize,
) -> (
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
) {
    let mean_r2: Vec<Vec<f64>> = (0..names.len())
        .map(|r| {
            (0..grid.len())
                .map(|j| sets.iter().map(|s| s.r2[r][j]).sum::<f64>() / sets.len() as f64)
                .collect()
        })
        .collect();
    let follows = BANDS
        .iter()
        .zip(followed(&mean_r2, grid, steps))
        .map(|(b, f)| {
            let v = match f {
                Some((r, r2)) => json!({ "reference": names[r], "mean_r2": r2 }),
                None => Value::Null,
            };
            (b.to_string(), v)
        })
        .collect();
    let band_means = BANDS
        .iter()
        .enumerate()
        .map(|(b, name)| {
            let per_ref: serde_json::Map<String, Value> = names
                .iter()
                .enumerate()
                .map(|(r, rname)| {
                    let one = followed(&mean_r2[r..=r], grid, steps)[b];
                    (rname.to_string(), json!(one.map(|(_, v)| v)))
                })
                .collect();
            (name.to_string(), Value::Object(per_ref))
        })
        .collect();
    (follows, band_means)
}
