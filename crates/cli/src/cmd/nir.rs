//! `amine nir show`: a NIR graph and what amine maps it to; `amine nir export`: a
//! program or image as a NIR graph.

use crate::args::NirCommand;
use anyhow::{Context, Result};

pub fn run(command: NirCommand) -> Result<()> {
    match command {
        NirCommand::Show { file, dt } => {
            let raw = amine_nir::hdf5::read(&file)?;
            let checked = amine_nir::validate::check(&raw)?;
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let lowered = amine_nir::lower::lower(&checked, dt, &name)?;
            out!(
                "{}",
                amine_nir::show::render(&raw, &checked, Some(&lowered))
            );
            Ok(())
        }
        NirCommand::Export {
            target,
            output,
            chip,
            dt,
        } => {
            let chip = amine_chip::presets::resolve(&chip)?;
            let loaded =
                super::run::load(&target, &chip, None, &crate::args::MappingArgs::default())?;
            let dt = dt.unwrap_or(loaded.dt_s);
            let exported = amine_nir::export::from_image(&loaded.image, dt)
                .with_context(|| format!("exporting {}", target.display()))?;
            amine_nir::write::write(&exported.graph, &output)?;
            for n in &exported.notes {
                errln!("note: {n}");
            }
            let g = &exported.graph;
            outln!(
                "wrote {} ({} nodes, {} edges, dt = {dt} s)",
                output.display(),
                g.nodes.len(),
                g.edges.len()
            );
            Ok(())
        }
    }
}
