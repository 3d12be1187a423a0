//! Bounded, read-only access to an HDF5 file through the pure-Rust `hdf5-pure` crate.
//!
//! The file is read into memory once (at most [`MAX_FILE_BYTES`]) and every dataset read
//! is checked *before* the crate allocates for it: a dataset's declared shape (and chunk
//! shape) times its element size must fit in a decode budget of
//! [`MAX_EXPANSION`] × the file's real size, the most that a valid deflate stream of that
//! size can expand to. A damaged header that declares 2^40 elements is therefore an
//! error, not a 2^40-byte allocation, whatever the crate would do with it. Group walks
//! are bounded by the caller (depth and a group count proportional to the file size),
//! so hard-link cycles end in an error.

use hdf5_pure::{DType, Dataset, File, Group, VlenStringReadOptions};
use std::cell::Cell;
use std::io::Read;
use std::path::Path;

/// Largest file read (NIR files are graphs of parameter arrays: megabytes, not gigabytes).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Decoded bytes allowed per byte of file: deflate's maximum expansion is 1032:1.
pub const MAX_EXPANSION: u64 = 1032;

/// Fixed allowance on top of the expansion budget (small files, empty datasets).
const BUDGET_FLOOR: u64 = 1 << 20;

/// Bytes of a Rust `String` header counted per string read.
const STRING_OVERHEAD: u64 = 24;

/// An HDF5 file held in memory with a decode budget.
pub struct H5File {
    file: File,
    size: u64,
    budget: Cell<u64>,
}

/// Why a file could not be opened: the I/O error or the format problem, as text.
pub type OpenError = String;

/// The HDF5 format signature.
const SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];
/// Offsets searched for the signature (HDF5 allows a user block before it).
const SIGNATURE_SEARCH: u64 = 64 << 10;

impl H5File {
    /// Read the file at `path` (refusing files over [`MAX_FILE_BYTES`]) and parse its
    /// superblock.
    pub fn open(path: &Path) -> Result<H5File, OpenError> {
        let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        // The signature first: it sits at offset 0 or at a power of two from 512 on, so
        // a file that is no HDF5 (`/dev/zero`) is refused after 64 KiB, not 1 GiB.
        let mut bytes = Vec::new();
        (&mut f)
            .take(SIGNATURE_SEARCH + 8)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        let signed = |at: u64| bytes.get(at as usize..at as usize + 8) == Some(&SIGNATURE[..]);
        let at_offsets = std::iter::successors(Some(512u64), |&o| Some(o * 2))
            .take_while(|&o| o <= SIGNATURE_SEARCH);
        if !signed(0) && !at_offsets.into_iter().any(signed) {
            return Err("not an HDF5 file (no signature at its start)".into());
        }
        f.take(MAX_FILE_BYTES + 1 - bytes.len() as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "larger than {} MiB, the most a NIR file may hold",
                MAX_FILE_BYTES >> 20
            ));
        }
        H5File::from_bytes(bytes)
    }

    /// Parse an HDF5 file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<H5File, OpenError> {
        let size = bytes.len() as u64;
        if !hdf5_pure::is_hdf5_bytes(&bytes) {
            return Err("not an HDF5 file (no HDF5 signature)".into());
        }
        let file = File::from_bytes(bytes).map_err(|e| format!("not a readable HDF5 file: {e}"))?;
        Ok(H5File {
            file,
            size,
            budget: Cell::new(size.saturating_mul(MAX_EXPANSION) + BUDGET_FLOOR),
        })
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn root(&self) -> Group {
        self.file.root()
    }

    /// Take `bytes` from the decode budget, or say why not.
    fn spend(&self, bytes: u64, what: &str) -> Result<(), String> {
        let left = self.budget.get();
        if bytes > left {
            return Err(format!(
                "{what} declares {bytes} bytes of data, more than a file of {} bytes can hold",
                self.size
            ));
        }
        self.budget.set(left - bytes);
        Ok(())
    }

    /// Elements declared by the dataset's shape, checked against the budget with
    /// `bytes_per` bytes each (and its chunk shape with the stored element size).
    fn check_size(&self, ds: &Dataset, bytes_per: u64) -> Result<u64, String> {
        let shape = ds.shape().map_err(|e| e.to_string())?;
        let elem = ds.element_size().map_err(|e| e.to_string())?.max(1);
        let n = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or("the declared shape overflows")?;
        if let Some(chunk) = ds.chunk_shape().map_err(|e| e.to_string())? {
            let c = chunk
                .iter()
                .try_fold(elem, |a, &d| a.checked_mul(d))
                .ok_or("the declared chunk shape overflows")?;
            self.spend(c, "its chunk shape")?;
        }
        let bytes = n
            .checked_mul(elem.saturating_add(bytes_per))
            .ok_or("the declared shape overflows")?;
        self.spend(bytes, "its shape")?;
        Ok(n)
    }

    /// A numeric dataset as `(shape, values)`, converted to `f64` (integers exactly up
    /// to 2^53). Strings and other types are an error.
    pub fn numbers(&self, ds: &Dataset) -> Result<(Vec<usize>, Vec<f64>), String> {
        let dtype = ds.dtype().map_err(|e| e.to_string())?;
        let n = self.check_size(ds, 8)?;
        let data: Vec<f64> = match dtype {
            DType::F32 | DType::F64 => ds.read_f64().map_err(|e| e.to_string())?,
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => ds
                .read_i64()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|x| x as f64)
                .collect(),
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => ds
                .read_u64()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|x| x as f64)
                .collect(),
            other => return Err(format!("expected numbers, found {other}")),
        };
        if data.len() as u64 != n {
            return Err(format!(
                "holds {} values but its shape declares {n}",
                data.len()
            ));
        }
        Ok((shape_of(ds)?, data))
    }

    /// All strings of a string dataset (variable-length or fixed-length).
    pub fn strings(&self, ds: &Dataset) -> Result<Vec<String>, String> {
        let dtype = ds.dtype().map_err(|e| e.to_string())?;
        match dtype {
            DType::VariableLengthString => {
                let n = self.check_size(ds, STRING_OVERHEAD)?;
                // The strings' bytes live in the file's global heap: at most its size.
                let cap = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
                let opts = VlenStringReadOptions::new()
                    .with_max_elements(cap(n))
                    .with_max_payload_bytes(cap(self.size.min(self.budget.get())));
                let s = ds.read_vlen_strings(opts).map_err(|e| e.to_string())?;
                self.spend(s.iter().map(|s| s.len() as u64).sum(), "its strings")?;
                Ok(s)
            }
            DType::String => {
                self.check_size(ds, STRING_OVERHEAD)?;
                ds.read_string().map_err(|e| e.to_string())
            }
            other => Err(format!("expected strings, found {other}")),
        }
    }
}

/// The dataset's shape as `usize`s.
fn shape_of(ds: &Dataset) -> Result<Vec<usize>, String> {
    ds.shape()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| "a dimension does not fit in memory".to_string()))
        .collect()
}

/// The names of a group's member groups and datasets.
pub struct Members {
    pub groups: Vec<String>,
    pub datasets: Vec<String>,
}

impl Members {
    pub fn of(g: &Group) -> Result<Members, String> {
        let mut groups = g.groups().map_err(|e| e.to_string())?;
        let mut datasets = g.datasets().map_err(|e| e.to_string())?;
        groups.sort();
        datasets.sort();
        Ok(Members { groups, datasets })
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }

    pub fn has_dataset(&self, name: &str) -> bool {
        self.datasets.iter().any(|d| d == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.has_group(name) || self.has_dataset(name)
    }
}
