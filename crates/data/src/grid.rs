//! PNG grids of samples: values in [-1, 1] mapped to [0, 255] (clamped), tiles separated and
//! surrounded by a 1-pixel white border. Images with 1 or 3 channels; flat samples whose
//! dimension is a perfect square are shown as greyscale squares.

use crate::dataset::SampleShape;
use crate::error::DataError;
use image::{DynamicImage, GrayImage, RgbImage};
use std::path::Path;

/// Maps [-1, 1] to [0, 255] with rounding and clamping (NaN becomes 0).
pub fn unit_to_byte(x: f32) -> u8 {
    ((x + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8
}

/// (channels, height, width) used to draw one sample of `shape`.
pub fn tile_shape(shape: SampleShape) -> Result<(usize, usize, usize), DataError> {
    match shape {
        SampleShape::Image { c, h, w } if (c == 1 || c == 3) && h > 0 && w > 0 => Ok((c, h, w)),
        SampleShape::Image { c, h, w } => Err(DataError::BadGrid {
            msg: format!("images of shape ({c}, {h}, {w}) cannot be drawn: need 1 or 3 channels"),
        }),
        SampleShape::Flat { d } => {
            let s = (d as f64).sqrt().round() as usize;
            if s > 0 && s * s == d {
                Ok((1, s, s))
            } else {
                Err(DataError::BadGrid {
                    msg: format!(
                        "flat samples of dimension {d} cannot be drawn: d is not a perfect square"
                    ),
                })
            }
        }
    }
}

/// Draws `samples` (row-major, each of `shape`) in a grid of `ncols` columns.
pub fn render_grid(
    samples: &[f32],
    shape: SampleShape,
    ncols: usize,
) -> Result<DynamicImage, DataError> {
    let (c, h, w) = tile_shape(shape)?;
    let d = c * h * w;
    if samples.is_empty() || !samples.len().is_multiple_of(d) {
        return Err(DataError::BadGrid {
            msg: format!(
                "{} values are not a positive whole number of samples of dimension {d}",
                samples.len()
            ),
        });
    }
    let n = samples.len() / d;
    let cols = ncols.clamp(1, n);
    let rows = n.div_ceil(cols);
    let (width, height) = (cols * (w + 1) + 1, rows * (h + 1) + 1);
    let (Ok(wu), Ok(hu)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(DataError::BadGrid {
            msg: format!("a {width} x {height} grid is too large"),
        });
    };
    let mut buf = vec![255u8; width * height * c];
    for (k, sample) in samples.chunks_exact(d).enumerate() {
        let (x0, y0) = ((k % cols) * (w + 1) + 1, (k / cols) * (h + 1) + 1);
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let v = sample[(ch * h + y) * w + x];
                    buf[((y0 + y) * width + x0 + x) * c + ch] = unit_to_byte(v);
                }
            }
        }
    }
    let img = if c == 1 {
        GrayImage::from_raw(wu, hu, buf).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(wu, hu, buf).map(DynamicImage::ImageRgb8)
    };
    img.ok_or_else(|| DataError::BadGrid {
        msg: "internal buffer size mismatch".into(),
    })
}

/// Writes a PNG grid of `samples` to `path` (atomically: a temporary file, then rename).
pub fn write_grid(
    path: &Path,
    samples: &[f32],
    shape: SampleShape,
    ncols: usize,
) -> Result<(), DataError> {
    let img = render_grid(samples, shape, ncols)?;
    crate::files::write_atomic_with(path, |tmp| {
        img.save_with_format(tmp, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| match e {
        crate::files::AtomicError::Write(e) | crate::files::AtomicError::Io(_, e) => {
            DataError::io(path, e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_size_border_and_values() {
        let dir = std::env::temp_dir().join(format!("diffmem-grid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("g.png");
        // 5 greyscale 2x3 samples, 2 columns -> 3 rows: (2*(3+1)+1) x (3*(2+1)+1) = 9 x 10.
        let shape = SampleShape::Image { c: 1, h: 2, w: 3 };
        let mut s = vec![-1.0f32; 5 * 6];
        s[0] = 1.0;
        s[1] = 5.0; // clamps to 255
        s[2] = 0.0; // 127.5 rounds to 128
        write_grid(&path, &s, shape, 2).unwrap();
        let img = image::open(&path).unwrap().to_luma8();
        assert_eq!(img.dimensions(), (9, 10));
        assert_eq!(img.get_pixel(0, 0).0[0], 255); // border
        assert_eq!(img.get_pixel(1, 1).0[0], 255);
        assert_eq!(img.get_pixel(2, 1).0[0], 255);
        assert_eq!(img.get_pixel(3, 1).0[0], 128);
        assert_eq!(img.get_pixel(1, 2).0[0], 0);
        // The sixth cell is empty and stays white.
        assert_eq!(img.get_pixel(6, 8).0[0], 255);
        assert!(!dir.join("g.png.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rgb_and_flat_shapes() {
        let rgb = render_grid(
            &[0.0; 3 * 4 * 4 * 2],
            SampleShape::Image { c: 3, h: 4, w: 4 },
            8,
        )
        .unwrap();
        assert_eq!((rgb.width(), rgb.height()), (11, 6));
        assert!(matches!(rgb, DynamicImage::ImageRgb8(_)));
        let flat = render_grid(&[0.0; 100], SampleShape::Flat { d: 100 }, 4).unwrap();
        assert_eq!((flat.width(), flat.height()), (12, 12));
        let e = render_grid(&[0.0; 30], SampleShape::Flat { d: 30 }, 4).unwrap_err();
        assert!(e.to_string().contains("perfect square"));
        assert!(render_grid(&[0.0; 7], SampleShape::Flat { d: 4 }, 4).is_err());
    }
}
