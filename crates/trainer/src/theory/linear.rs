//! `diffmem theory linear`: the N-curve of the optimal linear diffusion model.

use super::columns::{self, Cell, Column, col, csv_only};
use super::output::{OutputArgs, write_csv};
use crate::theory::args::{ScheduleArgs, spectrum};
use anyhow::{Result, bail};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::theory::{CurveConfig, LinearPoint, Truth, linear_curve, parse_n_grid};
use std::path::PathBuf;

/// Arguments of `diffmem theory linear`.
#[derive(clap::Args, Debug)]
pub struct LinearArgs {
    /// Data dimension d.
    #[arg(long, default_value_t = 100)]
    pub d: usize,
    /// Spectrum of the true covariance: `power:K` (lambda_nu ∝ nu^-K, trace d) or `list:a,b,...`.
    #[arg(long, default_value = "power:1")]
    pub spectrum: String,
    /// Training-set sizes as multiples of d (default 0.25,0.5,1,2,4,10,50).
    #[arg(long = "n-over-d", value_delimiter = ',', conflicts_with_all = ["n", "n_grid"])]
    pub n_over_d: Vec<f64>,
    /// Training-set sizes N.
    #[arg(long, value_delimiter = ',', conflicts_with = "n_grid")]
    pub n: Vec<usize>,
    /// Log grid of N, `log:LO:HI:COUNT` (rounded, deduplicated).
    #[arg(long = "n-grid")]
    pub n_grid: Option<String>,
    /// Training sets per N (mean ± std over seeds).
    #[arg(long, default_value_t = 5)]
    pub seeds: usize,
    /// Seed of the first training set.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Ridge penalty lambda on W_t.
    #[arg(long, default_value_t = 0.0)]
    pub lambda: f64,
    /// Schedule.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// The sampler adds no noise at the last step (samples lie in mu0 + span(data)).
    #[arg(long)]
    pub no_last_noise: bool,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl LinearArgs {
    /// The training-set sizes asked for.
    fn sizes(&self) -> Result<Vec<usize>> {
        let ns = if let Some(grid) = &self.n_grid {
            parse_n_grid(grid)?
        } else if !self.n.is_empty() {
            let mut ns = self.n.clone();
            ns.sort_unstable();
            ns.dedup();
            ns
        } else {
            let ratios = if self.n_over_d.is_empty() {
                vec![0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 50.0]
            } else {
                self.n_over_d.clone()
            };
            let list: Vec<String> = ratios
                .iter()
                .map(|r| (r * self.d as f64).to_string())
                .collect();
            parse_n_grid(&list.join(","))?
        };
        if ns.contains(&0) {
            bail!("training-set sizes must be >= 1");
        }
        Ok(ns)
    }
}

/// The columns of `theory linear` (table and linear.csv).
const COLUMNS: [Column<LinearPoint>; 12] = [
    col("N", "n", |p| Cell::Count(p.n)),
    col("N/d", "n_over_d", |p| Cell::Value(p.n_over_d)),
    col("test", "test", |p| Cell::stat(&p.stats.test_loss)),
    col("train", "train", |p| Cell::stat(&p.stats.train_loss)),
    col("gap", "gap", |p| Cell::stat(&p.stats.gap)),
    col("optimum", "optimum", |p| Cell::Value(p.stats.optimum_loss)),
    col("KL", "kl", |p| Cell::stat(&p.stats.kl)),
    csv_only("kl_min", |p| Cell::Value(p.stats.kl.min)),
    csv_only("kl_max", |p| Cell::Value(p.stats.kl.max)),
    csv_only("kl_empirical_mean", |p| {
        Cell::Value(p.stats.kl_empirical.mean)
    }),
    col("Wishart", "wishart_kl", |p| Cell::value(p.wishart_kl)),
    col("c", "c", |p| Cell::stat(&p.stats.c)),
];

/// The work of the exact theory over a grid of N, in flops: per N and seed, drawing and
/// summing N rows of dimension d (the empirical covariance, ~2 N d^2), one eigendecomposition
/// (~10 d^3) and the T per-timestep losses (~2 T d^2).
pub fn grid_flops(d: usize, ns: &[usize], seeds: usize, t: usize) -> f64 {
    let d = d as f64;
    let per_n = |n: usize| 2.0 * n as f64 * d * d + 10.0 * d * d * d + 2.0 * t as f64 * d * d;
    seeds as f64 * ns.iter().map(|&n| per_n(n)).sum::<f64>()
}

/// Refuses a grid whose largest training set (N x d, f64) does not fit in memory or whose
/// work exceeds `memory::MAX_FLOPS`, before any of it is computed.
fn check_grid(d: usize, ns: &[usize], seeds: usize, t: usize, avail: f64) -> Result<()> {
    let largest = ns.iter().copied().max().unwrap_or(0) as f64 * d as f64 * 8.0;
    crate::run::memory::check(
        "the largest training set of the grid",
        "the largest N (--n, --n-grid or --n-over-d)",
        largest,
        avail,
    )?;
    crate::run::memory::check_cost(
        &format!("theory linear over {} training-set sizes", ns.len()),
        "the number or size of the N (--n, --n-grid, --n-over-d), --seeds or --d",
        grid_flops(d, ns, seeds, t),
    )
}

/// Runs `diffmem theory linear`.
pub fn run(a: &LinearArgs) -> Result<()> {
    // The exact theory works with d x d matrices (f64).
    let dense = (a.d as f64) * (a.d as f64) * 8.0;
    let avail = diffmem_model::denoiser::linear::available_memory();
    crate::run::memory::check("theory linear's d x d matrices", "--d", dense, avail)?;
    let sizes = a.sizes()?;
    let schedule = a.schedule.schedule()?;
    check_grid(a.d, &sizes, a.seeds, schedule.betas.len(), avail)?;
    let truth = Truth::from_spectrum(&spectrum(&a.spectrum, a.d)?)?;
    let config = CurveConfig {
        schedule,
        lambda: a.lambda,
        last_step_noise: !a.no_last_noise,
        seeds: a.seeds,
        base_seed: a.seed,
    };
    let points = linear_curve(&truth, &sizes, &config)?;
    let files = write_files(a, &points)?;
    let header = format!(
        "linear diffusion theory (Merger & Goldt, arXiv 2505.24769): d = {}, spectrum {}, \
         lambda = {}, {}, last-step noise {}, {} seed(s)\n\
         losses: eps-MSE per coordinate averaged over t = 1..T; KL = KL(rho_N || rho) of the exact \
         sampled Gaussian; Wishart = E KL(N(mu0,Sigma0) || rho) for N > d; c = best isotropic c",
        a.d,
        a.spectrum,
        a.lambda,
        a.schedule.describe(),
        if a.no_last_noise { "off" } else { "on" },
        a.seeds
    );
    let table = columns::table(&COLUMNS, &points);
    let json = serde_json::json!({
        "command": "theory linear",
        "d": a.d,
        "spectrum": a.spectrum,
        "lambda": a.lambda,
        "schedule": a.schedule.json()?,
        "last_step_noise": !a.no_last_noise,
        "seeds": a.seeds,
        "points": points,
    });
    a.output.emit(&header, &table, &json, &files)
}

/// linear.csv, linear_t.csv and the three plots.
fn write_files(a: &LinearArgs, points: &[LinearPoint]) -> Result<Vec<PathBuf>> {
    let out = &a.output;
    let csv = out.file("linear.csv")?;
    columns::write(&csv, &COLUMNS, points)?;
    let per_t = out.file("linear_t.csv")?;
    let rows_t: Vec<Vec<Option<f64>>> = points
        .iter()
        .flat_map(|p| {
            let s = &p.stats;
            (0..s.test_t.len()).map(move |i| {
                vec![
                    Some(p.n as f64),
                    Some((i + 1) as f64),
                    Some(s.train_t[i]),
                    Some(s.test_t[i]),
                    Some(s.optimum_t[i]),
                ]
            })
        })
        .collect();
    write_csv(
        &per_t,
        &["n", "paper_t", "train", "test", "optimum"],
        &rows_t,
    )?;
    let mut files = vec![csv, per_t];
    files.extend(curve_plots(a, points)?);
    files.push(loss_t_plot(a, points)?);
    Ok(files)
}

/// linear_kl.png and linear_loss.png: KL and losses against N/d.
fn curve_plots(a: &LinearArgs, points: &[LinearPoint]) -> Result<[PathBuf; 2]> {
    let out = &a.output;
    let x: Vec<f64> = points.iter().map(|p| p.n_over_d).collect();
    let series =
        |label: &str, y: Vec<f64>, band: Option<(Vec<f64>, Vec<f64>)>, dashed: bool| Series {
            label: label.into(),
            x: x.clone(),
            y,
            band,
            dashed,
            errors: None,
        };
    let kl_png = out.file("linear_kl.png")?;
    line_plot(
        &kl_png,
        &PlotSpec {
            title: &format!("KL(rho_N || rho), d = {}, {}", a.d, a.spectrum),
            x_label: "N / d",
            y_label: "KL",
            log_x: true,
            log_y: true,
        },
        &[
            series(
                "KL of sampled Gaussian (seed min..max)",
                points.iter().map(|p| p.stats.kl.mean).collect(),
                Some((
                    points.iter().map(|p| p.stats.kl.min).collect(),
                    points.iter().map(|p| p.stats.kl.max).collect(),
                )),
                false,
            ),
            series(
                "Wishart expectation (N > d)",
                points
                    .iter()
                    .map(|p| p.wishart_kl.unwrap_or(f64::NAN))
                    .collect(),
                None,
                true,
            ),
        ],
    )?;
    let loss_png = out.file("linear_loss.png")?;
    line_plot(
        &loss_png,
        &PlotSpec {
            title: &format!("eps-loss per coordinate (mean over t), d = {}", a.d),
            x_label: "N / d",
            y_label: "loss",
            log_x: true,
            log_y: true,
        },
        &[
            series(
                "test",
                points.iter().map(|p| p.stats.test_loss.mean).collect(),
                None,
                false,
            ),
            series(
                "train",
                points.iter().map(|p| p.stats.train_loss.mean).collect(),
                None,
                false,
            ),
            series(
                "population optimum",
                points.iter().map(|p| p.stats.optimum_loss).collect(),
                None,
                true,
            ),
        ],
    )?;
    Ok([kl_png, loss_png])
}

/// linear_loss_t.png: the test loss against t for every N.
fn loss_t_plot(a: &LinearArgs, points: &[LinearPoint]) -> Result<PathBuf> {
    let out = &a.output;
    let t_png = out.file("linear_loss_t.png")?;
    let t_axis: Vec<f64> = (1..=a.schedule.values()?.t_max).map(|t| t as f64).collect();
    let mut t_series: Vec<Series> = points
        .iter()
        .map(|p| Series {
            label: format!("test, N = {}", p.n),
            x: t_axis.clone(),
            y: p.stats.test_t.clone(),
            band: None,
            dashed: false,
            errors: None,
        })
        .collect();
    if let Some(p) = points.first() {
        t_series.push(Series {
            label: "population optimum".into(),
            x: t_axis.clone(),
            y: p.stats.optimum_t.clone(),
            band: None,
            dashed: true,
            errors: None,
        });
    }
    line_plot(
        &t_png,
        &PlotSpec {
            title: "test eps-loss per coordinate versus timestep",
            x_label: "t",
            y_label: "loss",
            log_x: true,
            log_y: true,
        },
        &t_series,
    )?;
    Ok(t_png)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cost by hand for d = 10, N = 5 and 20, 2 seeds, T = 100; the grid that used to
    /// run for hours (a million N up to 1e9) is refused before any work.
    #[test]
    fn grid_cost_is_estimated_and_huge_grids_refused() {
        let per = |n: f64| 2.0 * n * 100.0 + 10.0 * 1000.0 + 2.0 * 100.0 * 100.0;
        assert_eq!(
            grid_flops(10, &[5, 20], 2, 100),
            2.0 * (per(5.0) + per(20.0))
        );
        let huge = parse_n_grid("log:1:1e9:1000000").unwrap();
        let e = check_grid(100, &huge, 5, 1000, 1e15)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lower the number or size of the N"), "{e}");
        assert!(check_grid(100, &[10, 100], 5, 1000, 1e15).is_ok());
        let e = check_grid(100, &[1_000_000_000], 1, 1000, 1e9).unwrap_err();
        assert!(e.to_string().contains("largest N"), "{e}");
    }
}
