//! The painter of [`super::line_plot`]: bands, then solid or dashed lines broken at skipped
//! points.

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use super::{Chart, PALETTE, Painter, Series, usable};

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

impl Painter for Lines<'_> {
    fn paint<X, Y>(&self, chart: &mut Chart<'_, '_, X, Y>) -> std::result::Result<bool, String>
    where
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
        let mut any_label = false;
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let style = color.stroke_width(2);
            let points = s.x.iter().copied().zip(s.y.iter().copied());
            let mut runs = runs(points, self.log_x, self.log_y);
            if runs.is_empty() {
                // An empty run still carries the legend entry.
                runs.push(Vec::new());
            }
            for (r, run) in runs.into_iter().enumerate() {
                let anno = if s.dashed {
                    chart.draw_series(DashedLineSeries::new(run, 10, 6, style))
                } else {
                    chart.draw_series(LineSeries::new(run, style))
                }
                .map_err(|e| err(&e))?;
                if r == 0 && !s.label.is_empty() {
                    any_label = true;
                    anno.label(s.label.clone()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                    });
                }
            }
        }
        Ok(any_label)
    }
}
