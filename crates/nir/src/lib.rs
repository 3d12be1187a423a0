//! amine-nir: networks from the NIR ecosystem (Neuromorphic Intermediate Representation)
//! as amine network programs.
//!
//! Three steps, one module each: [`hdf5`] reads a `.nir` file into a plain [`NirGraph`];
//! [`validate`] flattens nested graphs, infers shapes and collects every problem (each
//! naming its node); [`lower`] discretises the neuron equations with a step `dt` and maps
//! the graph onto a [`Program`] — neuron nodes to compartments, chains of linear nodes to
//! sparse projections, Input nodes to input ports, Output nodes to probes. [`show`]
//! prints a graph and its mapping. See `docs/nir.md`.
//!
//! **API boundary:** the importer never simulates and never compiles; it only produces a
//! `Program`, which the compiler treats like any RON program.
//!
//! ```no_run
//! let imported = amine_nir::import(std::path::Path::new("net.nir"), 1e-3).unwrap();
//! let chip = amine_chip::presets::preset("loihi").unwrap();
//! let out = amine_compiler::compile_program(imported.program, std::path::Path::new("."), &chip);
//! ```

mod conv;
pub mod error;
pub mod export;
pub mod graph;
pub mod h5file;
pub mod hdf5;
pub mod lower;
pub mod ops;
pub mod show;
pub mod validate;
pub mod write;

pub use error::{Error, ErrorKind};
pub use graph::{NirGraph, NirNode, Tensor};
pub use lower::{Lowered, NodeMap, Role};

use amine_compiler::program::Program;
use std::path::Path;

/// Read, check and lower the NIR file at `path` with step `dt` seconds.
pub fn import(path: &Path, dt: f64) -> Result<Lowered, Error> {
    let graph = hdf5::read(path)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nir".into());
    import_graph(&graph, dt, &name)
}

/// Check and lower an in-memory graph.
pub fn import_graph(graph: &NirGraph, dt: f64, name: &str) -> Result<Lowered, Error> {
    let checked = validate::check(graph)?;
    lower::lower(&checked, dt, name)
}

/// Just the program of [`import`].
pub fn program(path: &Path, dt: f64) -> Result<Program, Error> {
    import(path, dt).map(|l| l.program)
}

/// True for paths amine routes through the importer (`.nir`, any case).
pub fn is_nir_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("nir"))
}
