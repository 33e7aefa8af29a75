//! Panel "linear against non-linear" of `merger-goldt` (Merger & Goldt, arXiv 2505.24769, open
//! question: do non-linear denoisers follow the linear theory?): a residual MLP trained on the
//! same Gaussian data, drawn on the axes of the main figures beside the trained linear model,
//! linear-exact and the theory (scripts/reproduce/merger-goldt-mlp.toml).
//!
//! Claims, fixed before the first full run:
//! - on Gaussian data the Bayes denoiser is linear and linear-exact is its plug-in optimum on
//!   the training set, so at N/d >= 2 the MLP's KL is not below linear-exact's (seed means);
//! - the MLP's KL falls with N;
//! - at its largest N/d the MLP's KL is within [`REACH`] of the theory + fit term (does a
//!   non-linear network reach the linear optimum given enough data?).
//!
//! The CI size (300 steps) keeps only the ordering claim.

use super::{EXACT, KL, MIN_N_OVER_D, NdFigure, TRAINED, kl_figure, loss_figure, panel_not_run};
use crate::report::collect::RunRecord;
use crate::report::theory::{Theory, TheoryRow};
use crate::reproduce::claims::{Claim, Outcome, decreasing};
use crate::reproduce::records::line;
use crate::reproduce::{Context, Panel};
use anyhow::Result;
use diffmem_metrics::theory::LinearPoint;

/// The panel's sweep.
pub const PANEL: Panel = Panel {
    name: "mlp",
    spec: include_str!("../../../../../scripts/reproduce/merger-goldt-mlp.toml"),
};

/// The MLP's plot line.
const MLP: &str = "mlp";
/// Relative tolerance of the MLP's KL against theory + fit term at its largest N/d.
const REACH: f64 = 0.5;
const SOURCE: &str = "Merger & Goldt 2505.24769 (open question: non-linear denoisers); on Gaussian data the Bayes denoiser is linear";

/// What the main judge computed over the main and the MLP runs together.
pub struct Inputs<'a> {
    /// The main sweep's runs and the MLP's.
    pub all: &'a [RunRecord],
    /// The KL theory of all of them (one curve: the same setting).
    pub theory: &'a Theory,
    /// The per-timestep theory (d, points) of the held-out loss.
    pub losses: &'a Option<(usize, Vec<LinearPoint>)>,
}

/// The panel's claims and figures.
pub fn judge(ctx: &Context, inp: &Inputs, out: &mut Outcome) -> Result<()> {
    let kl = line(inp.all, MLP, |r| r.get(KL));
    let Some(kl) = kl else {
        panel_not_run(ctx, &PANEL, &mut out.claims);
        return Ok(());
    };
    out.claims.push(
        Claim::decided(
            "mlp-kl-falls-with-N",
            "KL(samples || truth) of the MLP falls as N grows",
            SOURCE,
            decreasing(&kl.mean),
        )
        .with_note("seed means at each N, strictly decreasing"),
    );
    if !ctx.ci {
        let rows: Vec<&TheoryRow> = inp.theory.rows.iter().filter(|r| r.line == MLP).collect();
        floor_claims(&rows, &inp.theory.rows, &mut out.claims);
        reach_claim(&rows, &mut out.claims);
    }
    let fig = NdFigure {
        runs: inp.all,
        labels: &[MLP, TRAINED, EXACT],
        file: "merger_goldt_mlp_kl.png",
        title: "Merger & Goldt open question: MLP against linear, KL vs N/d",
    };
    kl_figure(ctx.dir, &fig, &inp.theory.curves, &mut out.figures)?;
    let loss = NdFigure {
        file: "merger_goldt_mlp_test_loss.png",
        title: "Merger & Goldt open question: MLP against linear, held-out eps-loss vs N/d",
        ..fig
    };
    loss_figure(ctx.dir, &loss, inp.losses, &mut out.figures)
}

/// At N/d >= 2: the MLP's mean KL is at least linear-exact's at the same N.
fn floor_claims(mlp: &[&TheoryRow], all: &[TheoryRow], claims: &mut Vec<Claim>) {
    for row in mlp.iter().filter(|r| r.n_over_d >= MIN_N_OVER_D) {
        let exact = all.iter().find(|r| r.line == EXACT && r.n == row.n);
        let holds = exact.map(|e| row.kl_mean >= e.kl_mean);
        let mut c = Claim::decided(
            format!("mlp-kl-not-below-exact@N/d={}", row.n_over_d),
            format!(
                "the MLP's KL is not below linear-exact's (the Gaussian optimum) at N/d = {}",
                row.n_over_d
            ),
            SOURCE,
            holds,
        )
        .with_measured(Some(row.kl_mean))
        .with_interval(Some((row.kl_min, row.kl_max)))
        .with_tolerance("MLP >= linear-exact (seed means)");
        if let Some(e) = exact {
            c = c.with_expected(e.kl_mean);
        }
        claims.push(c.with_note(format!(
            "expected: linear-exact's KL (a floor); theory + fit term {:.4}",
            row.theory_fit
        )));
    }
}

/// At the MLP's largest N: KL within [`REACH`] of theory + fit term.
fn reach_claim(mlp: &[&TheoryRow], claims: &mut Vec<Claim>) {
    let Some(row) = mlp.iter().max_by_key(|r| r.n) else {
        return;
    };
    claims.push(
        Claim::relative(
            format!("mlp-kl@N/d={}", row.n_over_d),
            format!(
                "the MLP's KL reaches the linear theory at its largest N/d = {}",
                row.n_over_d
            ),
            SOURCE,
            row.theory_fit,
            Some(row.kl_mean),
            REACH,
        )
        .with_interval(Some((row.kl_min, row.kl_max)))
        .with_note(format!(
            "{} seed(s); theory without the fit term {:.4}",
            row.runs, row.theory
        )),
    );
}
