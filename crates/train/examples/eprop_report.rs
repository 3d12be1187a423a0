//! Writes the report files of a study saved as JSON (`amine train … --json`):
//! `eprop_report STUDY.json DIR [CHIP]`, CHIP the chip configuration the study ran on
//! (a preset or a file; default: the preset of the study's chip name). Bad arguments or
//! a study this build cannot read end with a message naming the file and exit code 2.
use amine_train::eprop::{report, EpropStudy};

fn main() {
    if let Err(e) = run() {
        eprintln!("eprop_report: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let a: Vec<String> = std::env::args().collect();
    let (study_path, dir) = match (a.get(1), a.get(2)) {
        (Some(s), Some(d)) => (s, d),
        _ => return Err("usage: eprop_report STUDY.json DIR [CHIP]".into()),
    };
    let text = std::fs::read_to_string(study_path).map_err(|e| format!("{study_path}: {e}"))?;
    let study: EpropStudy = serde_json::from_str(&text)
        .map_err(|e| format!("{study_path}: not a study this build reads: {e}"))?;
    let chip_name = a.get(3).unwrap_or(&study.chip.name);
    let chip = amine_chip::presets::resolve(chip_name)
        .map_err(|e| format!("chip configuration {chip_name}: {e}"))?;
    report::write_dir(&study, std::path::Path::new(dir), &chip)
        .map_err(|e| format!("writing the report to {dir}: {e}"))?;
    print!("{}", report::summary_text(&study));
    Ok(())
}
