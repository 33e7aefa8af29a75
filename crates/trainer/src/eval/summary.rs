//! The plain-text summary of `diffmem eval` (the whole document is metrics.json).

use crate::io::show::show as v;
use serde_json::Value;
use std::path::Path;

/// Prints the headline numbers of a metrics.json document.
pub fn print(doc: &Value, out: &Path) {
    let m = &doc["metrics"];
    println!(
        "eval of {} ({} samples, seed {})",
        doc["run"].as_str().unwrap_or(""),
        v(&doc["samples"]["num"]),
        v(&doc["samples"]["seed"])
    );
    if let Some(mem) = m.get("mem") {
        println!(
            "  R_mem (d1/d2 < {:.3})      {}",
            mem["threshold"].as_f64().unwrap_or(f64::NAN),
            v(&mem["r_mem"])
        );
        println!("  median d1 train           {}", v(&mem["d1"]["median"]));
        if let Some(h) = mem.get("heldout").filter(|h| !h.is_null()) {
            println!("  median d1 held-out        {}", v(&h["d1"]["median"]));
            println!(
                "  closer to held-out        {}",
                v(&h["frac_closer_to_heldout"])
            );
        }
    }
    if let Some(l) = m.get("loss") {
        println!(
            "  eps-loss train / held-out {} / {} (gap_eps {}, normalised gap {})",
            v(&l["mean_train_loss"]),
            v(&l["mean_heldout_loss"]),
            v(&l["mean_gap"]),
            v(&l["normalised_gap"])
        );
    }
    if let Some(g) = m.get("gaussian") {
        println!(
            "  KL(samples || truth)      {}",
            v(&g["kl_samples_fit_to_truth"])
        );
        println!(
            "  KL(train Gaussian || truth) {}",
            v(&g["kl_train_gaussian_to_truth"])
        );
    }
    if let Some(g) = m.get("agree") {
        println!("  agreement cosine (mean)   {}", v(&g["cosine"]["mean"]));
    }
    crate::eval::science_summary::print(m);
    if let Some(sp) = m.get("spectrum") {
        crate::eval::spectrum::print_headline(sp);
    }
    println!(
        "  written to {} (metrics.json, *.csv, *.png) in {:.1}s",
        out.display(),
        doc["seconds"].as_f64().unwrap_or(0.0)
    );
    // The decision table's verdict (crate::verdict), put into the document by `eval`.
    let verdict = &doc["verdict"];
    println!("verdict: {}", verdict["verdict"].as_str().unwrap_or("-"));
    println!("{}", verdict["next"].as_str().unwrap_or(""));
}
