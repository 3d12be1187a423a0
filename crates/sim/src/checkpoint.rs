//! Checkpoints: a run's complete state in one versioned, checksummed file.
//!
//! Layout (little-endian):
//! ```text
//! offset 0   8 bytes  magic "AMINECKP"
//!        8   u32      format version (CHECKPOINT_VERSION)
//!       12   u64      payload length in bytes
//!       20   u64      FNV-1a checksum of the payload
//!       28   ...      payload: the Identity, then the body, in postcard encoding
//! ```
//! The [`Identity`] names what the checkpoint belongs to — its kind (`run`, `train-ed`,
//! …), the program, the chip (name and fingerprint), the image's fingerprint and a
//! fingerprint of the settings that fix the result (steps, timing, inputs, seed …) — and
//! [`read`] refuses a checkpoint whose identity differs from the run being resumed,
//! naming both. The body is whatever plain data the kind needs: for `amine run`, the
//! [`SimState`](crate::SimState) and the [`Recorder`](crate::Recorder).
//!
//! A checkpoint is written to a temporary beside `FILE` and renamed over it, so `FILE` is
//! always a whole checkpoint (the previous one until the new one is complete). The
//! header is checked before the payload is read, the payload length must match the
//! file, and the file is never read past [`MAX_BYTES`].

use crate::error::Error;
use amine_chip::image::{fnv1a, ChipImage, ChipStamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

pub const MAGIC: [u8; 8] = *b"AMINECKP";
/// Version of the checkpoint format; bumped on every incompatible change of a body.
pub const CHECKPOINT_VERSION: u32 = 3;
const HEADER: usize = 28;
/// Largest checkpoint amine reads or writes (16 GiB).
pub const MAX_BYTES: u64 = 1 << 34;

/// What a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `run`, `train-ed`, … : which command wrote it.
    pub kind: String,
    pub program: String,
    pub chip: ChipStamp,
    /// FNV-1a of the image's binary encoding.
    pub image: u64,
    /// FNV-1a of the settings that fix the result, as the writer describes them.
    pub settings: u64,
    /// The settings in words, for the error message when they differ.
    pub settings_text: String,
}

impl Identity {
    /// The identity of a run of `kind` of `image` on `chip` with `settings` (a
    /// description of everything besides the image that fixes the result).
    pub fn new(kind: &str, image: &ChipImage, settings: String) -> Identity {
        Identity {
            kind: kind.to_string(),
            program: image.program.clone(),
            chip: image.chip.clone(),
            image: fnv1a(&image.to_bytes()),
            settings: fnv1a(settings.as_bytes()),
            settings_text: settings,
        }
    }

    /// Why `self` (found in a checkpoint) is not `want`, or `None` when they match.
    fn mismatch(&self, want: &Identity) -> Option<String> {
        if self.kind != want.kind {
            return Some(format!(
                "it was written by `amine {}`, not `amine {}`",
                self.kind, want.kind
            ));
        }
        if self.chip != want.chip {
            return Some(format!(
                "it belongs to chip `{}` (fingerprint {:016x}), this run is on `{}` ({:016x})",
                self.chip.name, self.chip.fingerprint, want.chip.name, want.chip.fingerprint
            ));
        }
        if self.program != want.program || self.image != want.image {
            return Some(format!(
                "it belongs to program `{}` (image {:016x}), this run is of `{}` (image {:016x})",
                self.program, self.image, want.program, want.image
            ));
        }
        if self.settings != want.settings {
            return Some(format!(
                "it was written with settings `{}`, this run has `{}`",
                self.settings_text, want.settings_text
            ));
        }
        None
    }
}

fn bad(origin: &str, message: impl Into<String>) -> Error {
    Error::checkpoint(origin, message)
}

/// The checkpoint file's bytes.
pub fn encode<T: Serialize>(id: &Identity, body: &T) -> Vec<u8> {
    let mut payload = postcard::to_stdvec(id).expect("postcard encoding of plain data");
    postcard::to_io(body, &mut payload).expect("postcard encoding of plain data");
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Write a checkpoint to `path` atomically (a temporary beside it, then a rename).
/// Returns its size.
pub fn write<T: Serialize>(path: &Path, id: &Identity, body: &T) -> Result<u64, Error> {
    let bytes = encode(id, body);
    amine_chip::error::write_atomically(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Check the header of a checkpoint: magic, version, payload length. Returns the
/// payload length and checksum.
fn header(head: &[u8], origin: &str) -> Result<(u64, u64), Error> {
    if head.len() < HEADER || head[..8] != MAGIC {
        return Err(bad(
            origin,
            "not an amine checkpoint (bad magic); expected a file written by --checkpoint",
        ));
    }
    let word = |a: usize, b: usize| {
        let mut w = [0u8; 8];
        w[..b - a].copy_from_slice(&head[a..b]);
        u64::from_le_bytes(w)
    };
    let version = word(8, 12) as u32;
    if version != CHECKPOINT_VERSION {
        return Err(bad(
            origin,
            format!(
                "checkpoint format version {version}, this amine reads version {CHECKPOINT_VERSION}"
            ),
        ));
    }
    let len = word(12, 20);
    if len > MAX_BYTES {
        return Err(bad(
            origin,
            format!("header declares {len} payload bytes, more than the {MAX_BYTES}-byte limit"),
        ));
    }
    Ok((len, word(20, 28)))
}

/// Decode checkpoint bytes, checking the identity against `want`.
pub fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    origin: &str,
    want: &Identity,
) -> Result<T, Error> {
    let (len, sum) = header(bytes, origin)?;
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(bad(
            origin,
            format!(
                "truncated or padded checkpoint: header says {len} payload bytes, file has {}",
                payload.len()
            ),
        ));
    }
    if fnv1a(payload) != sum {
        return Err(bad(origin, "corrupt checkpoint: checksum mismatch"));
    }
    let (id, rest): (Identity, &[u8]) = postcard::take_from_bytes(payload)
        .map_err(|e| bad(origin, format!("corrupt checkpoint: {e}")))?;
    if let Some(why) = id.mismatch(want) {
        return Err(bad(origin, format!("this checkpoint does not fit: {why}")));
    }
    let (body, rest): (T, &[u8]) = postcard::take_from_bytes(rest)
        .map_err(|e| bad(origin, format!("corrupt checkpoint: {e}")))?;
    if !rest.is_empty() {
        return Err(bad(
            origin,
            format!("corrupt checkpoint: {} bytes after the state", rest.len()),
        ));
    }
    Ok(body)
}

/// Read the checkpoint at `path`: the header first, then exactly the payload it
/// declares (a file of another length is an error), then the identity and body.
pub fn read<T: DeserializeOwned>(path: &Path, want: &Identity) -> Result<T, Error> {
    let origin = path.display().to_string();
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = Vec::with_capacity(HEADER);
    (&mut f)
        .take(HEADER as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, e))?;
    let (len, _) = header(&head, &origin)?;
    if let Ok(meta) = f.metadata() {
        let stream = amine_chip::bounded::limits::STREAM;
        if !meta.is_file() && len > stream {
            return Err(bad(
                &origin,
                format!("header declares {len} payload bytes; a stream is read at most {stream}"),
            ));
        }
        if meta.is_file() && meta.len() != HEADER as u64 + len {
            return Err(bad(
                &origin,
                format!(
                    "truncated or padded checkpoint: header says {len} payload bytes, file has {}",
                    meta.len().saturating_sub(HEADER as u64)
                ),
            ));
        }
    }
    let mut bytes = head;
    (&mut f)
        .take(len + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    decode(&bytes, &origin, want)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(settings: &str) -> Identity {
        Identity {
            kind: "run".into(),
            program: "p".into(),
            chip: ChipStamp {
                name: "tiny".into(),
                fingerprint: 7,
                sections: Vec::new(),
            },
            image: 9,
            settings: fnv1a(settings.as_bytes()),
            settings_text: settings.into(),
        }
    }

    #[test]
    fn round_trip_and_every_damage_is_an_error() {
        let body: (u32, Vec<i64>) = (5, vec![1, -2, 3]);
        let bytes = encode(&id("steps=10"), &body);
        let back: (u32, Vec<i64>) = decode(&bytes, "c", &id("steps=10")).unwrap();
        assert_eq!(back, body);
        // Another identity.
        let e = decode::<(u32, Vec<i64>)>(&bytes, "c", &id("steps=20")).unwrap_err();
        assert!(e.to_string().contains("steps=10"), "{e}");
        // Every truncation, and every single-bit flip.
        for n in 0..bytes.len() {
            assert!(decode::<(u32, Vec<i64>)>(&bytes[..n], "c", &id("steps=10")).is_err());
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(
                    decode::<(u32, Vec<i64>)>(&b, "c", &id("steps=10")).is_err(),
                    "flip of bit {bit} of byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn files_are_written_whole_and_read_back() {
        let dir = std::env::temp_dir().join(format!("amine-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.ckpt");
        let n = write(&path, &id("a"), &vec![1u8; 1000]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), n);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary left"
        );
        let back: Vec<u8> = read(&path, &id("a")).unwrap();
        assert_eq!(back, vec![1u8; 1000]);
        // Padded file: refused before the payload is decoded.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b"x").unwrap();
        let e = read::<Vec<u8>>(&path, &id("a")).unwrap_err();
        assert!(e.to_string().contains("truncated or padded"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
