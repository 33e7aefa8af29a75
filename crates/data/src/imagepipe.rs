//! The image pipeline shared by CelebA and image folders: decode (format guessed from the
//! content), centre crop, resize with a Lanczos3 filter, RGB or greyscale, then (C, H, W)
//! floats in [-1, 1].

use crate::dataset::SampleShape;
use crate::error::DataError;
use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView, ImageBuffer, ImageReader, Pixel};
use std::io::Cursor;
use std::path::Path;

/// How an image file becomes a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageOptions {
    /// Output side length in pixels (samples are `size` x `size`).
    pub size: usize,
    /// Side of the centred square crop taken before resizing, clamped to the image;
    /// 0 means the largest centred square.
    pub crop: usize,
    /// Convert to one greyscale channel instead of three RGB channels.
    pub grey: bool,
}

impl Default for ImageOptions {
    /// 64 x 64 RGB from a centred 140 x 140 crop (the usual CelebA preprocessing).
    fn default() -> Self {
        ImageOptions {
            size: 64,
            crop: 140,
            grey: false,
        }
    }
}

impl ImageOptions {
    /// Shape of the samples this pipeline produces.
    pub fn shape(&self) -> SampleShape {
        SampleShape::Image {
            c: if self.grey { 1 } else { 3 },
            h: self.size,
            w: self.size,
        }
    }
}

/// Maps an 8-bit pixel value to [-1, 1] as `x / 127.5 - 1`.
pub fn byte_to_unit(b: u8) -> f32 {
    b as f32 / 127.5 - 1.0
}

/// Reads, decodes and preprocesses one image file into a (C, H, W) sample in [-1, 1].
pub fn load_image(path: &Path, options: &ImageOptions) -> Result<Vec<f32>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let img = decode_image(path, &bytes)?;
    Ok(preprocess(&img, options))
}

/// Decodes image bytes (PNG or JPEG, guessed from the content); any failure, including a
/// panic inside the decoder, becomes [`DataError::NotAnImage`] naming `path`.
pub fn decode_image(path: &Path, bytes: &[u8]) -> Result<DynamicImage, DataError> {
    let not_image = |reason: String| DataError::NotAnImage {
        path: path.to_path_buf(),
        reason,
    };
    let decoded = std::panic::catch_unwind(|| {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| e.to_string())?
            .decode()
            .map_err(|e| e.to_string())
    })
    .map_err(|_| not_image("the image decoder crashed on this file".into()))?;
    let img = decoded.map_err(not_image)?;
    if img.width() == 0 || img.height() == 0 {
        return Err(not_image("the image has no pixels".into()));
    }
    Ok(img)
}

/// Centre crop (side `min(crop, w, h)`, or `min(w, h)` when `crop` is 0), resize to
/// `size` x `size` with Lanczos3, convert to RGB or grey, and lay out as (C, H, W) in [-1, 1].
pub fn preprocess(img: &DynamicImage, options: &ImageOptions) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let side = match options.crop {
        0 => w.min(h),
        c => (c.min(u32::MAX as usize) as u32).min(w).min(h),
    };
    let cropped = img.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    let size = options.size.min(u32::MAX as usize) as u32;
    if options.grey {
        channel_major(&resized(cropped.to_luma8(), size))
    } else {
        channel_major(&resized(cropped.to_rgb8(), size))
    }
}

/// Resizes a square image to `size` x `size` (Lanczos3), skipping the no-op case.
fn resized<P: Pixel<Subpixel = u8> + 'static>(
    img: ImageBuffer<P, Vec<u8>>,
    size: u32,
) -> ImageBuffer<P, Vec<u8>> {
    if img.width() == size && img.height() == size {
        img
    } else {
        image::imageops::resize(&img, size, size, FilterType::Lanczos3)
    }
}

/// (H, W, C) interleaved 8-bit pixels to (C, H, W) floats in [-1, 1].
fn channel_major<P: Pixel<Subpixel = u8>>(img: &ImageBuffer<P, Vec<u8>>) -> Vec<f32> {
    let c = P::CHANNEL_COUNT as usize;
    let raw = img.as_raw();
    (0..c)
        .flat_map(|ch| raw.iter().skip(ch).step_by(c).map(|&b| byte_to_unit(b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    #[test]
    fn crop_resize_and_layout() {
        // 20 x 10 image: left half red, right half blue; a centred 10 x 10 crop keeps
        // columns 5..15 (half red, half blue).
        let img = RgbImage::from_fn(20, 10, |x, _| {
            if x < 10 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let opts = ImageOptions {
            size: 10,
            crop: 0,
            grey: false,
        };
        let v = preprocess(&DynamicImage::ImageRgb8(img), &opts);
        assert_eq!(v.len(), 3 * 10 * 10);
        // Red channel first: row 0, column 0 is red (1.0), column 9 is blue (-1.0).
        assert_eq!(v[0], 1.0);
        assert_eq!(v[9], -1.0);
        // Blue channel (index 2) is the opposite.
        assert_eq!(v[200], -1.0);
        assert_eq!(v[209], 1.0);
        // Green is zero everywhere.
        assert!(v[100..200].iter().all(|&g| g == -1.0));
    }

    #[test]
    fn grey_and_downscale() {
        let img = image::GrayImage::from_pixel(50, 40, image::Luma([255]));
        let opts = ImageOptions {
            size: 8,
            crop: 140,
            grey: true,
        };
        let v = preprocess(&DynamicImage::ImageLuma8(img), &opts);
        assert_eq!(v.len(), 64);
        assert!(v.iter().all(|&x| (x - 1.0).abs() < 1e-6));
    }
}
