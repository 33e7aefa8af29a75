//! `diffmem data inspect|grid|export`: look at a dataset (or the subset a run would train on)
//! before training on it, or export the exact rows a run trains on.

mod export;

use anyhow::{Result, anyhow};
use diffmem_data::rng::{Purpose, permutation};
use diffmem_data::{
    DataError, DataSpec, Dataset, Half, SampleShape, Split, SubsetSpec, check_size,
    train_and_heldout, write_grid,
};
use std::path::PathBuf;

/// Samples drawn from a synthetic source when `--n` is not given.
const SYNTHETIC_DEFAULT_N: usize = 1000;

/// Arguments of `diffmem data`.
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

/// The `diffmem data` subcommands.
#[derive(clap::Subcommand, Debug)]
enum DataCommand {
    /// Print source, N, shape, value range, mean/std and class counts.
    Inspect(InspectArgs),
    /// Write a PNG grid of a seeded sample of the data (--seed; all classes, as the subsets a
    /// run trains on), or of the first samples of the subset with --n.
    Grid(GridArgs),
    /// Write the exact training rows of a run (--run RUN) or of train's data flags (--data
    /// SPEC --n N --seed S [--split a|b]) as .npy, with labels, original indices and a .json.
    Export(export::ExportArgs),
}

/// Which samples to look at: a data spec and optionally the subset flags of `diffmem train`.
#[derive(clap::Args, Debug)]
struct SourceArgs {
    /// Data spec: mnist-5k, mnist:PATH, fashion-mnist:PATH, cifar10:PATH,
    /// celeba:PATH[,size=64,crop=140,grey=false], folder:PATH[,...],
    /// gaussian:d=100,spectrum=power:1[,rotate=true,mean=0,seed=S], manifold:paper or
    /// manifold:d=30,blocks=2x1.0+5x0.3,ambient=0.01[,normalize=true,axis=true,seed=S],
    /// mixture:d=8[,sep=1,sigma=1,seed=S] (two Gaussians N(+-sep (1,...,1), sigma^2 I)).
    #[arg(long)]
    data: String,
    /// The subset flags of `diffmem train`.
    #[command(flatten)]
    subset: SubsetFlags,
}

/// The subset flags of `diffmem train` (--n, --seed, --balanced, --split), shared by
/// `data inspect`, `data grid` and `data export`.
#[derive(clap::Args, Clone, Debug)]
pub struct SubsetFlags {
    /// Seeded training subset of size N (default: the whole training split; 1000 samples
    /// for synthetic data).
    #[arg(long, allow_negative_numbers = true)]
    pub n: Option<i64>,
    /// Seed of the subset shuffle (or of the synthetic sample stream).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Same number of samples per class (needs --n and labels).
    #[arg(long)]
    pub balanced: bool,
    /// Half a or b of two disjoint subsets of size N (needs --n).
    #[arg(long, value_enum)]
    pub split: Option<HalfFlag>,
}

/// `--split`: which of the two disjoint halves (`"a"`, `"b"` in JSON, as on the command line).
#[derive(clap::ValueEnum, serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HalfFlag {
    /// The first N rows of the seeded shuffle (the unsplit subset).
    A,
    /// The next N rows.
    B,
}

impl From<HalfFlag> for Half {
    fn from(h: HalfFlag) -> Self {
        match h {
            HalfFlag::A => Half::A,
            HalfFlag::B => Half::B,
        }
    }
}

/// Arguments of `diffmem data inspect`.
#[derive(clap::Args, Debug)]
struct InspectArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `diffmem data grid`.
#[derive(clap::Args, Debug)]
struct GridArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Output PNG file.
    #[arg(long)]
    out: PathBuf,
    /// Number of samples in the grid.
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    num: i64,
    /// Print what was written as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `diffmem data`.
pub fn run(a: &DataArgs) -> Result<()> {
    match &a.command {
        DataCommand::Inspect(i) => inspect(i),
        DataCommand::Grid(g) => grid(g),
        DataCommand::Export(e) => export::run(e),
    }
}

/// A data error as an anyhow error: `FLAG VALUE: message`, then `hint: ...` when there is one.
fn flag_error(flag: &str, value: &str, e: DataError) -> anyhow::Error {
    anyhow!("{flag} {value}: {}", e.report())
}

impl SourceArgs {
    fn spec(&self) -> Result<DataSpec> {
        DataSpec::parse(&self.data).map_err(|e| flag_error("--data", &self.data, e))
    }

    /// The subset the flags ask for, or `None` for the whole training split. Synthetic data
    /// without `--n` get a default size.
    fn subset(&self, spec: &DataSpec) -> Result<Option<SubsetSpec>> {
        let f = &self.subset;
        let n = match f.n {
            Some(n) => check_size("--n", n).map_err(|e| flag_error("--n", &n.to_string(), e))?,
            None if spec.is_synthetic() => SYNTHETIC_DEFAULT_N,
            None if f.balanced || f.split.is_some() => {
                return Err(anyhow!(
                    "--balanced and --split choose a subset: give its size with --n\n\
                     hint: e.g. diffmem data inspect --data {} --n 1000 --balanced",
                    self.data
                ));
            }
            None => return Ok(None),
        };
        Ok(Some(SubsetSpec {
            n,
            seed: f.seed,
            balanced: f.balanced,
            split: f.split.map(Half::from),
            heldout_n: 0,
        }))
    }

    /// The training subset these flags choose and the `heldout` rows a run with them and
    /// `train --heldout K` holds out (none when no subset is asked for: the whole split).
    fn load_with_heldout(&self, heldout: usize) -> Result<(DataSpec, Dataset, Option<Dataset>)> {
        let spec = self.spec()?;
        let Some(mut sub) = self.subset(&spec)? else {
            let (spec, ds) = self.load(None)?;
            return Ok((spec, ds, None));
        };
        crate::run::memory::check_spec(&spec)?;
        sub.heldout_n = heldout;
        let (train, held) =
            train_and_heldout(&spec, &sub).map_err(|e| flag_error("--data", &self.data, e))?;
        Ok((spec, train, Some(held).filter(|h| !h.is_empty())))
    }

    /// The samples to look at: the subset the flags ask for, else the training split (only
    /// `first` rows of it when given, so a grid never decodes a whole CelebA split: the first
    /// rows of the seeded shuffle that a run's subset takes with --seed, so they span the
    /// classes of a label-sorted file instead of repeating its first class).
    fn load(&self, first: Option<usize>) -> Result<(DataSpec, Dataset)> {
        let spec = self.spec()?;
        crate::run::memory::check_spec(&spec)?;
        let err = |e| flag_error("--data", &self.data, e);
        let subset = self.subset(&spec)?;
        if let (Some(sub), Some(d)) = (&subset, crate::run::memory::known_dim(&spec)) {
            let bytes = (first.unwrap_or(sub.n).min(sub.n) as f64) * d as f64 * 4.0;
            let avail = diffmem_model::denoiser::linear::available_memory();
            crate::run::memory::check("the rows to inspect", "--n or d= of --data", bytes, avail)?;
        }
        let ds = match (subset, first) {
            (Some(sub), _) => train_and_heldout(&spec, &sub).map_err(err)?.0,
            (None, Some(k)) => {
                let cat = spec.catalog(Split::Train).map_err(err)?;
                let mut rows = permutation(cat.len(), self.subset.seed, Purpose::Subset);
                rows.truncate(k);
                cat.load_rows(&rows).map_err(err)?
            }
            (None, None) => spec.load(Split::Train).map_err(err)?,
        };
        Ok((spec, ds))
    }
}

fn shape_text(s: SampleShape) -> String {
    match s {
        SampleShape::Image { c, h, w } => format!("{c} x {h} x {w} (C x H x W, D = {})", s.dim()),
        SampleShape::Flat { d } => format!("flat, D = {d}"),
    }
}

/// Size of the test split, or why there is none.
fn test_split_text(spec: &DataSpec) -> String {
    if spec.is_synthetic() {
        return "independent test stream (any size)".into();
    }
    if !spec.has_test_split() {
        return "none (held-out rows come from training rows not used by --n/--split)".into();
    }
    match spec.catalog(Split::Test) {
        Ok(c) => format!("{} samples", c.len()),
        Err(e) => format!("unavailable ({e})"),
    }
}

fn inspect(a: &InspectArgs) -> Result<()> {
    let (spec, ds) = a.source.load(None)?;
    let st = ds.stats();
    let counts = ds.class_counts();
    let truth = ds.truth.as_ref();
    if a.json {
        let v = serde_json::json!({
            "spec": spec.to_string(),
            "source": ds.provenance.source,
            "n": ds.len(),
            "shape": ds.shape,
            "dim": ds.dim(),
            "min": st.min,
            "max": st.max,
            "mean": st.mean,
            "std": st.std,
            "class_counts": counts.as_ref().map(|c| c.iter()
                .map(|(l, k)| (l.to_string(), *k))
                .collect::<std::collections::BTreeMap<_, _>>()),
            "test_split": test_split_text(&spec),
            "first_indices": ds.provenance.indices.iter().take(10).collect::<Vec<_>>(),
            "truth_trace": truth.map(|t| t.cov.trace()),
        });
        crate::io::print_json(&v);
        return Ok(());
    }
    println!("source:     {}", ds.provenance.source);
    println!("spec:       {spec}");
    let default_n = a.source.subset.n.is_none() && spec.is_synthetic();
    let note = if default_n {
        " (synthetic default; set --n)"
    } else {
        ""
    };
    println!("N:          {}{note}", ds.len());
    println!("shape:      {}", shape_text(ds.shape));
    println!("range:      [{:.4}, {:.4}]", st.min, st.max);
    println!("mean / std: {:.4} / {:.4}", st.mean, st.std);
    if let Some(c) = counts {
        let parts: Vec<String> = c.iter().map(|(l, k)| format!("{l}: {k}")).collect();
        println!("classes:    {}", parts.join(", "));
    } else {
        println!("classes:    (no labels)");
    }
    let head: Vec<String> = ds
        .provenance
        .indices
        .iter()
        .take(10)
        .map(|i| i.to_string())
        .collect();
    println!("indices:    {} ...", head.join(", "));
    println!("test split: {}", test_split_text(&spec));
    if let Some(t) = truth {
        println!("truth:      trace(Sigma) = {:.4}", t.cov.trace());
        if let Some(m) = &t.mixture {
            println!(
                "            a mixture of {} Gaussians with std {} (not Gaussian: mean and Sigma are its moments)",
                m.means.len(),
                m.sigma
            );
        }
        if let Some(blocks) = &t.blocks {
            let b: Vec<String> = blocks
                .iter()
                .map(|b| format!("{} x std {}", b.dim, b.std))
                .collect();
            println!(
                "            blocks {}; ambient std {}",
                b.join(" + "),
                t.ambient_std.unwrap_or(0.0)
            );
        }
    }
    Ok(())
}

fn grid(a: &GridArgs) -> Result<()> {
    let num = check_size("--num", a.num).map_err(|e| flag_error("--num", &a.num.to_string(), e))?;
    let (spec, ds) = a.source.load(Some(num))?;
    let shown = num.min(ds.len());
    let cols = (shown as f64).sqrt().ceil() as usize;
    write_grid(&a.out, &ds.samples[..shown * ds.dim()], ds.shape, cols).map_err(|e| match e {
        DataError::BadGrid { .. } => anyhow!(
            "--data {}: {e}\nhint: grids need images, or flat data whose dimension is a perfect \
             square (e.g. gaussian:d=64)",
            a.source.data
        ),
        e => anyhow!(
            "--out {}: {e}\nhint: check that the folder of --out exists and is writable",
            a.out.display()
        ),
    })?;
    if a.json {
        let v = serde_json::json!({
            "file": a.out.display().to_string(),
            "samples": shown,
            "data": spec.to_string(),
            "per_row": cols,
            "labels": ds.labels.as_ref().map(|l| &l[..shown]),
            "indices": &ds.provenance.indices[..shown.min(ds.provenance.indices.len())],
        });
        crate::io::print_json(&v);
    } else {
        println!(
            "wrote {} ({shown} samples of {spec}, {cols} per row)",
            a.out.display()
        );
    }
    Ok(())
}
