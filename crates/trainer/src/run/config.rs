//! The one typed definition of a run. Each section is declared once (`section!`): its fields,
//! their defaults and their flags. `RunConfig::resolve` turns what a config file and the
//! flags said (`RunLayer`s) into the resolved config, computing every derived default in one
//! place, as ripgrep's `HiArgs::from_low_args` does. The resolved config is written whole to
//! `runs/NAME/config.toml`, so `diffmem train --config runs/NAME/config.toml` repeats the run
//! even after a later release changes a default.

use super::model_layer::{ModelFlags, resolve_model};
use super::or_none::OrNone;
use super::section::section;
use crate::io::range;
use anyhow::{Context, Result, bail};
use diffmem_data::{DataSpec, Half};
use diffmem_model::denoiser::MlpConfig;
use diffmem_model::{
    DdpmVariance, DeviceChoice, ModelSpec, Objective, SamplerConfig, ScheduleKind,
};
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::{Table, Value};

/// Version of the config format written by this release. Files without it come from the first
/// release, which left unset optional settings out and had no EMA warm-up (see
/// [`RunLayer::from_toml`]).
pub const CONFIG_VERSION: u32 = 2;

/// The `config_version`s this release reads (besides files without one, from the first
/// release). A file of a later release may mean settings this one does not know: refused.
pub const READ_VERSIONS: [u32; 1] = [CONFIG_VERSION];

/// The optimiser (`--optimizer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with L2 weight decay.
    Adam,
    /// AdamW: decoupled weight decay.
    Adamw,
}

/// The learning rate after warm-up (`--lr-schedule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// Cosine decay to 0 at the last step.
    Cosine,
    /// Constant.
    Constant,
}

/// A warm restart of the cosine learning-rate schedule (SGDR, Loshchilov & Hutter, arXiv
/// 1608.03983), made by `train --resume RUN --steps K` when K changes the planned end: steps
/// before `at` kept the original schedule (warm-up, then cosine to 0 at step `planned`);
/// from `at` the rate starts again at the peak `--lr` and decays by a cosine to 0 at the new
/// last step. Written to `config.toml`, so a later resume of the same run keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LrRestart {
    /// The step (0-based) at which the new cosine starts: the resumed checkpoint's step.
    pub at: usize,
    /// The total steps the schedule before `at` decayed to.
    pub planned: usize,
}

/// Parses `--objective eps|x0|v`.
fn parse_objective(s: &str) -> Result<Objective, String> {
    match s {
        "eps" => Ok(Objective::Eps),
        "x0" => Ok(Objective::X0),
        "v" => Ok(Objective::V),
        _ => Err(format!("`{s}` is not an objective: use eps, x0 or v")),
    }
}

section! {
    /// Which data and which subset of it.
    DataSection, DataLayer {
        /// Data spec: mnist-5k, mnist:PATH, cifar10:PATH, gaussian:d=100,spectrum=power:1, manifold:paper, mixture:d=8...
        [long = "data", value_name = "SPEC"] spec: DataSpec = DataSpec::Mnist5k,
        /// Training set size N.
        [long] n: usize = 1000,
        /// Subset seed (set with --seed).
        [skip] seed: u64 = 0,
        /// Class-balanced subset.
        [long, num_args = 0..=1, default_missing_value = "true"] balanced: bool = false,
        /// Half a or b of two disjoint subsets of size N (two-model tests), or none.
        [long] split: OrNone<Half> = OrNone::none(),
        /// Held-out samples for the test loss.
        [long] heldout: usize = 500,
    }
}

section! {
    /// Noise schedule and objective.
    DiffusionSection, DiffusionLayer {
        /// Number of diffusion timesteps T.
        [long] timesteps: usize = 1000,
        /// Beta schedule (set with --schedule, --beta-1, --beta-T).
        [skip] schedule: ScheduleKind = ScheduleKind::default(),
        /// Objective: eps, x0 or v (default: x0 for mlp/unet, eps otherwise).
        [long, value_parser = parse_objective] objective: Objective = Objective::Eps,
        /// Min-SNR-gamma loss weighting, or none.
        [long = "min-snr"] min_snr_gamma: OrNone<f64> = OrNone::none(),
    }
}

section! {
    /// Optimiser and learning-rate schedule.
    OptimSection, OptimLayer {
        /// Optimiser.
        [long = "optimizer", value_enum] kind: OptimizerKind = OptimizerKind::Adam,
        /// Peak learning rate.
        [long] lr: f64 = 1e-3,
        /// Adam beta_1.
        [long = "adam-beta1"] beta1: f64 = 0.9,
        /// Adam beta_2.
        [long = "adam-beta2"] beta2: f64 = 0.999,
        /// Adam epsilon (1e-8 as in PyTorch; burn's own default is 1e-5).
        [long = "adam-eps"] eps: f64 = 1e-8,
        /// Weight decay (decoupled for adamw, L2 for adam).
        [long] weight_decay: f64 = 0.0,
        /// Linear warm-up steps.
        [long] warmup: usize = 200,
        /// Learning rate after warm-up.
        [long, value_enum] lr_schedule: LrSchedule = LrSchedule::Cosine,
        /// Warm restart of the cosine made by `--resume RUN --steps K` (no flag), or none.
        [skip] lr_restart: OrNone<LrRestart> = OrNone::none(),
        /// Clip gradients to this GLOBAL norm, or none.
        [long] clip: OrNone<f64> = OrNone::some(1.0),
    }
}

section! {
    /// Length of training, batching, EMA, logging, checkpoints and device.
    TrainSection, TrainLayer {
        /// Optimisation steps (unless --epochs is set).
        [long] steps: usize = 3000,
        /// Epochs over the training set (overrides --steps), or none.
        [long] epochs: OrNone<usize> = OrNone::none(),
        /// Batch size.
        [long] batch_size: usize = 128,
        /// EMA decay (0 disables the EMA).
        [long = "ema"] ema_decay: f64 = 0.999,
        /// EMA warm-up: decay min(ema, (1+s)/(10+s)) at step s, so the average forgets the initial network.
        [long, num_args = 0..=1, default_missing_value = "true"] ema_warmup: bool = true,
        /// Seed of batches, timesteps and noise (set with --seed).
        [skip] seed: u64 = 0,
        /// Log (and check for non-finite losses) every K steps.
        [long] log_every: usize = 100,
        /// Rows of each set (training, held-out) in the logged fixed-noise losses.
        [long] log_rows: usize = 128,
        /// Checkpoint every K steps (a multiple of --log-every); the first comes early, at the
        /// first logging step at or after min(K, steps / 20).
        [long] checkpoint_every: usize = 1000,
        /// Checkpoints kept (the newest M, plus `best` with early stopping).
        [long] keep_last: usize = 2,
        /// Early stopping: logging intervals without a better held-out loss, or none.
        [long] patience: OrNone<usize> = OrNone::none(),
        /// Every K steps (rounded up to a multiple of --log-every) draw a grid of up to 64 samples into RUN/samples/step-NNNNNNN.png, or none.
        [long] sample_every: OrNone<usize> = OrNone::none(),
        /// Weight-only snapshots (raw and EMA) at K log-spaced steps from the first logging step to the last, for `eval --along-training` (0: none).
        [long] snapshots: usize = 0,
        /// Device: auto (CUDA, else a real wgpu GPU, else flex), wgpu, cuda, flex, ndarray.
        [long] device: DeviceChoice = DeviceChoice::Flex,
    }
}

section! {
    /// The sample grid drawn at the end of training and by `diffmem sample` by default.
    SampleSection, SampleLayer {
        /// Samples drawn at the end of training.
        [long] num: usize = 64,
        /// Sampler (default: from the data, see `RunConfig::resolve`).
        [skip] sampler: SamplerConfig = SamplerConfig::default(),
        /// Seed of the sampler noise.
        [skip] seed: u64 = 0,
        /// Batch size while sampling.
        [long = "sample-batch"] batch: usize = 256,
        /// Clamp predicted x0 to [-C, C] while sampling, or none (1 suits well-trained image models).
        [long] clip_x0: OrNone<f64> = OrNone::none(),
    }
}

/// A whole run, resolved: what `config.toml` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Format version ([`CONFIG_VERSION`]).
    pub config_version: u32,
    /// Data and subset.
    pub data: DataSection,
    /// Denoiser.
    pub model: ModelSpec,
    /// Schedule and objective.
    pub diffusion: DiffusionSection,
    /// Optimiser.
    pub optim: OptimSection,
    /// Training loop.
    pub train: TrainSection,
    /// End-of-training samples.
    pub sample: SampleSection,
}

impl Default for RunConfig {
    /// The quickstart: an MLP (512 x 3, 3000 steps) on N = 1000 bundled MNIST digits, on the
    /// CPU; sized to finish in under 3 minutes on 2 busy cores (docs/performance.md).
    fn default() -> Self {
        Self {
            config_version: CONFIG_VERSION,
            data: DataSection::default(),
            model: ModelSpec::Mlp(MlpConfig {
                width: 512,
                depth: 3,
                temb: 128,
            }),
            diffusion: DiffusionSection::default(),
            optim: OptimSection::default(),
            train: TrainSection::default(),
            sample: SampleSection::default(),
        }
    }
}

/// What one source (a config file, a sweep's tables, the flags) says about a run: every
/// section partial. Merged layers are resolved by [`RunConfig::resolve`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunLayer {
    /// Format version of the file (None: a first-release file, or not a file).
    pub config_version: Option<u32>,
    /// `[data]`.
    pub data: DataLayer,
    /// `[model]`, kept as a table: its keys depend on the model kind.
    pub model: Table,
    /// `[diffusion]`.
    pub diffusion: DiffusionLayer,
    /// `[optim]`.
    pub optim: OptimLayer,
    /// `[train]`.
    pub train: TrainLayer,
    /// `[sample]`.
    pub sample: SampleLayer,
}

/// What a first-release `config.toml` meant by leaving a key out: its optional settings were
/// omitted when unset, and it had no EMA warm-up.
const LEGACY_MISSING: [(&str, &str, LegacyValue); 7] = [
    ("data", "split", LegacyValue::None),
    ("diffusion", "min_snr_gamma", LegacyValue::None),
    ("optim", "clip", LegacyValue::None),
    ("train", "epochs", LegacyValue::None),
    ("train", "patience", LegacyValue::None),
    ("train", "ema_warmup", LegacyValue::False),
    ("sample", "clip_x0", LegacyValue::None),
];

/// A whole config without a version: the first release wrote every section (and required
/// every non-optional key), while a hand-written partial config rarely has them all.
fn is_first_release(table: &Table) -> bool {
    !table.contains_key("config_version")
        && ["data", "model", "diffusion", "optim", "train", "sample"]
            .iter()
            .all(|s| table.get(*s).is_some_and(Value::is_table))
        && [
            ["optim", "lr_schedule"],
            ["train", "keep_last"],
            ["sample", "batch"],
        ]
        .iter()
        .all(|[s, k]| table[*s].get(*k).is_some())
}

/// Refuses a `config_version` this release does not read, naming the ones it reads.
fn check_version(table: &Table) -> Result<()> {
    let Some(v) = table.get("config_version") else {
        return Ok(());
    };
    let known = v
        .as_integer()
        .is_some_and(|v| READ_VERSIONS.iter().any(|&r| i64::from(r) == v));
    if !known {
        bail!(
            "config_version = {v} is not a version this release reads (it reads {}, and \
             files without config_version from the first release); write it with this \
             release or use the release that wrote it",
            READ_VERSIONS.map(|r| r.to_string()).join(", ")
        );
    }
    Ok(())
}

/// A value that a first-release config implied by leaving its key out.
#[derive(Clone, Copy)]
enum LegacyValue {
    /// The setting was unset.
    None,
    /// The feature did not exist.
    False,
}

impl RunLayer {
    /// Reads a layer from a TOML table. A file without `config_version` was written by the
    /// first release, which omitted unset optional settings: there a missing one means `none`
    /// (not today's default), so that old runs repeat.
    pub fn from_toml(mut table: Table) -> Result<Self> {
        check_version(&table)?;
        if is_first_release(&table) {
            for (section, key, value) in LEGACY_MISSING {
                if let Some(Value::Table(t)) = table.get_mut(section) {
                    t.entry(key).or_insert_with(|| match value {
                        LegacyValue::None => Value::String("none".into()),
                        LegacyValue::False => Value::Boolean(false),
                    });
                }
            }
        }
        Ok(Value::Table(table).try_into()?)
    }

    /// Reads a config file, naming it in errors.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let table: Table = toml::from_str(&text)
            .with_context(|| format!("config {} is not valid TOML", path.display()))?;
        Self::from_toml(table)
            .with_context(|| format!("config {} is not a valid run config", path.display()))
    }

    /// Takes every setting that `over` makes (the model table key by key).
    pub fn merge(&mut self, over: RunLayer) {
        self.config_version = over.config_version.or(self.config_version);
        self.data.merge(over.data);
        for (k, v) in over.model {
            self.model.insert(k, v);
        }
        self.diffusion.merge(over.diffusion);
        self.optim.merge(over.optim);
        self.train.merge(over.train);
        self.sample.merge(over.sample);
    }
}

/// `--schedule`: the family of beta schedules (its parameters have flags of their own).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleFlag {
    /// Linear betas from `--beta-1` to `--beta-T` (Ho et al.).
    Linear,
    /// The cosine schedule of Nichol & Dhariwal (arXiv 2102.09672), s = 0.008.
    Cosine,
}

/// Flags that set more than one field, or a field whose type is not a plain value.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
#[command(mut_args(Shortcuts::show_default))]
pub struct Shortcuts {
    /// Seed of the subset and of the training randomness (data.seed and train.seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Beta schedule: linear or cosine.
    // One line per flag in `train --help`: the help text names the values.
    #[arg(long, value_enum, hide_possible_values = true)]
    pub schedule: Option<ScheduleFlag>,
    /// Linear schedule: first beta.
    #[arg(long)]
    pub beta_1: Option<f64>,
    /// Linear schedule: last beta.
    #[arg(long = "beta-T")]
    pub beta_t: Option<f64>,
    /// No gradient clipping (same as --clip none).
    #[arg(long, conflicts_with = "clip")]
    pub no_clip: bool,
    /// Never clamp predicted x0 while sampling (same as --clip-x0 none).
    #[arg(long, conflicts_with = "clip_x0")]
    pub no_clip_x0: bool,
}

impl Shortcuts {
    /// Appends `[default: X]` to the help of the seed and schedule flags (from
    /// [`RunConfig::default`]); the switches and other flags pass unchanged.
    fn show_default(a: clap::Arg) -> clap::Arg {
        let d = RunConfig::default();
        let linear = match d.diffusion.schedule {
            ScheduleKind::Linear { beta_1, beta_t } => Some((beta_1, beta_t)),
            ScheduleKind::Cosine { .. } => None,
        };
        match (a.get_id().as_str(), linear) {
            ("seed", _) => super::section::with_default(a, &d.data.seed),
            ("schedule", Some(_)) => super::section::with_default(a, &"linear"),
            ("schedule", None) => super::section::with_default(a, &"cosine"),
            ("beta_1", Some((b1, _))) => super::section::with_default(a, &b1),
            ("beta_t", Some((_, bt))) => super::section::with_default(a, &bt),
            _ => a,
        }
    }

    /// The names of the set flags (their clap ids).
    pub fn set_fields(&self) -> Vec<&'static str> {
        [
            ("seed", self.seed.is_some()),
            ("schedule", self.schedule.is_some()),
            ("beta_1", self.beta_1.is_some()),
            ("beta_t", self.beta_t.is_some()),
            ("no_clip", self.no_clip),
            ("no_clip_x0", self.no_clip_x0),
        ]
        .into_iter()
        .filter_map(|(id, set)| set.then_some(id))
        .collect()
    }
}

/// Everything `diffmem train` can set: one flag group per section.
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct RunFlags {
    /// Data.
    #[command(flatten, next_help_heading = "Data")]
    pub data: DataLayer,
    /// Model.
    #[command(flatten, next_help_heading = "Model")]
    pub model: ModelFlags,
    /// Diffusion.
    #[command(flatten, next_help_heading = "Diffusion")]
    pub diffusion: DiffusionLayer,
    /// Optimiser.
    #[command(flatten, next_help_heading = "Optimiser")]
    pub optim: OptimLayer,
    /// Training loop.
    #[command(flatten, next_help_heading = "Training")]
    pub train: TrainLayer,
    /// Samples.
    #[command(flatten, next_help_heading = "Samples")]
    pub sample: SampleLayer,
    /// Shortcuts.
    #[command(flatten, next_help_heading = "Shortcuts")]
    pub shortcuts: Shortcuts,
}

impl RunFlags {
    /// The flags that were set, as written on the command line (`--width`), except the
    /// training-section fields named in `keep` (e.g. `steps`, `device`).
    pub fn set_flags_except(&self, keep: &[&str]) -> Vec<String> {
        let mut ids = self.data.set_fields();
        ids.extend(self.model.set_fields());
        ids.extend(self.diffusion.set_fields());
        ids.extend(self.optim.set_fields());
        ids.extend(
            self.train
                .set_fields()
                .into_iter()
                .filter(|f| !keep.contains(f)),
        );
        ids.extend(self.sample.set_fields());
        ids.extend(self.shortcuts.set_fields());
        let cmd = <RunFlags as clap::Args>::augment_args(clap::Command::new("diffmem"));
        ids.into_iter()
            .map(|id| {
                let long = cmd
                    .get_arguments()
                    .find(|a| a.get_id() == id)
                    .and_then(|a| a.get_long())
                    .map_or_else(|| id.replace('_', "-"), str::to_string);
                format!("--{long}")
            })
            .collect()
    }
}

impl RunConfig {
    /// Resolves a run from a base layer (a config file or a sweep's tables) and the flags:
    /// defaults < base < flags, then every derived default, then validation.
    pub fn resolve(base: RunLayer, flags: &RunFlags) -> Result<RunConfig> {
        let mut layer = base;
        layer.merge(RunLayer {
            data: flags.data.clone(),
            diffusion: flags.diffusion.clone(),
            optim: flags.optim.clone(),
            train: flags.train.clone(),
            sample: flags.sample.clone(),
            ..RunLayer::default()
        });
        let s = &flags.shortcuts;
        // One --seed varies the whole run: the subset and the training randomness.
        if let Some(seed) = s.seed {
            layer.data.seed = Some(seed);
            layer.train.seed = Some(seed);
        }
        // --steps on the command line wins over epochs from a config file.
        if flags.train.steps.is_some() && flags.train.epochs.is_none() {
            layer.train.epochs = Some(OrNone::none());
        }
        if s.no_clip {
            layer.optim.clip = Some(OrNone::none());
        }
        if s.no_clip_x0 {
            layer.sample.clip_x0 = Some(OrNone::none());
        }
        let mut cfg = RunConfig::default();
        cfg.model = resolve_model(&cfg.model, &layer.model, &flags.model)?;
        let data = layer.data.spec.clone().unwrap_or(cfg.data.spec.clone());
        // The objective, unless set: x0-prediction for the networks mlp and unet (on the
        // quickstart's CPU budget the MLP samples clean digits with it and blobs with eps) and
        // eps-prediction for `linear` (the theory's model, Merger & Goldt arXiv 2505.24769)
        // and the exact denoisers (which are eps-predictors).
        layer.diffusion.objective.get_or_insert(match cfg.model {
            ModelSpec::Mlp(_) | ModelSpec::Unet(_) => Objective::X0,
            _ => Objective::Eps,
        });
        // The sampler, unless set: synthetic data use the theory's sampler, sigma_t^2 = beta_t
        // with noise at every step (Merger & Goldt), so that `diffmem theory` predicts their
        // sampled covariance; images sample best with the posterior variance.
        layer.sample.sampler.get_or_insert(default_ddpm(&data));
        layer.data.apply(&mut cfg.data);
        layer.diffusion.apply(&mut cfg.diffusion);
        layer.optim.apply(&mut cfg.optim);
        layer.train.apply(&mut cfg.train);
        layer.sample.apply(&mut cfg.sample);
        cfg.diffusion.schedule = schedule(cfg.diffusion.schedule, s)?;
        // Checkpoints are written at logging steps only.
        let every = cfg.train.log_every.max(1);
        cfg.train.checkpoint_every = cfg.train.checkpoint_every.div_ceil(every) * every;
        cfg.train.sample_every = cfg
            .train
            .sample_every
            .map(|k| k.div_ceil(every) * every)
            .into();
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads a resolved config (a run's `config.toml`, of this or the first release).
    pub fn load(path: &Path) -> Result<Self> {
        Self::resolve(RunLayer::load(path)?, &RunFlags::default())
            .with_context(|| format!("config {}", path.display()))
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// The objective.
    pub fn objective(&self) -> Objective {
        self.diffusion.objective
    }

    /// Total optimisation steps: `epochs` x ceil(N / batch) when epochs are set.
    pub fn total_steps(&self) -> usize {
        match *self.train.epochs {
            Some(e) => e * self.data.n.div_ceil(self.train.batch_size.max(1)),
            None => self.train.steps,
        }
    }

    /// Rejects impossible settings with a message naming the flag.
    pub fn validate(&self) -> Result<()> {
        let (t, o) = (&self.train, &self.optim);
        if self.data.n == 0 {
            bail!("--n must be at least 1");
        }
        if t.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            bail!("--lr must be a positive number (got {})", o.lr);
        }
        if !(0.0..1.0).contains(&o.beta1) || !(0.0..1.0).contains(&o.beta2) || o.eps <= 0.0 {
            bail!("Adam needs 0 <= --adam-beta1, --adam-beta2 < 1 and --adam-eps > 0");
        }
        if o.clip.is_some_and(|c| c.is_nan() || c <= 0.0) {
            bail!("--clip must be positive (or none)");
        }
        if !(0.0..1.0).contains(&t.ema_decay) {
            bail!("--ema must be in [0, 1) (got {})", t.ema_decay);
        }
        if t.log_every == 0 || t.checkpoint_every == 0 || t.keep_last == 0 || t.log_rows == 0 {
            bail!("--log-every, --checkpoint-every, --keep-last and --log-rows must be at least 1");
        }
        if self.sample.num == 0 || self.sample.batch == 0 {
            bail!("--num and --sample-batch must be at least 1");
        }
        self.validate_ranges()
    }

    /// The ranges of the remaining numeric settings (NaN and infinities included).
    fn validate_ranges(&self) -> Result<()> {
        let (d, o, t) = (&self.diffusion, &self.optim, &self.train);
        // Every trained model reports a held-out loss (and early stopping needs one).
        if !self.model.is_exact() {
            range::at_least_one("--heldout", self.data.heldout)?;
        }
        range::at_least_one("--timesteps", d.timesteps)?;
        if let Some(g) = *d.min_snr_gamma {
            range::positive("--min-snr", g)?;
        }
        range::positive("--adam-eps", o.eps)?;
        range::non_negative("--weight-decay", o.weight_decay)?;
        if let Some(c) = *o.clip {
            range::positive("--clip", c)?;
        }
        if let Some(e) = *t.epochs {
            range::at_least_one("--epochs", e)?;
        }
        if let Some(p) = *t.patience {
            range::at_least_one("--patience", p)?;
        }
        if let Some(k) = *t.sample_every {
            range::at_least_one("--sample-every", k)?;
        }
        if let Some(c) = *self.sample.clip_x0 {
            range::positive("--clip-x0", c)?;
        }
        crate::run::memory::check_run(self)
    }
}

/// The schedule after the schedule shortcuts.
fn schedule(current: ScheduleKind, s: &Shortcuts) -> Result<ScheduleKind> {
    let mut kind = match s.schedule {
        Some(ScheduleFlag::Cosine) => ScheduleKind::Cosine {
            s: 0.008,
            max_beta: 0.999,
        },
        Some(ScheduleFlag::Linear) if !matches!(current, ScheduleKind::Linear { .. }) => {
            ScheduleKind::default()
        }
        _ => current,
    };
    if s.beta_1.is_some() || s.beta_t.is_some() {
        let ScheduleKind::Linear { beta_1, beta_t } = &mut kind else {
            bail!("--beta-1/--beta-T apply to the linear schedule");
        };
        *beta_1 = s.beta_1.unwrap_or(*beta_1);
        *beta_t = s.beta_t.unwrap_or(*beta_t);
    }
    Ok(kind)
}

/// The DDPM sampler a run gets unless its config says otherwise: for synthetic data the
/// theory's sampler, sigma_t^2 = beta_t with noise at every step including the last (Merger &
/// Goldt, arXiv 2505.24769), so that `diffmem theory` predicts the sampled covariance; for
/// images the posterior variance without last-step noise (Ho et al., arXiv 2006.11239).
pub fn default_ddpm(data: &DataSpec) -> SamplerConfig {
    if data.is_synthetic() {
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            last_noise: true,
        }
    } else {
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Posterior,
            last_noise: false,
        }
    }
}

#[cfg(test)]
mod tests;
