//! Loading a [`DataSpec`]: whole splits, the first N rows, or a file-backed [`Catalog`].

use crate::bundled::bundled_catalog;
use crate::catalog::Catalog;
use crate::celeba::load_celeba;
use crate::cifar::load_cifar;
use crate::dataset::{Dataset, Truth};
use crate::error::DataError;
use crate::folder::load_folder;
use crate::idx::load_mnist_dir;
use crate::spec::DataSpec;
use crate::split::Split;
use crate::synthetic::{Gaussian, Generator, Manifold, Mixture};

impl DataSpec {
    /// Provenance source text for a split, e.g. `mnist:/data/mnist train`.
    pub fn source_name(&self, split: Split) -> String {
        format!("{self} {split}")
    }

    /// The synthetic generator, or `None` for file-backed sources.
    pub fn generator(&self) -> Result<Option<Generator>, DataError> {
        Ok(match self {
            DataSpec::Gaussian(g) => Some(Generator::Gaussian(Gaussian::new(g)?)),
            DataSpec::Manifold(m) => Some(Generator::Manifold(Manifold::new(m)?)),
            DataSpec::Mixture(m) => Some(Generator::Mixture(Mixture::new(m)?)),
            _ => None,
        })
    }

    /// The true distribution of synthetic sources (`None` for real data).
    pub fn truth(&self) -> Result<Option<Truth>, DataError> {
        Ok(self.generator()?.map(|g| g.truth()))
    }

    /// The catalog of one split of a file-backed source (reads headers and raw bytes, decodes
    /// no images). Synthetic sources and missing test splits give [`DataError::BadSpec`].
    pub fn catalog(&self, split: Split) -> Result<Catalog, DataError> {
        let source = self.source_name(split);
        if split == Split::Test && !self.has_test_split() {
            return Err(DataError::BadSpec {
                spec: self.to_string(),
                msg: "this source has no test split; held-out rows are the rows not used for \
                      training (see train_and_heldout)"
                    .into(),
            });
        }
        match self {
            DataSpec::Mnist5k => bundled_catalog(),
            DataSpec::Mnist(p) => load_mnist_dir(p, split, source, "mnist"),
            DataSpec::FashionMnist(p) => load_mnist_dir(p, split, source, "fashion-mnist"),
            DataSpec::Cifar10(p) => load_cifar(p, split, source),
            DataSpec::Celeba { path, image } => load_celeba(path, split, *image, source),
            DataSpec::Folder { path, image } => load_folder(path, *image, source),
            DataSpec::Gaussian(_) | DataSpec::Manifold(_) | DataSpec::Mixture(_) => {
                Err(DataError::BadSpec {
                    spec: self.to_string(),
                    msg: "synthetic data have no files; use load_n or train_and_heldout".into(),
                })
            }
        }
    }

    /// The whole split. Synthetic sources have no fixed size and give
    /// [`DataError::BadSpec`]: use [`DataSpec::load_n`].
    pub fn load(&self, split: Split) -> Result<Dataset, DataError> {
        if self.is_synthetic() {
            return Err(DataError::BadSpec {
                spec: self.to_string(),
                msg: "synthetic data have no fixed size: give N (load_n, --n)".into(),
            });
        }
        self.catalog(split)?.load_all()
    }

    /// The first `n` rows of a split, in source order (no shuffle: for a random subset use
    /// [`crate::train_and_heldout`]). For synthetic sources: rows 0..n of the split's stream
    /// with sample seed 0. `n = 0` gives [`DataError::BadSize`]; more rows than the split
    /// holds give [`DataError::TooLarge`].
    pub fn load_n(&self, split: Split, n: usize) -> Result<Dataset, DataError> {
        if n == 0 {
            return Err(DataError::BadSize {
                what: "n".into(),
                value: 0,
            });
        }
        if let Some(g) = self.generator()? {
            return Ok(g.dataset(
                split,
                0,
                0..n,
                format!("{} seed=0", self.source_name(split)),
            ));
        }
        let cat = self.catalog(split)?;
        if n > cat.len() {
            return Err(DataError::TooLarge {
                dataset: cat.source().into(),
                what: format!("the first N={n} rows"),
                requested: n,
                available: cat.len(),
            });
        }
        cat.load_rows(&(0..n).collect::<Vec<_>>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, write_mnist};

    #[test]
    fn load_and_load_n() {
        let m = DataSpec::Mnist5k;
        assert_eq!(m.load(Split::Train).unwrap().len(), 5000);
        assert!(matches!(
            m.load(Split::Test),
            Err(DataError::BadSpec { .. })
        ));
        let first = m.load_n(Split::Train, 3).unwrap();
        assert_eq!(first.provenance.indices, vec![0, 1, 2]);
        assert_eq!(first.provenance.source, "mnist-5k train");
        assert!(matches!(
            m.load_n(Split::Train, 0),
            Err(DataError::BadSize { .. })
        ));
        assert!(matches!(
            m.load_n(Split::Train, 5001),
            Err(DataError::TooLarge { .. })
        ));

        let g = DataSpec::parse("manifold:paper").unwrap();
        assert!(matches!(
            g.load(Split::Train),
            Err(DataError::BadSpec { .. })
        ));
        let ds = g.load_n(Split::Test, 7).unwrap();
        assert_eq!((ds.len(), ds.dim()), (7, 30));
        assert!(ds.truth.is_some());
        assert_ne!(ds.samples, g.load_n(Split::Train, 7).unwrap().samples);
        assert!(g.truth().unwrap().is_some() && m.truth().unwrap().is_none());

        let t = TempDir::new("source");
        write_mnist(&t.0, "train", 4, 3, 3, true);
        write_mnist(&t.0, "t10k", 2, 3, 3, true);
        let f = DataSpec::parse(&format!("fashion-mnist:{}", t.0.display())).unwrap();
        assert_eq!(f.load(Split::Test).unwrap().len(), 2);
        let e = DataSpec::Mnist(t.join("nothing-here"))
            .load(Split::Train)
            .unwrap_err();
        assert!(e.to_string().contains("nothing-here"));
    }
}
