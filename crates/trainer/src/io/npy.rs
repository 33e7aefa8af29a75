//! Writes NumPy `.npy` files (format version 1.0, little-endian f32 or int64, C order) so
//! samples, training rows and indices can be analysed in Python with `np.load`, and reads
//! float32 ones back.

use anyhow::{Context, Result, bail};
use std::path::Path;

/// The bytes of an `.npy` file holding `data` (f32) with `shape`.
pub fn encode_f32(data: &[f32], shape: &[usize]) -> Vec<u8> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<f4", shape, &bytes)
}

/// The bytes of an `.npy` file holding `data` (int64) with `shape`.
pub fn encode_i64(data: &[i64], shape: &[usize]) -> Vec<u8> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<i8", shape, &bytes)
}

/// Reads a little-endian float32 `.npy` file (format 1.0 or 2.0, C order): values and shape.
pub fn read_f32(path: &Path) -> Result<(Vec<f32>, Vec<usize>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("{} is not a .npy file", path.display());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => bail!("{}: truncated .npy header", path.display()),
    };
    let header = std::str::from_utf8(bytes.get(start..start + len).unwrap_or_default())?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        bail!(
            "{}: expected C-order float32, header {header}",
            path.display()
        );
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .with_context(|| format!("{}: no shape in the header", path.display()))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let data: Vec<f32> = bytes[start + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if data.len() != shape.iter().product::<usize>() {
        bail!(
            "{}: {} values for shape {shape:?}",
            path.display(),
            data.len()
        );
    }
    Ok((data, shape))
}

/// An `.npy` file of dtype `descr` (little-endian, C order) from its raw element bytes.
fn encode(descr: &str, shape: &[usize], bytes: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_str = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_str}, }}");
    // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + bytes.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_data_follows() {
        let b = encode_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'shape': (2, 3)") && header.ends_with('\n'));
        assert_eq!(b.len(), 10 + hlen + 24);
        assert_eq!(
            f32::from_le_bytes(b[10 + hlen..14 + hlen].try_into().unwrap()),
            1.0
        );
    }

    #[test]
    fn int64_files_carry_their_dtype() {
        let b = encode_i64(&[3, -1, 1 << 40], &[3]);
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert!(header.contains("'descr': '<i8'") && header.contains("'shape': (3,)"));
        assert_eq!(b.len(), 10 + hlen + 24);
        let last = i64::from_le_bytes(b[10 + hlen + 16..].try_into().unwrap());
        assert_eq!(last, 1 << 40);
    }

    #[test]
    fn npy_files_written_here_read_back() {
        let dir = std::env::temp_dir().join(format!("diffmem-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.npy");
        let v = [1.5f32, -2.0, 3.25, 0.0, 7.0, 8.0];
        std::fs::write(&p, encode_f32(&v, &[3, 2])).unwrap();
        let (back, shape) = read_f32(&p).unwrap();
        assert_eq!((back.as_slice(), shape), (&v[..], vec![3, 2]));
        std::fs::write(&p, b"nope").unwrap();
        assert!(read_f32(&p).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
