//! The reproductions' figures: PNG (and SVG) line plots written into the reproduction's
//! directory through the same plotting code as the reports.

use anyhow::Result;
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

/// Draws `series` (x on a log axis) into `dir/file` and its SVG, and pushes `file` onto
/// `figures`; nothing when no series has a finite value.
pub fn draw(
    dir: &Path,
    file: &str,
    axes: &Axes,
    mut series: Vec<Series>,
    figures: &mut Vec<String>,
) -> Result<()> {
    series.retain(|s| {
        s.x.iter()
            .zip(&s.y)
            .any(|(x, y)| x.is_finite() && y.is_finite())
    });
    if series.is_empty() {
        return Ok(());
    }
    let spec = PlotSpec {
        title: axes.title,
        x_label: axes.x,
        y_label: axes.y,
        log_x: true,
        log_y: axes.log_y,
    };
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
