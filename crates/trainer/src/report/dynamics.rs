//! The report's figures of memorisation along training (`eval --along-training`):
//! tau_mem and tau_gen against N on log-log axes with the fitted power law tau_mem ~ N^a
//! (Bonnaire et al., arXiv 2505.17638, find a = 1), and the R_mem-vs-step curve of every run,
//! one colour per N.

use super::aggregate::{Line, lines};
use super::collect::RunRecord;
use super::plots::Figure;
use crate::eval::along::rows::WeightKind;
use crate::sweep::RUNS_DIR;
use anyhow::Result;
use diffmem_metrics::dynamics::{PowerLaw, fit_power_law};
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use serde::Serialize;
use std::path::Path;

/// The power law fitted to one line's tau_mem against N.
#[derive(Clone, Debug, Serialize)]
pub struct TauFit {
    /// The line (model and other non-N axes).
    pub line: String,
    /// The fit over the runs that reached the threshold.
    pub fit: Option<PowerLaw>,
    /// Runs of the line with a dynamics evaluation whose tau_mem was not reached.
    pub not_reached: usize,
}

impl TauFit {
    /// "a = 1.02 [0.8, 1.2], R^2 = 0.98 (5 runs; 1 not reached)".
    pub fn describe(&self) -> String {
        let fit = match &self.fit {
            Some(f) => {
                let iv = f
                    .a_interval
                    .map_or(String::new(), |(lo, hi)| format!(" [{lo:.2}, {hi:.2}]"));
                format!("a = {:.2}{iv}, R^2 = {:.3} ({} runs", f.a, f.r2, f.n)
            }
            None => "no fit (fewer than 2 runs reached the threshold at distinct N".into(),
        };
        format!("{}: {fit}; {} not reached)", self.line, self.not_reached)
    }
}

/// The tau_mem fits of every line of `runs`.
pub fn fits(runs: &[RunRecord]) -> Vec<TauFit> {
    let mut out: Vec<TauFit> = Vec::new();
    for r in runs
        .iter()
        .filter(|r| r.get("dynamics.tau_mem_reached").is_some())
    {
        if !out.iter().any(|f| f.line == r.line) {
            let mine: Vec<&RunRecord> = runs.iter().filter(|x| x.line == r.line).collect();
            let (x, y): (Vec<f64>, Vec<f64>) = mine
                .iter()
                .filter_map(|x| Some((x.n()? as f64, x.get("dynamics.tau_mem")?)))
                .unzip();
            let not_reached = mine
                .iter()
                .filter(|x| x.get("dynamics.tau_mem_reached") == Some(0.0))
                .count();
            out.push(TauFit {
                line: r.line.clone(),
                fit: fit_power_law(&x, &y),
                not_reached,
            });
        }
    }
    out
}

/// Writes `tau_vs_n.png` and `r_mem_dynamics.png` when runs have dynamics.
pub fn write(dir: &Path, runs: &[RunRecord], fits: &[TauFit]) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    if fits.is_empty() {
        return Ok(out);
    }
    let mut s = Vec::new();
    for (key, name) in [
        ("dynamics.tau_mem", "tau_mem"),
        ("dynamics.tau_gen", "tau_gen"),
    ] {
        for l in lines(runs, |r| r.get(key)) {
            let series = Series::new(format!("{name} ({})", l.label), l.n.clone(), l.mean.clone());
            let series = match l.count.iter().any(|&c| c > 1) {
                true => series.with_band(l.min.clone(), l.max.clone()),
                false => series,
            };
            s.push(match key == "dynamics.tau_mem" {
                true => {
                    let (lo, hi) = tau_mem_errors(&of_line(runs, &l), &l.n, &l.mean);
                    series.with_errors(lo, hi)
                }
                false => series,
            });
        }
    }
    for f in fits {
        let Some(p) = &f.fit else { continue };
        let ns: Vec<f64> = runs
            .iter()
            .filter(|r| r.line == f.line)
            .filter_map(|r| r.n().map(|n| n as f64))
            .collect();
        let (lo, hi) = ns
            .iter()
            .fold((f64::INFINITY, 0f64), |(a, b), &n| (a.min(n), b.max(n)));
        let x = vec![lo, hi];
        let y = x.iter().map(|n| p.c * n.powf(p.a)).collect();
        s.push(Series::new(format!("fit {} ~ N^{:.2}", f.line, p.a), x, y).as_dashed());
    }
    let caption = format!(
        "Onset of memorisation tau_mem (first step with R_mem above the threshold, raw \
         weights) and tau_gen (first step with the held-out loss near its best) against N, \
         log-log; error bars: the bootstrap 95% interval of tau_mem (over the seeds at one N, \
         the lowest lower to the highest upper end; an open end stops at the point); dashed: \
         least-squares power law tau_mem ~ N^a (95% interval of a). {}. \
         Runs that never reach the threshold are left out of the plot and the fit.",
        fits.iter()
            .map(TauFit::describe)
            .collect::<Vec<_>>()
            .join("; ")
    );
    line_plot(
        &dir.join("tau_vs_n.png"),
        &PlotSpec {
            log_x: true,
            log_y: true,
            ..PlotSpec::new(
                "tau_mem and tau_gen vs N",
                "N (training-set size)",
                "training step",
            )
        },
        &s,
    )?;
    out.push(Figure {
        file: "tau_vs_n.png".into(),
        caption,
    });
    if curves(dir, runs)? {
        out.push(Figure {
            file: "r_mem_dynamics.png".into(),
            caption: "R_mem against the training step for every run (raw weights; the same \
                      sampler noise at every snapshot), one colour per N, from each run's \
                      dynamics.csv."
                .into(),
        });
    }
    Ok(out)
}

/// Error bars of a tau_mem line: at each N of `n` (its point `centre`), from the lowest
/// `tau_mem_lo` to the highest `tau_mem_hi` of the line's `runs` there that reached tau_mem
/// (their bootstrap 95% intervals, `eval --along-training`); an end the bootstrap left open is
/// the point itself.
pub(crate) fn tau_mem_errors(
    runs: &[&RunRecord],
    n: &[f64],
    centre: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    n.iter()
        .zip(centre)
        .map(|(&n, &mean)| {
            let at_n = runs.iter().filter(|r| {
                r.n().is_some_and(|k| k as f64 == n) && r.get("dynamics.tau_mem").is_some()
            });
            at_n.fold((mean, mean), |(lo, hi), r| {
                let end = |k: &str| r.get(k).filter(|v| v.is_finite());
                (
                    end("dynamics.tau_mem_lo").map_or(lo, |v| lo.min(v)),
                    end("dynamics.tau_mem_hi").map_or(hi, |v| hi.max(v)),
                )
            })
        })
        .unzip()
}

/// The runs of line `l`.
fn of_line<'a>(runs: &'a [RunRecord], l: &Line) -> Vec<&'a RunRecord> {
    runs.iter().filter(|r| r.line == l.label).collect()
}

/// (step, R_mem) of the default curve (raw, or fitted) of a run's `dynamics.csv`.
fn read_curve(path: &Path) -> Option<(Vec<f64>, Vec<f64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let col = |n: &str| header.iter().position(|c| *c == n);
    let (cs, cw, cr) = (col("step")?, col("weights")?, col("r_mem")?);
    Some(
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| {
                matches!(
                    f.get(cw).and_then(|w| w.parse().ok()),
                    Some(WeightKind::Raw | WeightKind::Fitted)
                )
            })
            .filter_map(|f| {
                Some((
                    f.get(cs)?.parse::<f64>().ok()?,
                    f.get(cr)?.parse::<f64>().ok()?,
                ))
            })
            .unzip(),
    )
}

/// Draws `r_mem_dynamics.png` (one curve per N and line: the mean over the seeds that share
/// the schedule); false when no run has a curve.
fn curves(dir: &Path, runs: &[RunRecord]) -> Result<bool> {
    // (N, line, steps, one R_mem curve per seed)
    type Group = (usize, String, Vec<f64>, Vec<Vec<f64>>);
    let mut groups: Vec<Group> = Vec::new();
    for r in runs {
        let Some((x, y)) = read_curve(&dir.join(RUNS_DIR).join(&r.name).join("dynamics.csv"))
        else {
            continue;
        };
        let Some(n) = r.n().filter(|_| !x.is_empty()) else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|g| g.0 == n && g.1 == r.line && g.2 == x)
        {
            Some(g) => g.3.push(y),
            None => groups.push((n, r.line.clone(), x, vec![y])),
        }
    }
    if groups.is_empty() {
        return Ok(false);
    }
    groups.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let series: Vec<Series> = groups
        .into_iter()
        .map(|(n, line, x, ys)| {
            let k = ys.len() as f64;
            let mean = (0..x.len())
                .map(|i| ys.iter().map(|y| y[i]).sum::<f64>() / k)
                .collect();
            let seeds = if ys.len() > 1 {
                format!(", mean of {} seeds", ys.len())
            } else {
                String::new()
            };
            Series::new(format!("N = {n} ({line}{seeds})"), x, mean)
        })
        .collect();
    line_plot(
        &dir.join("r_mem_dynamics.png"),
        &PlotSpec {
            log_x: true,
            ..PlotSpec::new("R_mem along training, by N", "training step", "R_mem")
        },
        &series,
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_mem_error_bars_span_the_seeds_bootstrap_intervals() {
        let run = |name: &str, n: usize, v: &[(&str, f64)]| {
            let mut config = crate::run::config::RunConfig::default();
            config.data.n = n;
            RunRecord {
                name: name.into(),
                status: "done".into(),
                message: None,
                index: None,
                axes: vec![],
                line: "mlp".into(),
                config: Some(config),
                config_text: String::new(),
                metrics: None,
                scalars: v.iter().map(|(k, x)| (k.to_string(), *x)).collect(),
                verdict: None,
            }
        };
        let t = "dynamics.tau_mem";
        let (lo, hi) = ("dynamics.tau_mem_lo", "dynamics.tau_mem_hi");
        let runs = [
            run("a", 100, &[(t, 200.0), (lo, 150.0), (hi, 300.0)]),
            run("b", 100, &[(t, 220.0), (lo, 180.0), (hi, 350.0)]),
            // Upper end left open by the bootstrap: the bar stops at the point.
            run("c", 400, &[(t, 900.0), (lo, 700.0)]),
            // Not reached: no tau_mem, its interval ignored.
            run("d", 400, &[(lo, 10.0), (hi, 1e6)]),
        ];
        let l = lines(&runs, |r| r.get(t)).pop().unwrap();
        assert_eq!(l.n, vec![100.0, 400.0]);
        let (lo, hi) = tau_mem_errors(&of_line(&runs, &l), &l.n, &l.mean);
        assert_eq!(lo, vec![150.0, 700.0]);
        assert_eq!(hi, vec![350.0, 900.0]);
    }

    #[test]
    fn reads_the_default_curve_of_a_dynamics_csv() {
        let dir = std::env::temp_dir().join(format!("diffmem-rdyn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("dynamics.csv");
        std::fs::write(
            &p,
            "step,weights,r_mem\n10,raw,0\n10,ema,0.5\n100,raw,0.25\n",
        )
        .unwrap();
        assert_eq!(read_curve(&p), Some((vec![10.0, 100.0], vec![0.0, 0.25])));
        assert_eq!(read_curve(&dir.join("missing.csv")), None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
