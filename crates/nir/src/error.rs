//! Typed errors of the NIR importer: every failure is an [`Error`] with an [`ErrorKind`],
//! never a panic, whatever the file holds.

use std::fmt;

/// What went wrong while importing a NIR file.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// The file could not be read or is not HDF5 (what is wrong with it).
    Io { path: String, message: String },
    /// The file could not be written (`amine nir export`).
    Write { path: String, message: String },
    /// The file is HDF5 but not a NIR graph as the `nir` package writes it: a missing
    /// group or dataset, a wrong type, a parameter of the wrong shape, a size the file
    /// cannot hold, a damaged structure. One message per problem.
    Malformed { file: String, problems: Vec<String> },
    /// The graph is readable but not importable: missing nodes, edges to nowhere, shape
    /// mismatches, unsupported node types or parameters. One message per problem, each
    /// naming the node.
    Invalid(Vec<String>),
    /// A command-line or API argument is unusable (e.g. a non-positive `dt`).
    Argument(String),
}

/// An import error.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The problem messages (one for `Io` and `Argument`).
    pub fn messages(&self) -> Vec<String> {
        match &self.kind {
            ErrorKind::Io { path, message } | ErrorKind::Write { path, message } => {
                vec![format!("{path}: {message}")]
            }
            ErrorKind::Malformed { problems: m, .. } | ErrorKind::Invalid(m) => m.clone(),
            ErrorKind::Argument(m) => vec![m.clone()],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, list) = match &self.kind {
            ErrorKind::Io { path, message } => {
                return write!(f, "cannot read NIR file {path}: {message}")
            }
            ErrorKind::Write { path, message } => {
                return write!(f, "cannot write NIR file {path}: {message}")
            }
            ErrorKind::Argument(m) => return write!(f, "{m}"),
            ErrorKind::Malformed { file, problems } => {
                write!(f, "{file}: ")?;
                ("not a valid NIR file", problems)
            }
            ErrorKind::Invalid(m) => ("the NIR graph cannot be imported", m),
        };
        write!(f, "{what} ({} problem", list.len())?;
        if list.len() != 1 {
            write!(f, "s")?;
        }
        write!(f, ")")?;
        for m in list {
            write!(f, "\n  - {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
