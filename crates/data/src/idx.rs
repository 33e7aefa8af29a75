//! MNIST and Fashion-MNIST: IDX files (raw or gzip), `train-*` and `t10k-*` splits.
//!
//! IDX layout: big-endian u32 magic `0x000008NN` (0x08 = unsigned bytes, NN = number of
//! dimensions), NN big-endian u32 sizes, then the bytes, row-major.

use crate::catalog::Catalog;
use crate::dataset::SampleShape;
use crate::error::DataError;
use crate::files::{Content, find_first, read_maybe_gz, require_dir};
use crate::split::Split;
use std::path::Path;

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of the dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The bytes, row-major.
    pub data: Vec<u8>,
}

/// Parses an unsigned-byte IDX array with `ndims` dimensions from the (decompressed)
/// content of `path`.
pub fn parse_idx(path: &Path, content: Content, ndims: u8) -> Result<IdxArray, DataError> {
    let bytes = content.bytes;
    let got = bytes.len() as u64;
    let truncated = |expected: u64| DataError::Truncated {
        path: path.to_path_buf(),
        expected,
        got,
    };
    let be32 = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    let expected_magic = 0x0800 | u32::from(ndims);
    let found = be32(0);
    if found != expected_magic {
        let what = match ndims {
            1 => "IDX labels (unsigned bytes, 1 dimension)".to_string(),
            3 => "IDX images (unsigned bytes, 3 dimensions)".to_string(),
            n => format!("IDX unsigned bytes, {n} dimensions"),
        };
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: expected_magic,
            found,
            what,
        });
    }
    let header = 4 + 4 * usize::from(ndims);
    if bytes.len() < header {
        return Err(truncated(header as u64));
    }
    let dims: Vec<usize> = (0..usize::from(ndims))
        .map(|k| be32(4 + 4 * k) as usize)
        .collect();
    let payload = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| DataError::BadFormat {
            path: path.to_path_buf(),
            msg: format!("IDX dimensions {dims:?} overflow"),
        })?;
    let expected = header as u64 + payload;
    if got < expected {
        return Err(truncated(expected));
    }
    if let Some(e) = content.gz_error {
        return Err(DataError::BadFormat {
            path: path.to_path_buf(),
            msg: format!("corrupt gzip stream: {e}"),
        });
    }
    if got > expected {
        return Err(DataError::BadFormat {
            path: path.to_path_buf(),
            msg: format!(
                "{} bytes after the {dims:?} array announced by the header",
                got - expected
            ),
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Builds a catalog from an IDX image array and an IDX label array (labels must be 0..=9).
pub fn mnist_catalog(
    images_path: &Path,
    images: Content,
    labels_path: &Path,
    labels: Content,
    source: String,
) -> Result<Catalog, DataError> {
    let images = parse_idx(images_path, images, 3)?;
    let labels = parse_idx(labels_path, labels, 1)?;
    let (n, h, w) = (images.dims[0], images.dims[1], images.dims[2]);
    if h == 0 || w == 0 {
        return Err(DataError::BadFormat {
            path: images_path.to_path_buf(),
            msg: format!("images of size {h} x {w}"),
        });
    }
    if labels.dims[0] != n {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            n_images: n,
            n_labels: labels.dims[0],
        });
    }
    if let Some((i, &l)) = labels.data.iter().enumerate().find(|&(_, &l)| l > 9) {
        return Err(DataError::BadFormat {
            path: labels_path.to_path_buf(),
            msg: format!("label {l} of sample {i} is not a digit class 0-9"),
        });
    }
    Ok(Catalog::from_pixels(
        source,
        SampleShape::Image { c: 1, h, w },
        images.data,
        Some(labels.data.iter().map(|&l| u32::from(l)).collect()),
    ))
}

/// File names accepted for one IDX file, e.g. `train-images-idx3-ubyte[.gz]` and the
/// `train-images.idx3-ubyte[.gz]` spelling of some mirrors.
fn candidates(prefix: &str, kind: &str, ndims: u8) -> Vec<String> {
    let mut v = Vec::new();
    for sep in ['-', '.'] {
        for gz in ["", ".gz"] {
            v.push(format!("{prefix}-{kind}{sep}idx{ndims}-ubyte{gz}"));
        }
    }
    v
}

/// Loads one split of an MNIST-format directory (`dataset` is `mnist` or `fashion-mnist`,
/// used in error hints).
pub fn load_mnist_dir(
    dir: &Path,
    split: Split,
    source: String,
    dataset: &str,
) -> Result<Catalog, DataError> {
    require_dir(dir)?;
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let find = |kind: &str, ndims: u8| {
        let c = candidates(prefix, kind, ndims);
        find_first(dir, &c).ok_or_else(|| DataError::MissingFiles {
            dir: dir.to_path_buf(),
            dataset: dataset.into(),
            expected: format!("{} (or without .gz)", c[1]),
        })
    };
    let images_path = find("images", 3)?;
    let labels_path = find("labels", 1)?;
    let images = read_maybe_gz(&images_path)?;
    let labels = read_maybe_gz(&labels_path)?;
    mnist_catalog(&images_path, images, &labels_path, labels, source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    fn load(dir: &Path, split: Split) -> Result<Catalog, DataError> {
        load_mnist_dir(dir, split, "test".into(), "mnist")
    }

    #[test]
    fn raw_and_gzip_splits() {
        for gz in [false, true] {
            let t = TempDir::new("idx");
            write_mnist(&t.0, "train", 12, 4, 3, gz);
            write_mnist(&t.0, "t10k", 5, 4, 3, gz);
            let train = load(&t.0, Split::Train).unwrap();
            assert_eq!(train.len(), 12);
            assert_eq!(train.shape(), SampleShape::Image { c: 1, h: 4, w: 3 });
            assert_eq!(train.labels().unwrap()[11], 1);
            let ds = train.load_rows(&[11, 0]).unwrap();
            // Image 11 has pixels 110: 110 / 127.5 - 1.
            assert!((ds.samples[0] - (110.0 / 127.5 - 1.0)).abs() < 1e-6);
            assert_eq!(ds.samples[12], -1.0);
            assert_eq!(ds.provenance.indices, vec![11, 0]);
            assert_eq!(ds.labels, Some(vec![1, 0]));
            assert_eq!(load(&t.0, Split::Test).unwrap().len(), 5);
        }
    }

    #[test]
    fn dotted_mirror_names() {
        let t = TempDir::new("idx-dot");
        write_mnist(&t.0, "train", 3, 2, 2, false);
        for k in ["images-idx3", "labels-idx1"] {
            let from = t.join(&format!("train-{k}-ubyte"));
            let to = t.join(&format!("train-{}-ubyte", k.replace("s-", "s.")));
            std::fs::rename(from, to).unwrap();
        }
        assert_eq!(load(&t.0, Split::Train).unwrap().len(), 3);
    }

    #[test]
    fn truncated_raw_file() {
        let t = TempDir::new("idx-trunc");
        write_mnist(&t.0, "train", 10, 4, 4, false);
        let p = t.join("train-images-idx3-ubyte");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 7]).unwrap();
        let e = load(&t.0, Split::Train).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Truncated {
                    expected: 176,
                    got: 169,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_names(&e.to_string(), &p);
        assert!(e.hint().unwrap().contains("download"));
        // A header cut short is also a truncation.
        std::fs::write(&p, &b[..6]).unwrap();
        assert!(matches!(
            load(&t.0, Split::Train),
            Err(DataError::Truncated { .. })
        ));
    }

    #[test]
    fn truncated_gzip_file() {
        let t = TempDir::new("idx-trunc-gz");
        write_mnist(&t.0, "train", 50, 8, 8, true);
        let p = t.join("train-images-idx3-ubyte.gz");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() / 2]).unwrap();
        let e = load(&t.0, Split::Train).unwrap_err();
        // The gzip stream breaks off: the bytes decoded so far are short of the header's
        // 16 + 50*64 bytes.
        assert!(
            matches!(e, DataError::Truncated { expected: 3216, got, .. } if got < 3216),
            "{e:?}"
        );
        assert_names(&e.to_string(), &p);
    }

    #[test]
    fn wrong_magic() {
        let t = TempDir::new("idx-magic");
        write_mnist(&t.0, "train", 4, 2, 2, false);
        // Swap the label file in for the image file: magic 0x801 instead of 0x803.
        let p = t.join("train-images-idx3-ubyte");
        std::fs::copy(t.join("train-labels-idx1-ubyte"), &p).unwrap();
        let e = load(&t.0, Split::Train).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::BadMagic {
                    expected: 0x803,
                    found: 0x801,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_names(&e.to_string(), &p);
        assert!(e.to_string().contains("0x00000801"));
    }

    #[test]
    fn image_label_count_mismatch() {
        let t = TempDir::new("idx-count");
        write_mnist(&t.0, "train", 6, 2, 2, true);
        let labels = t.join("train-labels-idx1-ubyte.gz");
        write(&labels, &gzip(&idx_bytes(&[5], &[0, 1, 2, 3, 4])));
        let e = load(&t.0, Split::Train).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::CountMismatch {
                    n_images: 6,
                    n_labels: 5,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_names(&e.to_string(), &labels);
        assert!(e.to_string().contains("train-images-idx3-ubyte.gz"));
    }

    #[test]
    fn directory_without_files() {
        let t = TempDir::new("idx-missing");
        write_mnist(&t.0, "train", 3, 2, 2, false);
        let e = load(&t.0, Split::Test).unwrap_err();
        assert!(matches!(e, DataError::MissingFiles { .. }), "{e:?}");
        assert!(e.to_string().contains("t10k-images-idx3-ubyte"));
        assert_names(&e.to_string(), &t.0);
        assert_eq!(
            e.hint().unwrap(),
            "run scripts/download_datasets.sh mnist (see datasets/README.md for the layout)"
        );
        let e = load(&t.join("nope"), Split::Train).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }));
        assert!(e.to_string().contains("nope"));
    }

    #[test]
    fn bad_label_and_trailing_bytes() {
        let t = TempDir::new("idx-label");
        write_mnist(&t.0, "train", 3, 2, 2, false);
        let labels = t.join("train-labels-idx1-ubyte");
        write(&labels, &idx_bytes(&[3], &[0, 12, 1]));
        let e = load(&t.0, Split::Train).unwrap_err();
        assert!(matches!(e, DataError::BadFormat { .. }) && e.to_string().contains("label 12"));
        write(&labels, &idx_bytes(&[3], &[0, 1, 2, 3]));
        let e = load(&t.0, Split::Train).unwrap_err();
        assert!(matches!(e, DataError::BadFormat { .. }), "{e:?}");
        assert_names(&e.to_string(), &labels);
    }
}
