//! The columns of a theory command, declared once: each gives its printed header, its CSV
//! name and how to read a cell from a result row. The printed table and the CSV file both come
//! from the list (the JSON output serialises the rows themselves).

use super::output::{Table, mean_std, num};
use crate::io::csv::{number, write_csv};
use anyhow::Result;
use std::path::Path;

/// One cell of a result row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// A number.
    Value(f64),
    /// A count or index.
    Count(usize),
    /// A mean over seeds with its standard deviation (two CSV columns: `_mean`, `_std`).
    Stat {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Not defined for this row (`-` in the table, empty in the CSV).
    Missing,
}

impl Cell {
    /// A mean ± std over seeds.
    pub fn stat(s: &diffmem_metrics::theory::Summary) -> Cell {
        Cell::Stat {
            mean: s.mean,
            std: s.std,
        }
    }

    /// A count that may be missing.
    pub fn count(v: Option<usize>) -> Cell {
        v.map_or(Cell::Missing, Cell::Count)
    }

    /// A number that may be missing.
    pub fn value(v: Option<f64>) -> Cell {
        v.map_or(Cell::Missing, Cell::Value)
    }

    fn shown(self) -> String {
        match self {
            Cell::Value(v) => num(v),
            Cell::Count(c) => c.to_string(),
            Cell::Stat { mean, std } => mean_std(mean, std),
            Cell::Missing => "-".into(),
        }
    }
}

/// Where a column appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// In the printed table and the CSV.
    Both,
    /// Only in the CSV (detail that would crowd the table).
    CsvOnly,
}

/// One column of a command's output.
pub struct Column<P> {
    /// Printed header.
    pub header: &'static str,
    /// CSV name (a `Stat` cell writes `NAME_mean` and `NAME_std`).
    pub csv: &'static str,
    /// Where it appears.
    pub shown: Shown,
    /// The cell of a row.
    pub cell: fn(&P) -> Cell,
}

/// A column in the table and the CSV.
pub const fn col<P>(header: &'static str, csv: &'static str, cell: fn(&P) -> Cell) -> Column<P> {
    Column {
        header,
        csv,
        shown: Shown::Both,
        cell,
    }
}

/// A column in the CSV only.
pub const fn csv_only<P>(csv: &'static str, cell: fn(&P) -> Cell) -> Column<P> {
    Column {
        header: "",
        csv,
        shown: Shown::CsvOnly,
        cell,
    }
}

/// The printed table of `rows`.
pub fn table<P>(columns: &[Column<P>], rows: &[P]) -> Table {
    let shown: Vec<&Column<P>> = columns.iter().filter(|c| c.shown == Shown::Both).collect();
    let headers: Vec<&str> = shown.iter().map(|c| c.header).collect();
    let mut t = Table::new(&headers);
    for r in rows {
        t.push(shown.iter().map(|c| (c.cell)(r).shown()).collect());
    }
    t
}

/// Writes the CSV of `rows` (full precision, `Stat` cells as two columns).
pub fn write<P>(path: &Path, columns: &[Column<P>], rows: &[P]) -> Result<()> {
    let Some(first) = rows.first() else {
        let names: Vec<&str> = columns.iter().map(|c| c.csv).collect();
        return write_csv(path, &names, &[]);
    };
    let mut header = Vec::new();
    for c in columns {
        match (c.cell)(first) {
            Cell::Stat { .. } => {
                header.push(format!("{}_mean", c.csv));
                header.push(format!("{}_std", c.csv));
            }
            _ => header.push(c.csv.to_string()),
        }
    }
    let cells = |r: &P| -> Vec<String> {
        columns
            .iter()
            .flat_map(|c| match (c.cell)(r) {
                Cell::Value(v) => vec![number(v)],
                Cell::Count(n) => vec![n.to_string()],
                Cell::Stat { mean, std } => vec![number(mean), number(std)],
                Cell::Missing => vec![String::new()],
            })
            .collect()
    };
    let lines: Vec<Vec<String>> = rows.iter().map(cells).collect();
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    write_csv(path, &names, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(f64, Option<usize>, f64);

    const COLUMNS: [Column<Row>; 3] = [
        col("x", "x", |r| Cell::Value(r.0)),
        col("step", "step", |r| Cell::count(r.1)),
        csv_only("kl", |r| Cell::Stat {
            mean: r.2,
            std: 0.5,
        }),
    ];

    #[test]
    fn one_list_gives_the_table_and_the_csv() {
        let rows = [Row(1.5, Some(3), 2.0), Row(f64::INFINITY, None, 1.0)];
        let t = table(&COLUMNS, &rows).render();
        assert_eq!(
            t.lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["x", "step"]
        );
        assert!(t.contains('-'), "{t}");
        let dir = std::env::temp_dir().join(format!("diffmem-columns-{}", std::process::id()));
        let path = dir.join("t.csv");
        write(&path, &COLUMNS, &rows).unwrap();
        let csv = std::fs::read_to_string(&path).unwrap();
        assert_eq!(csv, "x,step,kl_mean,kl_std\n1.5,3,2,0.5\ninf,,1,0.5\n");
        std::fs::remove_dir_all(&dir).ok();
    }
}
