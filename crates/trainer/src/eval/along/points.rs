//! `--metrics points` along training (`eval --along-training`): at every snapshot, which
//! training rows the snapshot's samples copy and the per-coordinate variance collapse; then the
//! first snapshot step at which each row is copied, to compare the order of memorisation with
//! local density and typicality (Merger & Goldt, arXiv 2606.14390; arXiv 2605.30642: typical
//! samples are memorised first). Files: `points_first_copy.csv`
//! (`row,index,first_copy_step,density_rK,to_mean,to_class_centroid`; empty step: never
//! copied), `points_dynamics.csv` (`step,copied_rows,copied_fraction,collapsed_fraction`) and
//! `points_dynamics.png`.

use crate::eval::points::{Geometry, copies, geometry, variance_collapse};
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use diffmem_data::Dataset;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::points::spearman;
use diffmem_model::burn::prelude::Device;
use serde_json::{Value, json};
use std::path::Path;

/// What the snapshots showed so far.
pub struct PointsTrack {
    /// The smallest snapshot step at which each training row was copied.
    first: Vec<Option<usize>>,
    /// Per snapshot: step, rows copied, collapsed fraction.
    rows: Vec<(usize, usize, f64)>,
}

impl PointsTrack {
    /// A track over the `n` training rows.
    pub fn new(n: usize) -> Self {
        PointsTrack {
            first: vec![None; n],
            rows: Vec::new(),
        }
    }

    /// Records the snapshot at `step` with its `samples`.
    pub fn observe(
        &mut self,
        step: usize,
        samples: &[f32],
        train: &Dataset,
        threshold: f64,
        device: &Device,
    ) -> Result<()> {
        let c = copies(samples, train, threshold, device)?;
        for (f, &k) in self.first.iter_mut().zip(&c.copies) {
            if k > 0 {
                *f = Some(f.map_or(step, |s| s.min(step)));
            }
        }
        let collapsed =
            variance_collapse(samples, train)?.map_or(f64::NAN, |v| v.0.collapsed_fraction);
        let copied = c.copies.iter().filter(|&&k| k > 0).count();
        self.rows.push((step, copied, collapsed));
        Ok(())
    }

    /// Writes the files and returns the metrics.json entry.
    pub fn write(&self, out: &Path, train: &Dataset, device: &Device) -> Result<Value> {
        let g = geometry(train, device)?;
        let first: Vec<f64> = self
            .first
            .iter()
            .map(|f| f.map_or(f64::NAN, |s| s as f64))
            .collect();
        write_first_copy(out, train, &g, &first)?;
        let n = train.len().max(1) as f64;
        let x = self.write_curve(out, n)?;
        Ok(json!({
            "density_k": g.k,
            "ever_copied_rows": self.first.iter().filter(|f| f.is_some()).count(),
            "spearman_first_copy_density": spearman(&first, &g.density),
            "spearman_first_copy_to_mean": spearman(&first, &g.to_mean),
            "steps": x,
            "copied_fraction": self.rows.iter().map(|r| r.1 as f64 / n).collect::<Vec<_>>(),
            "collapsed_fraction": self.rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        }))
    }

    /// `points_dynamics.csv` and `.png` over the `n` training rows; returns the steps.
    fn write_curve(&self, out: &Path, n: f64) -> Result<Vec<f64>> {
        write_csv(
            &out.join("points_dynamics.csv"),
            &[
                "step",
                "copied_rows",
                "copied_fraction",
                "collapsed_fraction",
            ],
            &self
                .rows
                .iter()
                .map(|&(s, c, v)| {
                    vec![
                        s.to_string(),
                        c.to_string(),
                        number(c as f64 / n),
                        number(v),
                    ]
                })
                .collect::<Vec<_>>(),
        )?;
        let x: Vec<f64> = self.rows.iter().map(|r| r.0 as f64).collect();
        line_plot(
            &out.join("points_dynamics.png"),
            &PlotSpec {
                log_x: true,
                ..PlotSpec::new(
                    "Copied training rows and collapsed coordinates",
                    "training step",
                    "fraction",
                )
            },
            &[
                Series::new(
                    "training rows copied",
                    x.clone(),
                    self.rows.iter().map(|r| r.1 as f64 / n).collect(),
                ),
                Series::new(
                    "coordinates collapsed (Var < 0.1 Var_data)",
                    x.clone(),
                    self.rows.iter().map(|r| r.2).collect(),
                ),
            ],
        )?;
        Ok(x)
    }
}

/// `points_first_copy.csv`: each row's first copy step beside its density and typicality.
fn write_first_copy(out: &Path, train: &Dataset, g: &Geometry, first: &[f64]) -> Result<()> {
    let density = format!("density_r{}", g.k);
    write_csv(
        &out.join("points_first_copy.csv"),
        &[
            "row",
            "index",
            "first_copy_step",
            density.as_str(),
            "to_mean",
            "to_class_centroid",
        ],
        &(0..train.len())
            .map(|j| {
                vec![
                    j.to_string(),
                    train
                        .provenance
                        .indices
                        .get(j)
                        .copied()
                        .unwrap_or(j)
                        .to_string(),
                    number(first[j]),
                    number(g.density[j]),
                    number(g.to_mean[j]),
                    g.to_class.as_ref().map_or(String::new(), |c| number(c[j])),
                ]
            })
            .collect::<Vec<_>>(),
    )
}
