//! NPY files (NumPy's array format, version 1.0): a recording too large for CSV is
//! written as one little-endian array that `numpy.load` reads as it is.

/// Element types amine writes.
pub trait Element: Copy {
    /// NumPy's type string (`<i4`, `<f8`, …).
    const DESCR: &'static str;
    fn put(self, out: &mut Vec<u8>);
}

impl Element for i32 {
    const DESCR: &'static str = "<i4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for f64 {
    const DESCR: &'static str = "<f8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// An NPY file of `data` in C order with `shape` (whose product must be `data.len()`;
/// `None` otherwise).
pub fn to_npy<T: Element>(shape: &[usize], data: &[T]) -> Option<Vec<u8>> {
    if shape.iter().product::<usize>() != data.len() {
        return None;
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        T::DESCR
    );
    // Magic (6) + version (2) + length (2) + header + newline is a multiple of 64.
    let total = 10 + header.len() + 1;
    header += &" ".repeat(total.div_ceil(64) * 64 - total);
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 8);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &x in data {
        x.put(&mut out);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_numpy_version_1() {
        let b = to_npy(&[2, 3], &[1i32, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
        assert_eq!(
            header.trim_end(),
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"
        );
        assert!(header.ends_with('\n'));
        assert_eq!(b.len(), 10 + hlen + 24);
        assert_eq!(&b[10 + hlen..10 + hlen + 4], &1i32.to_le_bytes());
        assert!(to_npy(&[4], &[1.0f64]).is_none());
        let one = to_npy(&[1], &[2.5f32]).unwrap();
        assert!(std::str::from_utf8(&one[10..74])
            .unwrap()
            .contains("'shape': (1,)"));
    }
}
