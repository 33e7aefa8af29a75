//! The data spec grammar (one grammar everywhere, see DESIGN.md and datasets/README.md):
//!
//! ```text
//! mnist-5k                                  bundled 5000 MNIST training digits
//! mnist:PATH | fashion-mnist:PATH           IDX folder (train-* / t10k-*, raw or .gz)
//! cifar10:PATH                              batches folder or cifar-10-binary.tar.gz
//! celeba:PATH[,size=64,crop=140,grey=false] img_align_celeba/ + list_eval_partition.txt
//! folder:PATH[,size=64,crop=140,grey=false] any folder of PNG/JPEG images
//! gaussian:d=100,spectrum=power:1[,rotate=false,mean=0,seed=0]
//!          spectrum=list:1,0.5,...; mean=C or mean=randn:SCALE
//! manifold:paper[,KEY=VALUE...]             d=30, blocks=2x1+5x0.3, ambient=0.01, unit norm
//! manifold:paper-raw[,KEY=VALUE...]         the same without the unit-norm scaling
//! manifold:d=30,blocks=2x1.0+5x0.3[,ambient=0,normalize=false,axis=false,seed=0]
//! mixture:d=8[,sep=1,sigma=1,seed=0]        1/2 N(+m, sigma^2 I) + 1/2 N(-m, sigma^2 I),
//!                                           m = sep (1,...,1) (Bonnaire et al. 2505.17638)
//! ```
//!
//! [`DataSpec`]'s `Display` is canonical: every option explicit, and it parses back to an
//! equal spec. Serde stores a spec as that string.

use crate::error::{DataError, check_size};
use crate::imagepipe::ImageOptions;
use crate::synthetic::spectrum::parse_real;
use crate::synthetic::{GaussianSpec, ManifoldSpec, MeanSpec, MixtureSpec, Spectrum};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A parsed data source.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSpec {
    /// The bundled 5000 MNIST training digits (`mnist-5k`).
    Mnist5k,
    /// MNIST IDX files in a folder.
    Mnist(PathBuf),
    /// Fashion-MNIST IDX files in a folder.
    FashionMnist(PathBuf),
    /// CIFAR-10 binary batches (folder or the original .tar.gz).
    Cifar10(PathBuf),
    /// CelebA aligned images with the partition file.
    Celeba {
        /// Root folder.
        path: PathBuf,
        /// Crop/resize/colour options.
        image: ImageOptions,
    },
    /// A folder of PNG/JPEG images.
    Folder {
        /// The folder.
        path: PathBuf,
        /// Crop/resize/colour options.
        image: ImageOptions,
    },
    /// A synthetic Gaussian.
    Gaussian(GaussianSpec),
    /// A synthetic linear manifold.
    Manifold(ManifoldSpec),
    /// The symmetric two-Gaussian mixture.
    Mixture(MixtureSpec),
}

/// `key=value` options of a spec body. A token without `=` continues the previous value
/// (so `spectrum=list:1,0.5,0.25` keeps its commas).
struct Options<'a> {
    spec: &'a str,
    pairs: Vec<(&'a str, String)>,
}

impl<'a> Options<'a> {
    fn parse(spec: &'a str, body: &'a str, allowed: &[&str]) -> Result<Options<'a>, DataError> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for token in body.split(',').filter(|t| !t.is_empty()) {
            match (token.split_once('='), pairs.last_mut()) {
                (Some((k, v)), _) if allowed.contains(&k.trim()) => {
                    let k = k.trim();
                    if pairs.iter().any(|(p, _)| *p == k) {
                        return Err(bad(spec, format!("option `{k}` is given twice")));
                    }
                    pairs.push((k, v.trim().to_string()));
                }
                (Some((k, _)), _) => {
                    return Err(bad(
                        spec,
                        format!("unknown option `{k}` (allowed: {})", allowed.join(", ")),
                    ));
                }
                (None, Some((_, v))) => {
                    v.push(',');
                    v.push_str(token.trim());
                }
                (None, None) => {
                    return Err(bad(spec, format!("`{token}` is not of the form key=value")));
                }
            }
        }
        Ok(Options { spec, pairs })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, DataError> {
        self.get(key)
            .ok_or_else(|| bad(self.spec, format!("missing option `{key}=`")))
    }

    /// A positive size; zero or negative gives [`DataError::BadSize`].
    fn size(&self, key: &str, default: Option<usize>) -> Result<usize, DataError> {
        match (self.get(key), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => self.required(key).map(|_| 0),
            (Some(v), _) => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad(self.spec, format!("`{key}={v}` is not an integer")))?;
                check_size(key, n)
            }
        }
    }

    fn non_negative(&self, key: &str, default: usize) -> Result<usize, DataError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                bad(
                    self.spec,
                    format!("`{key}={v}` is not a non-negative integer"),
                )
            }),
        }
    }

    fn seed(&self) -> Result<u64, DataError> {
        match self.get("seed") {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| bad(self.spec, format!("`seed={v}` is not an unsigned integer"))),
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, DataError> {
        match self.get(key) {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(v) => Err(bad(self.spec, format!("`{key}={v}` is not true or false"))),
        }
    }

    fn real(&self, key: &str, default: Option<f64>) -> Result<f64, DataError> {
        match (self.get(key), default) {
            (Some(v), _) => parse_real(self.spec, key, v),
            (None, Some(d)) => Ok(d),
            (None, None) => self.required(key).map(|_| 0.0),
        }
    }
}

fn bad(spec: &str, msg: impl Into<String>) -> DataError {
    DataError::BadSpec {
        spec: spec.into(),
        msg: msg.into(),
    }
}

/// Splits `PATH[,key=value...]`: the path runs up to the first `,KEY=` with a known key
/// (so paths may contain commas).
fn path_and_options<'a>(body: &'a str, keys: &[&str]) -> (&'a str, &'a str) {
    let cut = body.match_indices(',').map(|(i, _)| i).find(|&i| {
        body[i + 1..]
            .split_once('=')
            .is_some_and(|(k, _)| keys.contains(&k.trim()))
    });
    match cut {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    }
}

const IMAGE_KEYS: [&str; 3] = ["size", "crop", "grey"];
const GAUSSIAN_KEYS: [&str; 5] = ["d", "spectrum", "rotate", "mean", "seed"];
const MANIFOLD_KEYS: [&str; 6] = ["d", "blocks", "ambient", "normalize", "axis", "seed"];
const MIXTURE_KEYS: [&str; 4] = ["d", "sep", "sigma", "seed"];

/// The body of a `mixture:` spec `s`: `d=` is required; sep and sigma default to the
/// paper's 1.
fn parse_mixture(s: &str, body: &str) -> Result<DataSpec, DataError> {
    let o = Options::parse(s, body, &MIXTURE_KEYS)?;
    let m = MixtureSpec {
        d: o.size("d", None)?,
        sep: o.real("sep", Some(1.0))?,
        sigma: o.real("sigma", Some(1.0))?,
        seed: o.seed()?,
    };
    m.validate(s)?;
    Ok(DataSpec::Mixture(m))
}

/// The body of a `manifold:` spec `s`: a preset (`paper`, `paper-raw`) with overrides, or
/// explicit `blocks=`.
fn parse_manifold(s: &str, body: &str) -> Result<DataSpec, DataError> {
    let (name, rest) = body.split_once(',').unwrap_or((body, ""));
    let (preset, rest) = match name.trim() {
        "paper" => (Some(ManifoldSpec::paper()), rest),
        "paper-raw" => (Some(ManifoldSpec::paper_raw()), rest),
        _ => (None, body),
    };
    let o = Options::parse(s, rest, &MANIFOLD_KEYS)?;
    let base = preset.clone().unwrap_or_else(ManifoldSpec::paper);
    let preset_normalize = preset.as_ref().is_some_and(|p| p.normalize);
    let preset = preset.is_some();
    let m = ManifoldSpec {
        d: o.size("d", preset.then_some(base.d))?,
        blocks: match (o.get("blocks"), preset) {
            (Some(b), _) => parse_blocks(s, b)?,
            (None, true) => base.blocks,
            (None, false) => return Err(bad(s, "missing option `blocks=`")),
        },
        ambient: o.real("ambient", Some(if preset { base.ambient } else { 0.0 }))?,
        normalize: o.flag("normalize", preset_normalize)?,
        axis: o.flag("axis", false)?,
        seed: o.seed()?,
    };
    m.validate(s)?;
    Ok(DataSpec::Manifold(m))
}

impl DataSpec {
    /// Parses a data spec (grammar in the module documentation).
    pub fn parse(s: &str) -> Result<DataSpec, DataError> {
        let s_trim = s.trim();
        if s_trim == "mnist-5k" {
            return Ok(DataSpec::Mnist5k);
        }
        let Some((kind, body)) = s_trim.split_once(':') else {
            return Err(match s_trim {
                "mnist" | "fashion-mnist" | "cifar10" | "celeba" | "folder" => bad(
                    s,
                    format!("`{s_trim}` needs a path: {s_trim}:PATH (or use the bundled mnist-5k)"),
                ),
                _ => bad(s, "unknown data source"),
            });
        };
        let path = |p: &str| -> Result<PathBuf, DataError> {
            if p.trim().is_empty() {
                Err(bad(s, format!("`{kind}:` needs a path")))
            } else {
                Ok(PathBuf::from(p))
            }
        };
        match kind {
            "mnist" => Ok(DataSpec::Mnist(path(body)?)),
            "fashion-mnist" | "fashion_mnist" | "fashion" => {
                Ok(DataSpec::FashionMnist(path(body)?))
            }
            "cifar10" | "cifar-10" => Ok(DataSpec::Cifar10(path(body)?)),
            "celeba" | "folder" => {
                let (p, rest) = path_and_options(body, &IMAGE_KEYS);
                let o = Options::parse(s, rest, &IMAGE_KEYS)?;
                let image = ImageOptions {
                    size: o.size("size", Some(64))?,
                    crop: o.non_negative("crop", 140)?,
                    grey: o.flag("grey", false)?,
                };
                let path = path(p)?;
                Ok(if kind == "celeba" {
                    DataSpec::Celeba { path, image }
                } else {
                    DataSpec::Folder { path, image }
                })
            }
            "gaussian" => {
                let o = Options::parse(s, body, &GAUSSIAN_KEYS)?;
                let g = GaussianSpec {
                    d: o.size("d", None)?,
                    spectrum: Spectrum::parse(o.required("spectrum")?)?,
                    rotate: o.flag("rotate", false)?,
                    mean: MeanSpec::parse(o.get("mean").unwrap_or("0"))?,
                    seed: o.seed()?,
                };
                g.spectrum.values(g.d)?;
                Ok(DataSpec::Gaussian(g))
            }
            "manifold" => parse_manifold(s, body),
            "mixture" => parse_mixture(s, body),
            _ => Err(bad(s, format!("unknown data source `{kind}`"))),
        }
    }

    /// Short name of the source kind (`mnist-5k`, `mnist`, `fashion-mnist`, `cifar10`,
    /// `celeba`, `folder`, `gaussian`, `manifold`, `mixture`).
    pub fn kind(&self) -> &'static str {
        match self {
            DataSpec::Mnist5k => "mnist-5k",
            DataSpec::Mnist(_) => "mnist",
            DataSpec::FashionMnist(_) => "fashion-mnist",
            DataSpec::Cifar10(_) => "cifar10",
            DataSpec::Celeba { .. } => "celeba",
            DataSpec::Folder { .. } => "folder",
            DataSpec::Gaussian(_) => "gaussian",
            DataSpec::Manifold(_) => "manifold",
            DataSpec::Mixture(_) => "mixture",
        }
    }

    /// True for generated data (no fixed size, a known distribution).
    pub fn is_synthetic(&self) -> bool {
        matches!(
            self,
            DataSpec::Gaussian(_) | DataSpec::Manifold(_) | DataSpec::Mixture(_)
        )
    }

    /// True if [`Split::Test`](crate::Split::Test) can be loaded: the file datasets with an official test split
    /// and synthetic data (an independent stream). `mnist-5k` and folders have none: their
    /// held-out rows are taken from the rows not used for training.
    pub fn has_test_split(&self) -> bool {
        !matches!(self, DataSpec::Mnist5k | DataSpec::Folder { .. })
    }
}

/// Parses `2x1.0+5x0.3` into [(2, 1.0), (5, 0.3)].
fn parse_blocks(spec: &str, s: &str) -> Result<Vec<(usize, f64)>, DataError> {
    s.split('+')
        .map(|b| {
            let (n, std) = b
                .split_once('x')
                .ok_or_else(|| bad(spec, format!("block `{b}` is not DIMxSTD, e.g. 2x1.0")))?;
            let n: i64 = n
                .trim()
                .parse()
                .map_err(|_| bad(spec, format!("block `{b}`: `{n}` is not an integer")))?;
            Ok((
                check_size("block dimension", n)?,
                parse_real(spec, "block std", std)?,
            ))
        })
        .collect()
}

impl fmt::Display for DataSpec {
    /// The canonical spec string (every option explicit).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let image = |f: &mut fmt::Formatter<'_>, kind: &str, p: &PathBuf, o: &ImageOptions| {
            write!(
                f,
                "{kind}:{},size={},crop={},grey={}",
                p.display(),
                o.size,
                o.crop,
                o.grey
            )
        };
        match self {
            DataSpec::Mnist5k => f.write_str("mnist-5k"),
            DataSpec::Mnist(p) => write!(f, "mnist:{}", p.display()),
            DataSpec::FashionMnist(p) => write!(f, "fashion-mnist:{}", p.display()),
            DataSpec::Cifar10(p) => write!(f, "cifar10:{}", p.display()),
            DataSpec::Celeba { path, image: o } => image(f, "celeba", path, o),
            DataSpec::Folder { path, image: o } => image(f, "folder", path, o),
            DataSpec::Gaussian(g) => write!(f, "gaussian:{g}"),
            DataSpec::Manifold(m) => write!(f, "manifold:{m}"),
            DataSpec::Mixture(m) => write!(f, "mixture:{m}"),
        }
    }
}

impl FromStr for DataSpec {
    type Err = DataError;
    /// Same as [`DataSpec::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DataSpec::parse(s)
    }
}

impl serde::Serialize for DataSpec {
    /// Serialised as the canonical string.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DataSpec {
    /// Deserialised from a spec string.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DataSpec::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &str) -> DataSpec {
        let spec = DataSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let canon = spec.to_string();
        assert_eq!(DataSpec::parse(&canon).unwrap(), spec, "{s} -> {canon}");
        assert_eq!(DataSpec::parse(&canon).unwrap().to_string(), canon);
        spec
    }

    #[test]
    fn every_kind_round_trips() {
        assert_eq!(roundtrip("mnist-5k"), DataSpec::Mnist5k);
        assert_eq!(
            roundtrip("mnist:/data/mnist"),
            DataSpec::Mnist("/data/mnist".into())
        );
        roundtrip("fashion-mnist:data/fashion");
        roundtrip("cifar10:/x/cifar-10-binary.tar.gz");
        let c = roundtrip("celeba:/d/celeba,size=32,grey=true");
        assert_eq!(
            c,
            DataSpec::Celeba {
                path: "/d/celeba".into(),
                image: ImageOptions {
                    size: 32,
                    crop: 140,
                    grey: true
                }
            }
        );
        assert_eq!(c.to_string(), "celeba:/d/celeba,size=32,crop=140,grey=true");
        let f = roundtrip("folder:/a,b/imgs,crop=0");
        assert!(
            matches!(f, DataSpec::Folder { ref path, .. } if path.to_str() == Some("/a,b/imgs"))
        );
        let g = roundtrip("gaussian:d=3,spectrum=list:1,0.5,0.25,rotate=true,mean=randn:2,seed=7");
        assert_eq!(
            g.to_string(),
            "gaussian:d=3,spectrum=list:1,0.5,0.25,rotate=true,mean=randn:2,seed=7"
        );
        roundtrip("gaussian:d=100,spectrum=power:1");
        let m = roundtrip("manifold:paper");
        assert_eq!(m, DataSpec::Manifold(ManifoldSpec::paper()));
        assert_eq!(
            m.to_string(),
            "manifold:d=30,blocks=2x1+5x0.3,ambient=0.01,normalize=true,axis=false,seed=0"
        );
        // The unnormalised variant keeps a name, and `normalize=false` reaches it too.
        let raw = roundtrip("manifold:paper-raw");
        assert_eq!(raw, DataSpec::Manifold(ManifoldSpec::paper_raw()));
        assert_eq!(roundtrip("manifold:paper,normalize=false"), raw);
        assert_eq!(
            raw.to_string(),
            "manifold:d=30,blocks=2x1+5x0.3,ambient=0.01,normalize=false,axis=false,seed=0"
        );
        assert!(matches!(
            roundtrip("manifold:paper-raw,seed=2"),
            DataSpec::Manifold(ref s) if !s.normalize && s.seed == 2
        ));
        let m2 = roundtrip("manifold:d=30,blocks=2x1.0+5x0.3,ambient=0.01,normalize=true");
        assert!(
            matches!(m2, DataSpec::Manifold(ref s) if s.normalize && s.blocks == ManifoldSpec::paper().blocks)
        );
        let m3 = roundtrip("manifold:paper,normalize=true,seed=4");
        assert!(matches!(m3, DataSpec::Manifold(ref s) if s.normalize && s.seed == 4 && s.d == 30));
    }

    #[test]
    fn mixture_round_trips_with_the_paper_defaults() {
        let m = roundtrip("mixture:d=8");
        assert_eq!(m, DataSpec::Mixture(MixtureSpec::paper(8)));
        assert_eq!(m.to_string(), "mixture:d=8,sep=1,sigma=1,seed=0");
        let m2 = roundtrip("mixture:d=16,sep=0.5,sigma=2,seed=3");
        assert_eq!(m2.to_string(), "mixture:d=16,sep=0.5,sigma=2,seed=3");
        assert!(m2.is_synthetic() && m2.has_test_split() && m2.kind() == "mixture");
        assert!(
            roundtrip("mixture:d=2,sep=-1")
                .to_string()
                .contains("sep=-1")
        );
    }

    #[test]
    fn bad_mixture_keys_are_named() {
        for (s, key) in [
            ("mixture:d=8,mean=1", "mean"),
            ("mixture:sep=1", "d="),
            ("mixture:d=8,sigma=0", "sigma"),
            ("mixture:d=8,sigma=-1", "sigma"),
            ("mixture:d=8,sep=abc", "sep"),
            ("mixture:d=8,d=9", "d"),
            ("mixture:d=8,seed=-1", "seed"),
        ] {
            let e = DataSpec::parse(s).unwrap_err();
            assert!(matches!(e, DataError::BadSpec { .. }), "{s}: {e:?}");
            assert!(
                e.to_string().contains(key),
                "{s}: `{e}` does not name {key}"
            );
        }
        let e = DataSpec::parse("mixture:d=0").unwrap_err();
        assert!(matches!(e, DataError::BadSize { .. }), "{e:?}");
    }

    #[test]
    fn serde_as_string() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Cfg {
            data: DataSpec,
        }
        let cfg = Cfg {
            data: DataSpec::parse("gaussian:d=3,spectrum=list:1,0.5,0.25").unwrap(),
        };
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(
            json,
            r#"{"data":"gaussian:d=3,spectrum=list:1,0.5,0.25,rotate=false,mean=0,seed=0"}"#
        );
        assert_eq!(serde_json::from_str::<Cfg>(&json).unwrap(), cfg);
        assert!(serde_json::from_str::<Cfg>(r#"{"data":"gaussian:d=0"}"#).is_err());
    }

    #[test]
    fn bad_specs_are_typed() {
        for s in [
            "mnist",
            "mnist:",
            "nosuch:x",
            "gaussian:d=10",
            "gaussian:d=10,spectrum=power:1,colour=red",
            "gaussian:d=3,spectrum=list:1,2",
            "gaussian:d=3,spectrum=power:1,d=4",
            "manifold:d=5,blocks=2x1+5x0.3",
            "manifold:d=30",
            "manifold:d=30,blocks=2x-1",
            "celeba:/x,grey=maybe",
            "folder:/x,size=abc",
        ] {
            assert!(
                matches!(DataSpec::parse(s), Err(DataError::BadSpec { .. })),
                "{s}: {:?}",
                DataSpec::parse(s)
            );
        }
        for s in [
            "gaussian:d=0,spectrum=power:1",
            "gaussian:d=-3,spectrum=power:1",
            "celeba:/x,size=0",
            "folder:/x,size=-64",
            "manifold:d=30,blocks=0x1.0",
        ] {
            let e = DataSpec::parse(s).unwrap_err();
            assert!(matches!(e, DataError::BadSize { .. }), "{s}: {e:?}");
        }
        let e = DataSpec::parse("mnist").unwrap_err();
        assert!(e.to_string().contains("mnist:PATH"));
        assert!(e.hint().is_some());
    }
}
