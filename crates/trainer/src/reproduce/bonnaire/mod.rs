//! `bonnaire`: Bonnaire, Urfin, Biroli & Mezard, "Why diffusion models don't memorize" (arXiv
//! 2505.17638): tau_mem grows linearly with N, tau_gen does not. From `eval --along-training`
//! (`metrics.dynamics.tau_mem`, `tau_gen`) of the MLP on MNIST-5k (the main sweep, `--only
//! mnist`) and on their two-Gaussian mixture at d in {8, 16, 32} (the [`mixture`] panel);
//! runs whose tau_mem is not reached within their steps are left out of the fit (and counted
//! in the note).

pub mod mixture;

use super::claims::{Claim, Outcome};
use super::growth::{Expect, claim};
use super::{Context, Reproduction};
use crate::report::collect::RunRecord;
use anyhow::Result;

/// The reproduction.
pub const REPRODUCTION: Reproduction = Reproduction {
    name: "bonnaire",
    paper: "Bonnaire, Urfin, Biroli & Mezard, Why diffusion models don't memorize (arXiv 2505.17638)",
    summary: "MLP on MNIST-5k, N 64..1024, 20 snapshots; width-128 MLP on their Gaussian mixture, d 8..32: tau_mem ~ N^a (a = 1?) and tau_gen flat",
    state: "claims built; full size run: MNIST (17 min) tau_mem ~ N^1.25 holds, tau_gen flat does not; mixture (12 min, n 8..64) tau_mem ~ n^1.25..1.36, a = 1 holds at d = 8, 32, not at d = 16; tau_gen flat holds (barely resolved)",
    spec: include_str!("../../../../../scripts/reproduce/bonnaire.toml"),
    panels: &[mixture::PANEL],
    judge,
};

const SOURCE: &str =
    "Bonnaire et al. 2505.17638: tau_mem proportional to N, tau_gen independent of N";

/// The name `--only` also accepts for the main (MNIST) sweep.
pub const MAIN_ALIAS: &str = "mnist";

/// (N, value) of every run with `key`.
fn points(runs: &[RunRecord], key: &str) -> (Vec<f64>, Vec<f64>) {
    runs.iter()
        .filter_map(|r| Some((r.n()? as f64, r.get(key)?)))
        .unzip()
}

/// One setting's runs to judge: their ids end in `tag` and the statements name `setting`.
struct Setting<'a> {
    /// The runs (one per N).
    runs: &'a [RunRecord],
    /// Suffix of the claim ids (empty for the MNIST claims, whose ids predate the panel).
    tag: &'a str,
    /// Words added to the statements, e.g. ` (mixture, d = 8)`.
    setting: &'a str,
}

/// The tau_mem claim (a = 1, or only a > 0 at the CI size) and, at full size, the tau_gen
/// claim (exponent 0) of one setting.
fn tau_claims(s: &Setting, ci: bool) -> Vec<Claim> {
    let (x, y) = points(s.runs, "dynamics.tau_mem");
    let not_reached = s
        .runs
        .iter()
        .filter(|r| r.get("dynamics.tau_mem_reached") == Some(0.0))
        .count();
    let expect = if ci {
        Expect::Grows
    } else {
        Expect::Exponent(1.0)
    };
    let c = claim(
        &format!("tau_mem-linear-in-N{}", s.tag),
        &format!(
            "tau_mem (first step with R_mem > 0.1) grows linearly with N{}: tau_mem ~ N^a, a = 1",
            s.setting
        ),
        SOURCE,
        &x,
        &y,
        expect,
    );
    let note = format!("{}; {not_reached} run(s) did not reach tau_mem", c.note);
    let mut out = vec![c.with_note(note)];
    if !ci {
        let (x, y) = points(s.runs, "dynamics.tau_gen");
        out.push(claim(
            &format!("tau_gen-flat-in-N{}", s.tag),
            &format!(
                "tau_gen (held-out loss within 5% of its best) does not grow with N{}: exponent 0",
                s.setting
            ),
            SOURCE,
            &x,
            &y,
            Expect::Exponent(0.0),
        ));
    }
    out
}

fn judge(ctx: &Context) -> Result<Outcome> {
    let mut out = Outcome::default();
    let mnist = Setting {
        runs: ctx.runs,
        tag: "",
        setting: " (MLP on MNIST-5k)",
    };
    out.claims.extend(tau_claims(&mnist, ctx.ci));
    out.figures = vec!["tau_vs_n.png".into(), "r_mem_dynamics.png".into()];
    out.figures.retain(|f| ctx.dir.join(f).exists());
    mixture::judge(ctx, &mut out)?;
    out.not_built = vec!["CelebA UNet setting: not built (needs a GPU)".into()];
    Ok(out)
}
