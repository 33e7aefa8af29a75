//! The data of a run: its training subset and held-out set, from the config's data section.

use crate::config::DataSection;
use anyhow::{Result, anyhow};
use diffmem_data::{DataError, DataSpec, Dataset, Half, SubsetSpec};

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
        split: match d.split.as_deref() {
            Some("b") => Some(Half::B),
            Some(_) => Some(Half::A),
            None => None,
        },
        heldout_n: d.heldout,
    }
}

/// Loads (training subset, held-out set).
pub fn load(d: &DataSection) -> Result<(Dataset, Dataset)> {
    let spec = DataSpec::parse(&d.spec).map_err(with_hint)?;
    diffmem_data::train_and_heldout(&spec, &subset(d)).map_err(with_hint)
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
