//! `split_theory.csv` and `split_theory.png`: the first-order and the random-matrix
//! predictions of the split disagreement over a grid of N/d, with the measured point of the
//! evaluated pair (mean squared difference per coordinate +- 2 standard errors over samples).
//! Large problems (d^2 T above 10^8) get only the run's own N.

use super::split_theory::Inputs;
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use diffmem_metrics::plot::{PlotSpec, Series, line_plot};
use std::path::Path;

/// Grid points between N/d = 1/4 and 50 (and the run's own N).
const POINTS: usize = 13;

/// The first-order formula costs d^2 T per N: above this the grid is skipped (about 2 s a
/// point at the bound on one core).
const MAX_COST: usize = 100_000_000;

/// Distinct N >= 2 on a geometric grid of N/d from 1/4 to 50, with `n` included, ascending;
/// only `n` when d^2 `steps` exceeds [`MAX_COST`].
fn grid(d: usize, n: usize, steps: usize) -> Vec<usize> {
    if d * d * steps > MAX_COST {
        return vec![n];
    }
    let (lo, hi) = ((0.25 * d as f64).ln(), (50.0 * d as f64).ln());
    let mut out: Vec<usize> = (0..POINTS)
        .map(|k| {
            (lo + (hi - lo) * k as f64 / (POINTS - 1) as f64)
                .exp()
                .round() as usize
        })
        .chain(std::iter::once(n))
        .map(|v| v.max(2))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Writes both files for the pair's inputs, its N = `n` and its measured (msd, standard error).
pub fn write(out: &Path, t: &Inputs, n: usize, (measured, se): (f64, f64)) -> Result<()> {
    let d = t.spectrum.len();
    let ns = grid(d, n, t.schedule.len());
    let first: Vec<f64> = ns.iter().map(|&k| t.first_order(k)).collect();
    let rmt: Vec<f64> = ns.iter().map(|&k| t.rmt(k)).collect();
    let rows: Vec<Vec<String>> = ns
        .iter()
        .zip(first.iter().zip(&rmt))
        .map(|(&k, (f, r))| {
            let m = if k == n { measured } else { f64::NAN };
            vec![
                k.to_string(),
                number(k as f64 / d as f64),
                number(*f),
                number(*r),
                number(m),
            ]
        })
        .collect();
    write_csv(
        &out.join("split_theory.csv"),
        &[
            "n",
            "n_over_d",
            "first_order_msd",
            "rmt_msd",
            "measured_msd",
        ],
        &rows,
    )?;
    let x: Vec<f64> = ns.iter().map(|&k| k as f64 / d as f64).collect();
    let at = vec![n as f64 / d as f64];
    let mut spec = PlotSpec::new(
        "Split disagreement of two linear-exact models (DDPM, shared noise)",
        "N / d",
        "mean squared difference per coordinate",
    );
    (spec.log_x, spec.log_y) = (true, true);
    line_plot(
        &out.join("split_theory.png"),
        &spec,
        &[
            Series::new("random-matrix theory (arXiv 2602.02908)", x.clone(), rmt),
            Series::new("first order in 1/N (delta method)", x, first).as_dashed(),
            Series::new("measured (this pair, +- 2 s.e.)", at, vec![measured]).with_errors(
                vec![(measured - 2.0 * se).max(measured * 0.5)],
                vec![measured + 2.0 * se],
            ),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_spans_a_quarter_to_fifty_and_holds_the_run() {
        let g = grid(8, 37, 1000);
        assert_eq!((g[0], *g.last().unwrap()), (2, 400));
        assert!(
            g.contains(&37) && g.windows(2).all(|w| w[0] < w[1]),
            "{g:?}"
        );
        assert_eq!(grid(1000, 37, 1000), vec![37]);
    }
}
