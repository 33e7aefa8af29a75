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
