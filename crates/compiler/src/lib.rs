//! amine-compiler: network programs → chip images.
//!
//! A user writes a network once, in physical units ([`program::Program`], RON; see
//! `docs/program-format.md`), and [`compile_file`] maps it onto any chip configuration,
//! returning the [`ChipImage`] and a [`CompileReport`] of what it cost in cores, memory,
//! precision and traffic — or an [`Error`] that says exactly why it does not fit.
//!
//! The pipeline is one pass per module under [`passes`], each reading and extending the
//! [`Compilation`] context, with the collecting [`verify`] step between passes:
//!
//! parse → validate → sigprop → expand → quantize → partition → place → route → eprop → emit
//!
//! **API boundary:** the compiler never runs a simulation. **Determinism:** every random
//! choice comes from seeded generators and no hash-map order reaches the output, so the
//! same program, chip and seed give a bit-identical image.
//!
//! ```
//! let chip = amine_chip::presets::preset("tiny").unwrap();
//! let text = r#"Program(name: "pair", populations: [
//!     (name: "a", size: 2, model: Lif(tau_syn: Steps(4), tau_mem: Steps(8), threshold: 100)),
//!   ],
//!   projections: [(from: "a", to: "a", connect: All, weight: Some(Const(3.0)))])"#;
//! let out = amine_compiler::compile_str(text, "pair.ron", std::path::Path::new("."), &chip).unwrap();
//! assert_eq!(out.report.synapses, 4);
//! assert_eq!(out.report.cores_used, 1);
//! ```

pub mod audit;
pub mod context;
pub mod conv;
pub mod csv;
pub mod error;
pub mod generate;
pub mod graph;
pub mod neurons;
pub mod passes;
pub mod positions;
pub mod program;
pub mod report;
pub mod summary;
pub mod system_report;
pub mod templates;
pub mod verify;

pub use context::Compilation;
pub use error::{Error, ErrorKind, LimitExceeded, Problem};
pub use report::CompileReport;

use amine_chip::image::VerifiedImage;
use amine_chip::system::SystemConfig;
use amine_chip::ChipConfig;
use program::MappingHints;
use std::path::Path;

/// The result of a successful compilation.
#[derive(Debug)]
pub struct Compiled {
    /// The image, checked with `ChipImage::verify` for the chip it was compiled for
    /// (so a simulator on that chip need not check it again).
    pub image: VerifiedImage,
    pub report: CompileReport,
    /// The context with every pass's analysis (for audits and tools).
    pub compilation: Compilation,
    /// Wall time of each step, in order: `parse` (when the compiler parsed the text),
    /// each pass, then `verify` (the verifier between passes, summed) and `report`.
    /// Measured for `--timings`; kept out of the report, which is deterministic.
    pub pass_times: Vec<(&'static str, std::time::Duration)>,
}

/// Compile the program file at `path` for `chip`.
pub fn compile_file(path: &Path, chip: &ChipConfig) -> Result<Compiled, Error> {
    compile_file_with(path, chip, MappingHints::default())
}

/// Compile the program file at `path` for `chip`, with `hints` added to the program's own
/// mapping hints (see [`MappingHints::merge`]; the command line's `--hints` and flags).
pub fn compile_file_with(
    path: &Path,
    chip: &ChipConfig,
    hints: MappingHints,
) -> Result<Compiled, Error> {
    let text = read_program(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    compile_str_with(&text, &path.display().to_string(), base, chip, hints)
}

/// Compile the program file at `path` for the multi-chip `system`, whose chip is `chip`
/// (resolved by the caller): the chips' meshes as one virtual mesh
/// ([`SystemConfig::virtual_chip`]), the placer charging every chip-to-chip link a route
/// crosses. A network the system cannot hold fails like one too big for a chip, with the
/// system's totals.
pub fn compile_file_on_system(
    path: &Path,
    system: &SystemConfig,
    chip: &ChipConfig,
    hints: MappingHints,
) -> Result<Compiled, Error> {
    let text = read_program(path)?;
    let base = path.parent().unwrap_or(Path::new("."));
    compile_str_on_system(
        &text,
        &path.display().to_string(),
        base,
        system,
        chip,
        hints,
    )
}

/// [`compile_file_on_system`] for program text.
pub fn compile_str_on_system(
    text: &str,
    origin: &str,
    base_dir: &Path,
    system: &SystemConfig,
    chip: &ChipConfig,
    hints: MappingHints,
) -> Result<Compiled, Error> {
    chip.validate()?;
    let (virtual_chip, layout) = system.virtual_chip(chip)?;
    let start = std::time::Instant::now();
    let mut c = passes::parse::run(text, origin, base_dir, virtual_chip)?;
    let parsed = start.elapsed();
    c.program.mapping.merge(hints);
    c.system = Some(layout);
    with_parse_time(compile(c), parsed)
}

/// `compiled` with the time parsing took as its first step.
fn with_parse_time(
    compiled: Result<Compiled, Error>,
    parsed: std::time::Duration,
) -> Result<Compiled, Error> {
    compiled.map(|mut c| {
        c.pass_times.insert(0, ("parse", parsed));
        c
    })
}

fn read_program(path: &Path) -> Result<String, Error> {
    Ok(amine_chip::bounded::read_text(
        path,
        "network program",
        amine_chip::bounded::limits::PROGRAM,
    )?)
}

/// Compile program text; `origin` names it in errors, CSV paths are relative to `base_dir`.
pub fn compile_str(
    text: &str,
    origin: &str,
    base_dir: &Path,
    chip: &ChipConfig,
) -> Result<Compiled, Error> {
    compile_str_with(text, origin, base_dir, chip, MappingHints::default())
}

/// [`compile_str`] with `hints` added to the program's mapping hints.
pub fn compile_str_with(
    text: &str,
    origin: &str,
    base_dir: &Path,
    chip: &ChipConfig,
    hints: MappingHints,
) -> Result<Compiled, Error> {
    chip.validate()?;
    let start = std::time::Instant::now();
    let mut c = passes::parse::run(text, origin, base_dir, chip.clone())?;
    let parsed = start.elapsed();
    c.program.mapping.merge(hints);
    with_parse_time(compile(c), parsed)
}

/// Compile an already parsed program.
pub fn compile_program(
    program: program::Program,
    base_dir: &Path,
    chip: &ChipConfig,
) -> Result<Compiled, Error> {
    chip.validate()?;
    let origin = program.name.clone();
    compile(passes::parse::from_program(
        program,
        &origin,
        base_dir,
        chip.clone(),
    )?)
}

/// Run every pass after parsing, with the verifier between passes.
pub fn compile(mut c: Compilation) -> Result<Compiled, Error> {
    let mut t = Times::default();
    pass(&mut c, &mut t, "validate", passes::validate::run)?;
    pass(&mut c, &mut t, "sigprop", passes::sigprop::run)?;
    pass(&mut c, &mut t, "expand", passes::expand::run)?;
    pass(&mut c, &mut t, "quantize", passes::quantize::run)?;
    pass(&mut c, &mut t, "partition", passes::partition::run)?;
    pass(&mut c, &mut t, "place", passes::place::run)?;
    pass(&mut c, &mut t, "route", passes::route::run)?;
    pass(&mut c, &mut t, "eprop", passes::eprop::run)?;
    pass(&mut c, &mut t, "emit", passes::emit::run)?;
    let image = c
        .image
        .take()
        .ok_or_else(|| Error::internal("emit", vec!["no image".into()]))?;
    // The emit verifier's load check: a problem is a compiler bug.
    let start = std::time::Instant::now();
    let image = image.into_verified(&c.chip).map_err(|problems| {
        Error::internal("emit", problems.iter().map(|x| x.to_string()).collect())
    })?;
    t.verify += start.elapsed();
    let start = std::time::Instant::now();
    let report = report::build(&c, &image);
    let verify = t.verify;
    let mut t = t.passes;
    t.push(("verify", verify));
    t.push(("report", start.elapsed()));
    Ok(Compiled {
        image,
        report,
        compilation: c,
        pass_times: t,
    })
}

/// Wall times of the passes, and of the verifier summed over them.
#[derive(Default)]
struct Times {
    passes: Vec<(&'static str, std::time::Duration)>,
    verify: std::time::Duration,
}

/// Run one pass, then the verifier; a verifier finding is an internal error.
fn pass(
    c: &mut Compilation,
    times: &mut Times,
    name: &'static str,
    run: fn(&mut Compilation) -> Result<(), Error>,
) -> Result<(), Error> {
    let start = std::time::Instant::now();
    run(c)?;
    let ran = std::time::Instant::now();
    times.passes.push((name, ran - start));
    let problems = verify::after(name, c);
    times.verify += ran.elapsed();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::internal(name, problems))
    }
}

/// Helpers shared by the passes' unit tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// The tiny preset, changed by `f`.
    pub fn chip(f: impl Fn(&mut ChipConfig)) -> ChipConfig {
        let mut c = amine_chip::presets::preset("tiny").unwrap();
        f(&mut c);
        c
    }

    /// A LIF population in RON.
    pub fn pop(name: &str, size: u32, sign: &str) -> String {
        format!("(name: \"{name}\", size: {size}, sign: {sign}, model: Lif(tau_syn: Steps(8), tau_mem: Steps(16), threshold: 100))")
    }

    /// A program from populations, inputs and projections written in RON.
    pub fn program(pops: &[String], inputs: &str, projections: &str) -> String {
        format!(
            "Program(name: \"t\", seed: 5, populations: [{}], inputs: [{inputs}], projections: [{projections}])",
            pops.join(", ")
        )
    }

    /// The error of a compilation that must fail (without printing a whole `Compiled`).
    pub fn err(r: Result<Compiled, Error>) -> Error {
        match r {
            Ok(c) => panic!(
                "compiled to {} cores; expected an error",
                c.report.cores_used
            ),
            Err(e) => e,
        }
    }

    pub fn compile_text(text: &str, chip: &ChipConfig) -> Result<Compiled, Error> {
        compile_str(text, "t.ron", Path::new("."), chip)
    }

    /// The limits named by a hardware-limit error.
    pub fn limits(e: &Error) -> Vec<String> {
        match e.kind() {
            ErrorKind::HardwareLimit(l) => l.iter().map(|x| x.limit.clone()).collect(),
            k => panic!("not a hardware limit: {k:?}"),
        }
    }
}
