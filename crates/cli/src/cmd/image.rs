//! `amine image show`: a chip image back to a readable summary.

use crate::args::ImageCommand;
use amine_chip::image::ChipImage;
use amine_chip::presets;
use amine_compiler::summary::ImageSummary;
use anyhow::{bail, Result};

pub fn run(command: ImageCommand) -> Result<()> {
    match command {
        ImageCommand::Show { image, chip, json } => {
            let img = ChipImage::load(&image)?;
            let config = chip.as_deref().map(presets::resolve).transpose()?;
            if let Some(c) = &config {
                let problems = img.verify(c);
                if !problems.is_empty() {
                    let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
                    bail!(
                        "{}: does not load on chip `{}`:\n{}",
                        image.display(),
                        c.name,
                        list.join("\n")
                    );
                }
            }
            let summary = ImageSummary::of(&img, config.as_ref());
            if json {
                outln!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                out!("{}", summary.text());
            }
            Ok(())
        }
    }
}
