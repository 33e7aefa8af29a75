//! Writes NumPy `.npy` files (format version 1.0, little-endian f32 or int64, C order) so
//! samples, training rows and indices can be analysed in Python with `np.load`.

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
}
