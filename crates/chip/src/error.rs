//! The error type of amine-chip.

use crate::textfmt::SourceError;
use std::fmt;

/// An error from amine-chip. Inspect it through [`Error::kind`].
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A text file could not be parsed: the location and field are in the [`SourceError`].
    Syntax(SourceError),
    /// A file parsed, but its contents are inconsistent. Every problem is listed.
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
    /// A file could not be read or written.
    Io { path: String, message: String },
    /// `--chip NAME` named no embedded preset and no file.
    UnknownPreset {
        name: String,
        known: Vec<&'static str>,
    },
    /// A chip image is corrupt, truncated, of another version, or made for another chip.
    Image { origin: String, message: String },
    /// A `--set path=value` override could not be applied: `set` is the override as
    /// given, `message` names the field and what is wrong.
    Override { set: String, message: String },
}

/// One consistency problem, located by its dotted field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
    pub fn image(origin: impl Into<String>, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Image {
            origin: origin.into(),
            message: message.into(),
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Syntax(e) => write!(f, "{e}"),
            ErrorKind::Invalid { origin, problems } => {
                let n = problems.len();
                write!(
                    f,
                    "{origin}: {n} problem{}",
                    crate::units::plural_s(n as u64)
                )?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            ErrorKind::Io { path, message } => write!(f, "{path}: {message}"),
            ErrorKind::UnknownPreset { name, known } => write!(
                f,
                "`{name}` is neither a chip preset ({}) nor a readable file",
                known.join(", ")
            ),
            ErrorKind::Image { origin, message } => write!(f, "{origin}: {message}"),
            ErrorKind::Override { set, message } => write!(f, "--set {set}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Write `bytes` to `path` atomically: a temporary file beside it, then a rename, so a
/// failed write never leaves a half-written output.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, &e)
    })
}
