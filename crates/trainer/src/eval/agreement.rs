//! `--metrics agree`: two-model agreement (Kadkhodaie et al., arXiv 2310.02557; docs/theory.md
//! §3). Both runs sample from the same host noise; the cosine similarity of paired samples,
//! and of each sample with its nearest training image.

use super::{EvalContext, draw_samples};
use crate::run::{self, Weights};
use anyhow::{Result, bail};
use diffmem_metrics::agreement::{Centering, nn_cosine, paired_cosine, summarize};
use diffmem_metrics::nn::{NnConfig, nearest_neighbours};
use serde_json::Value;
use std::path::Path;

/// Two-model agreement: both runs sample from the same host noise stream.
pub fn run(ctx: &EvalContext<'_>, samples: &[f32], nn1: Option<&[usize]>) -> Result<Value> {
    let r = ctx.run;
    let other_dir = ctx.against.as_deref().unwrap_or(Path::new(""));
    let weights = if ctx.raw { Weights::Raw } else { Weights::Ema };
    let other = run::load(other_dir, Some(r.device.kind), weights)?;
    if other.train.dim() != r.train.dim() {
        bail!(
            "--against {}: dimension {} differs from {}",
            other_dir.display(),
            other.train.dim(),
            r.train.dim()
        );
    }
    let d = r.train.dim();
    let theirs = draw_samples(&other, ctx.section, ctx.progress)?;
    let paired = paired_cosine(samples, &theirs, d, Centering::PerSample)?;
    let own_nn = match nn1 {
        Some(n) => n.to_vec(),
        None => nearest_neighbours(
            samples,
            &r.train.samples,
            d,
            &NnConfig::new(1, d),
            &r.device.device,
        )?
        .indices_at(0)?,
    };
    let other_nn = nearest_neighbours(
        &theirs,
        &other.train.samples,
        d,
        &NnConfig::new(1, d),
        &r.device.device,
    )?
    .indices_at(0)?;
    let nn_a = nn_cosine(samples, &r.train.samples, d, &own_nn, Centering::PerSample)?;
    let nn_b = nn_cosine(
        &theirs,
        &other.train.samples,
        d,
        &other_nn,
        Centering::PerSample,
    )?;
    let summary = summarize(&paired, Some(&nn_a), Some(&nn_b), Centering::PerSample);
    let mut v = serde_json::to_value(&summary)?;
    v["against"] = other.dir.display().to_string().into();
    let shared = r
        .train
        .provenance
        .indices
        .iter()
        .filter(|i| other.train.provenance.indices.contains(i))
        .count();
    v["shared_training_indices"] = shared.into();
    let pair = (samples, theirs.as_slice());
    v["split_theory"] = super::split_theory::compare(r, &other, ctx.section, pair, ctx.out)?;
    Ok(v)
}
