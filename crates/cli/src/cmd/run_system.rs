//! `amine run --system`: the system's chip as one virtual mesh, a program compiled over
//! it, and the check that an image was compiled for this system's layout and chip.

use crate::args::MappingArgs;
use amine_chip::image::{ChipImage, ChipStamp};
use amine_chip::presets::Resolved;
use amine_chip::system::SystemConfig;
use amine_chip::system_layout::SystemLayout;
use anyhow::{Context, Result};
use std::io::Read;
use std::path::Path;
use std::time::Instant;

/// A system named on the command line, its chip with `sets` applied, and that chip
/// repeated over the system as one virtual chip.
pub struct OnSystem {
    pub system: SystemConfig,
    /// The system's chip (one position).
    pub chip: Resolved,
    /// The virtual chip every image for this system is compiled for and runs on.
    pub virtual_chip: Resolved,
    pub layout: SystemLayout,
}

/// Resolve `--system NAME|FILE` and its chip, with `--set` overrides.
pub fn resolve(name: &str, sets: &[String]) -> Result<OnSystem> {
    let system = super::chip::resolve_system(name)?;
    let chip = super::compile::resolve_chip(&system.chip, sets)
        .with_context(|| format!("the chip `{}` of system `{}`", system.chip, system.name))?;
    let (virtual_chip, layout) = chip.on_system(&system)?;
    Ok(OnSystem {
        system,
        chip,
        virtual_chip,
        layout,
    })
}

/// Load an image, or compile a program over the system (a NIR file is refused, as
/// `amine compile --system` does).
pub fn load(path: &Path, on: &OnSystem, mapping: &MappingArgs) -> Result<super::run::Loaded> {
    anyhow::ensure!(
        !amine_nir::is_nir_path(path),
        "--system takes a network program or an image; a NIR file runs with --chip only"
    );
    let mut head = Vec::new();
    std::fs::File::open(path)
        .with_context(|| format!("reading {}", path.display()))?
        .take(64 << 10)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    if !super::run::is_program(&String::from_utf8_lossy(&head)) {
        return super::run::load(path, &on.virtual_chip.config, None, mapping);
    }
    let start = Instant::now();
    let compiled = amine_compiler::compile_file_on_system(
        path,
        &on.system,
        &on.chip.config,
        mapping.hints()?,
    )?;
    Ok(super::run::Loaded::compiled(compiled, start))
}

/// An image runs on the system (or chip) it was compiled for, or on one of the same
/// chip structure and layout (link and cost figures may differ): anything else is an
/// error saying what the image was compiled for and how to run it.
pub fn check_target(
    image: &ChipImage,
    target: &Path,
    on: Option<&OnSystem>,
    chip: &Resolved,
) -> Result<()> {
    if image.chip.same_structure(&ChipStamp::of(&chip.config)) {
        return Ok(());
    }
    let t = target.display();
    let compiled_for = &image.chip.name;
    match on {
        Some(on) => anyhow::bail!(
            "{t} was compiled for `{compiled_for}`, not for system `{}` ({} chips of `{}` as a {} × {} mesh of chips): \
             an image runs on the system it was compiled for (or one with the same layout and chip); \
             compile the program again with --system {}",
            on.system.name,
            on.layout.chips(),
            on.chip.config.name,
            on.layout.chips_x,
            on.layout.chips_y,
            on.system.name
        ),
        None => {
            // The verifier's message names the sections that differ.
            let why = image
                .verify(&chip.config)
                .into_iter()
                .next()
                .map_or_else(String::new, |p| format!(" ({})", p.message));
            anyhow::bail!(
                "{t} was compiled for `{compiled_for}`, not for chip `{}`{why}; an image compiled \
                 for a multi-chip system runs with --system <that system>",
                chip.config.name
            )
        }
    }
}
