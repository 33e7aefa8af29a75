//! `SHA256SUMS` of a checkpoint or weights directory: one `HEX  NAME` line per file, the
//! format of `sha256sum`, so `sha256sum -c SHA256SUMS` checks a copy by hand. Written after
//! the files, verified before they are loaded: a torn or bit-flipped file is named, never
//! loaded as if it were a model. Directories written before checksums existed have no such
//! file and are accepted as they are.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Name of the checksum file.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// The SHA-256 of `path`, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = std::io::Read::read(&mut file, &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if k == 0 {
            break;
        }
        hasher.update(&buf[..k]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Writes `dir/SHA256SUMS` covering every regular file of `dir` (but itself).
pub fn write_sums(dir: &Path) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != SUMS_FILE && !n.starts_with('.'))
        .collect();
    names.sort();
    let mut text = String::new();
    for n in names {
        text += &format!("{}  {n}\n", sha256_file(&dir.join(&n))?);
    }
    crate::io::atomic::write_atomic(&dir.join(SUMS_FILE), text.as_bytes())
}

/// Checks every file listed in `dir/SHA256SUMS`; Ok when all match or when there is no such
/// file (written before checksums). The error names the first bad file.
pub fn verify(dir: &Path) -> Result<()> {
    let sums = dir.join(SUMS_FILE);
    let Ok(text) = std::fs::read_to_string(&sums) else {
        return Ok(());
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((hex, name)) = line.split_once("  ") else {
            bail!("{} is corrupt (line `{line}`)", sums.display());
        };
        let path = dir.join(name);
        if !path.is_file() {
            bail!("{} is missing", path.display());
        }
        if sha256_file(&path)? != hex {
            bail!("{} does not match its checksum", path.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_fips_180_2_vector() {
        let dir = std::env::temp_dir().join(format!("diffmem-sum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.bin"), b"abc").unwrap();
        assert_eq!(
            sha256_file(&dir.join("a.bin")).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        write_sums(&dir).unwrap();
        verify(&dir).unwrap();
        std::fs::write(dir.join("a.bin"), b"abd").unwrap();
        let err = format!("{:#}", verify(&dir).unwrap_err());
        assert!(err.contains("a.bin does not match"), "{err}");
        std::fs::remove_file(dir.join("a.bin")).unwrap();
        assert!(format!("{:#}", verify(&dir).unwrap_err()).contains("missing"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
