//! CelebA (aligned and cropped): `img_align_celeba/*.jpg` plus the partition file
//! `list_eval_partition.txt` (lines `000001.jpg 0`; 0 = train, 1 = valid, 2 = test), through
//! the shared crop/resize pipeline. Images are decoded only when rows are loaded.

use crate::catalog::Catalog;
use crate::error::DataError;
use crate::files::{read_all, require_dir};
use crate::imagepipe::ImageOptions;
use crate::split::Split;
use std::path::{Path, PathBuf};

/// Partition code of each split in `list_eval_partition.txt`.
pub fn partition_code(split: Split) -> u8 {
    match split {
        Split::Train => 0,
        Split::Test => 2,
    }
}

/// The image folder: `img_align_celeba/`, or the doubly nested copy some mirrors ship.
fn image_dir(root: &Path) -> Option<PathBuf> {
    let top = root.join("img_align_celeba");
    let nested = top.join("img_align_celeba");
    [nested, top].into_iter().find(|p| p.is_dir())
}

/// The partition file: `list_eval_partition.txt` at the root or under `Eval/`, or the
/// `.csv` variant (`image_id,partition` header) of some mirrors.
fn partition_file(root: &Path) -> Option<PathBuf> {
    [
        root.join("list_eval_partition.txt"),
        root.join("Eval").join("list_eval_partition.txt"),
        root.join("list_eval_partition.csv"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Parses a partition file into (image file name, partition code) pairs, in file order.
/// A first line whose second field is not a number is taken as a header.
pub fn parse_partition(path: &Path, text: &str) -> Result<Vec<(String, u8)>, DataError> {
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            continue;
        }
        let code = fields.get(1).and_then(|f| f.parse::<u8>().ok());
        match (fields.len(), code) {
            (2, Some(c)) if c <= 2 => out.push((fields[0].to_string(), c)),
            _ if k == 0 => continue,
            _ => {
                return Err(DataError::BadFormat {
                    path: path.into(),
                    msg: format!(
                        "line {}: expected `IMAGE PARTITION` with partition 0, 1 or 2, got `{line}`",
                        k + 1
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Loads the catalog of one split of CelebA under `root`.
pub fn load_celeba(
    root: &Path,
    split: Split,
    options: ImageOptions,
    source: String,
) -> Result<Catalog, DataError> {
    require_dir(root)?;
    let missing = || DataError::MissingFiles {
        dir: root.into(),
        dataset: "celeba".into(),
        expected: "img_align_celeba/ (the aligned .jpg images) and list_eval_partition.txt".into(),
    };
    let images = image_dir(root).ok_or_else(missing)?;
    let part_path = partition_file(root).ok_or_else(missing)?;
    let bytes = read_all(&part_path)?;
    let text = String::from_utf8(bytes).map_err(|_| DataError::BadFormat {
        path: part_path.clone(),
        msg: "not a text file".into(),
    })?;
    let code = partition_code(split);
    let (origin, paths): (Vec<usize>, Vec<PathBuf>) = parse_partition(&part_path, &text)?
        .into_iter()
        .enumerate()
        .filter(|(_, (_, c))| *c == code)
        .map(|(i, (name, _))| (i, images.join(name)))
        .unzip();
    if paths.is_empty() {
        return Err(DataError::BadFormat {
            path: part_path,
            msg: format!("no image is in partition {code} ({split})"),
        });
    }
    Ok(Catalog::from_files(source, paths, origin, None, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SampleShape;
    use crate::testutil::*;
    use image::{Rgb, RgbImage};

    /// A 178 x 218 JPEG (the CelebA aligned size): white in the centred 140 x 140 square,
    /// black outside, so the default crop keeps only white.
    fn face(path: &Path) {
        let img = RgbImage::from_fn(178, 218, |x, y| {
            let inside = (19..159).contains(&x) && (39..179).contains(&y);
            if inside {
                Rgb([255, 255, 255])
            } else {
                Rgb([0, 0, 0])
            }
        });
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        img.save(path).unwrap();
    }

    fn celeba(root: &Path, parts: &[u8]) {
        let mut list = String::new();
        for (i, p) in parts.iter().enumerate() {
            let name = format!("{:06}.jpg", i + 1);
            face(&root.join("img_align_celeba").join(&name));
            list.push_str(&format!("{name} {p}\n"));
        }
        write(&root.join("list_eval_partition.txt"), list.as_bytes());
    }

    #[test]
    fn partition_crop_and_resize() {
        let t = TempDir::new("celeba");
        celeba(&t.0, &[0, 0, 1, 2, 0, 2]);
        let opts = ImageOptions {
            size: 16,
            crop: 140,
            grey: false,
        };
        let train = load_celeba(&t.0, Split::Train, opts, "c".into()).unwrap();
        assert_eq!(train.origin(), &[0, 1, 4]);
        let test = load_celeba(&t.0, Split::Test, opts, "c".into()).unwrap();
        assert_eq!(test.origin(), &[3, 5]);
        let ds = test.load_rows(&[1]).unwrap();
        assert_eq!(ds.shape, SampleShape::Image { c: 3, h: 16, w: 16 });
        assert_eq!(ds.provenance.indices, vec![5]);
        assert!(ds.labels.is_none());
        // The crop removed the black frame: everything is (JPEG-)white.
        assert!(
            ds.samples.iter().all(|&x| x > 0.9),
            "{:?}",
            &ds.samples[..8]
        );
        // Without the crop (largest square = 178), the black frame shows in the corners.
        let wide = ImageOptions { crop: 0, ..opts };
        let ds = load_celeba(&t.0, Split::Test, wide, "c".into())
            .unwrap()
            .load_rows(&[0])
            .unwrap();
        assert!(ds.samples[0] < -0.9);
        let grey = ImageOptions { grey: true, ..opts };
        let ds = load_celeba(&t.0, Split::Train, grey, "c".into())
            .unwrap()
            .load_all()
            .unwrap();
        assert_eq!((ds.len(), ds.dim()), (3, 256));
    }

    #[test]
    fn csv_partition_with_header() {
        let p = Path::new("list_eval_partition.csv");
        let parsed =
            parse_partition(p, "image_id,partition\n000001.jpg,0\n000002.jpg,2\n").unwrap();
        assert_eq!(
            parsed,
            vec![("000001.jpg".into(), 0), ("000002.jpg".into(), 2)]
        );
        let e = parse_partition(p, "000001.jpg 0\n000002.jpg 7\n").unwrap_err();
        assert!(matches!(e, DataError::BadFormat { .. }) && e.to_string().contains("line 2"));
        assert_names(&e.to_string(), p);
    }

    #[test]
    fn missing_partition_file_or_images() {
        let t = TempDir::new("celeba-missing");
        celeba(&t.0, &[0]);
        std::fs::remove_file(t.join("list_eval_partition.txt")).unwrap();
        let e = load_celeba(&t.0, Split::Train, ImageOptions::default(), "c".into()).unwrap_err();
        assert!(matches!(e, DataError::MissingFiles { .. }), "{e:?}");
        assert!(e.to_string().contains("list_eval_partition.txt"));
        assert_names(&e.to_string(), &t.0);
        assert!(e.hint().unwrap().contains("download_datasets.sh celeba"));
    }

    #[test]
    fn corrupt_and_missing_images() {
        let t = TempDir::new("celeba-corrupt");
        celeba(&t.0, &[0, 0, 0]);
        let bad = t.join("img_align_celeba/000002.jpg");
        write(&bad, b"\xff\xd8\xff\xe0 this is not really a jpeg");
        let cat = load_celeba(&t.0, Split::Train, ImageOptions::default(), "c".into()).unwrap();
        assert_eq!(cat.load_rows(&[0, 2]).unwrap().len(), 2);
        let e = cat.load_all().unwrap_err();
        assert!(matches!(e, DataError::NotAnImage { .. }), "{e:?}");
        assert_names(&e.to_string(), &bad);
        std::fs::remove_file(&bad).unwrap();
        let e = cat.load_rows(&[1]).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }), "{e:?}");
        assert_names(&e.to_string(), &bad);
    }
}
