//! The report's figures of `eval --metrics mia|quality|ref` against N, each drawn
//! only when some run measured it:
//!
//! - `mia_auc.png`: membership-inference AUC at each run's best timestep (Carlini et al.,
//!   arXiv 2301.13188), with the chance level 0.5, and the TPR at 1% FPR dashed;
//! - `quality_fwd.png`, `quality_kid.png`: FWD (Veeramacheneni et al., arXiv 2312.15289) and KID
//!   of the samples against the held-out set with each run's interval as error bars, beside the
//!   real-vs-real floor (training rows against the same held-out rows);
//! - `ref_low.png`, `ref_middle.png`, `ref_high.png`: r^2 of the run's denoiser against each
//!   reference denoiser (Kamb & Ganguli, arXiv 2412.20292), averaged over the timesteps of one
//!   noise band, one line per model and reference.
//!
//! Every line is the mean over seeds at each N with the min..max band, as in `plots`.

use super::aggregate::{Line, lines, pooled};
use super::collect::RunRecord;
use super::plots::{Figure, draw, extras, level, series, vs_n};
use anyhow::Result;
use diffmem_metrics::plot::{Extras, Series};
use diffmem_metrics::reference::BANDS;
use std::path::Path;

/// Reference denoisers in the order they are drawn: the Gaussian optimum (followed at high
/// noise), the memorising optimum, the patch machine; others after them, by name.
const REFERENCE_ORDER: [&str; 3] = ["linear-exact", "empirical", "local"];

/// The lowest r^2 drawn: a reference the run does not follow can reach r^2 of -100, which
/// would flatten every other line.
const R2_FLOOR: f64 = -1.0;

/// Writes the figures of the metrics the runs have into `dir`.
pub fn write(dir: &Path, runs: &[RunRecord]) -> Result<Vec<Figure>> {
    let mut out = Vec::new();
    let extras = &extras(runs);
    mia(dir, runs, extras, &mut out)?;
    for q in [FWD, KID] {
        quality(dir, runs, extras, &q, &mut out)?;
    }
    for band in BANDS {
        reference(dir, runs, extras, band, &mut out)?;
    }
    Ok(out)
}

fn mia(dir: &Path, runs: &[RunRecord], extras: &Extras, out: &mut Vec<Figure>) -> Result<()> {
    let auc = lines(runs, |r| r.get("mia.best.auc"));
    let mut s = series(&auc, " AUC");
    s.extend(level("chance (AUC = 0.5)", &auc, 0.5));
    let tpr = lines(runs, |r| r.get("mia.best.tpr_at_fpr"));
    s.extend(
        series(&tpr, " TPR at 1% FPR")
            .into_iter()
            .map(Series::as_dashed),
    );
    draw(
        dir,
        "mia_auc.png",
        &vs_n(
            "Membership inference vs N",
            "AUC; dashed: TPR at 1% FPR (fractions)",
            false,
        ),
        extras,
        s,
        "Membership inference from the per-example denoising loss, training vs held-out \
         examples, at each run's best timestep: AUC 1 means every training example is \
         recognised, 0.5 (dashed) is chance; the dashed TPR is the fraction of training \
         examples caught while flagging 1% of held-out ones.",
        out,
    )
}

/// One quality metric: its keys in metrics.json and its figure.
struct Quality {
    /// `quality.fwd` or `quality.kid`.
    key: &'static str,
    /// The point value's field: `value` (FWD) or `mean` (KID).
    value: &'static str,
    file: &'static str,
    title: &'static str,
    y_label: &'static str,
    caption: &'static str,
}

const FWD: Quality = Quality {
    key: "quality.fwd",
    value: "value",
    file: "quality_fwd.png",
    title: "Frechet Wavelet Distance to held-out vs N",
    y_label: "FWD (Haar wavelet packets, data units)",
    caption: "Frechet Wavelet Distance of the samples to the held-out set (lower is better; \
              error bars: 95% bootstrap interval, widest over seeds) beside the dashed floor, \
              training images against the same held-out images at the same count: a curve \
              near the floor means samples as close to unseen data as real training data are.",
};

const KID: Quality = Quality {
    key: "quality.kid",
    value: "mean",
    file: "quality_kid.png",
    title: "KID (raw coordinates) to held-out vs N",
    y_label: "KID (unbiased MMD^2, kernel (x.y/d + 1)^3)",
    caption: "KID (unbiased MMD^2 on the raw coordinates) of the samples to the held-out set \
              (lower is better; error bars: 2.5-97.5% quantiles over subsets, widest over \
              seeds) beside the dashed floor, training images against the same held-out \
              images: a curve near the floor (about 0) means samples as close to unseen data \
              as real training data are.",
};

/// The samples' line of one quality metric per plot line, with error bars from the smallest
/// lower to the largest upper end of the runs' intervals at each N.
fn with_intervals(runs: &[RunRecord], q: &Quality) -> Vec<Series> {
    let get = |field: &str| {
        let key = format!("{}.samples.{field}", q.key);
        lines(runs, move |r| r.get(&key))
    };
    let (values, lower, upper) = (get(q.value), get("lo"), get("hi"));
    let mut s = series(&values, " samples");
    for (one, line) in s.iter_mut().zip(&values) {
        let find = |ls: &[Line]| {
            ls.iter()
                .find(|l| l.label == line.label && l.n == line.n)
                .cloned()
        };
        if let (Some(lo), Some(hi)) = (find(&lower), find(&upper)) {
            *one = one.clone().with_errors(lo.min, hi.max);
        }
    }
    s
}

fn quality(
    dir: &Path,
    runs: &[RunRecord],
    extras: &Extras,
    q: &Quality,
    out: &mut Vec<Figure>,
) -> Result<()> {
    let mut s = with_intervals(runs, q);
    let floor_key = format!("{}.floor.{}", q.key, q.value);
    let floor = pooled(runs, "real-vs-real floor (train vs held-out)", |r| {
        r.get(&floor_key)
    });
    if !s.is_empty() {
        s.extend(
            series(floor.as_slice(), "")
                .into_iter()
                .map(Series::as_dashed),
        );
    }
    draw(
        dir,
        q.file,
        &vs_n(q.title, q.y_label, false),
        extras,
        s,
        q.caption,
        out,
    )
}

/// The references with a band mean in some run (`ref.band_r2.BAND.REF`), in
/// [`REFERENCE_ORDER`].
fn references(runs: &[RunRecord], band: &str) -> Vec<String> {
    let prefix = format!("ref.band_r2.{band}.");
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| r.scalars.keys())
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
        .collect();
    let rank = |n: &String| {
        REFERENCE_ORDER
            .iter()
            .position(|r| r == n)
            .unwrap_or(REFERENCE_ORDER.len())
    };
    names.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
    names.dedup();
    names
}

/// The series of one noise band: per reference, one line per plot line of r^2 (clipped at
/// [`R2_FLOOR`]) against N.
fn reference_series(runs: &[RunRecord], band: &str) -> Vec<Series> {
    let mut s = Vec::new();
    for name in references(runs, band) {
        let key = format!("ref.band_r2.{band}.{name}");
        let l = lines(runs, |r| r.get(&key).map(|v| v.max(R2_FLOOR)));
        s.extend(series(&l, &format!(" vs {name}")));
    }
    s
}

fn reference(
    dir: &Path,
    runs: &[RunRecord],
    extras: &Extras,
    band: &str,
    out: &mut Vec<Figure>,
) -> Result<()> {
    let range = match band {
        "low" => "t < T/3",
        "middle" => "T/3 <= t < 2T/3",
        _ => "t >= 2T/3",
    };
    let title = format!("Reference following at {band} noise ({range}) vs N");
    let caption = format!(
        "r^2 between the run's denoised images and each reference denoiser's on the same \
         noised training and held-out images, averaged over the {band}-noise timesteps \
         ({range}): the highest line is the reference the network follows there (1 = \
         identical, 0 = no better than a flat image; clipped at -1)."
    );
    draw(
        dir,
        &format!("ref_{band}.png"),
        &vs_n(
            &title,
            "r^2 of denoised images (band mean, clipped at -1)",
            false,
        ),
        extras,
        reference_series(runs, band),
        &caption,
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config::RunConfig;

    fn run(line: &str, n: usize, scalars: &[(&str, f64)]) -> RunRecord {
        let mut config = RunConfig::default();
        config.data.n = n;
        RunRecord {
            name: format!("{line}-n{n}"),
            status: "done".into(),
            message: None,
            index: None,
            axes: vec![],
            line: line.into(),
            config: Some(config),
            config_text: String::new(),
            metrics: None,
            verdict: None,
            scalars: scalars.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn reference_lines_are_ordered_clipped_and_averaged_over_seeds() {
        let runs = [
            run(
                "mlp",
                10,
                &[
                    ("ref.band_r2.low.local", 0.5),
                    ("ref.band_r2.low.empirical", 0.9),
                ],
            ),
            run(
                "mlp",
                10,
                &[
                    ("ref.band_r2.low.empirical", 0.7),
                    ("ref.band_r2.low.linear-exact", -30.0),
                ],
            ),
            run("mlp", 100, &[("ref.band_r2.low.empirical", 0.2)]),
        ];
        assert_eq!(
            references(&runs, "low"),
            ["linear-exact", "empirical", "local"]
        );
        assert!(references(&runs, "high").is_empty());
        let s = reference_series(&runs, "low");
        let labels: Vec<&str> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["mlp vs linear-exact", "mlp vs empirical", "mlp vs local"]
        );
        assert_eq!(s[0].y, [R2_FLOOR]);
        assert_eq!(
            (s[1].x.clone(), s[1].y.clone()),
            (vec![10.0, 100.0], vec![0.8, 0.2])
        );
        // Two seeds at N = 10: the band is their min..max.
        assert_eq!(s[1].band, Some((vec![0.7, 0.2], vec![0.9, 0.2])));
    }

    #[test]
    fn quality_error_bars_span_every_seeds_interval_and_the_floor_is_pooled() {
        let q = |v: f64, lo: f64, hi: f64, floor: f64| {
            [
                ("quality.fwd.samples.value", v),
                ("quality.fwd.samples.lo", lo),
                ("quality.fwd.samples.hi", hi),
                ("quality.fwd.floor.value", floor),
            ]
        };
        let runs = [
            run("mlp", 10, &q(2.0, 1.5, 2.5, 1.0)),
            run("mlp", 10, &q(4.0, 3.0, 6.0, 1.2)),
            run("unet", 10, &q(3.0, 2.0, 4.0, 1.1)),
        ];
        let s = with_intervals(&runs, &FWD);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].label.as_str(), s[0].y.clone()),
            ("mlp samples", vec![3.0])
        );
        assert_eq!(s[0].errors, Some((vec![1.5], vec![6.0])));
        assert_eq!(s[1].errors, Some((vec![2.0], vec![4.0])));
        let floor = pooled(&runs, "floor", |r| r.get("quality.fwd.floor.value")).unwrap();
        assert!((floor.mean[0] - 1.1).abs() < 1e-12 && floor.count == [3]);
        assert!(with_intervals(&runs, &KID).is_empty());
    }

    #[test]
    fn figures_are_written_only_for_measured_metrics() {
        let dir = std::env::temp_dir().join(format!("diffmem-rsci-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let runs = [
            run(
                "mlp",
                10,
                &[("mia.best.auc", 0.9), ("mia.best.tpr_at_fpr", 0.3)],
            ),
            run(
                "mlp",
                100,
                &[("mia.best.auc", 0.55), ("mia.best.tpr_at_fpr", 0.02)],
            ),
        ];
        let figs = write(&dir, &runs).unwrap();
        let files: Vec<&str> = figs.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(files, ["mia_auc.png"]);
        let svg = std::fs::read_to_string(dir.join("mia_auc.svg")).unwrap();
        for text in [
            "mlp AUC",
            "chance (AUC = 0.5)",
            "mlp TPR at 1% FPR",
            "N (training-set size)",
        ] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        assert!(!dir.join("quality_fwd.png").exists() && !dir.join("ref_low.png").exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
