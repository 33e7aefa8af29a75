//! A [`Catalog`] is one split of a file-backed source before conversion to f32: raw bytes
//! for IDX/CIFAR (cheap to keep, 4x smaller than f32) or a list of image files for
//! CelebA/folders (decoded only for the rows asked for, so a subset of CelebA never decodes
//! the other 200 000 images).

use crate::dataset::{Dataset, Provenance, SampleShape};
use crate::error::DataError;
use crate::imagepipe::{ImageOptions, byte_to_unit, load_image};
use std::path::PathBuf;

/// Where the samples of a catalog live.
#[derive(Clone, Debug)]
enum Store {
    /// `len * D` bytes, sample-major, each sample already (C, H, W).
    Pixels(Vec<u8>),
    /// One image file per sample, decoded through the crop/resize pipeline.
    Files {
        paths: Vec<PathBuf>,
        options: ImageOptions,
    },
}

/// One split of a file-backed dataset, indexable without converting everything to f32.
#[derive(Clone, Debug)]
pub struct Catalog {
    source: String,
    shape: SampleShape,
    labels: Option<Vec<u32>>,
    origin: Vec<usize>,
    store: Store,
}

impl Catalog {
    /// A catalog of raw 8-bit samples (`pixels.len() == n * shape.dim()`); row i is original
    /// sample i.
    pub(crate) fn from_pixels(
        source: String,
        shape: SampleShape,
        pixels: Vec<u8>,
        labels: Option<Vec<u32>>,
    ) -> Catalog {
        let n = pixels.len() / shape.dim().max(1);
        Catalog {
            source,
            shape,
            labels,
            origin: (0..n).collect(),
            store: Store::Pixels(pixels),
        }
    }

    /// A catalog of image files; `origin[i]` is the original index of `paths[i]`.
    pub(crate) fn from_files(
        source: String,
        paths: Vec<PathBuf>,
        origin: Vec<usize>,
        labels: Option<Vec<u32>>,
        options: ImageOptions,
    ) -> Catalog {
        Catalog {
            source,
            shape: options.shape(),
            labels,
            origin,
            store: Store::Files { paths, options },
        }
    }

    /// Description of the source and split (goes into [`Provenance::source`]).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of samples in the split.
    pub fn len(&self) -> usize {
        self.origin.len()
    }

    /// True if the split holds no samples.
    pub fn is_empty(&self) -> bool {
        self.origin.is_empty()
    }

    /// Shape of one sample.
    pub fn shape(&self) -> SampleShape {
        self.shape
    }

    /// Class labels, one per row, if the source has them.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// Original index (in the source's own numbering) of each row.
    pub fn origin(&self) -> &[usize] {
        &self.origin
    }

    /// Every row as a [`Dataset`] (for CelebA and folders this decodes every image).
    pub fn load_all(&self) -> Result<Dataset, DataError> {
        self.load_rows(&(0..self.len()).collect::<Vec<_>>())
    }

    /// Rows `rows` (catalog positions, in that order) as a [`Dataset`] with pixels in
    /// [-1, 1]; provenance indices are the original indices of those rows.
    pub fn load_rows(&self, rows: &[usize]) -> Result<Dataset, DataError> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.len()) {
            return Err(DataError::TooLarge {
                dataset: self.source.clone(),
                what: format!("row index {bad}"),
                requested: bad + 1,
                available: self.len(),
            });
        }
        let d = self.shape.dim();
        let samples = match &self.store {
            Store::Pixels(px) => rows
                .iter()
                .flat_map(|&r| px[r * d..(r + 1) * d].iter().map(|&b| byte_to_unit(b)))
                .collect(),
            Store::Files { paths, options } => {
                let chosen: Vec<&PathBuf> = rows.iter().map(|&r| &paths[r]).collect();
                decode_parallel(&chosen, options)?
            }
        };
        Ok(Dataset {
            samples,
            shape: self.shape,
            labels: self
                .labels
                .as_ref()
                .map(|l| rows.iter().map(|&r| l[r]).collect()),
            provenance: Provenance {
                source: self.source.clone(),
                indices: rows.iter().map(|&r| self.origin[r]).collect(),
            },
            truth: None,
        })
    }
}

/// Decodes `paths` on all cores into one row-major buffer; the first failing file (in row
/// order) is reported.
fn decode_parallel(paths: &[&PathBuf], options: &ImageOptions) -> Result<Vec<f32>, DataError> {
    let d = options.shape().dim();
    let mut out = vec![0f32; paths.len() * d];
    if paths.is_empty() {
        return Ok(out);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(paths.len());
    let per = paths.len().div_ceil(threads);
    let results: Vec<Result<(), DataError>> = std::thread::scope(|s| {
        let handles: Vec<_> = out
            .chunks_mut(per * d)
            .zip(paths.chunks(per))
            .map(|(buf, chunk)| {
                s.spawn(move || {
                    for (row, p) in buf.chunks_mut(d).zip(chunk) {
                        row.copy_from_slice(&load_image(p, options)?);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(out)
}
