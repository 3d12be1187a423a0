//! Image encodings: RON text for reading, and a compact binary for large images.
//!
//! Binary layout (little-endian):
//! ```text
//! offset 0   8 bytes  magic "AMINEIMG"
//!        8   u32      format version (IMAGE_VERSION)
//!       12   u64      payload length in bytes
//!       20   u64      FNV-1a checksum of the payload
//!       28   ...      payload: the ChipImage in postcard encoding
//! ```
//! A wrong magic, another version, a short file or a checksum mismatch is an
//! [`ErrorKind::Image`](crate::ErrorKind::Image) error naming the file.

use super::{fnv1a, ChipImage, IMAGE_VERSION};
use crate::error::{write_atomically, Error, ErrorKind};
use crate::textfmt;
use std::path::Path;

pub const MAGIC: [u8; 8] = *b"AMINEIMG";
const HEADER: usize = 28;

impl ChipImage {
    /// The compact, checksummed binary encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Encoding plain data into a Vec cannot fail.
        let payload = postcard::to_stdvec(self).expect("postcard encoding of plain data");
        let mut out = Vec::with_capacity(HEADER + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&IMAGE_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Decode the binary encoding; `origin` names the file in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<ChipImage, Error> {
        let bad = |m: String| Error::image(origin, m);
        if bytes.len() < HEADER || bytes[..8] != MAGIC {
            return Err(bad(
                "not an amine chip image (bad magic); expected a file written by `amine compile`"
                    .into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
        if version != IMAGE_VERSION {
            return Err(bad(format!(
                "image format version {version}, this amine reads version {IMAGE_VERSION}: recompile the program"
            )));
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
        let sum = u64::from_le_bytes(bytes[20..28].try_into().unwrap_or_default());
        let payload = &bytes[HEADER..];
        if payload.len() as u64 != len {
            return Err(bad(format!(
                "truncated or padded image: header says {len} payload bytes, file has {}",
                payload.len()
            )));
        }
        if fnv1a(payload) != sum {
            return Err(bad("corrupt image: checksum mismatch".into()));
        }
        let image: ChipImage =
            postcard::from_bytes(payload).map_err(|e| bad(format!("corrupt image: {e}")))?;
        image.check_version(origin)?;
        Ok(image)
    }

    /// Pretty RON text.
    pub fn to_ron(&self) -> String {
        textfmt::to_ron(self)
    }

    pub fn from_ron(text: &str, origin: &str) -> Result<ChipImage, Error> {
        let image: ChipImage =
            textfmt::from_ron(text, origin).map_err(|e| Error::new(ErrorKind::Syntax(e)))?;
        image.check_version(origin)?;
        Ok(image)
    }

    fn check_version(&self, origin: &str) -> Result<(), Error> {
        if self.version != IMAGE_VERSION {
            return Err(Error::image(
                origin,
                format!(
                    "image format version {}, this amine reads version {IMAGE_VERSION}: recompile the program",
                    self.version
                ),
            ));
        }
        Ok(())
    }

    /// Write atomically: RON text if the file name ends in `.ron`, binary otherwise.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let bytes = if is_ron(path) {
            self.to_ron().into_bytes()
        } else {
            self.to_bytes()
        };
        write_atomically(path, &bytes)
    }

    /// Read an image in either encoding (recognised by the binary magic), within the
    /// limits of [`crate::bounded::limits`].
    pub fn load(path: &Path) -> Result<ChipImage, Error> {
        use crate::bounded::{limits, read_text_from, sniff};
        let s = sniff(path, "chip image", limits::IMAGE_BINARY, MAGIC.len())?;
        let origin = path.display().to_string();
        if s.head == MAGIC {
            ChipImage::read_binary(s.reader, &origin, s.cap)
        } else {
            let limit = limits::IMAGE_RON.min(s.cap);
            let text = read_text_from(s.reader, path, "chip image in RON", limit)?;
            ChipImage::from_ron(&text, &origin)
        }
    }

    /// Read the binary encoding from `r`: the header first, then exactly the payload it
    /// declares (at most [`crate::bounded::limits::IMAGE_BINARY`] bytes, and at most
    /// `cap`).
    pub fn read_binary(r: impl std::io::Read, origin: &str, cap: u64) -> Result<ChipImage, Error> {
        use std::io::Read;
        let io = |e: std::io::Error| Error::image(origin, format!("reading: {e}"));
        let mut r = r;
        let mut bytes = Vec::with_capacity(HEADER);
        (&mut r)
            .take(HEADER as u64)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let version = bytes
            .get(8..12)
            .map(|v| u32::from_le_bytes(v.try_into().unwrap_or_default()));
        if bytes.len() == HEADER && bytes[..8] == MAGIC && version == Some(IMAGE_VERSION) {
            let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
            let limit = crate::bounded::limits::IMAGE_BINARY.min(cap);
            if len > limit {
                return Err(Error::image(
                    origin,
                    format!(
                        "header declares {len} payload bytes, more than the {limit}-byte limit"
                    ),
                ));
            }
            r.take(len + 1).read_to_end(&mut bytes).map_err(io)?;
        }
        ChipImage::from_bytes(&bytes, origin)
    }
}

fn is_ron(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ron"))
}
