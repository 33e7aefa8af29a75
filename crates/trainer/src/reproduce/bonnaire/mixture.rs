//! The Gaussian-mixture panel of `bonnaire` (`--only mixture`): the residual MLP on
//! `mixture:d=D` (two Gaussians N(+-(1,...,1), I), the authors' `generate_GMM`) at several
//! n per d, evaluated along training. Per d the same claims as the MNIST sweep
//! ([`super::tau_claims`]): tau_mem ~ n^a with a = 1 inside the fit's 95% interval, tau_gen ~
//! n^b with b = 0 inside its interval; at the CI size only a > 0. The figure draws tau_mem
//! (solid) and tau_gen (dashed) against n, one colour per d, with the fitted exponents in
//! the legend.

use super::{SOURCE, Setting, tau_claims};
use crate::report::collect::RunRecord;
use crate::report::dynamics::tau_mem_errors;
use crate::reproduce::claims::{Claim, Outcome};
use crate::reproduce::figure::{Axes, draw};
use crate::reproduce::{Context, Panel, panel_not_run};
use anyhow::Result;
use diffmem_data::DataSpec;
use diffmem_metrics::plot::Series;
use std::collections::BTreeMap;

/// The panel.
pub const PANEL: Panel = Panel {
    name: "mixture",
    spec: include_str!("../../../../../scripts/reproduce/bonnaire-mixture.toml"),
};

/// The figure's file name in the reproduction's directory.
pub const FIGURE: &str = "bonnaire_mixture_tau_vs_n.png";

/// The mixture runs grouped by their dimension d (runs on other data are left out).
fn by_dim(runs: &[RunRecord]) -> BTreeMap<usize, Vec<RunRecord>> {
    let mut groups: BTreeMap<usize, Vec<RunRecord>> = BTreeMap::new();
    for r in runs {
        if let Some(DataSpec::Mixture(m)) = r.config.as_ref().map(|c| &c.data.spec) {
            groups.entry(m.d).or_default().push(r.clone());
        }
    }
    groups
}

/// Decides the panel's claims per d and draws its figure.
pub fn judge(ctx: &Context, out: &mut Outcome) -> Result<()> {
    let runs = ctx.panel_runs(PANEL.name)?;
    let groups = by_dim(&runs);
    if groups.is_empty() {
        let source = format!("{SOURCE} (Gaussian mixture)");
        let name = super::REPRODUCTION.name;
        out.claims.push(panel_not_run(ctx, name, &source, &PANEL));
        return Ok(());
    }
    let mut series = Vec::new();
    for (d, runs) in &groups {
        let setting = Setting {
            runs,
            tag: &format!("@mixture-d={d}"),
            setting: &format!(" (width-128 MLP on the mixture, d = {d})"),
        };
        let claims = tau_claims(&setting, ctx.ci);
        series.extend(tau_series(*d, runs, &claims));
        out.claims.extend(claims);
    }
    let axes = Axes::log_log(
        "Bonnaire et al.: tau_mem (solid) and tau_gen (dashed) vs n, Gaussian mixture",
        "training-set size n",
        "training steps",
    );
    draw(ctx.dir, FIGURE, &axes, series, &mut out.figures)
}

/// ` a = A [LO, HI]` from a power-law claim, or ` not fitted`.
fn exponent_text(name: &str, c: Option<&Claim>) -> String {
    match (c.and_then(|c| c.measured), c.and_then(|c| c.interval)) {
        (Some(a), Some((lo, hi))) => format!("{name} = {a:.2} [{lo:.2}, {hi:.2}]"),
        (Some(a), None) => format!("{name} = {a:.2}"),
        _ => format!("{name} not fitted"),
    }
}

/// tau_mem (with its bootstrap interval as error bars) and tau_gen of the runs at one d,
/// sorted by n, labelled with their fitted exponents (`claims`: tau_mem's first).
fn tau_series(d: usize, runs: &[RunRecord], claims: &[Claim]) -> Vec<Series> {
    let mut rs: Vec<&RunRecord> = runs.iter().collect();
    rs.sort_by_key(|r| r.n());
    let n: Vec<f64> = rs.iter().map(|r| r.n().unwrap_or(0) as f64).collect();
    let get =
        |key: &str| -> Vec<f64> { rs.iter().map(|r| r.get(key).unwrap_or(f64::NAN)).collect() };
    let mem = get("dynamics.tau_mem");
    let (lo, hi) = tau_mem_errors(&rs, &n, &mem);
    let mem_label = format!("d = {d}: tau_mem, {}", exponent_text("a", claims.first()));
    let gen_label = format!("d = {d}: tau_gen, {}", exponent_text("b", claims.get(1)));
    vec![
        Series::new(mem_label, n.clone(), mem).with_errors(lo, hi),
        Series::new(gen_label, n, get("dynamics.tau_gen")).as_dashed(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config::RunConfig;
    use diffmem_data::synthetic::MixtureSpec;

    /// A finished run at (d, n) with the given dynamics scalars.
    fn run(d: usize, n: usize, scalars: &[(&str, f64)]) -> RunRecord {
        let mut config = RunConfig::default();
        config.data.n = n;
        config.data.spec = DataSpec::Mixture(MixtureSpec::paper(d));
        RunRecord {
            name: format!("d{d}-n{n}"),
            status: "done".into(),
            message: None,
            index: None,
            axes: vec![],
            line: format!("mixture:d={d}"),
            config: Some(config),
            config_text: String::new(),
            metrics: None,
            verdict: None,
            scalars: scalars.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    /// A tau table at d: tau_mem = 40 n^mem (2% wobble), tau_gen = 300 n^generalise; the largest n
    /// did not memorise.
    fn table(d: usize, mem: f64, generalise: f64) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = [16usize, 32, 64, 128]
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let x = n as f64;
                let wobble = 1.0 + 0.02 * (i % 2) as f64;
                let tau_mem = 40.0 * x.powf(mem) * wobble;
                let tau_gen = 300.0 * x.powf(generalise) * wobble;
                let s = [
                    ("dynamics.tau_mem", tau_mem),
                    ("dynamics.tau_mem_reached", 1.0),
                    ("dynamics.tau_gen", tau_gen),
                ];
                run(d, n, &s)
            })
            .collect();
        runs.push(run(d, 256, &[("dynamics.tau_mem_reached", 0.0)]));
        runs
    }

    fn claims(runs: &[RunRecord], ci: bool) -> Vec<Claim> {
        let s = Setting {
            runs,
            tag: "@mixture-d=8",
            setting: " (d = 8)",
        };
        tau_claims(&s, ci)
    }

    #[test]
    fn slope_one_holds_and_slope_zero_does_not() {
        let linear = claims(&table(8, 1.0, 0.0), false);
        assert_eq!(linear[0].id, "tau_mem-linear-in-N@mixture-d=8");
        assert!(linear[0].holds, "{:?}", linear[0]);
        assert!(
            linear[0].note.contains("1 run(s) did not reach"),
            "{}",
            linear[0].note
        );
        assert!(linear[1].holds && linear[1].id == "tau_gen-flat-in-N@mixture-d=8");
        let flat = claims(&table(8, 0.0, 1.0), false);
        assert_eq!(flat[0].status, "does not hold");
        assert_eq!(flat[1].status, "does not hold");
        // The CI size: only the sign of tau_mem's exponent, no tau_gen claim.
        let ci = claims(&table(8, 1.0, 0.0), true);
        assert!(ci.len() == 1 && ci[0].holds);
        assert!(!claims(&table(8, 0.0, 0.0), true)[0].holds);
    }

    #[test]
    fn runs_are_grouped_by_dimension_and_labelled_with_their_exponents() {
        let mut runs = table(8, 1.0, 0.0);
        runs.extend(table(16, 1.0, 0.0));
        let mut other = run(8, 16, &[]);
        other.config.as_mut().unwrap().data.spec = DataSpec::Mnist5k;
        runs.push(other);
        let groups = by_dim(&runs);
        assert_eq!(groups.keys().copied().collect::<Vec<_>>(), [8, 16]);
        assert_eq!(groups[&8].len(), 5);
        let c = claims(&groups[&8], false);
        let s = tau_series(8, &groups[&8], &c);
        assert!(
            s[0].label.starts_with("d = 8: tau_mem, a = 1.0"),
            "{}",
            s[0].label
        );
        assert!(s[1].dashed && s[1].label.contains("b = "), "{}", s[1].label);
        assert_eq!(s[0].x, [16.0, 32.0, 64.0, 128.0, 256.0]);
        assert!(s[0].y[4].is_nan());
        assert_eq!(exponent_text("b", None), "b not fitted");
    }
}
