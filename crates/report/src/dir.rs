//! Report directories that are whole or absent — the one writer of every amine report
//! directory (`amine run`, `amine train`, `amine sweep`, `amine compare`).
//!
//! [`write_dir`] builds every file of a report (each synced to disk) in a temporary
//! sibling directory and renames it into place only once every file is complete, so a
//! failed or interrupted write never leaves a half-written report, and on any error the
//! temporary is removed. A directory that is already there is replaced only if it is
//! empty or is an earlier amine report (it holds `report.json` or `report.html`);
//! anything else is refused, so `--report ~` cannot delete a home directory.
//! [`check_target`] applies the same rule up front, so a long run can refuse a bad
//! target before it starts. Errors name the path the user asked for (the directory, or
//! the file in it), once — never the temporary.

use crate::Error;
use std::path::{Path, PathBuf};

/// Files that mark a directory as an amine report, which may be replaced.
pub const MARKERS: &[&str] = &["report.json", "report.html"];

/// One file of a report: a relative path (`/` separates subdirectories) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl File {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> File {
        File {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// Whether `dir` can receive a report: absent, an empty directory, or an earlier report.
pub fn check_target(dir: &Path) -> Result<(), Error> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(Error::new(dir, "exists and is not a directory"));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
    if entries.next().is_none() || MARKERS.iter().any(|m| dir.join(m).is_file()) {
        return Ok(());
    }
    Err(Error::new(
        dir,
        "is a directory with other files in it and no report.json or report.html: \
         give a new or empty directory (an earlier report is replaced whole)",
    ))
}

fn sibling(dir: &Path, what: &str) -> Result<PathBuf, Error> {
    let name = dir
        .file_name()
        .ok_or_else(|| Error::new(dir, "a report directory needs a name"))?
        .to_string_lossy();
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{name}.{what}-{}", std::process::id())))
}

/// Write `files` as the directory `dir`, whole or not at all (see the module docs).
pub fn write_dir(dir: &Path, files: &[File]) -> Result<(), Error> {
    check_target(dir)?;
    for f in files {
        let p = Path::new(&f.name);
        let ok = !f.name.is_empty()
            && p.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !ok {
            return Err(Error::new(
                dir,
                format!("`{}` is not a relative file name", f.name),
            ));
        }
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    let tmp = sibling(dir, "tmp")?;
    let _ = std::fs::remove_dir_all(&tmp);
    let built = (|| {
        // Named as the directory asked for, not the temporary.
        std::fs::create_dir(&tmp).map_err(|e| Error::io(dir, &e))?;
        for f in files {
            let path = tmp.join(&f.name);
            let shown = dir.join(&f.name);
            if let Some(p) = path.parent() {
                std::fs::create_dir_all(p).map_err(|e| Error::io(&shown, &e))?;
            }
            write_synced(&path, &f.bytes).map_err(|e| Error::io(&shown, &e))?;
        }
        replace(dir, &tmp)
    })();
    if built.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    built
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Put the finished `tmp` where `dir` is: the old report moves aside, the new one
/// takes its name, the old one goes.
fn replace(dir: &Path, tmp: &Path) -> Result<(), Error> {
    if !dir.exists() {
        return std::fs::rename(tmp, dir).map_err(|e| Error::io(dir, &e));
    }
    let old = sibling(dir, "old")?;
    let _ = std::fs::remove_dir_all(&old);
    std::fs::rename(dir, &old).map_err(|e| Error::io(dir, &e))?;
    if let Err(e) = std::fs::rename(tmp, dir) {
        // Put the old report back: the directory is as it was.
        let _ = std::fs::rename(&old, dir);
        return Err(Error::io(dir, &e));
    }
    std::fs::remove_dir_all(&old).map_err(|e| {
        Error::new(
            dir,
            format!("the report is written, but its predecessor could not be removed: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replaces_and_leaves_no_temporary() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        write_dir(
            &dir,
            &[File::new("report.json", "{}"), File::new("a/b.csv", "x\n")],
        )
        .unwrap();
        assert_eq!(names(&dir), ["a", "report.json"]);
        assert_eq!(std::fs::read_to_string(dir.join("a/b.csv")).unwrap(), "x\n");
        // An earlier report is replaced whole: files it had and the new one lacks go.
        write_dir(&dir, &[File::new("report.json", "{\"v\": 2}")]).unwrap();
        assert_eq!(names(&dir), ["report.json"]);
        assert_eq!(
            names(root.path()),
            ["out"],
            "no temporary or old directory is left"
        );
    }

    #[test]
    fn refuses_a_directory_that_is_not_a_report() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("notes.txt"), "mine").unwrap();
        let e = write_dir(root.path(), &[File::new("report.json", "{}")]).unwrap_err();
        assert!(
            e.to_string().contains("no report.json or report.html"),
            "{e}"
        );
        assert_eq!(names(root.path()), ["notes.txt"]);
        let file = root.path().join("notes.txt");
        assert!(check_target(&file)
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
    }

    #[test]
    fn a_write_failing_midway_leaves_nothing_and_names_the_path_once() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        // `a` is a file, so `a/b.csv` cannot be created after it.
        let e = write_dir(&dir, &[File::new("a", "1"), File::new("a/b.csv", "x")])
            .unwrap_err()
            .to_string();
        assert_eq!(e.matches("out").count(), 1, "{e}");
        assert!(e.contains("a/b.csv") && !e.contains(".out.tmp"), "{e}");
        assert_eq!(names(root.path()), Vec::<String>::new(), "nothing is left");
        // An earlier report stays as it was.
        write_dir(&dir, &[File::new("report.json", "{}")]).unwrap();
        assert!(write_dir(&dir, &[File::new("a", "1"), File::new("a/b", "x")]).is_err());
        assert_eq!(names(&dir), ["report.json"]);
        assert_eq!(names(root.path()), ["out"]);
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let e = write_dir(
            &dir,
            &[File::new("ok.csv", "1"), File::new("../escape", "x")],
        );
        assert!(e.is_err());
        assert!(!dir.exists());
        assert_eq!(names(root.path()), Vec::<String>::new());
    }
}
