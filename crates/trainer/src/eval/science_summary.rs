//! Summary lines of the reference, quality and membership metrics (`ref`, `quality`, `mia`,
//! `calibrate-local`),
//! kept apart from the other metrics' lines in [`super::summary`].

use serde_json::Value;

fn f(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.4}"))
}

/// How far the best reference's band mean r^2 lies above the second best ("+0.0036"): a small
/// margin means the references agree there and the band does not tell them apart.
fn margin(band: &Value) -> String {
    let mut v: Vec<f64> = band
        .as_object()
        .map(|m| m.values().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    v.sort_by(|a, b| b.total_cmp(a));
    match v.as_slice() {
        [a, b, ..] => format!("+{:.4}", a - b),
        _ => "-".into(),
    }
}

/// Prints the lines of whichever of `ref`, `quality`, `mia`, `calibrate-local` are in `metrics`.
pub fn print(m: &Value) {
    if let Some(r) = m.get("ref") {
        let bands: Vec<String> = ["low", "middle", "high"]
            .iter()
            .map(|b| match r["follows"][b].get("reference") {
                Some(name) => format!(
                    "{b}: {} (r2 {}, {} over the next)",
                    name.as_str().unwrap_or("?"),
                    f(&r["follows"][b]["mean_r2"]),
                    margin(&r["band_r2"][b])
                ),
                None => format!("{b}: -"),
            })
            .collect();
        println!("  follows (noise band)      {}", bands.join(", "));
    }
    if let Some(q) = m.get("quality") {
        println!(
            "  FWD vs held-out / floor   {} [{}, {}] / {} ({})",
            f(&q["fwd"]["samples"]["value"]),
            f(&q["fwd"]["samples"]["lo"]),
            f(&q["fwd"]["samples"]["hi"]),
            f(&q["fwd"]["floor"]["value"]),
            q["fwd"]["features"].as_str().unwrap_or("")
        );
        println!(
            "  KID vs held-out / floor   {} [{}, {}] / {} [{}, {}]",
            f(&q["kid"]["samples"]["mean"]),
            f(&q["kid"]["samples"]["lo"]),
            f(&q["kid"]["samples"]["hi"]),
            f(&q["kid"]["floor"]["mean"]),
            f(&q["kid"]["floor"]["lo"]),
            f(&q["kid"]["floor"]["hi"])
        );
    }
    if let Some(c) = m.get("calibrate-local") {
        println!(
            "  local patch per t         {}",
            c["flag"].as_str().unwrap_or("")
        );
    }
    if let Some(a) = m.get("mia") {
        println!(
            "  MIA AUC (best t)          {} at t = {} (TPR at 1% FPR {})",
            f(&a["best"]["auc"]),
            a["best"]["paper_t"],
            f(&a["best"]["tpr_at_fpr"])
        );
    }
    print_points(m);
}

/// The lines of `points` and `sima`.
fn print_points(m: &Value) {
    if let Some(p) = m.get("points") {
        println!(
            "  copied training rows      {} of {} (most copied: {} copies); copy rate densest / \
             sparsest bin {} / {}; collapsed coordinates {}",
            p["copied_rows"],
            p["num_train"],
            p["max_copies"],
            f(&p["copy_rate_densest"]),
            f(&p["copy_rate_sparsest"]),
            f(&p["variance"]["collapsed_fraction"])
        );
    }
    if let Some(a) = m.get("sima") {
        println!(
            "  SimA AUC t = 1 / best t   {} / {} at t = {} (TPR at 1% FPR {}, null sd {})",
            f(&a["first"]["auc"]),
            f(&a["best"]["auc"]),
            a["best"]["paper_t"],
            f(&a["best"]["tpr_at_1pct_fpr"]),
            f(&a["auc_null_sd"])
        );
    }
}
