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
                write!(f, "{origin}: {n} problem{}", if n == 1 { "" } else { "s" })?;
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

/// Write a report directory whole or not at all: `files` (name, bytes) are written into
/// a temporary sibling of `dir` (`.NAME.PID.tmp`), which is renamed to `dir` once every
/// file is complete. When `dir` already exists (a previous report), each file is
/// renamed into it, replacing the file of that name and leaving other files alone; every
/// name is checked first, so a name taken by a directory fails before anything moves.
/// On any error the temporary directory is removed and `dir` is as it was. Errors name
/// the path once. Returns the paths written.
pub fn write_dir_whole(
    dir: &std::path::Path,
    files: &[(&str, &[u8])],
) -> Result<Vec<std::path::PathBuf>, Error> {
    use std::io::Write;
    let fail = |p: &std::path::Path, m: &str| Error::io(p, &std::io::Error::other(m.to_string()));
    if dir.exists() && !dir.is_dir() {
        return Err(fail(dir, "exists and is not a directory"));
    }
    if dir.is_dir() {
        if let Some((name, _)) = files.iter().find(|(n, _)| dir.join(n).is_dir()) {
            return Err(fail(&dir.join(name), "is a directory"));
        }
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| fail(dir, "not a directory name"))?;
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, &e))?;
    }
    let result = (|| {
        // Named as the directory the user asked for, not the temporary.
        std::fs::create_dir(&tmp).map_err(|e| Error::io(dir, &e))?;
        for (file, bytes) in files {
            let path = tmp.join(file);
            let written = std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
            written.map_err(|e| Error::io(&dir.join(file), &e))?;
        }
        // A missing (or empty) `dir` is replaced in one rename.
        if std::fs::rename(&tmp, dir).is_ok() {
            return Ok(());
        }
        if !dir.is_dir() {
            return Err(fail(dir, "could not move the report into place"));
        }
        for (file, _) in files {
            let (from, to) = (tmp.join(file), dir.join(file));
            std::fs::rename(&from, &to).map_err(|e| Error::io(&to, &e))?;
        }
        std::fs::remove_dir(&tmp).map_err(|e| Error::io(&tmp, &e))
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(files.iter().map(|(f, _)| dir.join(f)).collect())
}

#[cfg(test)]
mod dir_tests {
    use super::write_dir_whole;

    #[test]
    fn a_report_directory_is_whole_or_absent() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("r");
        let files: [(&str, &[u8]); 2] = [("a.txt", b"one"), ("b.txt", b"two")];
        write_dir_whole(&dir, &files).unwrap();
        assert_eq!(std::fs::read(dir.join("b.txt")).unwrap(), b"two");
        // An existing report is updated file by file, other files kept.
        std::fs::write(dir.join("keep"), b"k").unwrap();
        write_dir_whole(&dir, &[("a.txt", b"new"), ("b.txt", b"2")]).unwrap();
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"new");
        assert!(dir.join("keep").exists());
        // A name taken by a directory: nothing changes, nothing is left, the path once.
        std::fs::create_dir(dir.join("c.txt")).unwrap();
        let e = write_dir_whole(&dir, &[("a.txt", b"x"), ("c.txt", b"y")]).unwrap_err();
        let msg = e.to_string();
        assert_eq!(msg.matches("c.txt").count(), 1, "{msg}");
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"new");
        // A file in the way of the directory: refused, no temporary left.
        let f = t.path().join("f");
        std::fs::write(&f, b"").unwrap();
        assert!(write_dir_whole(&f, &files).is_err());
        let names: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }
}
