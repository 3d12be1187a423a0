//! Writes the report files of a study saved as JSON (`amine train … --json`):
//! `eprop_report STUDY.json DIR`.
use amine_train::eprop::{report, EpropStudy};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&a[1]).expect("reading the study");
    let study: EpropStudy = serde_json::from_str(&text).expect("parsing the study");
    report::write_dir(&study, std::path::Path::new(&a[2])).expect("writing the report");
    print!("{}", report::summary_text(&study));
}
