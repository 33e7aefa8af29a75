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
//! Every file is written to a temporary name and renamed.

use super::report::{Analysis, Probe};
use super::summary::{SpectrumSummary, mean_spectrum, method_kinds, probes};
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
                        let (mean, std) = mean_spectrum(a, set, probe, method, kind, t)?;
                        let x: Vec<f64> = (1..=mean.len()).map(|i| i as f64).collect();
                        let lo = mean.iter().zip(&std).map(|(m, s)| m - s).collect();
                        let hi = mean.iter().zip(&std).map(|(m, s)| m + s).collect();
                        let label =
                            format!("t={} (sigma2_VE={:.3e})", t + 1, a.levels.ve_sigma2(t));
                        Some(Series::new(label, x, mean).with_band(lo, hi))
                    })
                    .collect();
                let path = dir.join(format!(
                    "spectra_{method}_{kind}_{set}{}.png",
                    suffix(probe)
                ));
                let title = format!(
                    "normalised {kind} spectrum ({method}, {set}, {} points)",
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
        let mut series = Vec::new();
        for probe in probes(a) {
            for (method, kind) in method_kinds(a) {
                let rows: Vec<_> = summary
                    .dims
                    .iter()
                    .filter(|r| {
                        &r.set == set && r.probe == probe && r.method == method && r.kind == kind
                    })
                    .collect();
                let x: Vec<f64> = rows.iter().map(|r| r.ve_sigma2).collect();
                for (name, mean, std, dashed) in [
                    (
                        "Cliff",
                        rows.iter().map(|r| r.cliff_mean).collect::<Vec<_>>(),
                        rows.iter().map(|r| r.cliff_std).collect::<Vec<_>>(),
                        false,
                    ),
                    (
                        "Gap",
                        rows.iter().map(|r| r.gap_mean).collect(),
                        rows.iter().map(|r| r.gap_std).collect(),
                        true,
                    ),
                ] {
                    let lo = mean.iter().zip(&std).map(|(m, s)| m - s).collect();
                    let hi = mean.iter().zip(&std).map(|(m, s)| m + s).collect();
                    let s = Series::new(
                        format!("{name} {method} {kind} {}", probe.label()),
                        x.clone(),
                        mean,
                    )
                    .with_band(lo, hi);
                    series.push(if dashed { s.as_dashed() } else { s });
                }
            }
        }
        let path = dir.join(format!("latent_dim_{set}.png"));
        let title = format!("latent dimension vs noise ({set})");
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
            let lo = c
                .kept_mean
                .iter()
                .zip(&c.kept_std)
                .map(|(m, s)| m - s)
                .collect();
            let hi = c
                .kept_mean
                .iter()
                .zip(&c.kept_std)
                .map(|(m, s)| m + s)
                .collect();
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
    let title = format!("kept fraction per manifold block (N = {}, {set})", bs.n);
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
