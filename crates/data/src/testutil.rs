//! Helpers for the unit tests: scratch directories and writers of the on-disk formats.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory unique to this process and call.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("diffmem-data-{tag}-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// `self/name`.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An IDX unsigned-byte file: magic 0x000008NN, dims, data.
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// Writes `bytes` to `path`, creating parent directories.
pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// Writes an MNIST-format split: `n` images of `h` x `w` where image i has every pixel equal
/// to `i * 10 % 256` and label `i % 10`.
pub fn write_mnist(dir: &Path, prefix: &str, n: usize, h: u32, w: u32, gz: bool) {
    let px: Vec<u8> = (0..n)
        .flat_map(|i| std::iter::repeat_n((i * 10 % 256) as u8, (h * w) as usize))
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let img = idx_bytes(&[n as u32, h, w], &px);
    let lbl = idx_bytes(&[n as u32], &labels);
    let (img, lbl, ext) = if gz {
        (gzip(&img), gzip(&lbl), ".gz")
    } else {
        (img, lbl, "")
    };
    write(&dir.join(format!("{prefix}-images-idx3-ubyte{ext}")), &img);
    write(&dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")), &lbl);
}

/// Asserts that `msg` mentions the file name of `path`.
pub fn assert_names(msg: &str, path: &Path) {
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "`{msg}` does not name `{name}`");
}

/// Checks the empirical mean and covariance of `samples` (row-major, dimension `d`) against
/// `mean` and `cov`. Tolerance: 5 standard errors per entry, where the standard error is
/// estimated from the data itself (sqrt(var(x_i) / n) for means, sqrt(var(x_i x_j) / n) for
/// covariances, plus the mean-estimation error which is of lower order): a correct generator
/// passes with overwhelming probability, and a wrong variance or rotation is many standard
/// errors off at n = 20000.
pub fn assert_moments(samples: &[f32], d: usize, mean: &[f64], cov: &[f64]) {
    let n = samples.len() / d;
    let x: Vec<f64> = samples.iter().map(|&v| f64::from(v)).collect();
    let m: Vec<f64> = (0..d)
        .map(|i| (0..n).map(|k| x[k * d + i]).sum::<f64>() / n as f64)
        .collect();
    for i in 0..d {
        let var = (0..n).map(|k| (x[k * d + i] - m[i]).powi(2)).sum::<f64>() / n as f64;
        let se = (var / n as f64).sqrt();
        assert!(
            (m[i] - mean[i]).abs() <= 5.0 * se + 1e-9,
            "mean[{i}] = {} vs {} (se {se})",
            m[i],
            mean[i]
        );
    }
    for i in 0..d {
        for j in 0..d {
            let p: Vec<f64> = (0..n)
                .map(|k| (x[k * d + i] - m[i]) * (x[k * d + j] - m[j]))
                .collect();
            let c = p.iter().sum::<f64>() / n as f64;
            let var = p.iter().map(|v| (v - c).powi(2)).sum::<f64>() / n as f64;
            let se = (var / n as f64).sqrt();
            assert!(
                (c - cov[i * d + j]).abs() <= 5.0 * se + 1e-9,
                "cov[{i},{j}] = {c} vs {} (se {se})",
                cov[i * d + j]
            );
        }
    }
}
