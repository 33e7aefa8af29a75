//! `diffmem theory critical`: critical noise levels of geometric memorisation per direction.

use super::columns::{self, Cell, Column, col};
use super::output::{OutputArgs, num};
use crate::cmd::theory::{ScheduleArgs, spectrum};
use anyhow::{Context, Result};
use diffmem_data::DataSpec;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::theory::Eigen;
use diffmem_metrics::theory::critical::{CriticalLevel, critical_levels};
use diffmem_metrics::theory::curves::log_space;
use std::path::PathBuf;

/// Arguments of `diffmem theory critical`.
#[derive(clap::Args, Debug)]
pub struct CriticalArgs {
    /// Variances s_i^2 from a spectrum recipe (`power:K`, `list:a,b,...`) in dimension --d.
    #[arg(long, conflicts_with = "data", requires = "d")]
    pub spectrum: Option<String>,
    /// Dimension for --spectrum.
    #[arg(long)]
    pub d: Option<usize>,
    /// Variances from the true covariance of a synthetic data spec (default `manifold:paper`).
    #[arg(long)]
    pub data: Option<String>,
    /// Training-set sizes N.
    #[arg(long, value_delimiter = ',', default_value = "250,500,20000")]
    pub n: Vec<usize>,
    /// Use the formula for unit-norm data (spectrum rescaled to unit total variance).
    #[arg(long)]
    pub normalized: bool,
    /// Schedule used to translate noise levels into DDPM steps.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl CriticalArgs {
    /// The variances and a description of where they came from.
    fn variances(&self) -> Result<(Vec<f64>, String)> {
        if let (Some(spec), Some(d)) = (&self.spectrum, self.d) {
            return Ok((spectrum(spec, d)?, format!("spectrum {spec}, d = {d}")));
        }
        let data = self.data.as_deref().unwrap_or("manifold:paper");
        let truth = DataSpec::parse(data)
            .with_context(|| format!("bad --data `{data}`"))?
            .truth()
            .with_context(|| format!("cannot build `{data}`"))?
            .with_context(|| format!("`{data}` is not synthetic: its covariance is unknown"))?;
        let d = truth.mean.len();
        let eig = Eigen::of_symmetric(&truth.cov, d)?;
        Ok((
            eig.values,
            format!("data {data} (eigenvalues of its true covariance)"),
        ))
    }
}

/// The columns of `theory critical` (table and critical.csv).
const COLUMNS: [Column<CriticalLevel>; 7] = [
    col("N", "n", |l| Cell::Count(l.n)),
    col("s^2", "s2", |l| Cell::Value(l.s2)),
    col("s", "s", |l| Cell::Value(l.s2.sqrt())),
    col("dirs", "count", |l| Cell::Count(l.count)),
    col("sigma_c^2", "sigma2_c", |l| Cell::Value(l.sigma2_c)),
    col("sigma_c", "sigma_c", |l| Cell::Value(l.sigma2_c.sqrt())),
    col("DDPM t", "ddpm_step", |l| Cell::count(l.ddpm_step)),
];

/// Runs `diffmem theory critical`.
pub fn run(a: &CriticalArgs) -> Result<()> {
    let (variances, source) = a.variances()?;
    let schedule = a.schedule.schedule()?;
    let levels = critical_levels(&variances, &a.n, a.normalized, &schedule)?;
    let header = format!(
        "critical noise levels of geometric memorisation (Achilli et al., arXiv 2410.08727), {}: {}\n\
         sigma_c^2 = {}; direction i collapses onto training points for sigma^2 < sigma_c^2 \
         (DDPM: (1-abar_t)/abar_t < sigma_c^2, i.e. t < the step shown, {})",
        if a.normalized {
            "normalised data"
        } else {
            "unnormalised data"
        },
        source,
        if a.normalized {
            "s_i^2 / (2 ln N)"
        } else {
            "[s_i^2 + sqrt(s_i^4 + 4 ln N sum_j s_j^4)] / (4 ln N)"
        },
        a.schedule.describe()
    );
    let table = columns::table(&COLUMNS, &levels);
    let files = write_files(a, &variances, &levels)?;
    let json = serde_json::json!({
        "command": "theory critical",
        "source": source,
        "normalized": a.normalized,
        "schedule": {"beta1": a.schedule.beta1, "betaT": a.schedule.beta_t, "T": a.schedule.t_max},
        "levels": levels,
    });
    a.output.emit(&header, &table, &json, &files)
}

/// critical.csv and sigma_c^2 versus N for every group of directions.
fn write_files(
    a: &CriticalArgs,
    variances: &[f64],
    levels: &[CriticalLevel],
) -> Result<Vec<PathBuf>> {
    let csv = a.output.file("critical.csv")?;
    columns::write(&csv, &COLUMNS, levels)?;
    let top = a.n.iter().copied().max().unwrap_or(2).max(1_000_000) as f64;
    let mut grid: Vec<usize> = log_space(2.0, top, 80)?
        .into_iter()
        .map(|v| v.round() as usize)
        .collect();
    grid.dedup();
    let schedule = a.schedule.schedule()?;
    let curve = critical_levels(variances, &grid, a.normalized, &schedule)?;
    let groups = curve.iter().take_while(|l| l.n == grid[0]).count();
    let series: Vec<Series> = (0..groups)
        .map(|g| {
            let pts: Vec<&CriticalLevel> = curve.iter().skip(g).step_by(groups).collect();
            Series {
                label: format!("s^2 = {} ({} dirs)", num(pts[0].s2), pts[0].count),
                x: pts.iter().map(|l| l.n as f64).collect(),
                y: pts.iter().map(|l| l.sigma2_c).collect(),
                band: None,
                dashed: false,
            }
        })
        .collect();
    let png = a.output.file("critical.png")?;
    line_plot(
        &png,
        &PlotSpec {
            title: "critical noise level per direction group",
            x_label: "N",
            y_label: "sigma_c^2",
            log_x: true,
            log_y: true,
        },
        &series,
    )?;
    Ok(vec![csv, png])
}
