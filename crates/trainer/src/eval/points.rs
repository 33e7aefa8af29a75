//! `--metrics points`: memorisation per training point (formulas and papers:
//! `diffmem_metrics::points`). For every training row, how many samples copy it (it is their
//! nearest neighbour with d1/d2 below the threshold) and how close the nearest sample comes,
//! its local density r_k and typicality (distance to the training mean and to its class
//! centroid), its label; and the per-coordinate variance of the samples against the data's.
//!
//! Files: `points.csv` (one row per training row), `points_by_class.csv` (labelled data),
//! `points_density.csv` and `points_density.png` (copy rate against density, equal-count
//! bins, 95% Wilson intervals), `points_most_copied.png`/`.svg` (the most copied training
//! images, each beside its closest copy), `variance_map.png` (data variance, sample variance,
//! their ratio; images only).

use crate::io::csv::{number, write_csv};
use anyhow::{Result, bail};
use diffmem_data::{Dataset, SampleShape};
use diffmem_metrics::memorization::nn_ratios;
use diffmem_metrics::nn::{NnConfig, nearest_neighbours};
use diffmem_metrics::nn_figure::{NnFigure, NnRow, write_nn_figure};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use diffmem_metrics::points::{
    COLLAPSE_FRACTION, Collapse, DENSITY_K, DensityBin, by_class, class_centroid_distances,
    collapse, coordinate_variance, copy_counts, density_bins, distance_to, distinct_rows,
    kth_other, mean_row, most_copied, variance_ratio,
};
use diffmem_model::burn::prelude::Device;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::path::Path;

/// Equal-count density bins of the copy-rate figure.
pub const DENSITY_BINS: usize = 8;
/// Rows of the most-copied figure.
pub const FIGURE_ROWS: usize = 16;

/// The geometry of the training rows: local density and typicality.
pub struct Geometry {
    /// r_k of each training row (the distance to its k-th nearest other row, / sqrt(D)).
    pub density: Vec<f64>,
    /// k actually used (DENSITY_K, fewer for a set of DENSITY_K rows or fewer).
    pub k: usize,
    /// Distance of each row to the training mean, / sqrt(D).
    pub to_mean: Vec<f64>,
    /// Distance of each row to its class centroid (labelled data).
    pub to_class: Option<Vec<f64>>,
}

/// The density and typicality of every training row (at least 2 rows).
pub fn geometry(train: &Dataset, device: &Device) -> Result<Geometry> {
    let (d, n) = (train.dim(), train.len());
    if n < 2 {
        bail!("--metrics points needs at least 2 training rows (got {n}): train on more data");
    }
    let k = DENSITY_K.min(n - 1);
    let own = nearest_neighbours(
        &train.samples,
        &train.samples,
        d,
        &NnConfig::new(k + 1, d),
        device,
    )?;
    let mean = mean_row(&train.samples, d);
    Ok(Geometry {
        density: kth_other(&own, k)?,
        k,
        to_mean: train
            .samples
            .chunks_exact(d)
            .map(|r| distance_to(r, &mean))
            .collect(),
        to_class: train
            .labels
            .as_ref()
            .filter(|l| l.len() == n)
            .map(|l| class_centroid_distances(&train.samples, d, l)),
    })
}

/// Who copies what: per training row and per sample.
pub struct Copies {
    /// Copies of each training row (identical rows count as one image: its copies go to the
    /// first of them).
    pub copies: Vec<usize>,
    /// The first row identical to each row (itself when it has no earlier duplicate).
    pub same_as: Vec<usize>,
    /// Nearest and second-nearest distinct training row of each sample.
    pub nn: [Vec<usize>; 2],
    /// d1 and d2 of each sample.
    pub d: [Vec<f64>; 2],
}

/// The copies of the training rows by `samples` (at least one), against the distinct rows.
pub fn copies(samples: &[f32], train: &Dataset, threshold: f64, device: &Device) -> Result<Copies> {
    let (d, n) = (train.dim(), train.len());
    let (first, group) = distinct_rows(&train.samples, d);
    if samples.len() < d || first.len() < 2 {
        bail!(
            "--metrics points needs at least 1 sample and 2 distinct training rows (got {} \
             samples, {} distinct of {n} rows): raise --num or train on more data",
            samples.len() / d.max(1),
            first.len()
        );
    }
    let unique: Cow<[f32]> = if first.len() == n {
        Cow::Borrowed(&train.samples)
    } else {
        Cow::Owned(first.iter().flat_map(|&j| train.row(j).to_vec()).collect())
    };
    let nn = nearest_neighbours(samples, &unique, d, &NnConfig::new(2, d), device)?;
    let ratios = nn_ratios(&nn)?;
    let to_row = |v: Vec<usize>| v.into_iter().map(|g| first[g]).collect::<Vec<usize>>();
    let nn1 = to_row(nn.indices_at(0)?);
    Ok(Copies {
        copies: copy_counts(&nn1, &ratios, threshold, n)?,
        same_as: group.iter().map(|&g| first[g]).collect(),
        nn: [nn1, to_row(nn.indices_at(1)?)],
        d: [nn.distances_at(0)?, nn.distances_at(1)?],
    })
}

/// What is measured per training row and per sample.
pub struct Measured {
    /// Copies of each training row.
    pub copies: Vec<usize>,
    /// The first row identical to each row.
    pub same_as: Vec<usize>,
    /// Distance from each training row to its nearest sample, / sqrt(D).
    pub nearest_sample: Vec<f64>,
    /// r_k of each training row (NaN when the set has k rows or fewer).
    pub density: Vec<f64>,
    /// k actually used (DENSITY_K, fewer for a tiny set).
    pub k: usize,
    /// Distance of each row to the training mean, / sqrt(D).
    pub to_mean: Vec<f64>,
    /// Distance of each row to its class centroid (labelled data).
    pub to_class: Option<Vec<f64>>,
    /// Nearest and second-nearest training row of each sample, d1 and d2.
    pub nn: [Vec<usize>; 2],
    /// d1 and d2 of each sample.
    pub d: [Vec<f64>; 2],
}

/// The per-row and per-sample measurements of `samples` against `train`.
pub fn measure(
    samples: &[f32],
    train: &Dataset,
    threshold: f64,
    device: &Device,
) -> Result<Measured> {
    let c = copies(samples, train, threshold, device)?;
    let g = geometry(train, device)?;
    let d = train.dim();
    let back = nearest_neighbours(&train.samples, samples, d, &NnConfig::new(1, d), device)?;
    Ok(Measured {
        copies: c.copies,
        same_as: c.same_as,
        nearest_sample: back.distances_at(0)?,
        density: g.density,
        k: g.k,
        to_mean: g.to_mean,
        to_class: g.to_class,
        nn: c.nn,
        d: c.d,
    })
}

/// Computes and writes the per-point metrics of `samples`.
pub fn run(
    samples: &[f32],
    train: &Dataset,
    threshold: f64,
    nn_scale: usize,
    device: &Device,
    out: &Path,
) -> Result<Value> {
    let m = measure(samples, train, threshold, device)?;
    write_rows(out, train, &m)?;
    let classes = train
        .labels
        .as_ref()
        .filter(|l| l.len() == train.len())
        .map(|l| by_class(l, &m.copies, &m.density));
    if let Some(c) = &classes {
        write_csv(
            &out.join("points_by_class.csv"),
            &[
                "label",
                "rows",
                "copied_rows",
                "copies",
                "copy_rate",
                "mean_density",
            ],
            &c.iter()
                .map(|c| {
                    vec![
                        c.label.to_string(),
                        c.rows.to_string(),
                        c.copied_rows.to_string(),
                        c.copies.to_string(),
                        number(c.copy_rate),
                        number(c.mean_density),
                    ]
                })
                .collect::<Vec<_>>(),
        )?;
    }
    let bins = density_bins(&m.density, &m.copies, DENSITY_BINS);
    write_density(out, &bins, m.k)?;
    most_copied_figure(out, samples, train, &m, threshold, nn_scale)?;
    let variance = variance_map(out, samples, train)?;
    Ok(summary(train, &m, threshold, &bins, classes, variance))
}

/// The metrics.json entry.
fn summary(
    train: &Dataset,
    m: &Measured,
    threshold: f64,
    bins: &[DensityBin],
    classes: Option<Vec<diffmem_metrics::points::ClassCopies>>,
    variance: Value,
) -> Value {
    let copied = m.copies.iter().filter(|&&c| c > 0).count();
    let top: Vec<Value> = most_copied(&m.copies, 5)
        .into_iter()
        .map(|j| json!({ "row": j, "index": index(train, j), "copies": m.copies[j] }))
        .collect();
    let col = |f: fn(&DensityBin) -> f64| bins.iter().map(f).collect::<Vec<f64>>();
    json!({
        "num_samples": m.nn[0].len(),
        "num_train": train.len(),
        "distinct_rows": m.same_as.iter().enumerate().filter(|&(j, &f)| j == f).count(),
        "threshold": threshold,
        "density_k": m.k,
        "memorised_samples": m.copies.iter().sum::<usize>(),
        "copied_rows": copied,
        "copied_fraction": copied as f64 / train.len() as f64,
        "max_copies": m.copies.iter().copied().max().unwrap_or(0),
        "most_copied": top,
        "density_bins": {
            "density": col(|b| b.density_median),
            "copy_rate": col(|b| b.copy_rate),
            "lo": col(|b| b.lo),
            "hi": col(|b| b.hi),
            "rows": bins.iter().map(|b| b.rows).collect::<Vec<_>>(),
        },
        "copy_rate_densest": bins.first().map(|b| b.copy_rate),
        "copy_rate_sparsest": bins.last().map(|b| b.copy_rate),
        "by_class": classes,
        "variance": variance,
    })
}

/// The source index of training row `j`.
fn index(train: &Dataset, j: usize) -> usize {
    train.provenance.indices.get(j).copied().unwrap_or(j)
}

/// `points.csv`.
fn write_rows(out: &Path, train: &Dataset, m: &Measured) -> Result<()> {
    let label = |j: usize| {
        train
            .labels
            .as_ref()
            .and_then(|l| l.get(j))
            .map_or(String::new(), u32::to_string)
    };
    let density = format!("density_r{}", m.k);
    write_csv(
        &out.join("points.csv"),
        &[
            "row",
            "index",
            "label",
            "copies",
            "same_as",
            "nearest_sample",
            density.as_str(),
            "to_mean",
            "to_class_centroid",
        ],
        &(0..train.len())
            .map(|j| {
                vec![
                    j.to_string(),
                    index(train, j).to_string(),
                    label(j),
                    m.copies[j].to_string(),
                    m.same_as[j].to_string(),
                    number(m.nearest_sample[j]),
                    number(m.density[j]),
                    number(m.to_mean[j]),
                    m.to_class.as_ref().map_or(String::new(), |c| number(c[j])),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

/// `points_density.csv` and `points_density.png`.
fn write_density(out: &Path, bins: &[DensityBin], k: usize) -> Result<()> {
    write_csv(
        &out.join("points_density.csv"),
        &[
            "density_lo",
            "density_hi",
            "density_median",
            "rows",
            "copied_rows",
            "copies",
            "copy_rate",
            "lo",
            "hi",
        ],
        &bins
            .iter()
            .map(|b| {
                vec![
                    number(b.density_lo),
                    number(b.density_hi),
                    number(b.density_median),
                    b.rows.to_string(),
                    b.copied_rows.to_string(),
                    b.copies.to_string(),
                    number(b.copy_rate),
                    number(b.lo),
                    number(b.hi),
                ]
            })
            .collect::<Vec<_>>(),
    )?;
    let x: Vec<f64> = bins.iter().map(|b| b.density_median).collect();
    let col = |f: fn(&DensityBin) -> f64| bins.iter().map(f).collect::<Vec<f64>>();
    let x_label = format!("local density r_{k} (distance to the {k}-th nearest training row)");
    line_plot(
        &out.join("points_density.png"),
        &PlotSpec::new(
            "Copy rate against local density (right: sparser)",
            &x_label,
            "fraction of training rows copied",
        ),
        &[
            Series::new("copy rate (95% Wilson interval)", x, col(|b| b.copy_rate))
                .with_errors(col(|b| b.lo), col(|b| b.hi)),
        ],
    )?;
    Ok(())
}

/// `points_most_copied.png`/`.svg`: the most copied training images (column NN1), each beside
/// its closest copy (image data with at least one copy only).
fn most_copied_figure(
    out: &Path,
    samples: &[f32],
    train: &Dataset,
    m: &Measured,
    threshold: f64,
    scale: usize,
) -> Result<()> {
    let top = most_copied(&m.copies, FIGURE_ROWS);
    if !matches!(train.shape, SampleShape::Image { .. }) || top.is_empty() {
        return Ok(());
    }
    let rows: Vec<NnRow> = top
        .iter()
        .filter_map(|&j| {
            let i = (0..m.nn[0].len())
                .filter(|&i| m.nn[0][i] == j)
                .min_by(|&a, &b| m.d[0][a].total_cmp(&m.d[0][b]))?;
            Some(NnRow {
                sample: i,
                nn1: j,
                nn2: m.nn[1][i],
                nn1_label: index(train, j),
                nn2_label: index(train, m.nn[1][i]),
                d1: m.d[0][i],
                d2: m.d[1][i],
            })
        })
        .collect();
    let counts: Vec<String> = top.iter().map(|&j| m.copies[j].to_string()).collect();
    let fig = NnFigure {
        title: format!(
            "The {} most copied training images (NN1), each beside its closest copy; copies: {}",
            rows.len(),
            counts.join(", ")
        ),
        rows,
        samples,
        train: &train.samples,
        shape: train.shape,
        scale: u32::try_from(scale.clamp(1, 16)).unwrap_or(1),
        blocks: 2,
        threshold,
    };
    let png = out.join("points_most_copied.png");
    write_nn_figure(&png, Some(&out.join("points_most_copied.svg")), &fig)?;
    Ok(())
}

/// The per-coordinate variance collapse of `samples` (at least 2) against the training data,
/// with the ratio per coordinate; None for fewer than 2 samples.
pub fn variance_collapse(
    samples: &[f32],
    train: &Dataset,
) -> Result<Option<(Collapse, [Vec<f64>; 3])>> {
    let d = train.dim();
    if samples.len() < 2 * d {
        return Ok(None);
    }
    let (vd, vs) = (
        coordinate_variance(&train.samples, d),
        coordinate_variance(samples, d),
    );
    let ratio = variance_ratio(&vs, &vd);
    Ok(Some((
        collapse(&ratio, COLLAPSE_FRACTION)?,
        [vd, vs, ratio],
    )))
}

/// The collapse summary and, for images, `variance_map.png` (three tiles: data variance and
/// sample variance on one scale, white = the largest data variance; their ratio, white = 1 or
/// more).
fn variance_map(out: &Path, samples: &[f32], train: &Dataset) -> Result<Value> {
    let Some((c, [vd, vs, ratio])) = variance_collapse(samples, train)? else {
        return Ok(Value::Null);
    };
    if let SampleShape::Image { c: ch, h, w } = train.shape {
        let top = vd
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        let unit = |v: f64| (2.0 * v.clamp(0.0, 1.0) - 1.0) as f32;
        let mut tiles: Vec<f32> = vd.iter().map(|v| unit(v / top)).collect();
        tiles.extend(vs.iter().map(|v| unit(v / top)));
        tiles.extend(
            ratio
                .iter()
                .map(|&r| unit(if r.is_nan() { 1.0 } else { r })),
        );
        let f = 4;
        let big = upscale(&tiles, ch, h, w, f);
        let shape = SampleShape::Image {
            c: ch,
            h: h * f,
            w: w * f,
        };
        diffmem_data::grid::write_grid(&out.join("variance_map.png"), &big, shape, 3)?;
    }
    Ok(serde_json::to_value(&c)?)
}

/// Each `[c, h, w]` image of `x` enlarged `f` times (nearest neighbour).
fn upscale(x: &[f32], c: usize, h: usize, w: usize, f: usize) -> Vec<f32> {
    x.chunks_exact(c * h * w)
        .flat_map(|img| {
            (0..c * h * f * w * f).map(move |k| {
                let (ch, rest) = (k / (h * f * w * f), k % (h * f * w * f));
                let (y, x) = (rest / (w * f) / f, rest % (w * f) / f);
                img[(ch * h + y) * w + x]
            })
        })
        .collect()
}
