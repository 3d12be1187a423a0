//! amine-report: the one place where amine's reports become files.
//!
//! - [`plot`]: every picture (SVG through the `plotters` crate's SVG backend): line
//!   charts with bands, scatter plots with a Pareto front, heatmaps of cores on the mesh
//!   and of modulator fields, spike rasters and stacked bars — with axis titles and
//!   units, colour scales anchored at zero and readable tick labels;
//! - [`table`]: tables as CSV (the `csv` crate), HTML and terminal text;
//! - [`npy`]: arrays as NPY files (NumPy's format) for recordings too large for CSV;
//! - [`html`]: one self-contained `report.html` per report (no external file, no script
//!   needed), with the configuration, the tables and every picture;
//! - [`dir`]: report directories written whole or not at all.
//!
//! **API boundary:** this crate knows nothing of chips, runs or training; the crates
//! that own a report turn it into tables, pictures and pages through this one.

pub mod dir;
pub mod html;
pub mod npy;
pub mod plot;
pub mod table;

pub use dir::{write_dir, File};
pub use html::Page;
pub use table::Table;

use std::path::Path;

/// A report could not be written: the path and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub path: String,
    pub message: String,
}

impl Error {
    pub fn new(path: &Path, message: impl Into<String>) -> Error {
        Error {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
    pub fn io(path: &Path, e: &std::io::Error) -> Error {
        Error::new(path, e.to_string())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for Error {}

/// Escape text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
