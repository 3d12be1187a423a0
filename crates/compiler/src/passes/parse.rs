//! Pass 1, parse: program text → [`Program`], plus every CSV file it references.
//!
//! All syntax lives here: RON errors come back with file:line:col and the field path
//! (through `amine_chip::textfmt`), CSV errors with file:line:col of the bad field. Paths
//! in the program are relative to the program file's folder. Meaning (names, sizes,
//! ranges) is the next pass's business.

use crate::context::Compilation;
use crate::csv;
use crate::error::Error;
use crate::program::{Connect, Program, Source};
use amine_chip::ChipConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Parse `text` (named `origin` in errors) and read its CSV files from `base_dir`.
pub fn run(
    text: &str,
    origin: &str,
    base_dir: &Path,
    chip: ChipConfig,
) -> Result<Compilation, Error> {
    let program = Program::from_ron(text, origin)?;
    from_program(program, origin, base_dir, chip)
}

/// Start a compilation from an already parsed program (its CSV files are still read).
pub fn from_program(
    program: Program,
    origin: &str,
    base_dir: &Path,
    chip: ChipConfig,
) -> Result<Compilation, Error> {
    let mut synapse_files = BTreeMap::new();
    let mut spike_files = BTreeMap::new();
    for p in &program.projections {
        if let Connect::File(rel) = &p.connect {
            if !synapse_files.contains_key(rel) {
                let (text, name) = read(base_dir, rel)?;
                synapse_files.insert(rel.clone(), csv::parse_synapses(&text, &name)?);
            }
        }
    }
    for i in &program.inputs {
        if let Source::File(rel) = &i.source {
            if !spike_files.contains_key(rel) {
                let (text, name) = read(base_dir, rel)?;
                spike_files.insert(rel.clone(), csv::parse_spikes(&text, &name)?);
            }
        }
    }
    Ok(Compilation {
        origin: origin.to_string(),
        base_dir: base_dir.to_path_buf(),
        program,
        chip,
        synapse_files,
        spike_files,
        nodes: Vec::new(),
        params: Vec::new(),
        net: None,
        quant: None,
        partition: None,
        placement: None,
        routing: None,
        eprop: None,
        sigprop: None,
        image: None,
        system: None,
    })
}

fn read(base_dir: &Path, rel: &str) -> Result<(String, String), Error> {
    let path: PathBuf = base_dir.join(rel);
    let text = csv::read_text(&path)?;
    Ok((text, path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn tiny() -> ChipConfig {
        amine_chip::presets::preset("tiny").unwrap()
    }

    #[test]
    fn syntax_error_is_located() {
        let text = "Program(\n  name: \"x\",\n  populations: [],\n  projections: 5,\n)";
        let e = run(text, "p.ron", Path::new("."), tiny()).unwrap_err();
        match e.kind() {
            ErrorKind::Syntax(s) => {
                assert_eq!(s.line, 4, "{e}");
                assert_eq!(s.field.as_deref(), Some("projections"), "{e}");
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn csv_files_are_read_relative_to_the_program() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.csv"), "0,0,1.5\n").unwrap();
        let text = r#"Program(name: "x", populations: [Population(name: "a", size: 1,
            model: Lif(tau_syn: Steps(1), tau_mem: Steps(1), threshold: 1))],
            projections: [Projection(from: "a", to: "a", connect: File("c.csv"))])"#;
        let c = run(text, "p.ron", dir.path(), tiny()).unwrap();
        assert_eq!(c.synapse_files["c.csv"].synapses.len(), 1);
        let missing = text.replace("c.csv", "nope.csv");
        let e = run(&missing, "p.ron", dir.path(), tiny()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Io { .. }), "{e}");
        assert!(e.to_string().contains("nope.csv"), "{e}");
    }
}
