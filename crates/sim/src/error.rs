//! The error type of amine-sim: what can stop a run before it starts.
//!
//! A simulation itself never fails once [`Simulator::new`](crate::Simulator::new) has
//! accepted the image: every index it follows was checked by the image verifier, so
//! all failures are up-front (foreign or corrupt image, bad options, bad input file)
//! or at the end (writing a report).

use amine_chip::Problem;
use std::fmt;

/// An error from amine-sim. Inspect it through [`Error::kind`].
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The image cannot run on this chip: compiled for another configuration, or
    /// inconsistent (corrupt). Every problem the verifier found is listed.
    Image {
        chip: String,
        problems: Vec<Problem>,
    },
    /// The chip configuration itself is invalid.
    Config { problems: Vec<Problem> },
    /// Options that cannot be honoured (zero threads, ...).
    Options { message: String },
    /// An input spike file is malformed or out of range; located by line and column
    /// (1-based) where it can be.
    Input {
        origin: String,
        line: usize,
        col: usize,
        message: String,
    },
    /// A file could not be written (report directory, SVGs).
    Io { path: String, message: String },
    /// A checkpoint is damaged, of another version, or belongs to another run.
    Checkpoint { origin: String, message: String },
    /// The fast e-prop backend cannot run this image: every reason, each naming the
    /// part of the image.
    Backend {
        program: String,
        reasons: Vec<String>,
    },
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
    pub(crate) fn options(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Options {
            message: message.into(),
        })
    }
    pub(crate) fn input(
        origin: &str,
        line: usize,
        col: usize,
        message: impl Into<String>,
    ) -> Error {
        Error::new(ErrorKind::Input {
            origin: origin.into(),
            line,
            col,
            message: message.into(),
        })
    }
    pub fn checkpoint(origin: &str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Checkpoint {
            origin: origin.into(),
            message: message.into(),
        })
    }
    pub(crate) fn io(path: &std::path::Path, message: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Io {
            path: path.display().to_string(),
            message: message.to_string(),
        })
    }
    pub(crate) fn report(e: amine_report::Error) -> Error {
        Error::new(ErrorKind::Io {
            path: e.path,
            message: e.message,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, problems: &[Problem]| {
            for p in problems {
                write!(f, "\n  - {p}")?;
            }
            Ok(())
        };
        match &*self.kind {
            ErrorKind::Image { chip, problems } => {
                let n = problems.len();
                write!(
                    f,
                    "the image cannot run on chip `{chip}`: {n} problem{}",
                    amine_chip::units::plural_s(n as u64)
                )?;
                list(f, problems)
            }
            ErrorKind::Config { problems } => {
                write!(f, "invalid chip configuration")?;
                list(f, problems)
            }
            ErrorKind::Options { message } => write!(f, "{message}"),
            ErrorKind::Input {
                origin,
                line,
                col,
                message,
            } => {
                if *line > 0 {
                    write!(f, "{origin}:{line}:{col}: {message}")
                } else {
                    write!(f, "{origin}: {message}")
                }
            }
            ErrorKind::Io { path, message } => write!(f, "{path}: {message}"),
            ErrorKind::Checkpoint { origin, message } => write!(f, "{origin}: {message}"),
            ErrorKind::Backend { program, reasons } => {
                write!(
                    f,
                    "the fast e-prop backend cannot run the image of `{program}` (the general \
                     simulator can):"
                )?;
                for r in reasons {
                    write!(f, "\n  - {r}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

/// A file amine-chip could not read or write (bounded reads, whole report directories).
impl From<amine_chip::Error> for Error {
    fn from(e: amine_chip::Error) -> Error {
        match e.kind() {
            amine_chip::ErrorKind::Io { path, message } => Error::new(ErrorKind::Io {
                path: path.clone(),
                message: message.clone(),
            }),
            _ => Error::new(ErrorKind::Options {
                message: e.to_string(),
            }),
        }
    }
}
