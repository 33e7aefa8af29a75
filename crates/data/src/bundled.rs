//! The bundled `mnist-5k`: 5000 real MNIST training digits, 500 per class, SORTED by label
//! (draw subsets with a seeded shuffle). Embedded in the binary, so it works from any
//! directory. Provenance and licence: datasets/README.md.

use crate::catalog::Catalog;
use crate::dataset::Dataset;
use crate::error::DataError;
use crate::files::maybe_gunzip;
use crate::idx::mnist_catalog;
use std::path::Path;

const IMAGES: &[u8] = include_bytes!("../../../datasets/mnist-5k/train-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("../../../datasets/mnist-5k/train-labels-idx1-ubyte.gz");
/// Names used for the embedded files in error messages.
const IMAGES_NAME: &str = "datasets/mnist-5k/train-images-idx3-ubyte.gz (bundled)";
const LABELS_NAME: &str = "datasets/mnist-5k/train-labels-idx1-ubyte.gz (bundled)";

/// The bundled digits as a catalog (source `mnist-5k train`).
pub fn bundled_catalog() -> Result<Catalog, DataError> {
    mnist_catalog(
        Path::new(IMAGES_NAME),
        maybe_gunzip(IMAGES.to_vec()),
        Path::new(LABELS_NAME),
        maybe_gunzip(LABELS.to_vec()),
        "mnist-5k train".into(),
    )
}

/// All 5000 bundled digits, in file order (sorted by label), pixels in [-1, 1].
pub fn bundled_mnist_5k() -> Result<Dataset, DataError> {
    bundled_catalog()?.load_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_counts_balance_and_pixel_statistics() {
        let ds = bundled_mnist_5k().unwrap();
        assert_eq!(ds.len(), 5000);
        assert_eq!(ds.shape, crate::SampleShape::Image { c: 1, h: 28, w: 28 });
        let labels = ds.labels.as_ref().unwrap();
        for c in 0..10u32 {
            assert_eq!(labels.iter().filter(|&&l| l == c).count(), 500, "class {c}");
        }
        // Sorted by label: that is why subsets must shuffle.
        assert!(labels.windows(2).all(|w| w[0] <= w[1]));
        // Mean pixel 33.49/255 in [0, 255] maps to 33.49/127.5 - 1 in [-1, 1].
        let mean = ds.samples.iter().map(|&x| x as f64).sum::<f64>() / ds.samples.len() as f64;
        let want = 33.49 / 127.5 - 1.0;
        assert!(
            (mean - want).abs() < 0.01 / 127.5,
            "mean {mean}, want {want}"
        );
        let (lo, hi) = ds
            .samples
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert_eq!((lo, hi), (-1.0, 1.0));
        assert_eq!(ds.provenance.indices, (0..5000).collect::<Vec<_>>());
    }
}
