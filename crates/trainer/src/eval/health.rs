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
