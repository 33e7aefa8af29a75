//! The one-line verdict at the end of `diffmem eval` and the next step, from the metrics.json
//! document. Thresholds (docs and README "How to read the numbers"): R_mem >= 0.5 memorises,
//! R_mem <= 0.05 generalises (Gu et al., arXiv 2310.02664, call a model memorising when the
//! ratio test fires on most samples); without samples, the loss gap as in `train`.

use crate::io::show::num;
use serde_json::Value;

/// R_mem at or above which a model memorises.
pub const MEMORISES: f64 = 0.5;
/// R_mem at or below which a model generalises.
pub const GENERALISES: f64 = 0.05;
/// Samples lean on the training set when the fraction nearer a held-out image than every
/// training image is below this share of N_held / (N_held + N), its value for a model whose
/// samples are independent of the training set.
pub const NEAR_TRAIN: f64 = 0.5;

/// Verdict and next step of a metrics.json document written to `out`.
pub fn verdict(doc: &Value, out: &str) -> (String, String) {
    let m = &doc["metrics"];
    let figures = format!("next: look at {out}/nn_grid.png and nn_grid_random.png");
    let mut v = if let Some(r) = m["mem"]["r_mem"].as_f64() {
        let pct = num(100.0 * r);
        let closer = m["mem"]["heldout"]["frac_closer_to_heldout"].as_f64();
        let expected = doc["n_heldout"]
            .as_f64()
            .zip(doc["n_train"].as_f64())
            .map(|(h, n)| h / (h + n));
        let near_train = closer.zip(expected).filter(|(c, e)| *c < NEAR_TRAIN * e);
        if r >= MEMORISES {
            format!("memorises: {pct}% of samples copy a training image (R_mem >= {MEMORISES})")
        } else if let Some((c, e)) = near_train {
            format!(
                "leans on its training set: {pct}% exact copies, but only {}% of samples are \
                 nearer a held-out image than every training image ({}% if it did not memorise)",
                num(100.0 * c),
                num(100.0 * e)
            )
        } else if r <= GENERALISES {
            format!("generalises: {pct}% of samples copy a training image (R_mem <= {GENERALISES})")
        } else {
            format!("partly memorises: {pct}% of samples copy a training image")
        }
    } else if let Some(gap) = m["loss"]["mean_gap"].as_f64() {
        format!(
            "loss gap {} (held-out minus training denoising loss)",
            num(gap)
        )
    } else {
        "see metrics.json".into()
    };
    if let Some(bad) = doc["sample_health"]["non_finite"]
        .as_u64()
        .zip(doc["sample_health"]["exploding"].as_u64())
        .map(|(a, b)| a + b)
        .filter(|&b| b > 0)
    {
        v.push_str(&format!("; {bad} samples diverged (see the warning above)"));
    }
    let next = if m.get("mem").is_some() {
        format!("{figures}; compare several N with diffmem sweep")
    } else {
        // Evaluate the run itself (metrics.json names it), not the --out directory.
        let run = doc["run"].as_str().unwrap_or(out);
        format!("next: diffmem eval {run} --metrics mem")
    };
    (v, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thresholds_of_r_mem() {
        let doc = |r: f64| json!({"metrics": {"mem": {"r_mem": r}}});
        assert!(verdict(&doc(0.87), "o").0.starts_with("memorises: 87%"));
        assert!(verdict(&doc(0.01), "o").0.starts_with("generalises: 1%"));
        assert!(
            verdict(&doc(0.2), "o")
                .0
                .starts_with("partly memorises: 20%")
        );
        let bad = json!({"metrics": {"mem": {"r_mem": 0.0}},
                         "sample_health": {"non_finite": 1, "exploding": 2}});
        assert!(
            verdict(&bad, "o")
                .0
                .ends_with("3 samples diverged (see the warning above)")
        );
        // The run of docs/img: no copies, but 8% nearer held-out images where 71% is expected.
        let lean = json!({"n_train": 200, "n_heldout": 500, "metrics": {"mem": {"r_mem": 0.0,
                          "heldout": {"frac_closer_to_heldout": 0.08}}}});
        let v = verdict(&lean, "o").0;
        assert!(
            v.starts_with("leans on its training set: 0% exact copies") && v.contains("71.43%"),
            "{v}"
        );
        let fair = json!({"n_train": 200, "n_heldout": 500, "metrics": {"mem": {"r_mem": 0.0,
                          "heldout": {"frac_closer_to_heldout": 0.6}}}});
        assert!(verdict(&fair, "o").0.starts_with("generalises"));
        let loss = json!({"run": "runs/r", "metrics": {"loss": {"mean_gap": 0.0123}}});
        let (v, next) = verdict(&loss, "o");
        assert!(
            v.contains("0.0123") && next == "next: diffmem eval runs/r --metrics mem",
            "{v} {next}"
        );
    }
}
