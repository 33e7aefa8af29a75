//! Any folder of PNG/JPEG images, through the shared crop/resize pipeline. Images directly
//! in the folder are unlabelled; a folder holding only sub-folders of images is read as one
//! class per sub-folder (labels in sorted sub-folder order). Files are taken in name order.

use crate::catalog::Catalog;
use crate::error::DataError;
use crate::files::require_dir;
use crate::imagepipe::ImageOptions;
use std::path::{Path, PathBuf};

/// True if the file name ends in .png, .jpg or .jpeg (any case).
pub fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Sorted entries of `dir` matching `keep`.
fn sorted_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, DataError> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut v = Vec::new();
    for entry in rd {
        let p = entry.map_err(|e| DataError::io(dir, e))?.path();
        if keep(&p) {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// Image files directly in `dir`, sorted by name.
fn images_in(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    sorted_entries(dir, |p| p.is_file() && is_image_name(p))
}

/// Loads the catalog of an image folder (the whole folder: folders have no test split).
pub fn load_folder(
    dir: &Path,
    options: ImageOptions,
    source: String,
) -> Result<Catalog, DataError> {
    require_dir(dir)?;
    let direct = images_in(dir)?;
    let (paths, labels) = if !direct.is_empty() {
        (direct, None)
    } else {
        let mut paths = Vec::new();
        let mut labels = Vec::new();
        let classes = sorted_entries(dir, |p| p.is_dir())?;
        let mut class = 0u32;
        for sub in classes {
            let imgs = images_in(&sub)?;
            if imgs.is_empty() {
                continue;
            }
            labels.extend(std::iter::repeat_n(class, imgs.len()));
            paths.extend(imgs);
            class += 1;
        }
        (paths, Some(labels))
    };
    if paths.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.into(),
            dataset: "folder".into(),
            expected: ".png/.jpg/.jpeg files, or one sub-folder of them per class".into(),
        });
    }
    let origin = (0..paths.len()).collect();
    Ok(Catalog::from_files(source, paths, origin, labels, options))
}
