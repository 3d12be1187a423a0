//! amine-sweep: what-if studies for hardware architects.
//!
//! - [`spec`]: a sweep — a grid or list over chip-config paths, program paths, chips
//!   and seeds — read from RON and checked point by point before anything runs;
//! - [`exec`]: runs it in parallel, compiling once per distinct chip structure (costs,
//!   static power and clock apply at run time), bit-identical for any thread count;
//! - [`rows`]: one table row per point with every reported figure (CSV and JSON);
//! - [`page`]: Pareto pictures (energy vs latency; energy vs accuracy for training)
//!   and the sweep's `report.html`;
//! - [`compare`]: one program on several chips side by side (`amine compare`).
//!
//! **API boundary:** a sweep only combines the compiler, the simulator and the
//! training protocols through their public entry points; it prices nothing itself.

pub mod compare;
pub mod exec;
pub mod page;
pub mod rows;
pub mod spec;

pub use exec::{Event, Figures, Outcome};
pub use spec::{Job, Sweep};

use amine_report::File;
use std::fmt;

/// One problem of a sweep specification, located by its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What can stop a sweep.
#[derive(Debug)]
pub enum Error {
    /// The specification (or a compare chip list) is wrong: every problem, by field.
    Spec {
        origin: String,
        problems: Vec<Problem>,
    },
    /// A file could not be read or written.
    Io { path: String, message: String },
    /// Something a sweep needs failed (a task's data, a program).
    Other(String),
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, e: &std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
    pub(crate) fn msg(m: String) -> Error {
        Error::Other(m)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spec { origin, problems } => {
                let n = problems.len();
                write!(
                    f,
                    "{origin}: {n} problem{}",
                    amine_chip::units::plural_s(n as u64)
                )?;
                for p in problems {
                    if p.field.is_empty() {
                        write!(f, "\n  - {}", p.message)?;
                    } else {
                        write!(f, "\n  - `{}`: {}", p.field, p.message)?;
                    }
                }
                Ok(())
            }
            Error::Io { path, message } => write!(f, "{path}: {message}"),
            Error::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Every file of a sweep's report: `table.csv`, `table.json`, the Pareto pictures
/// and `report.html`; `spec_text` is the spec as written (shown in the page).
pub fn sweep_files(sweep: &Sweep, outcomes: &[Outcome], spec_text: &str) -> Vec<File> {
    let rows = rows::rows(sweep, outcomes);
    let pictures = page::pictures(sweep, &rows);
    let mut files = vec![
        File::new("table.csv", rows::table(&rows).to_csv()),
        File::new("table.json", rows::to_json(&rows)),
        File::new(
            "report.html",
            page::html(sweep, outcomes, &rows, &pictures, spec_text),
        ),
    ];
    files.extend(pictures.into_iter().map(|(n, s, _)| File::new(n, s)));
    files
}

/// Every file of a comparison's report: `table.csv`, `table.json`, `comparison.txt`,
/// the pictures and `report.html`.
pub fn compare_files(sweep: &Sweep, outcomes: &[Outcome]) -> Vec<File> {
    let rows = rows::rows(sweep, outcomes);
    let mut pictures = compare::pictures(sweep, outcomes, &rows);
    pictures.extend(page::pictures(sweep, &rows).into_iter().take(1));
    let mut files = vec![
        File::new("table.csv", rows::table(&rows).to_csv()),
        File::new("table.json", rows::to_json(&rows)),
        File::new(
            "comparison.txt",
            compare::table(sweep, outcomes, &rows).to_text(),
        ),
        File::new(
            "report.html",
            compare::html(sweep, outcomes, &rows, &pictures),
        ),
    ];
    files.extend(pictures.into_iter().map(|(n, s, _)| File::new(n, s)));
    files
}
