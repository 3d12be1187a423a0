//! `amine nir show`: a NIR graph and what amine maps it to.

use crate::args::NirCommand;
use anyhow::Result;

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
            print!(
                "{}",
                amine_nir::show::render(&raw, &checked, Some(&lowered))
            );
            Ok(())
        }
    }
}
