//! Several line plots side by side in one file: a grid of panels, each drawn exactly as a
//! [`super::line_plot`] of [`PLOT_SIZE`] (its own title, axes and legend), row by row.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    Format, PLOT_SIZE, PlotSpec, Series, ensure_font, fitted, render_on, write_atomically,
};
use crate::Result;

/// One panel of a [`line_grid`]: its title, labels and axis scales, and its curves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Panel<'a> {
    /// Title, labels and scales.
    pub spec: PlotSpec<'a>,
    /// The curves, coloured in order as in a single plot.
    pub series: Vec<Series>,
}

/// Draws `panels` into a PNG at `path` as a grid of `columns` panels per row (at least 1),
/// each [`PLOT_SIZE`], filled row by row; with `svg` also an SVG beside it. Each panel fits
/// its own axes; an empty panel gives an empty but valid plot.
pub fn line_grid(path: &Path, panels: &[Panel], columns: usize, svg: bool) -> Result<()> {
    let columns = columns.max(1);
    let rows = panels.len().div_ceil(columns).max(1);
    let size = (PLOT_SIZE.0 * columns as u32, PLOT_SIZE.1 * rows as u32);
    let draw = |file: &Path, format: Format| -> std::result::Result<(), String> {
        ensure_font()?;
        match format {
            Format::Png => grid_on(BitMapBackend::new(file, size), panels, (rows, columns)),
            Format::Svg => grid_on(SVGBackend::new(file, size), panels, (rows, columns)),
        }
    };
    write_atomically(path, |tmp| draw(tmp, Format::Png))?;
    if svg {
        write_atomically(&path.with_extension("svg"), |tmp| draw(tmp, Format::Svg))?;
    }
    Ok(())
}

/// Splits `backend` into `shape` = (rows, columns) areas of [`PLOT_SIZE`] and draws one panel
/// in each (the area's coordinates start at its corner, so a single plot's layout holds).
fn grid_on<DB: DrawingBackend>(
    backend: DB,
    panels: &[Panel],
    shape: (usize, usize),
) -> std::result::Result<(), String> {
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas: Vec<DrawingArea<DB, Shift>> = root.split_evenly(shape);
    for (area, panel) in areas.iter().zip(panels) {
        let (x, y, painter) = fitted(&panel.spec, &panel.series);
        render_on(area, &panel.spec, x, y, None, &painter)?;
    }
    root.present().map_err(|e| e.to_string())
}
