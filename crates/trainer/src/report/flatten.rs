//! Scalars of a JSON document as dotted keys (`mem.r_mem`, `loss.mean_gap`), and the derived
//! latent dimensions of a spectrum evaluation.

use serde_json::Value;
use std::collections::BTreeMap;

/// Adds every number (and boolean, as 0/1) under `v` to `out` with its dotted path; arrays and
/// strings are left out. A null KL (`...kl...`) means infinite and is kept as +inf; other nulls
/// are left out.
pub fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, f64>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(map) => {
            for (k, inner) in map {
                flatten(&key(k), inner, out);
            }
        }
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_string(), x);
            }
        }
        Value::Bool(b) => {
            out.insert(prefix.to_string(), f64::from(u8::from(*b)));
        }
        Value::Null
            if prefix
                .rsplit('.')
                .next()
                .is_some_and(|k| k.starts_with("kl_")) =>
        {
            out.insert(prefix.to_string(), f64::INFINITY);
        }
        _ => {}
    }
}

/// Latent dimension per point set from `metrics.spectrum.dims`: the cliff estimate (median over
/// points; the mean in files written before medians were recorded) of the Jacobian's singular values (Achilli et al.), of the clean probes when there
/// are any (else the noised ones). `latent_dim.SET.tT` at each paper timestep T (1-based) of
/// the grid, and `latent_dim.SET` at the smallest one, where every memorised direction has
/// collapsed; `latent_dim.SET.LEVEL` (e.g. `latent_dim.train.achilli-t15`) = the headline's
/// median over points at each of its levels, and `latent_dim_pooled.SET.LEVEL` the same with the
/// authors' pooled threshold. (Rows of metrics.json written before the
/// paper's t have `t`, 0-based: read as t + 1.)
pub fn latent_dims(spectrum: &Value, out: &mut BTreeMap<String, f64>) {
    let Some(rows) = spectrum.get("dims").and_then(Value::as_array) else {
        return;
    };
    let probe = if rows
        .iter()
        .any(|r| r["probe"] == "clean" || r.get("probe").is_none())
    {
        "clean"
    } else {
        "noised"
    };
    let pick = |method: &str, kind: &str| -> Vec<&Value> {
        rows.iter()
            .filter(|r| r["method"] == method && r["kind"] == kind)
            .filter(|r| r.get("probe").is_none() || r["probe"] == probe)
            .collect()
    };
    let mut chosen = pick("jacobian", "singular");
    if chosen.is_empty() {
        chosen = pick("score-matrix", "singular");
    }
    let mut smallest: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for r in chosen {
        let paper_t = r["paper_t"]
            .as_u64()
            .or_else(|| r["t"].as_u64().map(|t| t + 1));
        // The median over points where recorded (a mean mixes a bimodal cliff's two modes).
        let d = r["cliff_median"]
            .as_f64()
            .or_else(|| r["cliff_mean"].as_f64());
        let (Some(set), Some(t), Some(d)) = (r["set"].as_str(), paper_t, d) else {
            continue;
        };
        out.insert(format!("latent_dim.{set}.t{t}"), d);
        let e = smallest.entry(set.to_string()).or_insert((t, d));
        if t < e.0 {
            *e = (t, d);
        }
    }
    for (set, (_, d)) in smallest {
        out.insert(format!("latent_dim.{set}"), d);
    }
    // The headline: `latent_dim.SET.LEVEL` = the median over points at each headline level.
    let headline = spectrum.pointer("/headline/dims").and_then(Value::as_array);
    for r in headline
        .into_iter()
        .flatten()
        .filter(|r| r["probe"] == probe)
    {
        if let (Some(set), Some(level), Some(d)) =
            (r["set"].as_str(), r["level"].as_str(), r["median"].as_f64())
        {
            out.insert(format!("latent_dim.{set}.{level}"), d);
            if let Some(p) = r["pooled_median"].as_f64() {
                out.insert(format!("latent_dim_pooled.{set}.{level}"), p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_numbers_and_infinite_kl() {
        let v = serde_json::json!({"mem": {"r_mem": 0.25, "d1": {"median": 1.5}, "ok": true},
            "gaussian": {"kl_samples_fit_to_truth": null, "note": "x"}, "list": [1, 2]});
        let mut out = BTreeMap::new();
        flatten("", &v, &mut out);
        assert_eq!(out["mem.r_mem"], 0.25);
        assert_eq!(out["mem.d1.median"], 1.5);
        assert_eq!(out["mem.ok"], 1.0);
        assert!(out["gaussian.kl_samples_fit_to_truth"].is_infinite());
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn latent_dim_is_taken_at_the_smallest_timestep() {
        let row = |set: &str, t: u64, d: f64, probe: &str| serde_json::json!({"set": set, "probe": probe, "method": "jacobian", "kind": "singular", "paper_t": t, "cliff_mean": d});
        let s = serde_json::json!({"dims": [row("train", 10, 7.0, "clean"), row("train", 1, 2.0, "clean"), row("samples", 4, 5.0, "clean"), row("train", 1, 6.0, "noised")]});
        let mut out = BTreeMap::new();
        latent_dims(&s, &mut out);
        assert_eq!(out["latent_dim.train"], 2.0);
        assert_eq!(out["latent_dim.samples"], 5.0);
        assert_eq!(out["latent_dim.train.t10"], 7.0);
        // With the quartiles recorded, the median over points (not the bimodal mean).
        let both = serde_json::json!({"dims": [{"set": "train", "probe": "clean", "method": "jacobian", "kind": "singular", "paper_t": 3, "cliff_mean": 203.0, "cliff_median": 12.0}]});
        let mut out = BTreeMap::new();
        latent_dims(&both, &mut out);
        assert_eq!(out["latent_dim.train"], 12.0);
        let mut with_headline = s.clone();
        with_headline["headline"] = serde_json::json!({"dims": [
            {"set": "train", "probe": "clean", "level": "achilli-t15", "median": 12.0},
            {"set": "train", "probe": "noised", "level": "achilli-t15", "median": 3.0}]});
        let mut out = BTreeMap::new();
        latent_dims(&with_headline, &mut out);
        assert_eq!(out["latent_dim.train.achilli-t15"], 12.0);
        // Older metrics.json: 0-based `t`, no probe.
        let old = serde_json::json!({"dims": [{"set": "train", "method": "jacobian", "kind": "singular", "t": 9, "cliff_mean": 3.0}]});
        let mut out = BTreeMap::new();
        latent_dims(&old, &mut out);
        assert_eq!(out["latent_dim.train.t10"], 3.0);
    }
}
