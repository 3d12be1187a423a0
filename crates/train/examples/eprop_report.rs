//! Writes the report files of a study saved as JSON (`amine train … --json`):
//! `eprop_report STUDY.json DIR [CHIP]`, CHIP the chip configuration the study ran on
//! (a preset or a file; default: the preset of the study's chip name).
use amine_train::eprop::{report, EpropStudy};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&a[1]).expect("reading the study");
    let study: EpropStudy = serde_json::from_str(&text).expect("parsing the study");
    let chip = amine_chip::presets::resolve(a.get(3).unwrap_or(&study.chip.name))
        .expect("the study's chip configuration");
    report::write_dir(&study, std::path::Path::new(&a[2]), &chip).expect("writing the report");
    print!("{}", report::summary_text(&study));
}
