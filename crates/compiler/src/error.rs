//! The error type of amine-compiler.
//!
//! Every failure of a compilation is one [`Error`] whose [`ErrorKind`] says what class of
//! problem it is, so callers (the CLI, tests) can react to the kind and users read one
//! message that says where the problem is and how to fix it. Nothing in the compiler
//! panics on bad input: it ends in one of these variants.

use amine_chip::textfmt::SourceError;
use std::fmt;

/// An error from amine-compiler. Inspect it through [`Error::kind`].
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The program's RON text does not parse: file:line:col and the field path.
    Syntax(SourceError),
    /// A CSV file (connectivity or spike train) is malformed at file:line:col.
    Csv(SourceError),
    /// The program parsed but is inconsistent (names, sizes, shapes, Dale's principle,
    /// out-of-range parameters). Every problem is listed, each located by its field path
    /// in the program (or file:line:col for data read from CSV).
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
    /// The program does not fit the chip. Every violated limit is listed.
    HardwareLimit(Vec<LimitExceeded>),
    /// A file could not be read or written.
    Io { path: String, message: String },
    /// The chip configuration could not be resolved or is invalid.
    Chip(amine_chip::Error),
    /// A pass produced something the next verifier rejects: a compiler bug, never the
    /// user's fault. Every problem the verifier found is listed.
    Internal { pass: String, problems: Vec<String> },
}

/// One located problem of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: a dotted field path (`projections[2].weight`) or `file.csv:12:5`.
    pub at: String,
    pub message: String,
}

/// One hardware limit a program exceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit, as named in the chip configuration (`core.input_axons`).
    pub limit: String,
    /// What needs it: `population \`hidden\` neuron 17`.
    pub what: String,
    /// The value needed.
    pub needed: u64,
    /// The value the chip provides.
    pub available: u64,
    /// The chip's name.
    pub chip: String,
    /// How to make it fit.
    pub fix: String,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind: Box::new(kind),
        }
    }
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
    pub fn invalid(origin: impl Into<String>, problems: Vec<Problem>) -> Error {
        Error::new(ErrorKind::Invalid {
            origin: origin.into(),
            problems,
        })
    }
    pub fn limit(l: LimitExceeded) -> Error {
        Error::new(ErrorKind::HardwareLimit(vec![l]))
    }
    pub fn internal(pass: &str, problems: Vec<String>) -> Error {
        Error::new(ErrorKind::Internal {
            pass: pass.into(),
            problems,
        })
    }
}

impl From<amine_chip::Error> for Error {
    fn from(e: amine_chip::Error) -> Error {
        // A file amine-chip's bounded reader refused is an I/O problem here too.
        if let amine_chip::error::ErrorKind::Io { path, message } = e.kind() {
            return Error::new(ErrorKind::Io {
                path: path.clone(),
                message: message.clone(),
            });
        }
        Error::new(ErrorKind::Chip(e))
    }
}

impl Problem {
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// 131072 → "131,072", as every figure in messages and reports is printed.
pub use amine_chip::units::group_digits as group;
pub use amine_chip::units::plural_s;

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} needs {} {}; {} allows {} — {}",
            self.what,
            group(self.needed),
            limit_noun(&self.limit),
            self.chip,
            group(self.available),
            self.fix
        )
    }
}

/// How a limit reads in a sentence ("5,000 input axons on one core (core.input_axons)").
fn limit_noun(limit: &str) -> String {
    let noun = match limit {
        "core.compartments" => "compartments on one core",
        "core.input_axons" => "input axons on one core",
        "core.output_axons" => "output axons on one core",
        "core.synapse_memory_bits" => "bits of synapse memory on one core",
        "core.max_delay_bits" => "delay bits",
        "core.weight_bits" => "weight bits",
        "core.neuron_models" => "neuron model",
        "chip.cores" => "cores",
        "chip.compartments" => "compartments in all",
        "chip.synapse_memory_bits" => "bits of synapse memory in all",
        "modulator.channels" => "modulator channels",
        "learning.enabled" => "learning engine",
        "core.population" => "population axons",
        "core.population.max_atoms" => "atoms on one population axon",
        "learning" => "learning on a shared kernel",
        "shared.recurrent" => "target packed before its source",
        "shared.layout" => "output shape for one target",
        "mapping.colocate" => "colocation",
        "mapping.cores" => "cores from the hint",
        "mapping.max_per_core" => "neurons of the population on one core",
        "mapping.max_compartments_per_core" => "compartments on one core from the hint",
        _ => "",
    };
    if noun.is_empty() {
        format!("({limit})")
    } else {
        format!("{noun} ({limit})")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Syntax(e) | ErrorKind::Csv(e) => write!(f, "{e}"),
            ErrorKind::Invalid { origin, problems } => {
                let n = problems.len();
                write!(f, "{origin}: {n} problem{}", plural_s(n as u64))?;
                for p in problems {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
            ErrorKind::HardwareLimit(limits) => {
                if let [one] = limits.as_slice() {
                    return write!(f, "does not fit: {one}");
                }
                write!(f, "does not fit: {} limits exceeded", limits.len())?;
                for l in limits {
                    write!(f, "\n  - {l}")?;
                }
                Ok(())
            }
            ErrorKind::Io { path, message } => write!(f, "{path}: {message}"),
            ErrorKind::Chip(e) => write!(f, "{e}"),
            ErrorKind::Internal { pass, problems } => {
                write!(
                    f,
                    "internal compiler error after pass `{pass}` (please report it): {} problem{}",
                    problems.len(),
                    plural_s(problems.len() as u64)
                )?;
                for p in problems.iter().take(20) {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_message_names_limit_needed_available_and_fix() {
        let e = Error::limit(LimitExceeded {
            limit: "core.input_axons".into(),
            what: "population `hidden` neuron 3".into(),
            needed: 5000,
            available: 4096,
            chip: "loihi".into(),
            fix: "split it or lower fan-in".into(),
        });
        let s = e.to_string();
        assert!(s.contains("5,000 input axons on one core"), "{s}");
        assert!(s.contains("loihi allows 4,096"), "{s}");
        assert!(s.contains("split it"), "{s}");
    }

    #[test]
    fn invalid_lists_every_problem() {
        let e = Error::invalid(
            "p.ron",
            vec![Problem::new("a", "x"), Problem::new("b", "y")],
        );
        let s = e.to_string();
        assert!(s.starts_with("p.ron: 2 problems"), "{s}");
        assert!(s.contains("\n  - a: x") && s.contains("\n  - b: y"), "{s}");
    }
}
