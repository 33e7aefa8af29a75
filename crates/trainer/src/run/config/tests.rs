use super::*;
use clap::Parser;

/// The flags alone, parsed as `diffmem train` would.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    flags: RunFlags,
}

fn flags(args: &[&str]) -> RunFlags {
    Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .flags
}

fn resolve(file: &str, args: &[&str]) -> Result<RunConfig> {
    RunConfig::resolve(RunLayer::from_toml(toml::from_str(file)?)?, &flags(args))
}

/// A resolved config as a base layer.
fn layer_of(c: &RunConfig) -> RunLayer {
    match Value::try_from(c).unwrap() {
        Value::Table(t) => RunLayer::from_toml(t).unwrap(),
        _ => unreachable!(),
    }
}

#[test]
fn toml_round_trip_is_exact() {
    let mut c = RunConfig::default();
    c.data.split = OrNone::some(Half::B);
    c.diffusion.min_snr_gamma = OrNone::some(5.0);
    c.model = ModelSpec::LinearExact { lambda: 0.25 };
    let text = c.to_toml().unwrap();
    let back: RunConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, c, "{text}");
    assert_eq!(
        RunConfig::resolve(layer_of(&c), &RunFlags::default()).unwrap(),
        c
    );
    c.validate().unwrap();
}

#[test]
fn every_field_is_written_including_unset_options() {
    let text = resolve("", &[]).unwrap().to_toml().unwrap();
    for key in [
        "config_version = 2",
        "split = \"none\"",
        "objective = \"x0\"",
        "min_snr_gamma = \"none\"",
        "clip = 1.0",
        "epochs = \"none\"",
        "patience = \"none\"",
        "clip_x0 = \"none\"",
        "variance = \"posterior\"",
    ] {
        assert!(text.contains(key), "{key} missing from\n{text}");
    }
}

#[test]
fn unknown_keys_and_bad_values_are_rejected() {
    let text = RunConfig::default()
        .to_toml()
        .unwrap()
        .replace("batch_size", "batchsize");
    assert!(toml::from_str::<RunConfig>(&text).is_err());
    let e = resolve("[train]\nbatchsize = 3", &[]).unwrap_err();
    assert!(format!("{e:#}").contains("batchsize"), "{e:#}");
    let e = resolve("", &["--lr=-1"]).unwrap_err();
    assert!(e.to_string().contains("--lr"));
}

#[test]
fn flags_win_over_the_file_and_derived_defaults_follow_the_choices() {
    let c = resolve(
        "[train]\nsteps = 9\nepochs = 3\n[optim]\nlr = 0.5\n[data]\nspec = \"gaussian:d=4,spectrum=power:1\"",
        &[
            "--steps",
            "5",
            "--seed",
            "7",
            "--model",
            "linear",
            "--no-clip",
        ],
    )
    .unwrap();
    assert_eq!((c.train.steps, *c.train.epochs), (5, None));
    assert_eq!((c.data.seed, c.train.seed), (7, 7));
    assert_eq!(c.optim.lr, 0.5);
    assert_eq!(*c.optim.clip, None);
    // linear: eps-prediction; synthetic data: the theory's sampler.
    assert_eq!(c.objective(), Objective::Eps);
    assert_eq!(
        c.sample.sampler,
        SamplerConfig::Ddpm {
            variance: DdpmVariance::Beta,
            last_noise: true
        }
    );
    // An explicit objective and sampler in the file win over the derived defaults.
    let c = resolve(
        "[diffusion]\nobjective = \"v\"\n[sample.sampler]\nkind = \"ddim\"\nsteps = 10\neta = 0.0",
        &[],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(c.objective(), Objective::V);
    assert!(matches!(
        c.sample.sampler,
        SamplerConfig::Ddim { steps: 10, .. }
    ));
}

#[test]
fn typed_options_name_the_flag() {
    for (args, needle) in [
        (vec!["--optimizer", "sgd"], "--optimizer"),
        (vec!["--lr-schedule", "step"], "--lr-schedule"),
        (vec!["--split", "c"], "--split"),
        (vec!["--objective", "score"], "objective"),
    ] {
        let e = Cli::try_parse_from(std::iter::once("train").chain(args.iter().copied()))
            .err()
            .unwrap_or_else(|| panic!("{args:?} parsed"));
        assert!(e.to_string().contains(needle), "{args:?}: {e}");
    }
    let c = resolve(
        "",
        &["--clip", "none", "--split", "b", "--optimizer", "adamw"],
    )
    .unwrap();
    assert_eq!((*c.optim.clip, *c.data.split), (None, Some(Half::B)));
    assert_eq!(c.optim.kind, OptimizerKind::Adamw);
}

#[test]
fn checkpoints_fall_on_logging_steps() {
    let c = resolve("", &["--log-every", "30", "--checkpoint-every", "100"]).unwrap();
    assert_eq!(c.train.checkpoint_every, 120);
}

/// A config written by the first release (no `config_version`, unset options left out)
/// resolves to the same run: its missing `clip` means no clipping, not today's default.
#[test]
fn first_release_config_loads_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-run/config.toml");
    let c = RunConfig::load(&path).unwrap();
    assert_eq!(*c.optim.clip, None);
    assert_eq!(*c.sample.clip_x0, None);
    assert_eq!(c.objective(), Objective::Eps);
    assert_eq!(c.model.name(), "mlp");
    assert!(!c.train.ema_warmup);
    assert_eq!(
        c.data.spec.to_string(),
        DataSpec::parse("gaussian:d=4,spectrum=power:1")
            .unwrap()
            .to_string()
    );
}

/// A `config_version` this release does not read is an error naming the versions it reads.
#[test]
fn unknown_config_version_is_refused_naming_the_readable_ones() {
    let e = resolve("config_version = 99", &[]).unwrap_err().to_string();
    assert!(e.contains("config_version = 99"), "{e}");
    assert!(e.contains(&format!("it reads {CONFIG_VERSION}")), "{e}");
    assert!(resolve(&format!("config_version = {CONFIG_VERSION}"), &[]).is_ok());
    assert!(resolve("config_version = \"2\"", &[]).is_err());
}
