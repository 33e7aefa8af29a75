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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SampleShape;
    use crate::testutil::*;
    use image::{Rgb, RgbImage};

    fn save(path: &Path, w: u32, h: u32, v: u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_pixel(w, h, Rgb([v, v, v]))
            .save(path)
            .unwrap();
    }

    #[test]
    fn png_and_jpg_unlabelled() {
        let t = TempDir::new("folder");
        save(&t.join("b.png"), 40, 30, 255);
        save(&t.join("a.JPG"), 20, 20, 0);
        save(&t.join("c.jpeg"), 8, 8, 255);
        write(&t.join("notes.txt"), b"ignored: not an image name");
        let opts = ImageOptions {
            size: 8,
            crop: 140,
            grey: false,
        };
        let cat = load_folder(&t.0, opts, "f".into()).unwrap();
        assert_eq!(cat.len(), 3);
        assert!(cat.labels().is_none());
        let ds = cat.load_all().unwrap();
        assert_eq!(ds.shape, SampleShape::Image { c: 3, h: 8, w: 8 });
        // Name order: a.JPG (black), b.png (white), c.jpeg (white).
        assert!(ds.row(0).iter().all(|&x| x < -0.95));
        assert!(ds.row(1).iter().all(|&x| (x - 1.0).abs() < 1e-6));
        assert!(ds.row(2).iter().all(|&x| x > 0.95));
    }

    #[test]
    fn class_subfolders() {
        let t = TempDir::new("folder-classes");
        save(&t.join("cats/1.png"), 4, 4, 10);
        save(&t.join("cats/2.png"), 4, 4, 10);
        save(&t.join("dogs/1.png"), 4, 4, 10);
        std::fs::create_dir_all(t.join("empty")).unwrap();
        let cat = load_folder(&t.0, ImageOptions::default(), "f".into()).unwrap();
        assert_eq!(cat.labels().unwrap(), &[0, 0, 1]);
    }

    #[test]
    fn non_image_file() {
        let t = TempDir::new("folder-bad");
        save(&t.join("a.png"), 4, 4, 10);
        let bad = t.join("broken.png");
        write(&bad, b"GIF89a not a png at all");
        let cat = load_folder(&t.0, ImageOptions::default(), "f".into()).unwrap();
        let e = cat.load_all().unwrap_err();
        assert!(matches!(e, DataError::NotAnImage { .. }), "{e:?}");
        assert_names(&e.to_string(), &bad);
        assert!(e.hint().is_some());
    }

    #[test]
    fn empty_or_missing_folder() {
        let t = TempDir::new("folder-empty");
        write(&t.join("readme.md"), b"no images here");
        let e = load_folder(&t.0, ImageOptions::default(), "f".into()).unwrap_err();
        assert!(matches!(e, DataError::MissingFiles { .. }), "{e:?}");
        assert_names(&e.to_string(), &t.0);
        let e = load_folder(&t.join("absent"), ImageOptions::default(), "f".into()).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }) && e.to_string().contains("absent"));
    }
}
