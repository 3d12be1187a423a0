//! Bounded reading of input files: no file makes amine read or allocate past a limit.
//!
//! [`read_bytes`] refuses a regular file larger than its limit before reading it, and
//! stops any other file (a pipe, `/dev/zero`) one byte past the limit. [`read_text`]
//! also checks the text as it arrives, chunk by chunk: a NUL byte or invalid UTF-8 ends
//! the read at once, so binary junk (`/dev/zero`, `/dev/urandom`) is refused after the
//! first 64 KiB whatever the limit. The limits of every reader are in [`limits`] and in
//! docs/reliability.md.

use crate::error::{Error, ErrorKind};
use std::io::Read;
use std::path::Path;

/// The documented size limits of amine's readers, in bytes.
pub mod limits {
    /// A chip configuration (the presets are about 5 KB).
    pub const CHIP_CONFIG: u64 = 1 << 20;
    /// A network program in RON (the largest shipped one, the Error Diffusion digits
    /// classifier, is 89 KB; large connectivity belongs in CSV files).
    pub const PROGRAM: u64 = 64 << 20;
    /// A connectivity or spike-train CSV a program references.
    pub const PROGRAM_CSV: u64 = 1 << 30;
    /// A chip image in RON text.
    pub const IMAGE_RON: u64 = 1 << 30;
    /// A chip image's binary payload.
    pub const IMAGE_BINARY: u64 = 4 << 30;
    /// A mapping-hints file.
    pub const HINTS: u64 = 1 << 20;
    /// Any input that is not a regular file (a pipe, a device, a FIFO), whatever its
    /// kind's limit: its size cannot be checked before reading, so it is read at most
    /// this far (large inputs belong in files).
    pub const STREAM: u64 = 32 << 20;
}

/// Bytes checked per chunk of text.
const CHUNK: usize = 64 << 10;

fn too_large(path: &Path, what: &str, limit: u64, found: Option<u64>) -> Error {
    let size = match found {
        Some(n) => format!("{} bytes, more", crate::units::group_digits(n)),
        None => "more".into(),
    };
    Error::new(ErrorKind::Io {
        path: path.display().to_string(),
        message: format!(
            "{size} than a {what} may hold: the limit is {} bytes (docs/reliability.md)",
            crate::units::group_digits(limit)
        ),
    })
}

/// Open `path`, refusing a regular file larger than `limit` from its metadata.
/// Returns the file and the limit that applies to reading it: `limit` for a regular
/// file, at most [`limits::STREAM`] for anything else.
fn open(path: &Path, what: &str, limit: u64) -> Result<(std::fs::File, u64), Error> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut limit = limit;
    if let Ok(meta) = f.metadata() {
        if !meta.is_file() {
            limit = limit.min(limits::STREAM);
        }
        if meta.is_dir() {
            return Err(Error::io(
                path,
                &std::io::Error::other("is a directory, not a file"),
            ));
        }
        if meta.is_file() && meta.len() > limit {
            return Err(too_large(path, what, limit, Some(meta.len())));
        }
    }
    Ok((f, limit))
}

/// Read at most `limit` bytes of `path`; more is an error naming `what` and the limit.
pub fn read_bytes(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, Error> {
    let (f, limit) = open(path, what, limit)?;
    let mut out = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::io(path, &e))?;
    if out.len() as u64 > limit {
        return Err(too_large(path, what, limit, None));
    }
    Ok(out)
}

/// Read `path` as UTF-8 text of at most `limit` bytes, refusing binary data (a NUL
/// byte, invalid UTF-8) as soon as a chunk shows it.
pub fn read_text(path: &Path, what: &str, limit: u64) -> Result<String, Error> {
    let (f, limit) = open(path, what, limit)?;
    read_text_from(f, path, what, limit)
}

/// What [`sniff`] read: the first bytes, a reader of the whole input from its start,
/// and the cap on any limit for it (`u64::MAX` for a regular file, [`limits::STREAM`]
/// for a stream).
pub struct Sniffed<R> {
    pub head: Vec<u8>,
    pub reader: R,
    pub cap: u64,
}

/// Open `path` (refusing a regular file over `limit`) and read its first `n` bytes
/// (fewer when it is shorter). The reader returned yields the whole file from its
/// start, so a pipe can be sniffed too.
pub fn sniff(path: &Path, what: &str, limit: u64, n: usize) -> Result<Sniffed<impl Read>, Error> {
    let (mut f, capped) = open(path, what, limit)?;
    let cap = if capped < limit { capped } else { u64::MAX };
    let mut head = Vec::with_capacity(n);
    (&mut f)
        .take(n as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, &e))?;
    Ok(Sniffed {
        head: head.clone(),
        reader: std::io::Cursor::new(head).chain(f),
        cap,
    })
}

/// [`read_text`] from an open reader; `path` names it in errors.
pub fn read_text_from(
    mut r: impl Read,
    path: &Path,
    what: &str,
    limit: u64,
) -> Result<String, Error> {
    let mut out: Vec<u8> = Vec::new();
    let mut checked = 0usize;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, &e)),
        };
        if (out.len() + n) as u64 > limit {
            return Err(too_large(path, what, limit, None));
        }
        out.extend_from_slice(&buf[..n]);
        checked = check_text(path, what, &out, checked)?;
    }
    if checked != out.len() {
        return Err(not_text(
            path,
            what,
            out.len(),
            "ends inside a UTF-8 character",
        ));
    }
    // Every byte was checked above.
    String::from_utf8(out).map_err(|_| not_text(path, what, 0, "is not UTF-8 text"))
}

fn not_text(path: &Path, what: &str, at: usize, why: &str) -> Error {
    Error::new(ErrorKind::Io {
        path: path.display().to_string(),
        message: format!("not a {what}: byte {at} {why} (binary data?)"),
    })
}

/// Check `bytes[from..]` is UTF-8 without NUL; returns how far it is whole (a
/// character split at the end is checked with the next chunk).
fn check_text(path: &Path, what: &str, bytes: &[u8], from: usize) -> Result<usize, Error> {
    let tail = &bytes[from..];
    if let Some(i) = tail.iter().position(|&b| b == 0) {
        return Err(not_text(path, what, from + i, "is NUL"));
    }
    match std::str::from_utf8(tail) {
        Ok(_) => Ok(bytes.len()),
        Err(e) if e.error_len().is_none() => Ok(from + e.valid_up_to()),
        Err(e) => Err(not_text(
            path,
            what,
            from + e.valid_up_to(),
            "is not UTF-8 text",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("amine-bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn limits_hold_for_files_and_endless_streams() {
        let p = tmp("big", &[b'a'; 100]);
        assert_eq!(read_bytes(&p, "thing", 100).unwrap().len(), 100);
        let e = read_bytes(&p, "thing", 99).unwrap_err().to_string();
        assert!(
            e.contains("100 bytes, more than a thing may hold: the limit is 99 bytes"),
            "{e}"
        );
        assert!(read_text(&p, "thing", 99).is_err());
        assert_eq!(read_text(&p, "thing", 100).unwrap().len(), 100);
        if Path::new("/dev/zero").exists() {
            let e = read_bytes(Path::new("/dev/zero"), "thing", 1 << 20).unwrap_err();
            assert!(e.to_string().contains("more than a thing"), "{e}");
            // A stream stops at the stream limit, whatever the kind's limit.
            let e = read_bytes(Path::new("/dev/zero"), "thing", 1 << 40).unwrap_err();
            assert!(e.to_string().contains("33,554,432"), "{e}");
            let e = read_text(Path::new("/dev/zero"), "thing", 1 << 40).unwrap_err();
            assert!(e.to_string().contains("NUL"), "{e}");
            let e = read_text(Path::new("/dev/urandom"), "thing", 1 << 40).unwrap_err();
            assert!(e.to_string().contains("not"), "{e}");
        }
    }

    #[test]
    fn text_split_across_chunks_is_whole() {
        // A 2-byte character straddling the first chunk boundary.
        let mut t = vec![b'x'; CHUNK - 1];
        t.extend_from_slice("é and more".as_bytes());
        let p = tmp("split", &t);
        assert_eq!(read_text(&p, "t", 1 << 20).unwrap().len(), t.len());
        let p = tmp("cut", &t[..CHUNK]);
        assert!(read_text(&p, "t", 1 << 20).is_err());
        let dir = p.parent().unwrap();
        assert!(read_text(dir, "t", 1 << 20).is_err());
    }
}
