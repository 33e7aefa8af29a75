//! The reproductions' figures: PNG (and SVG) line plots written into the reproduction's
//! directory through the same plotting code as the reports.

use anyhow::Result;
use diffmem_metrics::plot::grid::{Panel, line_grid};
use diffmem_metrics::plot::{Extras, PlotSpec, Series, line_plot_with};
use std::path::Path;

/// Axes of one figure.
pub struct Axes<'a> {
    /// Title.
    pub title: &'a str,
    /// x label.
    pub x: &'a str,
    /// y label.
    pub y: &'a str,
    /// Logarithmic y axis.
    pub log_y: bool,
}

impl<'a> Axes<'a> {
    /// Axes with a logarithmic y axis (the x axis always is).
    pub fn log_log(title: &'a str, x: &'a str, y: &'a str) -> Self {
        Axes {
            title,
            x,
            y,
            log_y: true,
        }
    }
}

impl Axes<'_> {
    /// The plot's spec with `title` (x always on a log axis).
    fn spec<'t>(&'t self, title: &'t str) -> PlotSpec<'t> {
        PlotSpec {
            title,
            x_label: self.x,
            y_label: self.y,
            log_x: true,
            log_y: self.log_y,
        }
    }
}

/// Keeps the series that have at least one finite point.
fn drawable(series: &mut Vec<Series>) {
    series.retain(|s| {
        s.x.iter()
            .zip(&s.y)
            .any(|(x, y)| x.is_finite() && y.is_finite())
    });
}

/// One panel of [`draw_grid`]: its title and curves.
pub struct GridPanel {
    /// Title of the panel.
    pub title: String,
    /// Its curves.
    pub series: Vec<Series>,
}

/// Draws `panels` on the labels and scales of `axes` (its title unused) as a grid of
/// `columns` panels per row into `dir/file` and its SVG, and pushes `file` onto `figures`;
/// nothing when no panel has a finite value.
pub fn draw_grid(
    dir: &Path,
    file: &str,
    axes: &Axes,
    mut panels: Vec<GridPanel>,
    columns: usize,
    figures: &mut Vec<String>,
) -> Result<()> {
    panels.iter_mut().for_each(|p| drawable(&mut p.series));
    if panels.iter().all(|p| p.series.is_empty()) {
        return Ok(());
    }
    let grid: Vec<Panel> = panels
        .iter()
        .map(|p| Panel {
            spec: axes.spec(&p.title),
            series: p.series.clone(),
        })
        .collect();
    line_grid(&dir.join(file), &grid, columns, true)?;
    figures.push(file.to_string());
    Ok(())
}

/// A dashed vertical line at `x` from 0 to 1 (a level marked on a fraction's axis).
pub fn marker(label: &str, x: f64) -> Series {
    Series::new(label, vec![x, x], vec![0.0, 1.0]).as_dashed()
}

/// Draws `series` (x on a log axis) into `dir/file` and its SVG, and pushes `file` onto
/// `figures`; nothing when no series has a finite value.
pub fn draw(
    dir: &Path,
    file: &str,
    axes: &Axes,
    mut series: Vec<Series>,
    figures: &mut Vec<String>,
) -> Result<()> {
    drawable(&mut series);
    if series.is_empty() {
        return Ok(());
    }
    let spec = axes.spec(axes.title);
    let extras = Extras {
        svg: true,
        top_axis: None,
    };
    line_plot_with(&dir.join(file), &spec, &series, &extras)?;
    figures.push(file.to_string());
    Ok(())
}

/// `line` drawn against x / `scale` (e.g. N / d), with its min..max band when it has one.
pub fn scaled(label: &str, line: &crate::report::aggregate::Line, scale: f64) -> Series {
    let x: Vec<f64> = line.n.iter().map(|n| n / scale).collect();
    let s = Series::new(label, x, line.mean.clone());
    if line.count.iter().any(|&c| c > 1) {
        s.with_band(line.min.clone(), line.max.clone())
    } else {
        s
    }
}
