//! `diffmem theory flow`: early stopping, i.e. gradient flow stopped at time tau.

use super::columns::{self, Cell, Column, col};
use super::output::OutputArgs;
use crate::theory::args::{ScheduleArgs, spectrum};
use anyhow::{Result, bail};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::theory::{CurveConfig, FlowPoint, Summary, Truth, flow_curve, parse_grid};
use std::path::PathBuf;

/// Arguments of `diffmem theory flow`.
#[derive(clap::Args, Debug)]
pub struct FlowArgs {
    /// Data dimension d.
    #[arg(long, default_value_t = 100)]
    pub d: usize,
    /// Spectrum of the true covariance: `power:K` or `list:a,b,...`.
    #[arg(long, default_value = "power:1")]
    pub spectrum: String,
    /// Training-set size N.
    #[arg(long, default_value_t = 50)]
    pub n: usize,
    /// Gradient-flow times: `log:LO:HI:COUNT` or a list `a,b,c`.
    #[arg(long, default_value = "log:1:1e7:15")]
    pub tau: String,
    /// Training sets (mean ± std over seeds).
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
    /// The sampler adds no noise at the last step.
    #[arg(long)]
    pub no_last_noise: bool,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The columns of `theory flow` (table and flow.csv).
const COLUMNS: [Column<FlowPoint>; 6] = [
    col("tau", "tau", |p| Cell::Value(p.tau)),
    col("test", "test", |p| Cell::stat(&p.stats.test_loss)),
    col("train", "train", |p| Cell::stat(&p.stats.train_loss)),
    col("gap", "gap", |p| Cell::stat(&p.stats.gap)),
    col("KL", "kl", |p| Cell::stat(&p.stats.kl)),
    col("c", "c", |p| Cell::stat(&p.stats.c)),
];

/// Runs `diffmem theory flow`.
pub fn run(a: &FlowArgs) -> Result<()> {
    if a.n == 0 {
        bail!("--n must be >= 1");
    }
    let truth = Truth::from_spectrum(&spectrum(&a.spectrum, a.d)?)?;
    let config = CurveConfig {
        schedule: a.schedule.schedule()?,
        lambda: a.lambda,
        last_step_noise: !a.no_last_noise,
        seeds: a.seeds,
        base_seed: a.seed,
    };
    let taus = parse_grid(&a.tau)?;
    let points = flow_curve(&truth, a.n, &taus, &config)?;
    let files = write_files(a, &points)?;
    let header = format!(
        "gradient flow from W = 0 stopped at tau (arXiv 2505.24769): d = {}, N = {}, spectrum {}, \
         lambda = {}, {}, {} seed(s)\n\
         absent directions are learned at rate 2(1 - abar_t): small tau keeps c large (early \
         stopping regularises)",
        a.d,
        a.n,
        a.spectrum,
        a.lambda,
        a.schedule.describe(),
        a.seeds
    );
    let table = columns::table(&COLUMNS, &points);
    let json = serde_json::json!({
        "command": "theory flow",
        "d": a.d,
        "n": a.n,
        "spectrum": a.spectrum,
        "lambda": a.lambda,
        "schedule": a.schedule.json()?,
        "last_step_noise": !a.no_last_noise,
        "seeds": a.seeds,
        "points": points,
    });
    a.output.emit(&header, &table, &json, &files)
}

/// flow.csv and the c(tau) and KL(tau) plots.
fn write_files(a: &FlowArgs, points: &[FlowPoint]) -> Result<Vec<PathBuf>> {
    let out = &a.output;
    let csv = out.file("flow.csv")?;
    columns::write(&csv, &COLUMNS, points)?;
    let x: Vec<f64> = points.iter().map(|p| p.tau).collect();
    let one = |label: &str, y: Vec<f64>, lo: Vec<f64>, hi: Vec<f64>| Series {
        label: label.into(),
        x: x.clone(),
        y,
        band: Some((lo, hi)),
        dashed: false,
        errors: None,
    };
    let mut files = vec![csv];
    // (file, title, y label, the plotted summary of a point)
    type Plot = (
        &'static str,
        &'static str,
        &'static str,
        fn(&FlowPoint) -> Summary,
    );
    let plots: [Plot; 2] = [
        (
            "flow_c.png",
            "best isotropic c versus gradient-flow time",
            "c",
            |p| p.stats.c,
        ),
        (
            "flow_kl.png",
            "KL(rho_N || rho) versus gradient-flow time",
            "KL",
            |p| p.stats.kl,
        ),
    ];
    for (name, title, y_label, summary) in plots {
        let path = out.file(name)?;
        line_plot(
            &path,
            &PlotSpec {
                title: &format!("{title}, d = {}, N = {}", a.d, a.n),
                x_label: "tau",
                y_label,
                log_x: true,
                log_y: true,
            },
            &[one(
                &format!("{y_label} (seed min..max)"),
                points.iter().map(|p| summary(p).mean).collect(),
                points.iter().map(|p| summary(p).min).collect(),
                points.iter().map(|p| summary(p).max).collect(),
            )],
        )?;
        files.push(path);
    }
    Ok(files)
}
