//! Divergent evaluation samples (non-finite, or beyond 10x the data range; see
//! `diffmem_metrics::sample_health`): counted, written to metrics.json as `sample_health`,
//! warned about, and left out of the metrics only with `--exclude-nonfinite`.

use anyhow::Result;
use diffmem_data::Dataset;
use diffmem_metrics::sample_health::{EXPLODING_FACTOR, SampleHealth, keep_good, screen};

/// Screens `samples` against the range of `train`. Returns the samples the metrics see (all of
/// them, or with `exclude` only the good ones) and the report; warns on stderr when any sample
/// is bad.
pub fn screen_samples(
    samples: Vec<f32>,
    train: &Dataset,
    exclude: bool,
) -> Result<(Vec<f32>, SampleHealth)> {
    let dim = train.dim();
    let (mut health, good) = screen(&samples, &train.samples, dim, EXPLODING_FACTOR)?;
    if health.bad() == 0 {
        return Ok((samples, health));
    }
    eprintln!("warning: {}", describe(&health, exclude));
    if !exclude {
        return Ok((samples, health));
    }
    let kept = keep_good(&samples, dim, &good);
    if kept.is_empty() {
        anyhow::bail!(
            "every evaluation sample diverged, so --exclude-nonfinite leaves nothing to measure: \
             the model is broken (look at its loss.png; retrain with a lower --lr or --clip 1.0)"
        );
    }
    health.excluded = true;
    Ok((kept, health))
}

/// The warning: how many samples diverged, how badly, and what to do.
pub fn describe(h: &SampleHealth, exclude: bool) -> String {
    let what = format!(
        "{} of {} evaluation samples diverged ({} non-finite, {} beyond {:.3} = {EXPLODING_FACTOR}x \
         the data range; largest |x| {:.3})",
        h.bad(),
        h.num_samples,
        h.non_finite,
        h.exploding,
        h.limit,
        h.max_abs
    );
    if exclude {
        format!("{what}; they are left out of every metric (--exclude-nonfinite)")
    } else {
        format!(
            "{what}; they are in the distance summaries (means move, medians barely): \
             --exclude-nonfinite leaves them out"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diffmem_data::{Provenance, SampleShape};

    fn train() -> Dataset {
        Dataset {
            samples: vec![1.0, -1.0, 0.5, 0.0],
            shape: SampleShape::Flat { d: 2 },
            labels: None,
            provenance: Provenance {
                source: "test".into(),
                indices: vec![0, 1],
            },
            truth: None,
        }
    }

    #[test]
    fn bad_samples_are_kept_unless_excluded() {
        // Rows: good, NaN, good, 479 (beyond 10 x the data range 1).
        let s = vec![0.1, 0.2, f32::NAN, 0.0, -0.3, 0.4, 479.0, 0.0];
        let (kept, h) = screen_samples(s.clone(), &train(), false).unwrap();
        assert_eq!((h.non_finite, h.exploding, h.excluded), (1, 1, false));
        assert_eq!(kept.len(), 8);
        let (kept, h) = screen_samples(s, &train(), true).unwrap();
        assert!(h.excluded);
        assert_eq!(kept, vec![0.1, 0.2, -0.3, 0.4]);
        assert!(screen_samples(vec![f32::NAN, 0.0], &train(), true).is_err());
        let text = describe(&h, false);
        assert!(
            text.starts_with("2 of 4 evaluation samples diverged"),
            "{text}"
        );
        assert!(text.contains("--exclude-nonfinite"), "{text}");
    }
}
