//! `amine compile`: program + chip → chip image and compile report.

use crate::args::MappingArgs;
use amine_chip::presets::{self, Resolved};
use amine_chip::{error::write_atomically, ChipConfig};
use amine_compiler::program::MappingHints;
use amine_compiler::Compiled;
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Instant;

/// What `amine compile` maps onto: `--chip` or `--system`.
pub enum Target<'a> {
    Chip(&'a str),
    System(&'a str),
}

impl<'a> Target<'a> {
    pub fn from_args(chip: Option<&'a str>, system: Option<&'a str>) -> Result<Target<'a>> {
        match (chip, system) {
            (Some(c), None) => Ok(Target::Chip(c)),
            (None, Some(s)) => Ok(Target::System(s)),
            _ => anyhow::bail!("give exactly one of --chip and --system"),
        }
    }
}

pub fn run(
    program: &Path,
    target: Target,
    sets: &[String],
    output: &Path,
    json: Option<&Path>,
    dt: Option<f64>,
    mapping: &MappingArgs,
) -> Result<()> {
    let hints = mapping.hints()?;
    let start = Instant::now();
    let compiled = match target {
        Target::Chip(chip) => {
            let config = resolve_chip(chip, sets)?.config;
            if amine_nir::is_nir_path(program) {
                compile_nir(program, &config, dt, hints)?
            } else {
                amine_compiler::compile_file_with(program, &config, hints)?
            }
        }
        Target::System(name) => {
            let system = crate::cmd::chip::resolve_system(name)?;
            let config = resolve_chip(&system.chip, sets).with_context(|| {
                format!("the chip `{}` of system `{}`", system.chip, system.name)
            })?;
            anyhow::ensure!(
                !amine_nir::is_nir_path(program),
                "--system takes a network program; a NIR file is compiled with --chip only"
            );
            amine_compiler::compile_file_on_system(program, &system, &config.config, hints)?
        }
    };
    let elapsed = start.elapsed();
    // Both outputs are prepared before either is written, and written atomically.
    let report_json = serde_json::to_vec_pretty(&compiled.report)?;
    compiled.image.save(output)?;
    if let Some(path) = json {
        if let Err(e) = write_atomically(path, &report_json) {
            // No half-finished result: the image goes too.
            let _ = std::fs::remove_file(output);
            return Err(e).context("writing the JSON report");
        }
    }
    out!("{}", compiled.report.text());
    let passes: Vec<String> = compiled
        .pass_times
        .iter()
        .map(|(name, t)| format!("{name} {:.1}", t.as_secs_f64() * 1e3))
        .collect();
    outln!("passes (ms): {}", passes.join(", "));
    outln!(
        "wrote {} ({} bytes) in {:.1} ms",
        output.display(),
        std::fs::metadata(output).map(|m| m.len()).unwrap_or(0),
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Import the NIR file at `path` with step `dt` (seconds, required) and compile it for
/// `chip` with `hints` added to its mapping, like any program. Shared by `amine compile`
/// and `amine run`.
pub fn compile_nir(
    path: &Path,
    chip: &ChipConfig,
    dt: Option<f64>,
    hints: MappingHints,
) -> Result<Compiled> {
    let dt = dt.context("a NIR file needs --dt <seconds> (the discretisation step)")?;
    let mut p = amine_nir::program(path, dt)?;
    p.mapping.merge(hints);
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(amine_compiler::compile_program(p, base, chip)?)
}

/// `--chip` with its `--set` overrides, checked before anything runs.
pub fn resolve_chip(chip: &str, sets: &[String]) -> Result<Resolved> {
    let sets = amine_chip::overrides::parse_all(sets)?;
    Ok(presets::resolve_with(chip, &sets)?)
}
