//! Tests of the PNG plots: they decode, have the expected size, contain drawing, and bad data
//! neither panics nor leaves temporary files behind.

use super::*;
use std::path::PathBuf;

/// A fresh directory under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("diffmem-plot-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Decode `path`, check its size, and return the number of non-white pixels.
fn inked_pixels(path: &Path) -> usize {
    let img = image::open(path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), PLOT_SIZE);
    img.pixels().filter(|p| p.0 != [255, 255, 255]).count()
}

/// Only the final file remains in `dir` (no temporary files).
fn only_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn curves() -> Vec<Series> {
    let x: Vec<f64> = (1..=50).map(|i| i as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| v.sqrt()).collect();
    let lo = y.iter().map(|v| v - 0.5).collect();
    let hi = y.iter().map(|v| v + 0.5).collect();
    let theory = x.iter().map(|v| 1.0 + v.ln()).collect();
    vec![
        Series::new("measured", x.clone(), y).with_band(lo, hi),
        Series::new("theory", x, theory).as_dashed(),
    ]
}

#[test]
fn line_plot_writes_png_of_expected_size() {
    let dir = scratch("lines");
    let path = dir.join("lines.png");
    let spec = PlotSpec::new("loss gap vs t", "t", "loss");
    line_plot(&path, &spec, &curves()).unwrap();
    assert!(inked_pixels(&path) > 5_000);
    assert_eq!(only_files(&dir), vec!["lines.png"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn log_axes_skip_non_positive_and_non_finite_values() {
    let dir = scratch("log");
    let path = dir.join("log.png");
    let mut s = curves();
    s[0].y[3] = -1.0;
    s[0].y[7] = f64::NAN;
    s[1].x[0] = 0.0;
    s[1].y[10] = f64::INFINITY;
    let spec = PlotSpec {
        log_x: true,
        log_y: true,
        ..PlotSpec::new("log-log", "N", "KL")
    };
    line_plot(&path, &spec, &s).unwrap();
    assert!(inked_pixels(&path) > 5_000);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn degenerate_inputs_give_valid_pngs() {
    let dir = scratch("degenerate");
    let spec = PlotSpec {
        log_y: true,
        ..PlotSpec::new("", "", "")
    };
    let cases = vec![
        vec![],
        vec![Series::default()],
        vec![Series::new("nan", vec![f64::NAN; 3], vec![1.0; 3])],
        vec![Series::new("neg", vec![1.0, 2.0], vec![-1.0, 0.0])],
        vec![Series::new("one point", vec![2.0], vec![3.0])],
        vec![Series::new("flat", vec![1.0, 2.0], vec![5.0, 5.0])],
        vec![Series::new(
            "huge",
            vec![-f64::MAX, f64::MAX],
            vec![1e-300, 1e300],
        )],
        vec![Series::new("limits", vec![1e-100, 1e100], vec![1e-100, 1e100]).as_dashed()],
        vec![
            Series::new("short band", vec![1.0, 2.0, 3.0], vec![1.0; 3])
                .with_band(vec![0.5], vec![]),
        ],
    ];
    for (i, series) in cases.iter().enumerate() {
        let path = dir.join(format!("case{i}.png"));
        line_plot(&path, &spec, series).unwrap();
        line_plot(&path, &PlotSpec::new("linear", "x", "y"), series).unwrap();
        inked_pixels(&path);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn histogram_writes_png_with_threshold_line() {
    let dir = scratch("hist");
    let path = dir.join("ratio.png");
    // Deterministic spread of ratios in (0, 1) plus junk that must be skipped.
    let mut values: Vec<f64> = (0..1000)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
        .collect();
    values.extend([f64::NAN, f64::INFINITY, -f64::INFINITY]);
    let spec = PlotSpec::new("d1/d2", "d1/d2", "count");
    histogram(&path, &spec, &values, 40, Some(1.0 / 3.0)).unwrap();
    assert!(inked_pixels(&path) > 20_000);
    assert_eq!(only_files(&dir), vec!["ratio.png"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn histogram_degenerate_inputs() {
    let dir = scratch("hist-degenerate");
    let path = dir.join("h.png");
    let log = PlotSpec {
        log_x: true,
        log_y: true,
        ..PlotSpec::new("log", "d1", "count")
    };
    let lin = PlotSpec::new("lin", "d1", "count");
    let cases: [&[f64]; 6] = [
        &[],
        &[0.0],
        &[2.0; 10],
        &[-1.0, 0.0, f64::NAN],
        &[1e-300, 1e300],
        &[1e-100, 1e100],
    ];
    for values in cases {
        for spec in [&log, &lin] {
            for bins in [0, 1, 7] {
                for vline in [None, Some(0.0), Some(f64::NAN), Some(1.0)] {
                    histogram(&path, spec, values, bins, vline).unwrap();
                }
            }
        }
        inked_pixels(&path);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unwritable_path_is_an_error_without_leftovers() {
    let dir = scratch("missing");
    let path = dir.join("no-such-dir").join("x.png");
    let err = line_plot(&path, &PlotSpec::default(), &curves()).unwrap_err();
    assert!(matches!(err, MetricsError::Plot { .. }), "{err}");
    assert!(only_files(&dir).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn histogram_binning_counts_every_usable_value_once() {
    let h = Histogram::new(&[0.0, 0.1, 0.5, 1.0, 1.0, f64::NAN], 2, false);
    assert_eq!(h.counts, vec![2, 3]);
    assert_eq!(h.edges, vec![0.0, 0.5, 1.0]);
    let h = Histogram::new(&[1.0, 10.0, 100.0, -5.0], 2, true);
    assert_eq!(h.counts, vec![1, 2]);
    assert!((h.edges[1] - 10.0).abs() < 1e-12);
}

#[test]
fn tick_labels_are_compact() {
    let cases = [
        (250.0, "250"),
        (0.30000000000000004, "0.3"),
        (1.0, "1"),
        (10.0, "10"),
        (-2.5, "-2.5"),
        (0.0, "0"),
        (1e-5, "1e-5"),
        (2.5e-4, "2.5e-4"),
        (123456.0, "1.23e5"),
        (0.001234567, "0.001235"),
    ];
    for (v, want) in cases {
        assert_eq!(tick_label(&v), want, "{v}");
    }
}

#[test]
fn round_off_of_zero_is_labelled_zero_on_linear_axes_only() {
    // A linear tick grid crossing zero lands on 0.1 - 0.1 * (1 + 2^-52) = -1.4e-17, etc.
    for v in [-1.11e-16, 2.2e-17, 0.0] {
        assert_eq!(tick_label_on(&v, Some(1.0)), "0", "{v}");
    }
    // A tick that is small but real on the axis's scale keeps its value.
    assert_eq!(tick_label_on(&-1e-7, Some(1e-6)), "-1e-7");
    assert_eq!(tick_label_on(&0.25, Some(1.0)), "0.25");
    // Log axes have no zero: a tiny tick is a value.
    assert_eq!(tick_label_on(&1e-16, None), "1e-16");
}

#[test]
fn axis_fit_pads_and_handles_empty_and_constant_input() {
    let a = Axis::fit([0.0, 10.0].into_iter(), false);
    assert!((a.lo + 0.5).abs() < 1e-12 && (a.hi - 10.5).abs() < 1e-12);
    let a = Axis::fit(std::iter::empty(), true);
    assert!(a.lo > 0.0 && a.hi > a.lo);
    let a = Axis::fit([3.0].into_iter(), false);
    assert!(a.lo < 3.0 && a.hi > 3.0);
}

/// Writes sample plots to `$TMPDIR/diffmem-plot-preview/` for a visual check (not run by
/// default: `cargo test -p diffmem-metrics plot::tests::preview -- --ignored`).
#[test]
#[ignore]
fn preview() {
    let dir = std::env::temp_dir().join("diffmem-plot-preview");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = PlotSpec {
        log_x: true,
        ..PlotSpec::new("Loss gap vs N", "N (training images)", "loss gap")
    };
    line_plot(&dir.join("lines.png"), &spec, &curves()).unwrap();
    let extras = Extras {
        svg: true,
        top_axis: Some((784.0, "N / d (d = 784)".into())),
    };
    line_plot_with(&dir.join("overlap.png"), &spec, &overlapping(), &extras).unwrap();
    let values: Vec<f64> = (0..2000)
        .map(|i| (((i * 7919) % 2000) as f64 / 2000.0).powi(2))
        .collect();
    let spec = PlotSpec::new("Memorisation ratio", "d1/d2", "count");
    histogram(&dir.join("hist.png"), &spec, &values, 50, Some(1.0 / 3.0)).unwrap();
}

/// Three identical R_mem curves over 4 N values and a dashed level, as in a sweep report.
fn overlapping() -> Vec<Series> {
    let n = vec![100.0, 300.0, 1000.0, 3000.0];
    let r = vec![0.9, 0.6, 0.2, 0.02];
    vec![
        Series::new("mlp", n.clone(), r.clone()),
        Series::new("unet", n.clone(), r.clone()),
        Series::new("linear", n.clone(), r),
        Series::new("R_mem = 0.5", vec![100.0, 3000.0], vec![0.5, 0.5]).as_dashed(),
    ]
}

#[test]
fn extras_write_svg_beside_png_with_legend_and_top_axis() {
    let dir = scratch("extras");
    let spec = PlotSpec {
        log_x: true,
        ..PlotSpec::new("R_mem vs N", "N", "R_mem")
    };
    let extras = Extras {
        svg: true,
        top_axis: Some((784.0, "N / d (d = 784)".into())),
    };
    line_plot_with(&dir.join("r_mem.png"), &spec, &overlapping(), &extras).unwrap();
    assert!(inked_pixels(&dir.join("r_mem.png")) > 1000);
    assert_eq!(only_files(&dir), vec!["r_mem.png", "r_mem.svg"]);
    let svg = std::fs::read_to_string(dir.join("r_mem.svg")).unwrap();
    for label in [
        "mlp",
        "unet",
        "linear",
        "R_mem = 0.5",
        "N / d (d = 784)",
        "R_mem vs N",
    ] {
        assert!(
            svg.contains(&format!(">\n{label}\n</text>")),
            "{label} is not SVG text"
        );
    }
    // Every curve keeps its own colour on the page although they coincide: the later ones are
    // drawn thinner on top of the earlier ones.
    let img = image::open(dir.join("r_mem.png")).unwrap().to_rgb8();
    for c in &PALETTE[..3] {
        assert!(
            img.pixels().any(|p| p.0 == [c.0, c.1, c.2]),
            "colour {c:?} hidden"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Pixels of exactly `c` in the PNG at `path`.
fn pixels_of(path: &Path, c: RGBColor) -> usize {
    let img = image::open(path).unwrap().to_rgb8();
    img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count()
}

#[test]
fn error_bars_are_drawn_in_the_series_colour_and_widen_the_axis() {
    let dir = scratch("errors");
    let x = vec![1.0, 2.0, 3.0];
    let plain = Series::new("fwd", x.clone(), vec![1.0, 1.0, 1.0]);
    // The bars reach far beyond the line: the y axis must grow to show them.
    let barred = plain
        .clone()
        .with_errors(vec![-4.0, 0.5, f64::NAN], vec![6.0, 1.5, 2.0]);
    let spec = PlotSpec::new("errors", "x", "y");
    line_plot(&dir.join("plain.png"), &spec, &[plain]).unwrap();
    line_plot(&dir.join("barred.png"), &spec, &[barred]).unwrap();
    let (a, b) = (
        pixels_of(&dir.join("plain.png"), PALETTE[0]),
        pixels_of(&dir.join("barred.png"), PALETTE[0]),
    );
    // The tall bar spans most of the ~500-pixel plotting height, 2 pixels wide.
    assert!(b > a + 400, "plain {a} px, with error bars {b} px");
    // A bar with a non-finite end is skipped, the others drawn; nothing panics.
    assert_eq!(only_files(&dir), vec!["barred.png", "plain.png"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A grid of three panels in two columns: a 2 x 2 canvas of [`PLOT_SIZE`] cells whose first
/// cell is pixel for pixel the single plot of the same panel, whose fourth cell is blank,
/// and an SVG beside it.
#[test]
fn grid_panels_are_single_plots_side_by_side() {
    use grid::{Panel, line_grid};
    let dir = scratch("grid");
    let spec = PlotSpec::new("panel", "t", "loss");
    let panel = |series| Panel { spec, series };
    let panels = [panel(curves()), panel(overlapping()), panel(curves())];
    let path = dir.join("grid.png");
    line_grid(&path, &panels, 2, true).unwrap();
    let single = dir.join("single.png");
    line_plot(&single, &spec, &panels[0].series).unwrap();
    let grid = image::open(&path).unwrap().to_rgb8();
    let (w, h) = PLOT_SIZE;
    assert_eq!(grid.dimensions(), (2 * w, 2 * h));
    let one = image::open(&single).unwrap().to_rgb8();
    let cell = |cx: u32, cy: u32| image::imageops::crop_imm(&grid, cx * w, cy * h, w, h).to_image();
    assert!(
        cell(0, 0) == one,
        "the first cell differs from the single plot"
    );
    let white = |img: &image::RgbImage| img.pixels().all(|p| p.0 == [255, 255, 255]);
    assert!(!white(&cell(1, 0)) && !white(&cell(0, 1)) && white(&cell(1, 1)));
    assert_eq!(only_files(&dir), vec!["grid.png", "grid.svg", "single.png"]);
    std::fs::remove_dir_all(dir).unwrap();
}
