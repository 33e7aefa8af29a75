//! Shared output of the `diffmem theory` commands: number formatting, aligned tables, CSV and
//! JSON files, and the `--out` / `--json` flags.

use crate::io::csv::number;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Where results go (`--out`, `--json`).
#[derive(clap::Args, Debug, Clone)]
pub struct OutputArgs {
    /// Directory for the CSV and PNG files.
    #[arg(long, default_value = "theory-out")]
    pub out: PathBuf,
    /// Print JSON instead of the table (files are still written).
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    /// Path of `name` inside the output directory (created if needed).
    pub fn file(&self, name: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("cannot create {}", self.out.display()))?;
        Ok(self.out.join(name))
    }

    /// Prints `table` (or `json` with `--json`), then the files written (to stderr with
    /// `--json`, so stdout stays parseable).
    pub fn emit(
        &self,
        header: &str,
        table: &Table,
        json: &serde_json::Value,
        files: &[PathBuf],
    ) -> Result<()> {
        if self.json {
            crate::io::print_json(json);
        } else {
            println!("{header}");
            print!("{}", table.render());
        }
        for f in files {
            if self.json {
                eprintln!("wrote {}", f.display());
            } else {
                println!("wrote {}", f.display());
            }
        }
        Ok(())
    }
}

/// A number with 4 significant digits (`inf`, `nan`, scientific outside [1e-3, 1e5)).
pub fn num(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

/// `mean ± std` (just the mean when the std is 0 or undefined).
pub fn mean_std(mean: f64, std: f64) -> String {
    if std.is_finite() && std > 0.0 {
        format!("{} ± {}", num(mean), num(std))
    } else {
        num(mean)
    }
}

/// The N axis of the plots against N: 80 log-spaced sizes from 2 to the largest asked for (at
/// least 1e6), rounded and deduplicated.
pub fn plot_n_grid(ns: &[usize]) -> Result<Vec<usize>> {
    let top = ns.iter().copied().max().unwrap_or(2).max(1_000_000) as f64;
    let mut grid: Vec<usize> = diffmem_metrics::theory::curves::log_space(2.0, top, 80)?
        .into_iter()
        .map(|v| v.round() as usize)
        .collect();
    grid.dedup();
    Ok(grid)
}

/// A text table with right-aligned columns.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column headers.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (one cell per header).
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text, one line per row, columns separated by two spaces.
    pub fn render(&self) -> String {
        let width = |c: usize| {
            self.rows
                .iter()
                .map(|r| r[c].chars().count())
                .chain([self.headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let line = |cells: &[String]| {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect();
            parts.join("  ") + "\n"
        };
        let mut out = line(&self.headers);
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// A CSV file of numbers: header line then one line per row (full precision, empty for
/// absent values).
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<Option<f64>>]) -> Result<()> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.map_or_else(String::new, number))
                .collect()
        })
        .collect();
    crate::io::csv::write_csv(path, header, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_tables_format() {
        assert_eq!(num(0.5), "0.5000");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(2e-5), "2.000e-5");
        assert_eq!(num(f64::INFINITY), "inf");
        assert_eq!(mean_std(1.0, 0.0), "1.000");
        let mut t = Table::new(&["a", "bb"]);
        t.push(vec!["1".into(), "2".into()]);
        assert_eq!(t.render(), "a  bb\n1   2\n");
    }
}
