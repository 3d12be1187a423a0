//! The error type of amine-tasks: every failure to load a task names the file and what
//! is wrong with it, so a user pointing `mnist:<folder>` at the wrong place is told which
//! file to fix rather than seeing a panic or an empty data set.

use std::fmt;

/// An error from amine-tasks. Inspect it through [`Error::kind`].
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file the task needs is not there: `path` is the plain name that was looked for
    /// (its `.gz` twin was looked for too).
    #[error("{path}: missing (looked for it and for {path}.gz)")]
    Missing { path: String },
    /// A file exists but could not be read, or its gzip stream is corrupt.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// An IDX file does not start with the magic number its role requires
    /// (`0x00000803` for images, `0x00000801` for labels).
    #[error("{path}: bad magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        path: String,
        found: u32,
        expected: u32,
        what: &'static str,
    },
    /// A file is shorter than its header says (`needed` bytes, `found` bytes).
    #[error("{path}: truncated: the header promises {needed} bytes, the file has {found}")]
    Truncated {
        path: String,
        needed: u64,
        found: u64,
    },
    /// Two files that must agree do not: image and label counts of one split, or the
    /// image shape of the train and test splits.
    #[error("{path}: {message}")]
    DimsMismatch { path: String, message: String },
    /// A file is well-formed as a container but its contents are unusable (a label out
    /// of range, an image of zero pixels, a CSV row of the wrong width, trailing bytes).
    #[error("{path}: {message}")]
    Malformed { path: String, message: String },
    /// `parse_task` was given a spec it does not know.
    #[error("unknown task `{spec}`: expected `digits`, `mnist:<folder>` or `cifar10:<folder>`")]
    UnknownTask { spec: String },
    /// A training configuration is unusable (zero hidden units, non-finite rate, …).
    #[error("invalid configuration: {message}")]
    Config { message: String },
}

impl Error {
    /// Wraps a kind.
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
    pub(crate) fn io(path: &str, e: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io {
            path: path.to_string(),
            message: e.to_string(),
        })
    }
    pub(crate) fn malformed(path: &str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Malformed {
            path: path.to_string(),
            message: message.into(),
        })
    }
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Config {
            message: message.into(),
        })
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {}
