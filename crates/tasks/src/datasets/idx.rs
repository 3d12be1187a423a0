//! IDX files (the MNIST format) and the `mnist:<folder>` task.
//!
//! An IDX file is a 4-byte magic `00 00 08 NDIM` (type 0x08 = unsigned byte), `NDIM`
//! big-endian `u32` dimensions, then the bytes. Images are 3-D (`0x00000803`: count,
//! rows, columns), labels 1-D (`0x00000801`). Files may be gzipped; that is detected by
//! the gzip magic `1f 8b`, not the file name, so a renamed file still loads.
//!
//! The parser never trusts the header: sizes are multiplied with overflow checks and
//! compared with the bytes actually present before anything is allocated, so random or
//! hostile bytes give an [`Error`], never a panic or a huge allocation.

use super::{Dataset, Split};
use crate::error::{Error, ErrorKind};
use std::io::Read;
use std::path::Path;

/// The role an IDX file plays, which fixes its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxKind {
    /// `0x00000803`: count × rows × columns unsigned bytes.
    Images,
    /// `0x00000801`: count unsigned bytes.
    Labels,
}

impl IdxKind {
    fn magic(self) -> u32 {
        match self {
            IdxKind::Images => 0x0803,
            IdxKind::Labels => 0x0801,
        }
    }
    fn what(self) -> &'static str {
        match self {
            IdxKind::Images => "unsigned-byte images, 3 dimensions",
            IdxKind::Labels => "unsigned-byte labels, 1 dimension",
        }
    }
}

/// A parsed IDX file: its dimensions and its bytes (`dims` multiplied out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Most bytes an IDX file's body may declare: 64 MiB, room for the 47,040,000 bytes of
/// MNIST's (or Fashion-/Kuzushiji-MNIST's) 60,000 training images. A file, or a gzip
/// stream however far it would inflate, is never read past it (docs/reliability.md).
pub const MAX_IDX_BYTES: u64 = 64 << 20;

fn gzip_error(path: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io {
        path: path.to_string(),
        message: format!("corrupt gzip stream: {e}"),
    })
}

/// Reads `r` to its end if it holds at most `cap` bytes (`None` if it holds more): never
/// more than `cap + 1` bytes are read or allocated.
pub(crate) fn read_at_most(r: impl Read, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    r.take(cap + 1).read_to_end(&mut out)?;
    Ok((out.len() as u64 <= cap).then_some(out))
}

/// Gunzips `bytes` if they start with the gzip magic, else returns them as they are;
/// inflating stops past [`MAX_IDX_BYTES`] (a gzip bomb is an error, not an allocation).
/// `path` only names the source in errors.
pub fn read_maybe_gz(bytes: &[u8], path: &str) -> Result<Vec<u8>, Error> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::read::MultiGzDecoder::new(bytes);
        read_at_most(gz, MAX_IDX_BYTES + 5 + 4 * 255)
            .map_err(|e| gzip_error(path, e))?
            .ok_or_else(|| {
                Error::malformed(path, format!("inflates to more than {MAX_IDX_BYTES} bytes"))
            })
    } else {
        Ok(bytes.to_vec())
    }
}

/// Parses the (already decompressed) bytes of an IDX file of the given kind.
pub fn parse_idx(bytes: &[u8], path: &str, kind: IdxKind) -> Result<Idx, Error> {
    read_idx(bytes, path, kind, Some(bytes.len() as u64), |e| {
        Error::io(path, &e)
    })
}

/// Reads an IDX file of the given kind from `r`, the header first: the magic and the
/// dimensions are checked, and the body's size computed with overflow checks and
/// compared with [`MAX_IDX_BYTES`] and with `size` (the whole input's length, when
/// known) before the body is read. Then exactly the body is read: fewer bytes are a
/// truncation, more are trailing bytes.
fn read_idx(
    mut r: impl Read,
    path: &str,
    kind: IdxKind,
    size: Option<u64>,
    io: impl Fn(std::io::Error) -> Error,
) -> Result<Idx, Error> {
    let mut head = Vec::with_capacity(4);
    (&mut r).take(4).read_to_end(&mut head).map_err(&io)?;
    let truncated = |needed: u64, found: u64| {
        Error::new(ErrorKind::Truncated {
            path: path.to_string(),
            needed,
            found: size.unwrap_or(found),
        })
    };
    if head.len() < 4 {
        return Err(truncated(4, head.len() as u64));
    }
    let magic = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if magic != kind.magic() {
        return Err(Error::new(ErrorKind::BadMagic {
            path: path.to_string(),
            found: magic,
            expected: kind.magic(),
            what: kind.what(),
        }));
    }
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim as u64;
    (&mut r)
        .take(4 * ndim as u64)
        .read_to_end(&mut head)
        .map_err(&io)?;
    if (head.len() as u64) < header {
        return Err(truncated(header, head.len() as u64));
    }
    let dims: Vec<usize> = head[4..]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // u64 with checked products: three u32 dimensions can overflow even 64 bits.
    let body = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&n| n <= MAX_IDX_BYTES)
        .ok_or_else(|| {
            Error::malformed(
                path,
                format!("dimensions {dims:?} declare more than {MAX_IDX_BYTES} bytes"),
            )
        })?;
    let total = header + body;
    match size {
        Some(n) if n < total => return Err(truncated(total, n)),
        Some(n) if n > total => {
            return Err(Error::malformed(
                path,
                format!("{} bytes after the {total} the header describes", n - total),
            ))
        }
        _ => {}
    }
    if kind == IdxKind::Images && dims[1..].contains(&0) {
        return Err(Error::malformed(
            path,
            format!("images of zero pixels: {dims:?}"),
        ));
    }
    let mut data = Vec::new();
    r.take(body + 1).read_to_end(&mut data).map_err(&io)?;
    if (data.len() as u64) < body {
        return Err(truncated(total, header + data.len() as u64));
    }
    if data.len() as u64 > body {
        return Err(Error::malformed(
            path,
            format!("more bytes after the {total} the header describes"),
        ));
    }
    Ok(Idx { dims, data })
}

/// Reads the IDX file at `p`, plain or gzipped (by its magic), header first: a plain
/// file's size must match its header before the body is read, and a gzip stream is
/// inflated incrementally, never past the body its header declares.
fn read_path(p: &Path, kind: IdxKind) -> Result<Idx, std::io::Error> {
    // Errors other than "not found" are mapped by the caller.
    let f = std::fs::File::open(p)?;
    let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    let mut r = std::io::BufReader::new(f);
    let gz = std::io::BufRead::fill_buf(&mut r)?.starts_with(&[0x1f, 0x8b]);
    let shown = p.display().to_string();
    let result = if gz {
        let g = flate2::read::MultiGzDecoder::new(r);
        read_idx(g, &shown, kind, None, |e| gzip_error(&shown, e))
    } else {
        read_idx(r, &shown, kind, size, |e| Error::io(&shown, &e))
    };
    result.map_err(std::io::Error::other)
}

/// Reads `folder/name`, or `folder/name.gz` when the plain file is absent.
fn read_file(folder: &Path, name: &str, kind: IdxKind) -> Result<(Idx, String), Error> {
    let plain = folder.join(name);
    let gz = folder.join(format!("{name}.gz"));
    for p in [&plain, &gz] {
        let shown = p.display().to_string();
        match read_path(p, kind) {
            Ok(idx) => return Ok((idx, shown)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(match e.downcast::<Error>() {
                    Ok(inner) => inner,
                    Err(e) => Error::io(&shown, &e),
                })
            }
        }
    }
    Err(Error::new(ErrorKind::Missing {
        path: plain.display().to_string(),
    }))
}

/// One split from an images file and a labels file that must agree in count.
fn load_pair(folder: &Path, prefix: &str, name: &str) -> Result<Dataset, Error> {
    let (images, ipath) = read_file(
        folder,
        &format!("{prefix}-images-idx3-ubyte"),
        IdxKind::Images,
    )?;
    let (labels, lpath) = read_file(
        folder,
        &format!("{prefix}-labels-idx1-ubyte"),
        IdxKind::Labels,
    )?;
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if labels.dims[0] != n {
        return Err(Error::new(ErrorKind::DimsMismatch {
            path: lpath,
            message: format!("{} labels for {n} images in {ipath}", labels.dims[0]),
        }));
    }
    let inputs = images
        .data
        .chunks_exact(rows * cols)
        .map(|img| img.iter().map(|&p| f32::from(p) / 255.0).collect())
        .collect();
    let classes = labels
        .data
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0);
    Ok(Dataset {
        name: name.to_string(),
        inputs,
        labels: labels.data,
        classes,
        shape: [rows, cols],
    })
}

/// Reads the four standard MNIST IDX files from `folder` (`train-images-idx3-ubyte`,
/// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each
/// plain or with `.gz`). Pixels `0..=255` are divided by 255.
///
/// Errors name the file and the problem: missing, bad magic, truncated, trailing bytes,
/// image/label counts that differ, or train and test images of different shapes.
pub fn mnist(folder: impl AsRef<Path>) -> Result<Split, Error> {
    let folder = folder.as_ref();
    let mut train = load_pair(folder, "train", "mnist/train")?;
    let mut test = load_pair(folder, "t10k", "mnist/test")?;
    if train.shape != test.shape {
        return Err(Error::new(ErrorKind::DimsMismatch {
            path: folder.join("t10k-images-idx3-ubyte").display().to_string(),
            message: format!(
                "test images are {:?}, train images {:?}",
                test.shape, train.shape
            ),
        }));
    }
    // Both sets must agree on the class count, or a model sized on one would index out
    // of range on the other.
    let classes = train.classes.max(test.classes);
    train.classes = classes;
    test.classes = classes;
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use proptest::prelude::*;
    use std::io::Write;

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend(data);
        v
    }
    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }
    /// Writes a tiny MNIST folder: `n` train and `m` test images of 2×3 pixels.
    fn write_set(dir: &Path, n: u32, m: u32, gzipped: bool) {
        let files = [
            (
                "train-images-idx3-ubyte",
                idx(0x803, &[n, 2, 3], &vec![255; 6 * n as usize]),
            ),
            (
                "train-labels-idx1-ubyte",
                idx(
                    0x801,
                    &[n],
                    &(0..n as u8).map(|i| i % 3).collect::<Vec<_>>(),
                ),
            ),
            (
                "t10k-images-idx3-ubyte",
                idx(0x803, &[m, 2, 3], &vec![51; 6 * m as usize]),
            ),
            (
                "t10k-labels-idx1-ubyte",
                idx(0x801, &[m], &vec![1; m as usize]),
            ),
        ];
        for (name, bytes) in files {
            if gzipped {
                std::fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }

    #[test]
    fn loads_plain_and_gzipped_folders() {
        for gzipped in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            write_set(dir.path(), 4, 2, gzipped);
            let s = mnist(dir.path()).unwrap();
            assert_eq!((s.train.len(), s.test.len()), (4, 2));
            assert_eq!(s.train.shape, [2, 3]);
            assert_eq!(s.train.labels, vec![0, 1, 2, 0]);
            assert_eq!(s.classes(), 3);
            assert_eq!(s.test.classes, 3);
            assert!(s.train.inputs.iter().flatten().all(|&v| v == 1.0));
            assert!(s.test.inputs.iter().flatten().all(|&v| v == 0.2));
            let via_spec = crate::datasets::parse_task(&format!("mnist:{}", dir.path().display()));
            assert_eq!(via_spec.unwrap().load().unwrap(), s);
        }
    }

    #[test]
    fn gzip_is_detected_by_magic_not_name() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 3, 1, false);
        let p = dir.path().join("train-images-idx3-ubyte");
        let plain = std::fs::read(&p).unwrap();
        std::fs::write(&p, gz(&plain)).unwrap();
        assert_eq!(mnist(dir.path()).unwrap().train.len(), 3);
    }

    #[test]
    fn missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 3, 1, true);
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        match e.kind() {
            ErrorKind::Missing { path } => assert!(path.ends_with("t10k-labels-idx1-ubyte")),
            k => panic!("{k:?}"),
        }
        assert!(e.to_string().contains("missing"));
        assert!(matches!(
            mnist("/no/such/folder").unwrap_err().kind(),
            ErrorKind::Missing { .. }
        ));
    }

    #[test]
    fn bad_magic_truncation_and_count_mismatch_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 3, 1, false);
        let lab = dir.path().join("train-labels-idx1-ubyte");
        // Images magic in the labels file.
        std::fs::write(&lab, idx(0x803, &[3, 1, 1], &[0, 1, 2])).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::BadMagic {
                    found: 0x803,
                    expected: 0x801,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("train-labels-idx1-ubyte"));
        // Two labels for three images.
        std::fs::write(&lab, idx(0x801, &[2], &[0, 1])).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::DimsMismatch { .. }), "{e}");
        assert!(e.to_string().contains("2 labels for 3 images"), "{e}");
        // Header promises 3 labels, file has 2.
        std::fs::write(&lab, idx(0x801, &[3], &[0, 1])).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Truncated {
                    needed: 11,
                    found: 10,
                    ..
                }
            ),
            "{e}"
        );
        // A gzip stream cut short.
        let full = gz(&idx(0x801, &[3], &[0, 1, 2]));
        std::fs::write(&lab, &full[..full.len() - 6]).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
        assert!(e.to_string().contains("gzip"), "{e}");
    }

    #[test]
    fn train_and_test_shapes_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 2, 1, false);
        let p = dir.path().join("t10k-images-idx3-ubyte");
        std::fs::write(&p, idx(0x803, &[1, 3, 2], &[0; 6])).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::DimsMismatch { .. }), "{e}");
    }

    #[test]
    fn header_sizes_are_checked_before_allocating() {
        let huge = idx(0x803, &[u32::MAX, u32::MAX, u32::MAX], &[]);
        assert!(matches!(
            parse_idx(&huge, "x", IdxKind::Images).unwrap_err().kind(),
            ErrorKind::Malformed { .. }
        ));
        let big = idx(0x803, &[60_000, 28, 28], &[1, 2, 3]);
        assert!(matches!(
            parse_idx(&big, "x", IdxKind::Images).unwrap_err().kind(),
            ErrorKind::Truncated { .. }
        ));
        let zero = idx(0x803, &[5, 0, 28], &[]);
        assert!(parse_idx(&zero, "x", IdxKind::Images).is_err());
        let trailing = idx(0x801, &[1], &[1, 2]);
        assert!(parse_idx(&trailing, "x", IdxKind::Labels).is_err());
        let ok = idx(0x801, &[0], &[]);
        assert_eq!(parse_idx(&ok, "x", IdxKind::Labels).unwrap().dims, vec![0]);
    }

    #[test]
    fn bombs_and_endless_files_stop_at_the_header() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 3, 1, true);
        let lab = dir.path().join("train-labels-idx1-ubyte.gz");
        // Declares 3 labels, inflates to 8 MiB: inflating stops after 4 bytes too many.
        let mut bomb = idx(0x801, &[3], &[0, 1, 2]);
        bomb.extend(vec![0u8; 8 << 20]);
        std::fs::write(&lab, gz(&bomb)).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(e.to_string().contains("more bytes after"), "{e}");
        // A header declaring more than the limit is refused before any body is read.
        std::fs::write(&lab, gz(&idx(0x801, &[u32::MAX], &[]))).unwrap();
        let e = mnist(dir.path()).unwrap_err();
        assert!(e.to_string().contains("declare more than"), "{e}");
        // A file that never ends (a link to /dev/zero) fails on its magic.
        if Path::new("/dev/zero").exists() {
            std::fs::remove_file(&lab).unwrap();
            std::os::unix::fs::symlink("/dev/zero", dir.path().join("train-labels-idx1-ubyte"))
                .unwrap();
            let e = mnist(dir.path()).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BadMagic { found: 0, .. }),
                "{e}"
            );
        }
    }

    proptest! {
        /// Random bytes (plain, or behind a gzip magic) are rejected or parsed, never a panic.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                    gz_magic in any::<bool>()) {
            let mut b = bytes.clone();
            if gz_magic {
                b.splice(0..0, [0x1f, 0x8b]);
            }
            for kind in [IdxKind::Images, IdxKind::Labels] {
                let r = read_maybe_gz(&b, "r").and_then(|d| parse_idx(&d, "r", kind));
                prop_assert!(r.is_err() || bytes.len() >= 8);
            }
        }

        /// Random bytes after a valid magic: the header is not trusted.
        #[test]
        fn random_headers_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..40)) {
            for (magic, kind) in [(0x803u32, IdxKind::Images), (0x801, IdxKind::Labels)] {
                let mut b = magic.to_be_bytes().to_vec();
                b.extend(&tail);
                if let Ok(i) = parse_idx(&b, "r", kind) {
                    prop_assert_eq!(i.data.len(), i.dims.iter().product::<usize>());
                }
            }
        }
    }
}
