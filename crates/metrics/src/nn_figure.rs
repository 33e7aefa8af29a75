//! The nearest-neighbour figure of memorisation papers (e.g. Carlini et al., arXiv 2301.13188,
//! Fig. 2; Gu et al., arXiv 2310.02664), as a PNG and an SVG: one row per generated sample,
//! showing the sample, its nearest training image NN_1 and its second-nearest NN_2, each
//! enlarged `scale` times (nearest-neighbour upsampling, so pixels stay sharp), with the
//! training index under each neighbour and the distances d_1, d_2 and d_1/d_2 beside the row.
//!
//! Rows are laid out in `blocks` side-by-side blocks, each under its own column headers. The
//! SVG keeps every label as `<text>` (the images are embedded PNGs), so it can be edited.

use std::path::Path;

use diffmem_data::SampleShape;
use diffmem_data::grid::{tile_shape, unit_to_byte};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::{ensure_font, write_atomically};
use crate::{MetricsError, Result};

/// One row of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct NnRow {
    /// Index of the generated sample (its row in the samples).
    pub sample: usize,
    /// Row of NN_1 in the training rows.
    pub nn1: usize,
    /// Row of NN_2 in the training rows.
    pub nn2: usize,
    /// Training index shown under NN_1 (e.g. the index in the source data set).
    pub nn1_label: usize,
    /// Training index shown under NN_2.
    pub nn2_label: usize,
    /// d_1 (normalised distance to NN_1).
    pub d1: f64,
    /// d_2.
    pub d2: f64,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct NnFigure<'a> {
    /// Caption above the figure (which samples these are).
    pub title: String,
    /// The rows, top to bottom, block by block.
    pub rows: Vec<NnRow>,
    /// Generated samples, `[M, D]` row-major, values in [-1, 1].
    pub samples: &'a [f32],
    /// Training rows, `[N, D]`.
    pub train: &'a [f32],
    /// Shape of a sample (an image, or a flat vector of square dimension).
    pub shape: SampleShape,
    /// Enlargement of each image (at least 1).
    pub scale: u32,
    /// Side-by-side blocks of rows (at least 1).
    pub blocks: usize,
    /// d_1/d_2 below this is marked "memorised".
    pub threshold: f64,
}

/// Column headers of a block.
pub const HEADERS: [&str; 3] = ["generated", "nearest train (NN1)", "2nd nearest (NN2)"];

/// Geometry of the figure in pixels.
struct Layout {
    tile: (u32, u32),
    col_w: u32,
    text_w: u32,
    row_h: u32,
    rows_per_block: usize,
    size: (u32, u32),
}

const MARGIN: u32 = 12;
const TITLE_H: u32 = 34;
const HEADER_H: u32 = 24;
const CAPTION_H: u32 = 18;
const GAP: u32 = 10;

impl Layout {
    fn of(fig: &NnFigure, h: usize, w: usize) -> Self {
        let s = fig.scale.max(1);
        let tile = (w as u32 * s, h as u32 * s);
        let col_w = tile.0.max(130) + GAP;
        let text_w = 150;
        let row_h = tile.1 + CAPTION_H + GAP;
        let blocks = fig.blocks.max(1);
        let rows_per_block = fig.rows.len().div_ceil(blocks).max(1);
        let block_w = 3 * col_w + text_w;
        let width = 2 * MARGIN + blocks as u32 * block_w + (blocks as u32 - 1) * GAP;
        let height = 2 * MARGIN + TITLE_H + HEADER_H + rows_per_block as u32 * row_h;
        Self {
            tile,
            col_w,
            text_w,
            row_h,
            rows_per_block,
            size: (width, height),
        }
    }

    fn block_w(&self) -> u32 {
        3 * self.col_w + self.text_w + GAP
    }
}

/// Size in pixels (width, height) of the figure `fig`.
pub fn figure_size(fig: &NnFigure) -> Result<(u32, u32)> {
    let (_, h, w) = tile_shape(fig.shape).map_err(|e| MetricsError::Invalid(e.to_string()))?;
    Ok(Layout::of(fig, h, w).size)
}

/// Writes the figure as a PNG at `png` and, if given, as an SVG at `svg`.
pub fn write_nn_figure(png: &Path, svg: Option<&Path>, fig: &NnFigure) -> Result<()> {
    let (c, h, w) = tile_shape(fig.shape).map_err(|e| MetricsError::Invalid(e.to_string()))?;
    let d = c * h * w;
    let (m, n) = (fig.samples.len() / d.max(1), fig.train.len() / d.max(1));
    for r in &fig.rows {
        if r.sample >= m || r.nn1 >= n || r.nn2 >= n {
            return Err(MetricsError::Invalid(format!(
                "nn figure row: sample {} or neighbours {}, {} out of range (M = {m}, N = {n})",
                r.sample, r.nn1, r.nn2
            )));
        }
    }
    let layout = Layout::of(fig, h, w);
    let tiles = Tiles { fig, c, h, w, d };
    write_atomically(png, |tmp| {
        ensure_font()?;
        let root = BitMapBackend::new(tmp, layout.size).into_drawing_area();
        paint(&root, fig, &layout, &tiles)?;
        root.present().map_err(|e| e.to_string())
    })?;
    if let Some(svg) = svg {
        write_atomically(svg, |tmp| {
            ensure_font()?;
            let root = SVGBackend::new(tmp, layout.size).into_drawing_area();
            paint(&root, fig, &layout, &tiles)?;
            root.present().map_err(|e| e.to_string())
        })?;
    }
    Ok(())
}

/// Turns rows of values into enlarged RGB tiles.
struct Tiles<'f, 'a> {
    fig: &'f NnFigure<'a>,
    c: usize,
    h: usize,
    w: usize,
    d: usize,
}

impl Tiles<'_, '_> {
    /// RGB bytes of `row` (`[D]`, values in [-1, 1]) enlarged `scale` times.
    fn rgb(&self, row: &[f32]) -> Vec<u8> {
        let s = self.fig.scale.max(1) as usize;
        let (tw, th) = (self.w * s, self.h * s);
        let mut buf = Vec::with_capacity(tw * th * 3);
        for y in 0..th {
            for x in 0..tw {
                let (py, px) = (y / s, x / s);
                for ch in 0..3 {
                    let src = if self.c == 1 { 0 } else { ch };
                    buf.push(unit_to_byte(row[(src * self.h + py) * self.w + px]));
                }
            }
        }
        buf
    }

    fn sample(&self, i: usize) -> Vec<u8> {
        self.rgb(&self.fig.samples[i * self.d..(i + 1) * self.d])
    }

    fn train(&self, i: usize) -> Vec<u8> {
        self.rgb(&self.fig.train[i * self.d..(i + 1) * self.d])
    }
}

/// Draws the whole figure on `root` (any plotters backend).
fn paint<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &NnFigure,
    l: &Layout,
    tiles: &Tiles,
) -> std::result::Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let text = |size: u32, h: HPos| {
        TextStyle::from(("sans-serif", size).into_font())
            .color(&BLACK)
            .pos(Pos::new(h, VPos::Top))
    };
    let title = text(18, HPos::Left);
    root.draw_text(&fig.title, &title, (MARGIN as i32, MARGIN as i32))
        .map_err(err)?;
    let header = text(14, HPos::Center);
    let caption = text(12, HPos::Center);
    let grey = text(12, HPos::Left).color(&RGBColor(90, 90, 90));
    let red = text(12, HPos::Left).color(&RGBColor(200, 30, 30));
    let top = (MARGIN + TITLE_H) as i32;
    let blocks = fig.rows.len().div_ceil(l.rows_per_block).max(1);
    for b in 0..blocks {
        let x0 = (MARGIN + b as u32 * l.block_w()) as i32;
        for (k, h) in HEADERS.iter().enumerate() {
            let cx = x0 + (k as u32 * l.col_w + l.tile.0 / 2) as i32;
            root.draw_text(h, &header, (cx, top)).map_err(err)?;
        }
        root.draw_text(
            "distances",
            &text(14, HPos::Left),
            (x0 + 3 * l.col_w as i32, top),
        )
        .map_err(err)?;
    }
    for (i, r) in fig.rows.iter().enumerate() {
        let (b, k) = (i / l.rows_per_block, i % l.rows_per_block);
        let x0 = (MARGIN + b as u32 * l.block_w()) as i32;
        let y0 = top + HEADER_H as i32 + (k as u32 * l.row_h) as i32;
        let images = [
            tiles.sample(r.sample),
            tiles.train(r.nn1),
            tiles.train(r.nn2),
        ];
        let captions = [
            format!("sample {}", r.sample),
            format!("train #{}", r.nn1_label),
            format!("train #{}", r.nn2_label),
        ];
        for (j, (img, cap)) in images.into_iter().zip(&captions).enumerate() {
            let x = x0 + (j as u32 * l.col_w) as i32;
            let el = BitMapElement::<_>::with_owned_buffer((x, y0), l.tile, img)
                .ok_or("nn figure: tile buffer of the wrong size")?;
            root.draw(&el).map_err(err)?;
            let cx = x + (l.tile.0 / 2) as i32;
            root.draw_text(cap, &caption, (cx, y0 + l.tile.1 as i32 + 2))
                .map_err(err)?;
        }
        let tx = x0 + 3 * l.col_w as i32;
        let ratio = if r.d2 > 0.0 { r.d1 / r.d2 } else { 0.0 };
        let lines = [
            (format!("d1 = {:.3}", r.d1), &grey),
            (format!("d2 = {:.3}", r.d2), &grey),
            (format!("d1/d2 = {ratio:.2}"), &grey),
        ];
        for (n, (s, style)) in lines.iter().enumerate() {
            root.draw_text(s, style, (tx, y0 + 16 * n as i32))
                .map_err(err)?;
        }
        if ratio < fig.threshold {
            root.draw_text("memorised", &red, (tx, y0 + 48))
                .map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig<'a>(samples: &'a [f32], train: &'a [f32], shape: SampleShape) -> NnFigure<'a> {
        NnFigure {
            title: "test figure".into(),
            rows: vec![
                NnRow {
                    sample: 0,
                    nn1: 1,
                    nn2: 0,
                    nn1_label: 41,
                    nn2_label: 40,
                    d1: 0.01,
                    d2: 0.5,
                },
                NnRow {
                    sample: 1,
                    nn1: 0,
                    nn2: 1,
                    nn1_label: 40,
                    nn2_label: 41,
                    d1: 0.4,
                    d2: 0.5,
                },
                NnRow {
                    sample: 0,
                    nn1: 0,
                    nn2: 1,
                    nn1_label: 40,
                    nn2_label: 41,
                    d1: 0.2,
                    d2: 0.3,
                },
            ],
            samples,
            train,
            shape,
            scale: 3,
            blocks: 2,
            threshold: 1.0 / 3.0,
        }
    }

    #[test]
    fn png_and_svg_with_labels_as_text() {
        let shape = SampleShape::Image { c: 1, h: 4, w: 5 };
        let samples: Vec<f32> = (0..40).map(|i| (i as f32 / 20.0) - 1.0).collect();
        let train = vec![1.0f32; 40];
        let f = fig(&samples, &train, shape);
        let dir = std::env::temp_dir().join(format!("diffmem-nn-figure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (png, svg) = (dir.join("nn.png"), dir.join("nn.svg"));
        write_nn_figure(&png, Some(&svg), &f).unwrap();
        let img = image::open(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), figure_size(&f).unwrap());
        // 2 blocks of 2 rows: width 2 margins + 2 blocks of (3 columns + text) + a gap.
        let col_w = 130 + GAP;
        assert_eq!(img.width(), 2 * MARGIN + 2 * (3 * col_w + 150) + GAP);
        let row_h = 4 * 3 + CAPTION_H + GAP;
        assert_eq!(img.height(), 2 * MARGIN + TITLE_H + HEADER_H + 2 * row_h);
        // The first tile (sample 0, enlarged 3x) starts at (MARGIN, MARGIN + TITLE_H + HEADER_H):
        // its top-left pixel is sample value -1 (black), 3 pixels right is value -0.95.
        let (x, y) = (MARGIN, MARGIN + TITLE_H + HEADER_H);
        assert_eq!(img.get_pixel(x, y).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(x + 2, y + 2).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(x + 3, y).0, [unit_to_byte(-0.95); 3]);
        let text = std::fs::read_to_string(&svg).unwrap();
        for label in HEADERS.iter().chain(&[
            "train #41",
            "d1 = 0.010",
            "d1/d2 = 0.02",
            "memorised",
            "test figure",
        ]) {
            // plotters-svg writes `<text ...>` NEWLINE label NEWLINE `</text>`.
            assert!(
                text.contains(&format!(">\n{label}\n</text>")),
                "{label} is not SVG text"
            );
        }
        assert_eq!(
            text.matches("<image").count(),
            9,
            "one embedded image per tile"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn out_of_range_rows_and_bad_shapes_are_errors() {
        let shape = SampleShape::Image { c: 1, h: 2, w: 2 };
        let samples = vec![0.0f32; 4];
        let train = vec![0.0f32; 8];
        let dir =
            std::env::temp_dir().join(format!("diffmem-nn-figure-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = fig(&samples, &train, shape);
        assert!(write_nn_figure(&dir.join("a.png"), None, &f).is_err()); // sample 1 of 1
        let flat = fig(&samples, &train, SampleShape::Flat { d: 3 });
        assert!(write_nn_figure(&dir.join("b.png"), None, &flat).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
