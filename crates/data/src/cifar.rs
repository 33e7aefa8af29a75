//! CIFAR-10 binary version: `data_batch_1..5.bin` (train) and `test_batch.bin` (test), each
//! a sequence of 3073-byte records (1 label byte, then 1024 red, 1024 green, 1024 blue bytes
//! of a 32 x 32 image, already channel-major). Read from a folder (optionally containing
//! `cifar-10-batches-bin/`) or straight from the original `cifar-10-binary.tar.gz`.

use crate::catalog::Catalog;
use crate::dataset::SampleShape;
use crate::error::DataError;
use crate::files::{read_all, require_dir};
use crate::split::Split;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes per record: one label byte and a 3 x 32 x 32 image.
pub const RECORD: usize = 1 + 3 * 32 * 32;
/// Name of the official archive.
pub const ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// Folder the archive unpacks into.
pub const FOLDER: &str = "cifar-10-batches-bin";

/// File names of the batches of one split.
pub fn batch_names(split: Split) -> Vec<String> {
    match split {
        Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
        Split::Test => vec!["test_batch.bin".into()],
    }
}

/// Loads one split from `path`: a folder of batches, a folder holding
/// `cifar-10-batches-bin/` or `cifar-10-binary.tar.gz`, or the archive itself.
pub fn load_cifar(path: &Path, split: Split, source: String) -> Result<Catalog, DataError> {
    let names = batch_names(split);
    let batches = if path.is_file() {
        read_archive(path, &names)?
    } else {
        require_dir(path)?;
        let nested = path.join(FOLDER);
        let dir = if nested.is_dir() { nested } else { path.into() };
        if names.iter().all(|n| dir.join(n).is_file()) {
            names
                .iter()
                .map(|n| {
                    let p = dir.join(n);
                    read_all(&p).map(|b| (p, b))
                })
                .collect::<Result<Vec<_>, _>>()?
        } else if path.join(ARCHIVE).is_file() {
            read_archive(&path.join(ARCHIVE), &names)?
        } else {
            return Err(DataError::MissingFiles {
                dir: path.into(),
                dataset: "cifar10".into(),
                expected: format!("{} (or {ARCHIVE})", names.join(", ")),
            });
        }
    };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (p, bytes) in &batches {
        parse_batch(p, bytes, &mut pixels, &mut labels)?;
    }
    Ok(Catalog::from_pixels(
        source,
        SampleShape::Image { c: 3, h: 32, w: 32 },
        pixels,
        Some(labels),
    ))
}

/// Appends the records of one batch file to `pixels` and `labels`.
fn parse_batch(
    path: &Path,
    bytes: &[u8],
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u32>,
) -> Result<(), DataError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(DataError::Truncated {
            path: path.into(),
            expected: (bytes.len() / RECORD + 1) as u64 * RECORD as u64,
            got: bytes.len() as u64,
        });
    }
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] > 9 {
            return Err(DataError::BadFormat {
                path: path.into(),
                msg: format!("record {i} has label {} (CIFAR-10 labels are 0-9)", rec[0]),
            });
        }
        labels.push(u32::from(rec[0]));
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

/// Reads the batches `names` (matched by file name, in that order) out of a `.tar.gz`.
/// Each is returned with the path `archive/entry` so errors name both.
fn read_archive(archive: &Path, names: &[String]) -> Result<Vec<(PathBuf, Vec<u8>)>, DataError> {
    let raw = read_all(archive)?;
    let broken = |e: std::io::Error| DataError::BadFormat {
        path: archive.into(),
        msg: format!("cannot read the tar.gz archive: {e}"),
    };
    let mut found: Vec<Option<(PathBuf, Vec<u8>)>> = vec![None; names.len()];
    let mut tar = tar::Archive::new(GzDecoder::new(raw.as_slice()));
    for entry in tar.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let entry_path = entry.path().map_err(broken)?.into_owned();
        let Some(file) = entry_path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if let Some(k) = names.iter().position(|n| n == file) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(broken)?;
            found[k] = Some((archive.join(&entry_path), bytes));
        }
    }
    if found.iter().any(Option::is_none) {
        let missing: Vec<&str> = names
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        return Err(DataError::MissingFiles {
            dir: archive.into(),
            dataset: "cifar10".into(),
            expected: missing.join(", "),
        });
    }
    Ok(found.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    /// `n` records: record i has label i % 10 and red = i, green = 100, blue = 200.
    fn batch(n: usize, first: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for i in first..first + n {
            v.push((i % 10) as u8);
            v.extend(std::iter::repeat_n(i as u8, 1024));
            v.extend(std::iter::repeat_n(100u8, 1024));
            v.extend(std::iter::repeat_n(200u8, 1024));
        }
        v
    }

    fn write_batches(dir: &Path) {
        for i in 1..=5 {
            write(
                &dir.join(format!("data_batch_{i}.bin")),
                &batch(3, 3 * (i - 1)),
            );
        }
        write(&dir.join("test_batch.bin"), &batch(4, 50));
    }

    fn tar_gz(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data.as_slice()).unwrap();
        }
        gzip(&b.into_inner().unwrap())
    }

    fn check(cat: &Catalog, n: usize) {
        assert_eq!(cat.len(), n);
        assert_eq!(cat.shape(), SampleShape::Image { c: 3, h: 32, w: 32 });
        let ds = cat.load_rows(&[n - 1]).unwrap();
        let b = |x: u8| x as f32 / 127.5 - 1.0;
        // Channel-major: red plane, then green, then blue.
        assert_eq!(ds.samples[0], b((n - 1) as u8));
        assert_eq!(ds.samples[1024], b(100));
        assert_eq!(ds.samples[3071], b(200));
        assert_eq!(ds.labels, Some(vec![((n - 1) % 10) as u32]));
    }

    #[test]
    fn folder_and_nested_folder() {
        let t = TempDir::new("cifar");
        write_batches(&t.0);
        check(&load_cifar(&t.0, Split::Train, "c".into()).unwrap(), 15);
        let test = load_cifar(&t.0, Split::Test, "c".into()).unwrap();
        assert_eq!(test.len(), 4);
        assert_eq!(test.labels().unwrap(), &[0, 1, 2, 3]);
        let t2 = TempDir::new("cifar-nested");
        write_batches(&t2.join(FOLDER));
        check(&load_cifar(&t2.0, Split::Train, "c".into()).unwrap(), 15);
    }

    #[test]
    fn original_tar_gz() {
        let t = TempDir::new("cifar-tgz");
        let mut entries = vec![(format!("{FOLDER}/batches.meta.txt"), b"airplane\n".to_vec())];
        for i in 1..=5 {
            entries.push((
                format!("{FOLDER}/data_batch_{i}.bin"),
                batch(3, 3 * (i - 1)),
            ));
        }
        entries.push((format!("{FOLDER}/test_batch.bin"), batch(4, 50)));
        write(&t.join(ARCHIVE), &tar_gz(&entries));
        // The archive itself, or a folder that holds it.
        check(
            &load_cifar(&t.join(ARCHIVE), Split::Train, "c".into()).unwrap(),
            15,
        );
        check(&load_cifar(&t.0, Split::Train, "c".into()).unwrap(), 15);
        assert_eq!(load_cifar(&t.0, Split::Test, "c".into()).unwrap().len(), 4);
    }

    #[test]
    fn truncated_batch() {
        let t = TempDir::new("cifar-trunc");
        write_batches(&t.0);
        let p = t.join("data_batch_3.bin");
        write(&p, &batch(3, 0)[..2 * RECORD + 100]);
        let e = load_cifar(&t.0, Split::Train, "c".into()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Truncated {
                    expected: 9219,
                    got: 6246,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_names(&e.to_string(), &p);
    }

    #[test]
    fn truncated_or_incomplete_archive() {
        let t = TempDir::new("cifar-tgz-bad");
        let entries = vec![(format!("{FOLDER}/test_batch.bin"), batch(40, 0))];
        let full = tar_gz(&entries);
        let p = t.join(ARCHIVE);
        write(&p, &full[..full.len() / 2]);
        let e = load_cifar(&p, Split::Test, "c".into()).unwrap_err();
        assert!(matches!(e, DataError::BadFormat { .. }), "{e:?}");
        assert_names(&e.to_string(), &p);
        // A complete archive without the train batches.
        write(&p, &full);
        let e = load_cifar(&p, Split::Train, "c".into()).unwrap_err();
        assert!(matches!(e, DataError::MissingFiles { .. }), "{e:?}");
        assert!(e.to_string().contains("data_batch_1.bin"));
        assert!(e.hint().unwrap().contains("download_datasets.sh cifar10"));
    }

    #[test]
    fn missing_files_and_bad_label() {
        let t = TempDir::new("cifar-missing");
        write(&t.join("data_batch_1.bin"), &batch(1, 0));
        let e = load_cifar(&t.0, Split::Train, "c".into()).unwrap_err();
        assert!(matches!(e, DataError::MissingFiles { .. }), "{e:?}");
        assert_names(&e.to_string(), &t.0);
        write_batches(&t.0);
        let mut b = batch(2, 0);
        b[RECORD] = 10;
        let p = t.join("test_batch.bin");
        write(&p, &b);
        let e = load_cifar(&t.0, Split::Test, "c".into()).unwrap_err();
        assert!(matches!(e, DataError::BadFormat { .. }) && e.to_string().contains("label 10"));
        assert_names(&e.to_string(), &p);
    }
}
