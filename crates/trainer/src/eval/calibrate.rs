//! `diffmem eval RUN --calibrate-local` (metric `calibrate-local`): the patch size P_t of the
//! `local` machine that best matches the run, per timestep, as Kamb & Ganguli (arXiv
//! 2412.20292) calibrate their ELS machine against trained networks. For each odd candidate
//! P, the same-position machine with P at every t is compared with the run on the noised
//! training and held-out inputs of `--metrics ref` (r^2 of x0_hat, averaged over both sets);
//! the best P per grid timestep is the `--patch` list for `--model local` (the grid points are
//! the midpoints of equal bins of t, the bins of `--patch`). `calibrate_local.csv`.

use crate::eval::paired::PairedRows;
use crate::eval::reference::agreements;
use crate::io::csv::{number, write_csv};
use anyhow::{Result, bail};
use diffmem_data::{Dataset, SampleShape};
use diffmem_metrics::reference::Agreement;
use diffmem_model::Denoiser;
use diffmem_model::denoiser::LocalScore;
use serde_json::{Value, json};
use std::path::Path;

/// Largest candidate patch size (the default patches stop at 11).
pub const MAX_PATCH: usize = 15;

/// Calibrates P_t on up to `max_rows` rows per set at `points` timesteps.
pub fn run(p: &PairedRows, out: &Path) -> Result<Value> {
    let (ctx, diffusion, train) = (p.ctx, p.ctx.diffusion, p.train);
    let SampleShape::Image { c, h, w } = train.shape else {
        bail!("--calibrate-local needs image data: the local machine compares image patches");
    };
    let d = train.dim();
    let grid = p.grid();
    let sets: Vec<&Dataset> = p.sets().into_iter().map(|(_, s)| s).collect();
    let m = p.rows(p.max_rows, 2);
    let side = h.max(w);
    let candidates: Vec<usize> = (1..=MAX_PATCH.min(2 * side - 1)).step_by(2).collect();
    // r2[candidate][j], averaged over the sets.
    let mut r2 = Vec::with_capacity(candidates.len());
    for &p in &candidates {
        let machine = LocalScore::new(
            &train.samples,
            (c, h, w),
            vec![p],
            false,
            diffusion.schedule.abar.clone(),
        )?;
        let refs: Vec<(&'static str, Box<dyn Denoiser>)> = vec![("local", Box::new(machine))];
        let mut acc = vec![0.0; grid.len()];
        for set in &sets {
            let ag = agreements(ctx, &refs, &set.samples[..m * d], d, &grid);
            for (a, g) in acc.iter_mut().zip(&ag[0]) {
                *a += Agreement::r_squared(g) / sets.len() as f64;
            }
        }
        r2.push(acc);
    }
    let best = best_per_timestep(&r2, grid.len());
    let paper_t: Vec<usize> = grid.iter().map(|t| t + 1).collect();
    write_table(out, &r2, &candidates, &best, &paper_t)?;
    let patch: Vec<usize> = best.iter().map(|&k| candidates[k]).collect();
    let flag = patch
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    Ok(json!({
        "rows_per_set": m,
        "equivariant": false,
        "paper_t": paper_t,
        "candidates": candidates,
        "patch": patch,
        "best_r2": best.iter().enumerate().map(|(j, &k)| r2[k][j]).collect::<Vec<_>>(),
        "flag": format!("--model local --equivariant false --patch {flag}"),
    }))
}

/// Per grid timestep j, the candidate with the largest finite r^2 (the first on ties; 0 when
/// none is finite).
fn best_per_timestep(r2: &[Vec<f64>], points: usize) -> Vec<usize> {
    (0..points)
        .map(|j| {
            (0..r2.len())
                .filter(|&k| r2[k][j].is_finite())
                .fold(None, |b: Option<usize>, k| match b {
                    Some(b) if r2[b][j] >= r2[k][j] => Some(b),
                    _ => Some(k),
                })
                .unwrap_or(0)
        })
        .collect()
}

/// `calibrate_local.csv`: one row per timestep and candidate patch size.
fn write_table(
    out: &Path,
    r2: &[Vec<f64>],
    candidates: &[usize],
    best: &[usize],
    paper_t: &[usize],
) -> Result<()> {
    let rows: Vec<Vec<String>> = (0..paper_t.len())
        .flat_map(|j| {
            (0..candidates.len()).map(move |k| {
                vec![
                    paper_t[j].to_string(),
                    candidates[k].to_string(),
                    number(r2[k][j]),
                    (best[j] == k).to_string(),
                ]
            })
        })
        .collect();
    write_csv(
        &out.join("calibrate_local.csv"),
        &["paper_t", "patch", "r2", "best"],
        &rows,
    )
}
