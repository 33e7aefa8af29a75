//! The runner: evaluates every target (snapshot and weight kind) and writes the results.

use super::args::{ALONG_TRAINING, DynamicsInputs};
use super::optional::Optional;
use super::out;
use super::rows::{Curve, Row, WeightKind};
use super::theory;
use crate::eval::paired::PairedRows;
use crate::eval::score_agreement;
use crate::eval::{Metric, draw_samples, loss, memorization};
use crate::io::progress::Verbosity;
use crate::run::{LoadedRun, snapshots};
use crate::run::{RunDir, WeightFile};
use anyhow::{Context, Result, bail};
use diffmem_metrics::agreement::{Centering, paired_cosine};
use diffmem_metrics::dynamics::{fraction_interval, resamples};
use diffmem_metrics::memorization::per_sample;
use diffmem_model::Denoiser;
use std::path::{Path, PathBuf};

/// Seed of the bootstrap resamples.
const BOOTSTRAP_SEED: u64 = 0xB007;

/// One set of weights to evaluate: a snapshot's raw or EMA weights, or an exact model.
struct Target {
    step: usize,
    kind: WeightKind,
    dir: Option<PathBuf>,
}

/// The weights to evaluate: each snapshot's raw and EMA weights, or the exact model once.
fn targets(r: &LoadedRun) -> Result<Vec<Target>> {
    if r.cfg.model.is_exact() {
        let steps = snapshots::for_config(&r.cfg);
        if steps.is_empty() {
            bail!(
                "{} has no snapshot schedule: train it with --snapshots K (an exact model is the \
                 same at every step; the schedule only sets the steps of the rows)",
                r.dir.display()
            );
        }
        return Ok(vec![Target {
            step: steps[0],
            kind: WeightKind::Fitted,
            dir: None,
        }]);
    }
    let list = snapshots::list(&r.dir);
    if list.is_empty() {
        bail!(
            "{} has no snapshots: train it with --snapshots K to evaluate along training",
            r.dir.display()
        );
    }
    Ok(list
        .into_iter()
        .flat_map(|(step, dir)| {
            let ema = WeightFile::Ema.path(&dir).exists();
            let raw = Target {
                step,
                kind: WeightKind::Raw,
                dir: Some(dir.clone()),
            };
            let e = ema.then_some(Target {
                step,
                kind: WeightKind::Ema,
                dir: Some(dir),
            });
            std::iter::once(raw).chain(e)
        })
        .collect())
}

/// The denoiser of `t` for run `r` (its exact model, or the snapshot's weights).
fn model_of(r: &LoadedRun, t: &Target) -> Result<Option<Box<dyn Denoiser>>> {
    let Some(dir) = &t.dir else {
        return Ok(None);
    };
    let fresh = r
        .cfg
        .model
        .init_net(r.train.shape, r.cfg.diffusion.timesteps, &r.device.device)?
        .context("not a trainable model")?;
    let net = snapshots::load(fresh, dir, t.kind == WeightKind::Ema)?
        .with_context(|| format!("snapshot {} has no {} weights", dir.display(), t.kind))?;
    Ok(Some(Box::new(net)))
}

/// The second run's target at the same step and of the same kind, if it has one.
fn partner(other: &LoadedRun, t: &Target) -> Option<Target> {
    if other.cfg.model.is_exact() {
        return Some(Target {
            step: t.step,
            kind: WeightKind::Fitted,
            dir: None,
        });
    }
    let dir = RunDir::at(&other.dir).snapshot(t.step);
    let ema = t.kind == WeightKind::Ema;
    let kind = if ema {
        WeightKind::Ema
    } else {
        WeightKind::Raw
    };
    WeightFile::of(ema).path(&dir).exists().then_some(Target {
        step: t.step,
        kind,
        dir: Some(dir),
    })
}

/// Refuses metrics that are not measured along training and a bad --tau-mem-threshold.
fn check_inputs(inp: &DynamicsInputs<'_>) -> Result<()> {
    if let Some(m) = inp.metrics.iter().find(|m| !ALONG_TRAINING.contains(m)) {
        let names: Vec<&str> = ALONG_TRAINING.iter().map(|m| m.name()).collect();
        bail!(
            "--along-training measures {}; drop `{}` from --metrics",
            names.join(", "),
            m.name()
        );
    }
    let thr = inp.args.tau_mem_threshold;
    if !(thr > 0.0 && thr < 1.0) {
        bail!(
            "--tau-mem-threshold {thr}: R_mem is a fraction, give a level in (0, 1) (default 0.1)"
        );
    }
    Ok(())
}

/// Runs the along-training evaluation of `r` (whose model is replaced snapshot by snapshot).
pub fn run(r: &mut LoadedRun, inp: &DynamicsInputs<'_>) -> Result<serde_json::Value> {
    check_inputs(inp)?;
    let mut other = match inp.against {
        Some(p) => Some(crate::run::load(
            p,
            Some(r.device.kind),
            crate::run::Weights::Raw,
        )?),
        None => None,
    };
    if other
        .as_ref()
        .is_some_and(|o| o.train.dim() != r.train.dim())
    {
        bail!("--against: the two runs' data have different dimensions");
    }
    let targets = targets(r)?;
    let optional = Optional::prepare(r, inp)?;
    let res = resamples(inp.section.num, inp.args.bootstrap, BOOTSTRAP_SEED);
    let mut rows = Vec::with_capacity(targets.len());
    let mut points = inp
        .metrics
        .contains(&Metric::Points)
        .then(|| super::points::PointsTrack::new(r.train.len()));
    let mut missing = Vec::new();
    for (k, t) in targets.iter().enumerate() {
        if inp.progress != Verbosity::Silent {
            eprintln!(
                "snapshot {}/{}: step {} {}",
                k + 1,
                targets.len(),
                t.step,
                t.kind
            );
        }
        if let Some(m) = model_of(r, t)? {
            r.model = m;
        }
        let (mut row, samples) = measure(r, t, inp, &res, &optional)?;
        if let Some(p) = points.as_mut() {
            p.observe(t.step, &samples, &r.train, inp.threshold, &r.device.device)?;
        }
        if let Some(o) = other.as_mut()
            && !agree(r, o, t, inp, &samples, &mut row)?
        {
            missing.push(format!("{} {}", t.step, t.kind));
        }
        rows.push(row);
    }
    if !missing.is_empty() && inp.metrics.contains(&Metric::Agree) {
        eprintln!(
            "warning: --against has no snapshot at {} (train it with the same --steps, \
             --log-every and --snapshots); those agreement cells are empty",
            missing.join(", ")
        );
    }
    if r.cfg.model.is_exact() {
        rows = replicate(rows.remove(0), &snapshots::for_config(&r.cfg));
    }
    let curves = Curve::split(rows, inp.args, &res);
    let theory = theory::overlay(r, inp, &curves)?;
    out::write(
        inp.out,
        &curves,
        inp.args,
        theory.as_ref(),
        optional.fwd_floor(),
    )?;
    let mut v = out::json(&curves, inp, res.len(), optional.json(), theory.as_ref());
    if let Some(p) = &points {
        v["points"] = p.write(inp.out, &r.train, &r.device.device)?;
    }
    Ok(v)
}

/// The one row of an exact model, repeated at every step of its schedule.
fn replicate(row: Row, steps: &[usize]) -> Vec<Row> {
    steps
        .iter()
        .map(|&s| Row {
            step: s,
            ..row.clone()
        })
        .collect()
}

/// The sample and loss metrics of the denoiser now in `r`.
fn measure(
    r: &LoadedRun,
    t: &Target,
    inp: &DynamicsInputs<'_>,
    res: &[Vec<usize>],
    optional: &Optional,
) -> Result<(Row, Vec<f32>)> {
    let device = &r.device.device;
    let mut row = Row::new(t.step, t.kind);
    let mut samples = Vec::new();
    if inp.metrics.contains(&Metric::Mem)
        || inp.metrics.contains(&Metric::Agree)
        || inp.metrics.contains(&Metric::Points)
        || optional.needs_samples()
    {
        samples = draw_samples(r, inp.section, Verbosity::Silent)?;
    }
    if inp.metrics.contains(&Metric::Mem) {
        let (nn, held) = memorization::neighbours(&samples, &r.train, &r.heldout, device)?;
        let per = per_sample(&nn, held.as_ref(), inp.threshold)?;
        row.flags = per.iter().map(|p| p.memorized).collect();
        let n = per.len().max(1) as f64;
        row.r_mem = Some(row.flags.iter().filter(|&&f| f).count() as f64 / n);
        row.r_mem_interval = Some(fraction_interval(&row.flags, res, 0.95));
        row.d1_train = Some(per.iter().map(|p| p.d1).sum::<f64>() / n);
        row.d1_heldout = held
            .is_some()
            .then(|| per.iter().filter_map(|p| p.d1_heldout).sum::<f64>() / n);
    }
    if inp.metrics.contains(&Metric::Loss) {
        let (_, tr, he, _) = loss::curves(&PairedRows::of_run(r, inp.loss_points, inp.loss_rows))?;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        row.train_loss = Some(mean(&tr));
        row.heldout_loss = Some(mean(&he));
    }
    optional.measure(r, inp, &samples, &mut row)?;
    Ok((row, samples))
}

/// Sample and score agreement of the denoiser now in `r` with `other`'s at the same step;
/// false when `other` has no such snapshot.
fn agree(
    r: &LoadedRun,
    other: &mut LoadedRun,
    t: &Target,
    inp: &DynamicsInputs<'_>,
    samples: &[f32],
    row: &mut Row,
) -> Result<bool> {
    if !inp.metrics.contains(&Metric::Agree) {
        return Ok(true);
    }
    let Some(p) = partner(other, t) else {
        return Ok(false);
    };
    if let Some(m) = model_of(other, &p)? {
        other.model = m;
    }
    let theirs = draw_samples(other, inp.section, Verbosity::Silent)?;
    let d = r.train.dim();
    let cos = paired_cosine(samples, &theirs, d, Centering::PerSample)?;
    row.agree = Some(cos.iter().sum::<f64>() / cos.len().max(1) as f64);
    row.score = Some(score_agreement::measure(
        (r.model.as_ref(), &r.diffusion),
        (other.model.as_ref(), &other.diffusion),
        &r.train,
        &r.heldout,
        inp.loss_rows,
        &r.device.device,
    )?);
    Ok(true)
}

/// Puts `value` under `metrics.dynamics` of `out/metrics.json` (keeping the rest of an
/// existing document, or starting one) and prints it (`--json`) or its headline numbers.
pub fn record(out: &Path, r: &LoadedRun, value: serde_json::Value, print_json: bool) -> Result<()> {
    let path = RunDir::at(out).metrics();
    let mut doc = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter(|v| v["metrics"].is_object())
        .unwrap_or_else(|| {
            serde_json::json!({
                "schema": "diffmem.metrics/1 (docs/metrics.md)",
                "run": r.dir.display().to_string(),
                "run_config_sha256": crate::run::checksum::sha256_file(&RunDir::at(&r.dir).config()).ok(),
                "data": r.cfg.data.spec,
                "n_train": r.train.len(),
                "n_heldout": r.heldout.len(),
                "dim": r.train.dim(),
                "model": r.cfg.model.name(),
                "metrics": {},
            })
        });
    // The verdict of the last snapshot (its samples, loss and quality) and of the run's
    // training log, from the one decision table.
    let signals = crate::verdict::Signals::from_dynamics(&value).or(
        crate::verdict::Signals::of_log_file(&RunDir::at(&r.dir).log()),
    );
    let v = crate::verdict::decide(
        &signals,
        &r.dir.display().to_string(),
        &out.display().to_string(),
    );
    doc["metrics"]["dynamics"] = value;
    doc["metrics"]["dynamics"]["verdict"] = v.json();
    let text = serde_json::to_string_pretty(&doc)?;
    crate::io::atomic::write_atomic(&path, text.as_bytes())?;
    if print_json {
        println!("{text}");
        return Ok(());
    }
    let d = &doc["metrics"]["dynamics"];
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "not reached".to_string(),
        v => v.to_string(),
    };
    println!(
        "along training of {} ({} snapshots, {} weights)",
        r.dir.display(),
        d["steps"].as_array().map_or(0, Vec::len),
        d["default_weights"].as_str().unwrap_or("")
    );
    println!("  {}", tau_mem_line(d));
    println!("  tau_gen                 {}", show(&d["tau_gen"]));
    if let Some(line) = theory::Theory::headline(&d["theory"]) {
        println!("  {line}");
    }
    println!(
        "  written to {} (dynamics.csv, dynamics*.png, metrics.json)",
        out.display()
    );
    println!("verdict at the last snapshot: {}", v.line());
    println!("{}", v.next);
    Ok(())
}

/// The tau_mem line of the summary: the time with its interval, or for a curve that never
/// crossed the threshold, how far it got ("not reached by step 2000: final R_mem 0.03").
fn tau_mem_line(d: &serde_json::Value) -> String {
    let thr = crate::io::show::show(&d["tau_mem_threshold"]);
    let head = format!("tau_mem (R_mem > {thr})");
    let n = crate::io::show::num;
    match (d["tau_mem_reached"].as_bool(), d["tau_mem"].as_f64()) {
        (None, _) => format!("{:<24}not measured (add mem to --metrics)", "tau_mem"),
        (Some(true), Some(tau)) => {
            let end = |k: &str| d[k].as_f64().map_or("no upper end".into(), n);
            format!(
                "{head:<24}{} [{}, {}]",
                n(tau),
                end("tau_mem_lo"),
                end("tau_mem_hi")
            )
        }
        _ => {
            let last = d["steps"]
                .as_array()
                .and_then(|s| s.last())
                .map_or("-".into(), |s| s.to_string());
            let r = crate::verdict::signals::default_curve(d)["final_r_mem"]
                .as_f64()
                .map_or("-".into(), n);
            format!("{head:<24}not reached by step {last}: final R_mem {r}")
        }
    }
}

/// Keeps the `dynamics` entry of an existing `out/metrics.json` in the metrics of a new plain
/// evaluation (the along-training results describe their own samples and stay valid).
pub fn carry_over(out: &Path, results: &mut serde_json::Map<String, serde_json::Value>) {
    let old = std::fs::read_to_string(RunDir::at(out).metrics())
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    if let Some(d) = old.and_then(|mut v| v["metrics"].get_mut("dynamics").map(|d| d.take())) {
        results.entry("dynamics").or_insert(d);
    }
}

#[cfg(test)]
mod tests {
    use super::tau_mem_line;
    use serde_json::json;

    #[test]
    fn tau_mem_says_how_far_a_curve_got_instead_of_not_reached_three_times() {
        let never = json!({"tau_mem_threshold": 0.1, "tau_mem_reached": false, "tau_mem": null,
            "tau_mem_lo": null, "tau_mem_hi": null, "steps": [10, 100, 2000],
            "default_weights": "raw", "curves": {"raw": {"final_r_mem": 0.03}}});
        assert_eq!(
            tau_mem_line(&never),
            "tau_mem (R_mem > 0.1)   not reached by step 2000: final R_mem 0.03"
        );
        let crossed = json!({"tau_mem_threshold": 0.1, "tau_mem_reached": true,
            "tau_mem": 604.47, "tau_mem_lo": 500.0, "tau_mem_hi": null});
        assert_eq!(
            tau_mem_line(&crossed),
            "tau_mem (R_mem > 0.1)   604.5 [500, no upper end]"
        );
        let unmeasured = json!({"tau_mem_threshold": 0.1, "tau_mem_reached": null});
        assert!(tau_mem_line(&unmeasured).ends_with("not measured (add mem to --metrics)"));
    }
}
