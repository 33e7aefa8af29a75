//! Collapse of the paper's manifold blocks under the exact empirical score (closed form,
//! float64): for `manifold:paper` (unit-norm rows, the authors' data) and
//! `manifold:paper-raw` at a training-set size N, the theory's critical VE noise level per
//! block beside the measured collapse level (kept fraction 1/2) with clean probes
//! (sqrt(abar_t) x^mu) and noised probes (sqrt(abar_t) x^mu + sqrt(1 - abar_t) z). The
//! numbers behind the block-collapse paragraph of `docs/metrics.md`; not a test.
//!
//!   cargo run --release -p diffmem-metrics --example block_collapse [-- N POINTS DRAWS]

use diffmem_data::{DataSpec, SubsetSpec, train_and_heldout};
use diffmem_metrics::spectrum::latent_dim::DimParams;
use diffmem_metrics::spectrum::{
    EmpiricalScore, ManifoldBlocks, Method, NoiseLevels, Perturbation, PointSet, Probe,
    ProbeConfig, ScoreMatrixConfig, SpectrumConfig, SpectrumSummary, analyse,
};
use diffmem_model::{Schedule, ScheduleKind};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(500);
    let points = args.get(1).copied().unwrap_or(8);
    let draws = args.get(2).copied().unwrap_or(4);
    let schedule = Schedule::new(ScheduleKind::default(), 1000).expect("schedule");
    let levels = NoiseLevels::of(&schedule);
    // 40 timesteps spread evenly in ln sigma^2 over the schedule.
    let (lo, hi) = (levels.ve_sigma2(0).ln(), levels.ve_sigma2(999).ln());
    let mut ts: Vec<usize> = (0..40)
        .map(|i| {
            let target = (lo + (hi - lo) * i as f64 / 39.0).exp();
            levels.step_at_ve_sigma2(target).unwrap_or(999)
        })
        .collect();
    ts.dedup();
    for spec in ["manifold:paper", "manifold:paper-raw"] {
        let data = DataSpec::parse(spec).expect("spec");
        let (train, _) = train_and_heldout(&data, &SubsetSpec::new(n)).expect("data");
        let d = train.dim();
        let field = EmpiricalScore::new(&train.samples, d, levels.clone()).expect("field");
        let blocks = ManifoldBlocks::from_truth(train.truth.as_ref().unwrap(), &train.samples, d)
            .expect("blocks")
            .expect("a manifold");
        let cfg = SpectrumConfig {
            timesteps: ts.clone(),
            method: Method::Jacobian,
            score_matrix: ScoreMatrixConfig {
                k_mult: 1.0,
                perturbation: Perturbation::Haar,
                symmetric: false,
            },
            dims: DimParams::default(),
            seed: 0,
            collapse_threshold: 0.5,
            probe: ProbeConfig {
                probes: vec![Probe::Clean, Probe::Noised],
                noise_draws: draws,
            },
        };
        let set = PointSet::choose("train", &train.samples, d, points, 1);
        let a = analyse(&field, &levels, &[set], &cfg, Some(&blocks), &mut |_, _| {})
            .expect("analysis");
        let s = SpectrumSummary::of(&a);
        let bs = s.blocks.expect("blocks");
        println!(
            "{spec}, N = {n}, {points} points, {draws} noise draws (normalised rows: {})",
            bs.normalized
        );
        for b in &bs.blocks {
            let level = |p: Probe| {
                b.curves
                    .iter()
                    .find(|c| c.probe == p)
                    .and_then(|c| c.collapse_sigma2)
                    .map_or("none".to_string(), |v| format!("{v:.4}"))
            };
            println!(
                "  {:<22} s2 {:.4}  theory sigma2_c {:.4}  measured clean {}  noised {}",
                b.label,
                b.s2,
                b.critical_sigma2,
                level(Probe::Clean),
                level(Probe::Noised)
            );
        }
    }
}
