//! `diffmem theory collapse`: collapse and speciation times versus N.

use super::columns::{self, Cell, Column, col};
use super::output::OutputArgs;
use crate::theory::args::{ScheduleArgs, spectrum};
use anyhow::{Result, bail};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::theory::collapse::{CollapseTimes, collapse_times};
use std::path::PathBuf;

/// Arguments of `diffmem theory collapse`.
#[derive(clap::Args, Debug)]
pub struct CollapseArgs {
    /// Data dimension d.
    #[arg(long, default_value_t = 100)]
    pub d: usize,
    /// Variance of isotropic Gaussian data.
    #[arg(long, default_value_t = 1.0, conflicts_with = "spectrum")]
    pub sigma2: f64,
    /// A non-isotropic spectrum instead (`power:K`, `list:a,b,...`); t_C from the definition.
    #[arg(long)]
    pub spectrum: Option<String>,
    /// Training-set sizes N.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000,100000")]
    pub n: Vec<usize>,
    /// Schedule used to translate OU times into DDPM steps (abar_t = e^{-2 t}).
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The columns of `theory collapse` (table and collapse.csv).
const COLUMNS: [Column<CollapseTimes>; 6] = [
    col("N", "n", |r| Cell::Count(r.n)),
    col("alpha", "alpha", |r| Cell::Value(r.alpha)),
    col("t_C", "t_collapse", |r| Cell::Value(r.t_collapse)),
    col("DDPM t_C", "ddpm_collapse", |r| {
        Cell::count(r.ddpm_collapse)
    }),
    col("t_S", "t_speciation", |r| Cell::Value(r.t_speciation)),
    col("DDPM t_S", "ddpm_speciation", |r| {
        Cell::count(r.ddpm_speciation)
    }),
];

/// Runs `diffmem theory collapse`.
pub fn run(a: &CollapseArgs) -> Result<()> {
    let (variances, source) = match &a.spectrum {
        Some(spec) => (
            spectrum(spec, a.d)?,
            format!("spectrum {spec}, d = {}", a.d),
        ),
        None => {
            if !(a.sigma2 > 0.0 && a.sigma2.is_finite()) || a.d == 0 {
                bail!("--sigma2 must be > 0 and --d >= 1");
            }
            (
                vec![a.sigma2; a.d],
                format!("isotropic sigma^2 = {}, d = {}", a.sigma2, a.d),
            )
        }
    };
    let schedule = a.schedule.schedule()?;
    let rows = collapse_times(&variances, &a.n, &schedule)?;
    let header = format!(
        "collapse and speciation times (Biroli et al., arXiv 2402.18491), {source}\n\
         OU time, abar = e^(-2t): t_C solves 1/2 sum_i ln(1 + lambda_i e^(-2t)/(1-e^(-2t))) = ln N \
         (isotropic: t_C = 1/2 ln(1 + sigma^2/(e^(2 alpha)-1)), alpha = ln N/d); \
         t_S = 1/2 ln Lambda_max; DDPM steps for {}",
        a.schedule.describe()
    );
    let table = columns::table(&COLUMNS, &rows);
    let files = write_files(a, &variances, &rows)?;
    let json = serde_json::json!({
        "command": "theory collapse",
        "source": source,
        "schedule": a.schedule.json()?,
        "rows": rows,
    });
    a.output.emit(&header, &table, &json, &files)
}

/// collapse.csv and t_C(N) with t_S.
fn write_files(
    a: &CollapseArgs,
    variances: &[f64],
    rows: &[CollapseTimes],
) -> Result<Vec<PathBuf>> {
    let csv = a.output.file("collapse.csv")?;
    columns::write(&csv, &COLUMNS, rows)?;
    let grid = super::output::plot_n_grid(&a.n)?;
    let curve = collapse_times(variances, &grid, &a.schedule.schedule()?)?;
    let x: Vec<f64> = curve.iter().map(|r| r.n as f64).collect();
    let png = a.output.file("collapse.png")?;
    line_plot(
        &png,
        &PlotSpec {
            title: "collapse time t_C and speciation time t_S (OU time)",
            x_label: "N",
            y_label: "t",
            log_x: true,
            log_y: false,
        },
        &[
            Series {
                label: "t_C".into(),
                x: x.clone(),
                y: curve.iter().map(|r| r.t_collapse).collect(),
                band: None,
                dashed: false,
                errors: None,
            },
            Series {
                label: "t_S".into(),
                x,
                y: curve.iter().map(|r| r.t_speciation).collect(),
                band: None,
                dashed: true,
                errors: None,
            },
        ],
    )?;
    Ok(vec![csv, png])
}
