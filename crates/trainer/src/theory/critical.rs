//! `diffmem theory critical`: critical noise levels of geometric memorisation per direction.

use super::columns::{self, Cell, Column, col};
use super::output::{OutputArgs, num};
use crate::theory::args::{ScheduleArgs, spectrum};
use anyhow::{Context, Result, bail};
use diffmem_data::DataSpec;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::theory::critical::{CriticalLevel, critical_levels};
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
    /// Variances of a synthetic data spec (default `manifold:paper`): the generator's variances
    /// (for a manifold, its blocks and ambient std before any unit-norm scaling).
    #[arg(long)]
    pub data: Option<String>,
    /// Training-set sizes N.
    #[arg(long, value_delimiter = ',', default_value = "250,500,20000")]
    pub n: Vec<usize>,
    /// The data are scaled to unit norm, x / |x|: use the exact variances E[x_i^2 / |x|^2] of
    /// the scaled data and the normalised formula. Implied by a normalised manifold
    /// (`manifold:paper`); with `manifold:paper-raw` or a `--spectrum` it asks what the
    /// normalised version of that data would give.
    #[arg(long)]
    pub normalized: bool,
    /// Schedule used to translate noise levels into DDPM steps.
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the variances come from.
struct Variances {
    /// Variances of the centred Gaussian that generates the data (before any unit-norm
    /// scaling).
    gaussian: Vec<f64>,
    /// True when the data are that Gaussian scaled to unit norm.
    normalized: bool,
    /// A description for the header.
    source: String,
}

impl CriticalArgs {
    /// The generator's variances, whether the data are normalised, and a description.
    fn variances(&self) -> Result<Variances> {
        if let (Some(spec), Some(d)) = (&self.spectrum, self.d) {
            return Ok(Variances {
                gaussian: spectrum(spec, d)?,
                normalized: self.normalized,
                source: format!("spectrum {spec}, d = {d}"),
            });
        }
        let data = self.data.as_deref().unwrap_or("manifold:paper");
        let spec = DataSpec::parse(data).with_context(|| format!("bad --data `{data}`"))?;
        if let DataSpec::Manifold(m) = &spec {
            let mut v: Vec<f64> = m
                .blocks
                .iter()
                .flat_map(|&(k, s)| std::iter::repeat_n(s * s, k))
                .collect();
            v.resize(m.d, m.ambient * m.ambient);
            let normalized = m.normalize || self.normalized;
            let what = if m.normalize {
                "rows scaled to unit norm"
            } else if self.normalized {
                "as if its rows were scaled to unit norm (--normalized)"
            } else {
                "not normalised"
            };
            return Ok(Variances {
                gaussian: v,
                normalized,
                source: format!("data {data} (generator variances; {what})"),
            });
        }
        let truth = spec
            .truth()
            .with_context(|| format!("cannot build `{data}`"))?
            .with_context(|| format!("`{data}` is not synthetic: its covariance is unknown"))?;
        if let Some(why) = truth.not_gaussian() {
            bail!("the critical levels are those of a Gaussian or a linear manifold: {why}");
        }
        if self.normalized && truth.mean.iter().any(|&m| m != 0.0) {
            bail!(
                "--normalized with --data {data}: the unit-norm variances assume centred data, \
                 and this Gaussian has a mean (use mean=0)"
            );
        }
        // The eigenvalues are the generator's own: no d x d matrix is built or decomposed.
        Ok(Variances {
            gaussian: truth.cov.eigenvalues_descending(),
            normalized: self.normalized,
            source: format!("data {data} (eigenvalues of its true covariance)"),
        })
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
    col("paper t", "paper_t", |l| Cell::count(l.ddpm_step)),
];

/// Runs `diffmem theory critical`.
pub fn run(a: &CriticalArgs) -> Result<()> {
    let Variances {
        gaussian: variances,
        normalized,
        source,
    } = a.variances()?;
    let schedule = a.schedule.schedule()?;
    let levels = critical_levels(&variances, &a.n, normalized, &schedule)?;
    let header = format!(
        "critical noise levels of geometric memorisation (Achilli et al., arXiv 2410.08727), {}: {}\n\
         sigma_c^2 = {}; direction i collapses onto training points for sigma^2 < sigma_c^2 \
         (DDPM: (1-abar_t)/abar_t < sigma_c^2, i.e. t < the step shown, {})",
        if normalized {
            "normalised data (exact unit-norm variances E[x_i^2/|x|^2])"
        } else {
            "unnormalised data"
        },
        source,
        if normalized {
            "s_i^2 / (2 ln N)"
        } else {
            "[s_i^2 + sqrt(s_i^4 + 4 ln N sum_j s_j^4)] / (4 ln N)"
        },
        a.schedule.describe()
    );
    let table = columns::table(&COLUMNS, &levels);
    let files = write_files(a, &variances, normalized, &levels)?;
    let json = serde_json::json!({
        "command": "theory critical",
        "source": source,
        "normalized": normalized,
        "schedule": a.schedule.json()?,
        "levels": levels,
    });
    a.output.emit(&header, &table, &json, &files)
}

/// critical.csv and sigma_c^2 versus N for every group of directions.
fn write_files(
    a: &CriticalArgs,
    variances: &[f64],
    normalized: bool,
    levels: &[CriticalLevel],
) -> Result<Vec<PathBuf>> {
    let csv = a.output.file("critical.csv")?;
    columns::write(&csv, &COLUMNS, levels)?;
    let grid = super::output::plot_n_grid(&a.n)?;
    let schedule = a.schedule.schedule()?;
    let curve = critical_levels(variances, &grid, normalized, &schedule)?;
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
                errors: None,
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
