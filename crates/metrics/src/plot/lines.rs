//! The painter of [`super::line_plot`]: bands, then solid or dashed lines broken at skipped
//! points, their markers and error bars.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{Chart, LegendEntry, PALETTE, Painter, Series, usable};

/// Maximal runs of consecutive points that can be drawn on the given axes.
fn runs(
    points: impl Iterator<Item = (f64, f64)>,
    log_x: bool,
    log_y: bool,
) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (x, y) in points {
        if usable(x, log_x) && usable(y, log_y) {
            if let Some(run) = out.last_mut() {
                run.push((x, y));
            }
        } else if out.last().is_some_and(|run| !run.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|run| !run.is_empty());
    out
}

/// Painter of [`line_plot`].
pub(super) struct Lines<'s> {
    /// The curves, coloured in order from the palette.
    pub(super) series: &'s [Series],
    /// Logarithmic x axis (skip x <= 0).
    pub(super) log_x: bool,
    /// Logarithmic y axis (skip y <= 0).
    pub(super) log_y: bool,
}

/// Most points of a series that still get markers (denser curves would be a smear).
const MAX_MARKERS: usize = 60;

/// Marker shapes, in order of the series (with the colours, they tell overlapping lines apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
];

/// Dash patterns (dash, gap) of dashed series, in order.
const DASHES: [(u32, u32); 3] = [(10, 6), (4, 4), (16, 4)];

/// How one series is drawn.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    pub(super) color: RGBColor,
    pub(super) width: u32,
    pub(super) dash: Option<(u32, u32)>,
    pub(super) marker: Option<Marker>,
    /// Marker radius in pixels.
    pub(super) size: u32,
}

impl Style {
    /// The style of series `i` of `all`: its palette colour; a solid line is 2 pixels wider for
    /// each solid line drawn after it (at most 6 pixels), so that later lines on top of earlier
    /// ones leave them visible as borders (three equal curves show three colours); markers
    /// grow the same way; a marker shape per series unless dashed or dense.
    fn of(i: usize, all: &[Series]) -> Self {
        let s = &all[i];
        let dash = s.dashed.then(|| DASHES[i % DASHES.len()]);
        let solid_after = all[i + 1..].iter().filter(|t| !t.dashed).count().min(2) as u32;
        let grow = if dash.is_some() { 0 } else { solid_after };
        let points = s.x.len().min(s.y.len());
        let marker = (dash.is_none() && points <= MAX_MARKERS).then(|| MARKERS[i % MARKERS.len()]);
        Self {
            color: PALETTE[i % PALETTE.len()],
            width: 2 + 2 * grow,
            dash,
            marker,
            size: 4 + 2 * grow,
        }
    }

    /// Draws `marker` at pixel `(x, y)` of `area`.
    fn mark<DB: DrawingBackend, CT: CoordTranslate>(
        &self,
        area: &DrawingArea<DB, CT>,
        at: CT::From,
    ) -> std::result::Result<(), String>
    where
        CT::From: Clone,
    {
        let Some(m) = self.marker else {
            return Ok(());
        };
        let (fill, size) = (self.color.filled(), self.size as i32);
        let r = match m {
            Marker::Circle => area.draw(&Circle::new(at, size, fill)),
            Marker::Triangle => area.draw(&TriangleMarker::new(at, size + 1, fill)),
            Marker::Square => area.draw(
                &(EmptyElement::at(at) + Rectangle::new([(-size, -size), (size, size)], fill)),
            ),
            Marker::Cross => area.draw(&Cross::new(at, size, self.color.stroke_width(2))),
        };
        r.map_err(|e| e.to_string())
    }

    /// A legend sample of the style at pixel `(x, y)`: a short line and the marker.
    pub(super) fn sample<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        (x, y): (i32, i32),
    ) -> std::result::Result<(), String> {
        let stroke = self.color.stroke_width(self.width);
        let r = match self.dash {
            Some((dash, gap)) => area.draw(&DashedPathElement::new(
                vec![(x, y), (x + 32, y)],
                dash / 2,
                gap / 2,
                stroke,
            )),
            None => area.draw(&PathElement::new(vec![(x, y), (x + 32, y)], stroke)),
        };
        r.map_err(|e| e.to_string())?;
        self.mark(area, (x + 16, y))
    }
}

impl Painter for Lines<'_> {
    fn legend(&self) -> Vec<LegendEntry> {
        self.series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.label.is_empty())
            .map(|(i, s)| LegendEntry {
                label: s.label.clone(),
                style: Style::of(i, self.series),
            })
            .collect()
    }

    fn paint<DB, X, Y>(&self, chart: &mut Chart<'_, DB, X, Y>) -> std::result::Result<(), String>
    where
        DB: DrawingBackend,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        // Bands first, so that every line is drawn on top of every band.
        for (i, s) in self.series.iter().enumerate() {
            let Some((lower, upper)) = &s.band else {
                continue;
            };
            let color = PALETTE[i % PALETTE.len()];
            let pts = s.x.iter().zip(lower.iter().zip(upper.iter()));
            let pairs = pts.map(|(&x, (&lo, &hi))| (x, lo, hi));
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let mut flush = |run: &mut Vec<(f64, f64, f64)>| -> std::result::Result<(), String> {
                if run.len() >= 2 {
                    let upper = run.iter().map(|&(x, _, hi)| (x, hi));
                    let lower = run.iter().rev().map(|&(x, lo, _)| (x, lo));
                    let poly = Polygon::new(upper.chain(lower).collect::<Vec<_>>(), color.mix(0.2));
                    chart
                        .draw_series(std::iter::once(poly))
                        .map_err(|e| err(&e))?;
                }
                run.clear();
                Ok(())
            };
            for (x, lo, hi) in pairs {
                let ok = usable(x, self.log_x) && usable(lo, self.log_y) && usable(hi, self.log_y);
                if ok {
                    run.push((x, lo, hi));
                } else {
                    flush(&mut run)?;
                }
            }
            flush(&mut run)?;
        }
        for (i, s) in self.series.iter().enumerate() {
            let style = Style::of(i, self.series);
            let stroke = style.color.stroke_width(style.width);
            let points = s.x.iter().copied().zip(s.y.iter().copied());
            for run in runs(points, self.log_x, self.log_y) {
                match style.dash {
                    Some((dash, gap)) => {
                        chart.draw_series(DashedLineSeries::new(run.clone(), dash, gap, stroke))
                    }
                    None => chart.draw_series(LineSeries::new(run.clone(), stroke)),
                }
                .map_err(|e| err(&e))?;
                let area = chart.plotting_area();
                for p in run {
                    style.mark(area, p)?;
                }
            }
            if let Some((lower, upper)) = &s.errors {
                // Bars of different series at the same x side by side, centred on it.
                let (k, of) = (
                    self.series[..i]
                        .iter()
                        .filter(|t| t.errors.is_some())
                        .count(),
                    self.series.iter().filter(|t| t.errors.is_some()).count(),
                );
                let dx = (2 * k as i32 - (of as i32 - 1)) * DODGE / 2;
                self.error_bars(chart, (&s.x, lower, upper), dx, style.color)?;
            }
        }
        Ok(())
    }
}

/// Half-width in pixels of an error bar's caps.
const CAP: i32 = 5;
/// Horizontal distance in pixels between the error bars of successive series at one x.
const DODGE: i32 = 8;

impl Lines<'_> {
    /// Capped vertical segments from `lower[i]` to `upper[i]` at `x[i]`, shifted `dx` pixels
    /// to the right, in `color`; points not drawable on the axes are skipped.
    fn error_bars<DB, X, Y>(
        &self,
        chart: &mut Chart<'_, DB, X, Y>,
        (x, lower, upper): (&[f64], &[f64], &[f64]),
        dx: i32,
        color: RGBColor,
    ) -> std::result::Result<(), String>
    where
        DB: DrawingBackend,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let stroke = color.stroke_width(2);
        let area = chart.plotting_area();
        for ((&x, &lo), &hi) in x.iter().zip(lower).zip(upper) {
            if !(usable(x, self.log_x) && usable(lo, self.log_y) && usable(hi, self.log_y)) {
                continue;
            }
            // Pixel offsets from the lower end: the bar's height is a difference of pixels.
            let h = area.map_coordinate(&(x, hi)).1 - area.map_coordinate(&(x, lo)).1;
            let bar = EmptyElement::at((x, lo))
                + PathElement::new([(dx, 0), (dx, h)], stroke)
                + PathElement::new([(dx - CAP, 0), (dx + CAP, 0)], stroke)
                + PathElement::new([(dx - CAP, h), (dx + CAP, h)], stroke);
            area.draw(&bar).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}
