//! Files of a spectrum analysis: `spectra.csv`, `dims.csv`, `blocks.csv` (manifold data) and
//! plots of the normalised spectra at several timesteps, the latent dimension vs noise and the
//! kept fraction of each manifold block vs noise.
//!
//! Conventions shared by every file: `paper_t` is the paper's timestep t in 1..=T (schedule
//! index t - 1, abar_t = prod_{s<=t} (1 - beta_s)); `probe` says where the field was probed,
//! `clean` (sqrt(abar_t) x0) or `noised` (sqrt(abar_t) x0 + sqrt(1 - abar_t) z, draw `draw`);
//! the theory's `critical_sigma2` applies to `noised` rows.
//!
//! - `spectra.csv`: `set,point,probe,draw,method,kind,paper_t,ve_sigma2,index,value,raw`;
//!   `index` is the rank in the descending raw spectrum (0-based) and `value = raw / raw[1]`,
//!   so the rows with index >= 1 are the authors' normalised spectrum.
//! - `dims.csv`: `set,point,probe,draw,method,kind,paper_t,ve_sigma2,cliff,cliff_authors,gap,cliff_found,gap_found`
//!   (`cliff` counts tangent directions, `cliff_authors` = the authors' convention, one more).
//! - `blocks.csv`: `set,point,probe,draw,paper_t,ve_sigma2,block,label,s2,critical_sigma2,mean_eig,min_eig,max_eig,kept`
//!   (eigenvalues of the block-projected symmetric part of -J).
//!
//! Plots show the spread over points as interquartile bands (a count's or a positive value's
//! quartiles never leave its range, a mean minus a std does): spectra and latent dimension as
//! medians, kept fractions as means (the curve whose crossing defines the collapse level)
//! with the band clamped at 0. The latent-dimension plot marks the headline's noise levels.
//!
//! Every file is written to a temporary name and renamed.

use super::report::{Analysis, Probe};
use super::summary::{DimsRow, SpectrumSummary, method_kinds, probes, spectrum_quantiles};
use crate::plot::{PlotSpec, Series, line_plot};
use crate::{MetricsError, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Timesteps drawn in one spectra plot, at most.
const MAX_CURVES: usize = 6;

/// Summarises `a` and writes its files into `dir`; returns the summary.
pub fn write_report(a: &Analysis, dir: &Path) -> Result<SpectrumSummary> {
    let summary = SpectrumSummary::of(a);
    write_outputs(a, &summary, dir)?;
    Ok(summary)
}

/// Writes the CSV files and plots of `a` into `dir` (created if needed); returns the paths.
pub fn write_outputs(a: &Analysis, summary: &SpectrumSummary, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| MetricsError::Io {
        path: dir.into(),
        source,
    })?;
    let mut written = vec![
        write_file(&dir.join("spectra.csv"), &spectra_csv(a))?,
        write_file(&dir.join("dims.csv"), &dims_csv(a))?,
    ];
    if !a.blocks.is_empty() {
        written.push(write_file(&dir.join("blocks.csv"), &blocks_csv(a))?);
    }
    written.extend(plots(a, summary, dir)?);
    Ok(written)
}

fn spectra_csv(a: &Analysis) -> String {
    let mut s =
        String::from("set,point,probe,draw,method,kind,paper_t,ve_sigma2,index,value,raw\n");
    for r in &a.spectra {
        let ve = a.levels.ve_sigma2(r.t);
        let norm = r.raw.get(1).copied().filter(|v| *v > 0.0).unwrap_or(1.0);
        for (i, v) in r.raw.iter().enumerate() {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{ve:e},{i},{:e},{v:e}",
                r.set,
                r.point,
                r.probe.label(),
                r.draw,
                r.method,
                r.kind,
                r.t + 1,
                v / norm
            );
        }
    }
    s
}

fn dims_csv(a: &Analysis) -> String {
    let mut s = String::from(
        "set,point,probe,draw,method,kind,paper_t,ve_sigma2,cliff,cliff_authors,gap,cliff_found,gap_found\n",
    );
    for r in &a.spectra {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{:e},{},{},{},{},{}",
            r.set,
            r.point,
            r.probe.label(),
            r.draw,
            r.method,
            r.kind,
            r.t + 1,
            a.levels.ve_sigma2(r.t),
            r.dims.cliff,
            r.dims.cliff_authors,
            r.dims.gap,
            r.dims.cliff_found,
            r.dims.gap_found
        );
    }
    s
}

fn blocks_csv(a: &Analysis) -> String {
    let mut s = String::from(
        "set,point,probe,draw,paper_t,ve_sigma2,block,label,s2,critical_sigma2,mean_eig,min_eig,max_eig,kept\n",
    );
    let Some(m) = a.manifold.as_ref() else {
        return s;
    };
    for r in &a.blocks {
        for l in &r.levels {
            let b = &m.blocks[l.block];
            let _ = writeln!(
                s,
                "{},{},{},{},{},{:e},{},\"{}\",{:e},{:e},{:e},{:e},{:e},{:e}",
                r.set,
                r.point,
                r.probe.label(),
                r.draw,
                r.t + 1,
                a.levels.ve_sigma2(r.t),
                l.block,
                b.label,
                b.s2,
                b.critical_sigma2,
                l.mean_eig,
                l.eig.last().copied().unwrap_or(f64::NAN),
                l.eig.first().copied().unwrap_or(f64::NAN),
                l.kept
            );
        }
    }
    s
}

fn plots(a: &Analysis, summary: &SpectrumSummary, dir: &Path) -> Result<Vec<PathBuf>> {
    let ts = &a.config.timesteps;
    let shown: Vec<usize> = if ts.len() <= MAX_CURVES {
        ts.clone()
    } else {
        (0..MAX_CURVES)
            .map(|i| ts[i * (ts.len() - 1) / (MAX_CURVES - 1)])
            .collect()
    };
    let mut out = Vec::new();
    for set in &a.sets {
        for probe in probes(a) {
            for (method, kind) in method_kinds(a) {
                let series: Vec<Series> = shown
                    .iter()
                    .filter_map(|&t| {
                        let (median, lo, hi) = spectrum_quantiles(a, set, probe, method, kind, t)?;
                        let x: Vec<f64> = (1..=median.len()).map(|i| i as f64).collect();
                        let label =
                            format!("t={} (sigma2_VE={:.3e})", t + 1, a.levels.ve_sigma2(t));
                        Some(Series::new(label, x, median).with_band(lo, hi))
                    })
                    .collect();
                let path = dir.join(format!(
                    "spectra_{method}_{kind}_{set}{}.png",
                    suffix(probe)
                ));
                let title = format!(
                    "normalised {kind} spectrum ({method}, {set}, {} points; median, IQR)",
                    probe.label()
                );
                let spec = PlotSpec {
                    log_y: true,
                    ..PlotSpec::new(&title, "rank (first value dropped)", "value / max")
                };
                line_plot(&path, &spec, &series)?;
                out.push(path);
            }
        }
        let mut series = dim_series(summary, set);
        series.extend(level_markers(summary, &series));
        let path = dir.join(format!("latent_dim_{set}.png"));
        let title = format!("latent dimension vs noise ({set}; median, IQR over points)");
        let spec = PlotSpec {
            log_x: true,
            ..PlotSpec::new(
                &title,
                "sigma^2 (VE) = (1 - abar_t) / abar_t",
                "latent dimension",
            )
        };
        line_plot(&path, &spec, &series)?;
        out.push(path);
        if let Some(p) = block_plot(summary, set, dir)? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Latent dimension against the VE noise of one set: per probe and (method, kind) the cliff
/// estimate (solid) and the largest gap (dashed), each the median over points with the
/// interquartile band (never below 0, unlike a mean minus a std of counts).
fn dim_series(summary: &SpectrumSummary, set: &str) -> Vec<Series> {
    let mut series = Vec::new();
    let mut keys: Vec<(Probe, &str, &str)> = Vec::new();
    for r in summary.dims.iter().filter(|r| r.set == set) {
        if !keys.contains(&(r.probe, &r.method, &r.kind)) {
            keys.push((r.probe, &r.method, &r.kind));
        }
    }
    for (probe, method, kind) in keys {
        let rows: Vec<&DimsRow> = summary
            .dims
            .iter()
            .filter(|r| r.set == set && r.probe == probe && r.method == method && r.kind == kind)
            .collect();
        let x: Vec<f64> = rows.iter().map(|r| r.ve_sigma2).collect();
        let col = |f: fn(&DimsRow) -> f64| rows.iter().map(|r| f(r)).collect::<Vec<f64>>();
        let label = |name: &str| format!("{name} {method} {kind} {}", probe.label());
        series.push(
            Series::new(label("Cliff"), x.clone(), col(|r| r.cliff_median))
                .with_band(col(|r| r.cliff_q25), col(|r| r.cliff_q75)),
        );
        series.push(
            Series::new(label("Gap"), x, col(|r| r.gap_median))
                .with_band(col(|r| r.gap_q25), col(|r| r.gap_q75))
                .as_dashed(),
        );
    }
    series
}

/// Dashed vertical lines at the headline's noise levels, from 0 to the largest value drawn.
fn level_markers(summary: &SpectrumSummary, series: &[Series]) -> Vec<Series> {
    let top = series
        .iter()
        .flat_map(|s| s.y.iter().chain(s.band.iter().flat_map(|b| b.1.iter())))
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max);
    summary
        .headline
        .levels
        .iter()
        .map(|l| {
            let label = format!("headline level {} (t={})", l.name, l.paper_t);
            Series::new(label, vec![l.ve_sigma2; 2], vec![0.0, top]).as_dashed()
        })
        .collect()
}

/// File-name suffix of a probe: none for clean points (the historical names), `_noised`.
fn suffix(probe: Probe) -> &'static str {
    match probe {
        Probe::Clean => "",
        Probe::Noised => "_noised",
    }
}

/// Kept fraction per block vs noise for one set, one curve per probe, with the theory's
/// critical levels dashed; the legend says that the theory applies to noised points.
fn block_plot(summary: &SpectrumSummary, set: &str, dir: &Path) -> Result<Option<PathBuf>> {
    let Some(bs) = summary.blocks.as_ref() else {
        return Ok(None);
    };
    let mut series = Vec::new();
    for b in &bs.blocks {
        for c in b.curves.iter().filter(|c| c.set == set) {
            // Interquartile band over points, clamped at 0 (a kept fraction below 0 is
            // round-off of an exact score's normal level).
            let lo = c.kept_q25.iter().map(|v| v.max(0.0)).collect();
            let hi = c.kept_q75.iter().map(|v| v.max(0.0)).collect();
            let curve = Series::new(
                format!("{} {} points", b.label, c.probe.label()),
                summary.ve_sigma2.clone(),
                c.kept_mean.clone(),
            )
            .with_band(lo, hi);
            series.push(curve);
        }
        series.push(
            Series::new(
                format!("theory sigma2_c {} (noised points)", b.label),
                vec![b.critical_sigma2; 2],
                vec![0.0, 1.0],
            )
            .as_dashed(),
        );
    }
    let path = dir.join(format!("blocks_{set}.png"));
    let title = format!(
        "kept fraction per manifold block (N = {}, {set}; mean, IQR)",
        bs.n
    );
    let spec = PlotSpec {
        log_x: true,
        ..PlotSpec::new(
            &title,
            "sigma^2 (VE)",
            "kept fraction of the generalising variance",
        )
    };
    line_plot(&path, &spec, &series)?;
    Ok(Some(path))
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf> {
    diffmem_data::files::write_bytes_atomic(path, text.as_bytes()).map_err(|e| {
        let source = match e {
            diffmem_data::files::AtomicError::Write(e)
            | diffmem_data::files::AtomicError::Io(_, e) => e,
        };
        MetricsError::Io {
            path: path.into(),
            source,
        }
    })?;
    Ok(path.into())
}
