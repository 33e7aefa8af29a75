//! The data of a run: its training subset and held-out set, from the config's data section.

use crate::run::config::DataSection;
use anyhow::{Result, anyhow};
use diffmem_data::{DataError, Dataset, SubsetSpec};

/// Turns a data error into an anyhow error carrying the hint as a last line.
pub fn with_hint(e: DataError) -> anyhow::Error {
    anyhow!(e.report())
}

/// The subset request of a data section.
pub fn subset(d: &DataSection) -> SubsetSpec {
    SubsetSpec {
        n: d.n,
        seed: d.seed,
        balanced: d.balanced,
        split: *d.split,
        heldout_n: d.heldout,
    }
}

/// Loads (training subset, held-out set).
pub fn load(d: &DataSection) -> Result<(Dataset, Dataset)> {
    diffmem_data::train_and_heldout(&d.spec, &subset(d)).map_err(with_hint)
}

/// Writes the original index of each training row, one per line.
pub fn indices_text(train: &Dataset) -> String {
    let mut s = String::with_capacity(train.provenance.indices.len() * 6);
    for i in &train.provenance.indices {
        s.push_str(&i.to_string());
        s.push('\n');
    }
    s
}
