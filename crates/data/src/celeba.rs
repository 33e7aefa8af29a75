//! CelebA (aligned and cropped): `img_align_celeba/*.jpg` plus the partition file
//! `list_eval_partition.txt` (lines `000001.jpg 0`; 0 = train, 1 = valid, 2 = test), through
//! the shared crop/resize pipeline. Images are decoded only when rows are loaded.

use crate::catalog::Catalog;
use crate::error::DataError;
use crate::files::{read_all, require_dir};
use crate::imagepipe::ImageOptions;
use crate::spec::Split;
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
