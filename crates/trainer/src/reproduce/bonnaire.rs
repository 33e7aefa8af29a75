//! `bonnaire`: Bonnaire, Urfin, Biroli & Mezard, "Why diffusion models don't memorize" (arXiv
//! 2505.17638): tau_mem grows linearly with N, tau_gen does not. From `eval --along-training`
//! (`metrics.dynamics.tau_mem`, `tau_gen`) of the MLP on MNIST-5k; runs whose tau_mem is not
//! reached within their steps are left out of the fit (and counted in the note).

use super::claims::Outcome;
use super::growth::{Expect, claim};
use super::{Context, Reproduction};
use crate::report::collect::RunRecord;
use anyhow::Result;

/// The reproduction.
pub const REPRODUCTION: Reproduction = Reproduction {
    name: "bonnaire",
    paper: "Bonnaire, Urfin, Biroli & Mezard, Why diffusion models don't memorize (arXiv 2505.17638)",
    summary: "MLP on MNIST-5k, N 64..1024, 20 snapshots: tau_mem ~ N^a (a = 1?) and tau_gen flat",
    state: "claims built; full size run (17 min): tau_mem ~ N^1.25 holds, tau_gen flat does not; Gaussian-mixture setting not built",
    spec: include_str!("../../../../scripts/reproduce/bonnaire.toml"),
    panels: &[],
    judge,
};

const SOURCE: &str =
    "Bonnaire et al. 2505.17638: tau_mem proportional to N, tau_gen independent of N";

/// (N, value) of every run with `key`.
fn points(runs: &[RunRecord], key: &str) -> (Vec<f64>, Vec<f64>) {
    runs.iter()
        .filter_map(|r| Some((r.n()? as f64, r.get(key)?)))
        .unzip()
}

fn judge(ctx: &Context) -> Result<Outcome> {
    let mut out = Outcome::default();
    let (x, y) = points(ctx.runs, "dynamics.tau_mem");
    let not_reached = ctx
        .runs
        .iter()
        .filter(|r| r.get("dynamics.tau_mem_reached") == Some(0.0))
        .count();
    let expect = if ctx.ci {
        Expect::Grows
    } else {
        Expect::Exponent(1.0)
    };
    let c = claim(
        "tau_mem-linear-in-N",
        "tau_mem (first step with R_mem > 0.1) grows linearly with N: tau_mem ~ N^a, a = 1",
        SOURCE,
        &x,
        &y,
        expect,
    );
    let note = format!("{}; {not_reached} run(s) did not reach tau_mem", c.note);
    out.claims.push(c.with_note(note));
    let (x, y) = points(ctx.runs, "dynamics.tau_gen");
    if !ctx.ci {
        out.claims.push(claim(
            "tau_gen-flat-in-N",
            "tau_gen (held-out loss within 5% of its best) does not grow with N: exponent 0",
            SOURCE,
            &x,
            &y,
            Expect::Exponent(0.0),
        ));
    }
    out.figures = vec!["tau_vs_n.png".into(), "r_mem_dynamics.png".into()];
    out.figures.retain(|f| ctx.dir.join(f).exists());
    out.not_built = vec![
        "Gaussian-mixture setting (d in {8, 16, 32}, n 256..4096, width-128 MLP): not built".into(),
        "CelebA UNet setting: not built (needs a GPU)".into(),
    ];
    Ok(out)
}
