//! Line plots and histograms written as PNG files with `plotters`.
//!
//! Text is drawn with DejaVu Sans, bundled in `assets/` (licence: `assets/DejaVu-LICENSE`) and
//! registered once with `plotters`, so plots need no system fonts. Files are written atomically
//! (a temporary file in the same directory, then a rename). Non-finite values, non-positive
//! values on a logarithmic axis and magnitudes beyond 1e100 are skipped; a line is broken where a point is skipped. Empty
//! input gives an empty but valid plot. Nothing here panics on bad data.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;

use crate::{MetricsError, Result};
use hist::{Bars, Histogram};
use lines::Lines;
use plotters::coord::combinators::BindKeyPoints;
use plotters::style::text_anchor;
use ticks::log_ticks;

/// Size in pixels (width, height) of every PNG written by this module.
pub const PLOT_SIZE: (u32, u32) = (800, 600);

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVu-LICENSE`).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Line colours, in order of the series (the "tab10" palette).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One curve of a [`line_plot`]: points `(x[i], y[i])` (the shorter of the two vectors decides
/// the length), an optional shaded band between `lower[i]` and `upper[i]` at `x[i]` and
/// optional error bars (an interval per point).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Legend text; an empty label gives no legend entry.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// Optional (lower, upper) envelope at the same abscissae, drawn as a translucent area
    /// (e.g. mean +- one standard deviation over seeds).
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Draw the line dashed (e.g. a theory curve next to measurements).
    pub dashed: bool,
    /// Optional (lower, upper) error bar at each abscissa, drawn as a capped vertical segment in
    /// the series' colour (e.g. a bootstrap interval of each point).
    pub errors: Option<(Vec<f64>, Vec<f64>)>,
}

impl Series {
    /// A solid line without a band.
    pub fn new(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Self {
            label: label.into(),
            x,
            y,
            band: None,
            dashed: false,
            errors: None,
        }
    }

    /// The same series with a shaded band between `lower` and `upper`.
    pub fn with_band(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        self.band = Some((lower, upper));
        self
    }

    /// The same series with error bars from `lower[i]` to `upper[i]` at `x[i]`.
    pub fn with_errors(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        self.errors = Some((lower, upper));
        self
    }

    /// The same series drawn dashed.
    pub fn as_dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// Title, axis labels and axis scales of a plot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlotSpec<'a> {
    /// Caption above the plot.
    pub title: &'a str,
    /// Label of the horizontal axis.
    pub x_label: &'a str,
    /// Label of the vertical axis.
    pub y_label: &'a str,
    /// Logarithmic horizontal axis (non-positive x values are skipped).
    pub log_x: bool,
    /// Logarithmic vertical axis (non-positive y values are skipped).
    pub log_y: bool,
}

impl<'a> PlotSpec<'a> {
    /// Linear axes with the given title and labels.
    pub fn new(title: &'a str, x_label: &'a str, y_label: &'a str) -> Self {
        Self {
            title,
            x_label,
            y_label,
            log_x: false,
            log_y: false,
        }
    }
}

/// Draw `series` as lines (with optional bands) into a PNG at `path` of size [`PLOT_SIZE`].
pub fn line_plot(path: &Path, spec: &PlotSpec, series: &[Series]) -> Result<()> {
    line_plot_with(path, spec, series, &Extras::default())
}

/// What a figure for a paper adds to a [`line_plot`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
    /// Also write an SVG beside the PNG (same name, extension `svg`; labels stay text).
    pub svg: bool,
    /// A second horizontal axis on top showing x / `divisor` (e.g. N / d), with its label.
    pub top_axis: Option<(f64, String)>,
}

/// [`line_plot`] with the [`Extras`].
pub fn line_plot_with(
    path: &Path,
    spec: &PlotSpec,
    series: &[Series],
    extras: &Extras,
) -> Result<()> {
    let (x, y, painter) = fitted(spec, series);
    let top = extras
        .top_axis
        .as_ref()
        .filter(|(d, _)| d.is_finite() && *d > 0.0);
    write_atomically(path, |tmp| {
        render(tmp, Format::Png, spec, x, y, top, &painter)
    })?;
    if extras.svg {
        let svg = path.with_extension("svg");
        write_atomically(&svg, |tmp| {
            render(tmp, Format::Svg, spec, x, y, top, &painter)
        })?;
    }
    Ok(())
}

/// The x and y axes covering `series` (bands and error bars included) on the scales of
/// `spec`, and the painter that draws them.
fn fitted<'s>(spec: &PlotSpec, series: &'s [Series]) -> (Axis, Axis, Lines<'s>) {
    let xs = series.iter().flat_map(|s| s.x.iter().copied());
    let mut ys: Vec<f64> = series.iter().flat_map(|s| s.y.iter().copied()).collect();
    for s in series {
        for (lo, hi) in s.band.iter().chain(s.errors.iter()) {
            ys.extend(lo.iter().chain(hi.iter()).copied());
        }
    }
    let x = Axis::fit(xs.filter(|&v| usable(v, spec.log_x)), spec.log_x);
    let y = Axis::fit(
        ys.into_iter().filter(|&v| usable(v, spec.log_y)),
        spec.log_y,
    );
    let painter = Lines {
        series,
        log_x: spec.log_x,
        log_y: spec.log_y,
    };
    (x, y, painter)
}

/// Draw a histogram of `values` with `bins` equal-width bins (equal width in log10 x when
/// `spec.log_x`) and an optional dashed vertical marker at `vline` (e.g. a threshold) into a PNG
/// at `path` of size [`PLOT_SIZE`]. `bins = 0` is treated as 1.
pub fn histogram(
    path: &Path,
    spec: &PlotSpec,
    values: &[f64],
    bins: usize,
    vline: Option<f64>,
) -> Result<()> {
    let hist = Histogram::new(values, bins, spec.log_x);
    let vline = vline.filter(|&v| usable(v, spec.log_x));
    let edges = hist.edges.iter().copied().chain(vline);
    let x = Axis::fit(edges, spec.log_x);
    let max_count = hist.counts.iter().copied().max().unwrap_or(0) as f64;
    let y = if spec.log_y {
        // Bars start at 0.5 on a log axis so that a count of 1 is visible.
        Axis::fit([LOG_BAR_BASE, max_count.max(1.0)].into_iter(), true)
    } else {
        Axis::fit([0.0, max_count.max(1.0)].into_iter(), false).starting_at_zero()
    };
    let painter = Bars {
        hist: &hist,
        vline,
        log_y: spec.log_y,
    };
    write_atomically(path, |tmp| {
        render(tmp, Format::Png, spec, x, y, None, &painter)
    })
}

/// Lower end of histogram bars on a logarithmic count axis.
const LOG_BAR_BASE: f64 = 0.5;

/// Largest magnitude drawn; beyond it (and below its inverse on a log axis) values are skipped,
/// because `plotters` overflows on axes spanning hundreds of decades.
const LIMIT: f64 = 1e100;

/// Whether `v` can be placed on an axis: finite and |v| <= [`LIMIT`]; on a log axis within
/// [1 / LIMIT, LIMIT].
fn usable(v: f64, log: bool) -> bool {
    if log {
        (1.0 / LIMIT..=LIMIT).contains(&v)
    } else {
        v.abs() <= LIMIT
    }
}

/// The displayed range of one axis.
#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    /// The range covering `values` (already filtered by [`usable`]) with a 5 % margin; in
    /// log10 space for a log axis. A default range when there are no values.
    fn fit(values: impl Iterator<Item = f64>, log: bool) -> Self {
        let to = |v: f64| if log { v.log10() } else { v };
        let from = |t: f64| if log { 10f64.powf(t) } else { t };
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            let t = to(v);
            lo = lo.min(t);
            hi = hi.max(t);
        }
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        }
        let span = hi - lo;
        let pad = if span > 0.0 {
            0.05 * span
        } else {
            (0.05 * lo.abs()).max(0.5)
        };
        Self {
            lo: from(lo - pad),
            hi: from(hi + pad),
            log,
        }
    }

    /// A linear axis starting exactly at zero (bar charts).
    fn starting_at_zero(self) -> Self {
        Self { lo: 0.0, ..self }
    }
}

/// What is drawn inside the axes; generic over the backend and the coordinate types so that
/// PNG and SVG, linear and logarithmic axes share one code path.
trait Painter {
    /// The legend: one entry per labelled series, drawn below the axes (outside the data).
    fn legend(&self) -> Vec<LegendEntry>;

    /// Draw into `chart`.
    fn paint<DB, X, Y>(&self, chart: &mut Chart<'_, DB, X, Y>) -> std::result::Result<(), String>
    where
        DB: DrawingBackend,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>;
}

/// One legend line: the label and how its series is drawn.
#[derive(Debug, Clone)]
struct LegendEntry {
    label: String,
    style: lines::Style,
}

/// The chart type all painters draw on.
type Chart<'c, DB, X, Y> = ChartContext<'c, DB, Cartesian2d<X, Y>>;

/// The file format of a plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Png,
    Svg,
}

/// Render one plot into `file`, choosing linear or log coordinates per axis.
fn render<P: Painter>(
    file: &Path,
    format: Format,
    spec: &PlotSpec,
    x: Axis,
    y: Axis,
    top: Option<&(f64, String)>,
    painter: &P,
) -> std::result::Result<(), String> {
    ensure_font()?;
    match format {
        Format::Png => render_to(
            BitMapBackend::new(file, PLOT_SIZE),
            spec,
            x,
            y,
            top,
            painter,
        ),
        Format::Svg => render_to(SVGBackend::new(file, PLOT_SIZE), spec, x, y, top, painter),
    }
}

/// Draw one plot on `backend` (PNG or SVG) and write it out.
fn render_to<DB: DrawingBackend, P: Painter>(
    backend: DB,
    spec: &PlotSpec,
    x: Axis,
    y: Axis,
    top: Option<&(f64, String)>,
    painter: &P,
) -> std::result::Result<(), String> {
    let root = backend.into_drawing_area();
    render_on(&root, spec, x, y, top, painter)?;
    root.present().map_err(|e| e.to_string())
}

/// A log axis over `a` labelled at round values ([`log_ticks`]), not only at powers of ten.
fn log(a: Axis) -> impl AsRangedCoord<Value = f64, CoordDescType: ValueFormatter<f64>> {
    (a.lo..a.hi)
        .log_scale()
        .with_key_points(log_ticks(a.lo, a.hi))
}

/// Fill `root`, lay out the legend below the axes, and draw with the axis kinds of `x`, `y`.
fn render_on<DB: DrawingBackend, P: Painter>(
    root: &DrawingArea<DB, Shift>,
    spec: &PlotSpec,
    x: Axis,
    y: Axis,
    top: Option<&(f64, String)>,
    painter: &P,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let legend = painter.legend();
    let rows = legend.len().div_ceil(LEGEND_COLUMNS) as u32;
    let legend_h = if rows == 0 { 0 } else { rows * LEGEND_ROW + 10 };
    let (chart, below) = root.split_vertically(PLOT_SIZE.1 - legend_h);
    let x2 = top.map(|(d, label)| (*d, label.as_str()));
    match (x.log, y.log) {
        (false, false) => draw(&chart, spec, x.lo..x.hi, y.lo..y.hi, x2, painter),
        (true, false) => draw(&chart, spec, log(x), y.lo..y.hi, x2, painter),
        (false, true) => draw(&chart, spec, x.lo..x.hi, log(y), x2, painter),
        (true, true) => draw(&chart, spec, log(x), log(y), x2, painter),
    }?;
    draw_legend(&below, &legend)
}

/// Height of the title strip in pixels.
const TITLE_H: u32 = 36;

/// Entries per legend row.
const LEGEND_COLUMNS: usize = 2;
/// Height of a legend row in pixels.
const LEGEND_ROW: u32 = 22;

/// The legend in `area` (below the axes): a sample of each line, then its label.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
) -> std::result::Result<(), String> {
    let col_w = (PLOT_SIZE.0 as i32 - 80) / LEGEND_COLUMNS as i32;
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    for (i, e) in entries.iter().enumerate() {
        let (r, c) = ((i / LEGEND_COLUMNS) as i32, (i % LEGEND_COLUMNS) as i32);
        let (x, y) = (70 + c * col_w, 8 + r * LEGEND_ROW as i32 + 8);
        e.style.sample(area, (x, y)).map_err(|e| e.to_string())?;
        area.draw_text(
            &e.label,
            &font.pos(text_anchor::Pos::new(
                text_anchor::HPos::Left,
                text_anchor::VPos::Center,
            )),
            (x + 40, y),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Build the axes, mesh and labels, let `painter` draw, then the top axis `x2` = (divisor,
/// label) if given.
fn draw<DB, XS, YS, P>(
    root: &DrawingArea<DB, Shift>,
    spec: &PlotSpec,
    x: XS,
    y: YS,
    x2: Option<(f64, &str)>,
    painter: &P,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    XS: AsRangedCoord<Value = f64>,
    YS: AsRangedCoord<Value = f64>,
    XS::CoordDescType: ValueFormatter<f64>,
    YS::CoordDescType: ValueFormatter<f64>,
    P: Painter,
{
    let err = |e: &dyn std::fmt::Display| e.to_string();
    // The title in its own strip, so that a top axis fits between it and the axes.
    let (head, body) = root.split_vertically(TITLE_H);
    let title = ("sans-serif", 22).into_font().color(&BLACK);
    let title = title.pos(text_anchor::Pos::new(
        text_anchor::HPos::Center,
        text_anchor::VPos::Center,
    ));
    head.draw_text(
        spec.title,
        &title,
        (PLOT_SIZE.0 as i32 / 2, TITLE_H as i32 / 2 + 4),
    )
    .map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&body)
        .margin(12)
        .margin_top(if x2.is_some() { 52 } else { 6 })
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    // Linear axes: a tick within round-off of zero (a sum of steps such as -1.11e-16) is 0.
    let span = |r: std::ops::Range<f64>, log: bool| (!log).then(|| (r.end - r.start).abs());
    let (x_span, y_span) = (
        span(chart.x_range(), spec.log_x),
        span(chart.y_range(), spec.log_y),
    );
    let x_label = |v: &f64| tick_label_on(v, x_span);
    let y_label = |v: &f64| tick_label_on(v, y_span);
    chart
        .configure_mesh()
        .x_desc(spec.x_label)
        .y_desc(spec.y_label)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    painter.paint(&mut chart)?;
    match x2 {
        Some((divisor, label)) => top_axis(root, &chart, divisor, label),
        None => Ok(()),
    }
}

/// A second horizontal axis above the plotting area showing x / `divisor` (e.g. N / d), drawn
/// on `root` (whose origin is the backend's, as for `chart.backend_coord`): ticks at the
/// round values of [`log_ticks`], their labels, and `label`.
fn top_axis<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB, X, Y>,
    divisor: f64,
    label: &str,
) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (px, py) = chart.plotting_area().get_pixel_range();
    let xr = chart.x_range();
    let (lo, hi) = (
        xr.start.min(xr.end) / divisor,
        xr.start.max(xr.end) / divisor,
    );
    let y0 = chart.y_range().start;
    let values = log_ticks(lo, hi);
    let top = py.start;
    let axis = BLACK.stroke_width(1);
    root.draw(&PathElement::new(
        vec![(px.start, top), (px.end, top)],
        axis,
    ))
    .map_err(|e| err(&e))?;
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    let below = font.pos(text_anchor::Pos::new(
        text_anchor::HPos::Center,
        text_anchor::VPos::Bottom,
    ));
    for v in values {
        let (x, _) = chart.backend_coord(&(v * divisor, y0));
        root.draw(&PathElement::new(vec![(x, top), (x, top - 5)], axis))
            .map_err(|e| err(&e))?;
        root.draw_text(&tick_label(&v), &below, (x, top - 7))
            .map_err(|e| err(&e))?;
    }
    let desc = ("sans-serif", 16).into_font().color(&BLACK);
    let desc = desc.pos(text_anchor::Pos::new(
        text_anchor::HPos::Center,
        text_anchor::VPos::Bottom,
    ));
    root.draw_text(label, &desc, ((px.start + px.end) / 2, top - 26))
        .map_err(|e| err(&e))
}

/// Below this fraction of a linear axis's span, a tick value is round-off of zero.
const ZERO_TICK: f64 = 1e-9;

/// [`tick_label`] of a tick on a linear axis spanning `span` (None for a log axis): a value
/// within [`ZERO_TICK`] x span of zero, the round-off of a tick grid that crosses zero
/// (-1.11e-16 = 0.1 - 0.1 * 1.0000000000000011), prints "0".
fn tick_label_on(v: &f64, span: Option<f64>) -> String {
    match span {
        Some(s) if v.abs() <= ZERO_TICK * s => "0".into(),
        _ => tick_label(v),
    }
}

/// A compact tick label: at most 4 significant digits without trailing zeros ("250", "0.35"),
/// scientific notation outside [1e-3, 1e5) ("2.5e-4", "1e6").
fn tick_label(v: &f64) -> String {
    fn trim(s: &str) -> &str {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            s
        }
    }
    let a = v.abs();
    if a == 0.0 || !a.is_finite() {
        return if a == 0.0 { "0".into() } else { v.to_string() };
    }
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        trim(&format!("{v:.decimals$}")).to_string()
    } else {
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{exp}", trim(mantissa))
    }
}

/// Register the bundled font for the families `plotters` asks for, once per process.
pub(crate) fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for family in ["sans-serif", "serif", "monospace"] {
                plotters::style::register_font(family, FontStyle::Normal, FONT_BYTES)
                    .map_err(|_| "the bundled DejaVu Sans font failed to load".to_string())?;
            }
            Ok(())
        })
        .clone()
}

/// Run `render` on a temporary PNG next to `path` (same extension: plotters picks the image
/// format from it), then rename it into place; the temporary file is removed on failure.
pub(crate) fn write_atomically(
    path: &Path,
    render: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    use diffmem_data::files::{AtomicError, write_atomic_with};
    write_atomic_with(path, render).map_err(|e| match e {
        AtomicError::Write(msg) => MetricsError::Plot {
            path: path.to_path_buf(),
            msg,
        },
        AtomicError::Io(path, source) => MetricsError::Io { path, source },
    })
}

pub mod grid;
mod hist;
mod lines;
#[cfg(test)]
mod tests;
pub mod ticks;
