//! Binning and the painter of [`super::histogram`].

use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;

use super::lines::Style;
use super::{Chart, LOG_BAR_BASE, LegendEntry, PALETTE, Painter, usable};

/// Bin edges (natural units) and counts of a histogram.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Histogram {
    /// `bins + 1` ascending bin edges.
    pub(super) edges: Vec<f64>,
    /// Values per bin.
    pub(super) counts: Vec<usize>,
}

impl Histogram {
    /// Bin the usable `values` into `bins` equal-width bins (in log10 space if `log_x`)
    /// spanning their range; the last bin is closed on the right.
    pub(super) fn new(values: &[f64], bins: usize, log_x: bool) -> Self {
        let bins = bins.max(1);
        let to = |v: f64| if log_x { v.log10() } else { v };
        let from = |t: f64| if log_x { 10f64.powf(t) } else { t };
        let t: Vec<f64> = values
            .iter()
            .filter(|&&v| usable(v, log_x))
            .map(|&v| to(v))
            .collect();
        let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = match (lo <= hi, hi - lo > 0.0) {
            (false, _) => (0.0, 1.0),
            (true, true) => (lo, hi),
            (true, false) => (lo - 0.5, hi + 0.5),
        };
        let width = (hi - lo) / bins as f64;
        let mut counts = vec![0usize; bins];
        for v in t {
            let k = ((v - lo) / width).floor();
            // NaN (impossible here) and values at the top edge go to the last bin.
            let k = if k.is_finite() {
                k.max(0.0) as usize
            } else {
                bins - 1
            };
            counts[k.min(bins - 1)] += 1;
        }
        let edges = (0..=bins).map(|i| from(lo + width * i as f64)).collect();
        Self { edges, counts }
    }
}

/// Painter of [`histogram`].
pub(super) struct Bars<'h> {
    /// The binned values.
    pub(super) hist: &'h Histogram,
    /// Where to draw the dashed marker, if anywhere (already checked to fit the axis).
    pub(super) vline: Option<f64>,
    /// Logarithmic count axis (bars start at [`LOG_BAR_BASE`]).
    pub(super) log_y: bool,
}

impl Painter for Bars<'_> {
    fn legend(&self) -> Vec<LegendEntry> {
        self.vline
            .map(|v| LegendEntry {
                label: format!("threshold {v:.4}"),
                style: Style {
                    color: PALETTE[3],
                    width: 2,
                    dash: Some((10, 6)),
                    marker: None,
                    size: 0,
                },
            })
            .into_iter()
            .collect()
    }

    fn paint<DB, X, Y>(&self, chart: &mut Chart<'_, DB, X, Y>) -> std::result::Result<(), String>
    where
        DB: DrawingBackend,
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let base = if self.log_y { LOG_BAR_BASE } else { 0.0 };
        let color = PALETTE[0];
        let bars = self.hist.counts.iter().enumerate().filter(|(_, c)| **c > 0);
        let rects = bars.map(|(i, &c)| {
            let (x0, x1) = (self.hist.edges[i], self.hist.edges[i + 1]);
            Rectangle::new([(x0, base), (x1, c as f64)], color.mix(0.75).filled())
        });
        chart.draw_series(rects).map_err(|e| err(&e))?;
        let Some(v) = self.vline else {
            return Ok(());
        };
        let top = chart.y_range().end;
        let red = PALETTE[3].stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new([(v, base), (v, top)], 10, 6, red))
            .map_err(|e| err(&e))?;
        Ok(())
    }
}
