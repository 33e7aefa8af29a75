//! Panel "spectrum exponent" of `merger-goldt` (Merger & Goldt, arXiv 2505.24769, open
//! question: the role of the spectrum of Sigma): linear-exact and the trained linear model on
//! gaussian:d=100 with lambda_nu ~ nu^-k (trace d) for k = 0.5 and 2
//! (scripts/reproduce/merger-goldt-spectrum.toml), drawn with the main sweep's k = 1 against
//! N/d beside the exact theory of each k (docs/theory.md §1).
//!
//! Claims, fixed before the first full run: the page's tolerance, the KL within
//! [`super::FULL`]`.kl` of theory + fit term at N/d >= 2, for both models at each new k (k = 1
//! is claimed by the main sweep). CI size: linear-exact only.

use super::{
    CI, EXACT, FULL, KL, MIN_N_OVER_D, SOURCE_KL, THEORY_SEEDS, TRAINED, Tolerances, panel_not_run,
};
use crate::report::collect::RunRecord;
use crate::report::theory::{TheoryCurve, TheoryRow, compute};
use crate::reproduce::claims::{Claim, Outcome};
use crate::reproduce::figure::{Axes, draw, scaled};
use crate::reproduce::records::line;
use crate::reproduce::{Context, Panel};
use anyhow::Result;
use diffmem_metrics::plot::Series;

/// The panel's sweep.
pub const PANEL: Panel = Panel {
    name: "spectrum",
    spec: include_str!("../../../../../scripts/reproduce/merger-goldt-spectrum.toml"),
};

/// Separates the model from the exponent in a line label (`linear, k = 2`).
const K_SEP: &str = ", k = ";

/// The exponent k of a data spec `...spectrum=power:K...` (None: another spectrum).
fn exponent(spec: &str) -> Option<&str> {
    spec.split("power:").nth(1)?.split(',').next()
}

/// The run as a line of this panel's figure (`MODEL, k = K`); None for another model or
/// spectrum.
fn relabel(r: &RunRecord) -> Option<RunRecord> {
    let cfg = r.config.as_ref()?;
    let model = cfg.model.name();
    let spec = cfg.data.spec.to_string();
    let k = exponent(&spec)?;
    let mut r = r.clone();
    r.line = format!("{model}{K_SEP}{k}");
    ([EXACT, TRAINED].contains(&model)).then_some(r)
}

/// The panel's claims and figure; `main_curves` are the main sweep's theory (k = 1).
pub fn judge(ctx: &Context, main_curves: &[TheoryCurve], out: &mut Outcome) -> Result<()> {
    let tol = if ctx.ci { &CI } else { &FULL };
    let runs: Vec<RunRecord> = ctx
        .panel_runs(PANEL.name)?
        .iter()
        .filter_map(relabel)
        .collect();
    if runs.is_empty() {
        panel_not_run(ctx, &PANEL, &mut out.claims);
        return Ok(());
    }
    let theory = compute(&runs, THEORY_SEEDS)?;
    for row in theory.rows.iter().filter(|r| r.n_over_d >= MIN_N_OVER_D) {
        out.claims.extend(claim(row, tol));
    }
    let main: Vec<RunRecord> = ctx.runs.iter().filter_map(relabel).collect();
    let mut curves: Vec<&TheoryCurve> = Vec::new();
    for c in theory.curves.iter().chain(main_curves) {
        // One curve per spectrum (the main sweep's and the MLP's differ only by M at CI size).
        if !curves.iter().any(|o| o.spec == c.spec) {
            curves.push(c);
        }
    }
    figure(ctx, &[main, runs].concat(), &curves, &mut out.figures)
}

/// The KL of one (model, k, N) against theory + fit term (None: a model not held to it).
fn claim(row: &TheoryRow, tol: &Tolerances) -> Option<Claim> {
    let (model, k) = row.line.split_once(K_SEP)?;
    if model != EXACT && !tol.trained_to_theory {
        return None;
    }
    let nd = row.n_over_d;
    let c = Claim::relative(
        format!("kl-{model}-k{k}@N/d={nd}"),
        format!(
            "KL of the {model} model's samples equals the theory at N/d = {nd}, spectrum exponent k = {k}"
        ),
        SOURCE_KL,
        row.theory_fit,
        Some(row.kl_mean),
        tol.kl,
    );
    Some(
        c.with_interval(Some((row.kl_min, row.kl_max)))
            .with_note(format!(
                "{} seed(s); theory without the fit term {:.4}",
                row.runs, row.theory
            )),
    )
}

/// KL against N/d for every (model, k) with the theory + fit term of each k.
fn figure(
    ctx: &Context,
    runs: &[RunRecord],
    curves: &[&TheoryCurve],
    files: &mut Vec<String>,
) -> Result<()> {
    let d = curves.first().map_or(1, |c| c.d) as f64;
    let mut labels: Vec<String> = runs.iter().map(|r| r.line.clone()).collect();
    labels.sort();
    labels.dedup();
    let mut s = Vec::new();
    for label in &labels {
        s.extend(line(runs, label, |r| r.get(KL)).map(|l| scaled(label, &l, d)));
    }
    for c in curves {
        let k = exponent(&c.spec).unwrap_or("?");
        let x: Vec<f64> = c.n.iter().map(|&n| n as f64 / c.d as f64).collect();
        let label = format!("theory + fit, k = {k}");
        s.push(Series::new(label, x, c.kl_fit.clone()).as_dashed());
    }
    let title = "Merger & Goldt open question: spectrum lambda ~ nu^-k, KL vs N/d";
    let axes = Axes::log_log(title, "N / d", "KL");
    draw(ctx.dir, "merger_goldt_spectrum.png", &axes, s, files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exponent_is_read_from_a_power_spectrum_only() {
        assert_eq!(exponent("gaussian:d=100,spectrum=power:0.5"), Some("0.5"));
        assert_eq!(exponent("gaussian:spectrum=power:2,d=10"), Some("2"));
        assert_eq!(exponent("gaussian:d=100,spectrum=flat"), None);
    }
}
