//! The two CSV formats a program may reference, read with amine's one CSV reader
//! ([`amine_chip::csvread`]: `#` comments, blank lines, an optional header, trimmed
//! fields, quotes):
//!
//! - connectivity: `pre,post,weight[,delay]` — one synapse per line;
//! - spike trains: `step,index` — one spike per line.
//!
//! A malformed field is an [`ErrorKind::Csv`] error at file:line:col of that field, so
//! a user can jump straight to it.

use crate::error::{Error, ErrorKind};
use amine_chip::csvread::{self, Record};
use amine_chip::textfmt::SourceError;
use std::path::Path;

/// One synapse read from a connectivity file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsvSynapse {
    pub pre: u32,
    pub post: u32,
    pub weight: f64,
    pub delay: Option<u32>,
    /// 1-based line, for later (semantic) errors.
    pub line: u32,
}

/// A parsed connectivity file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynapseTable {
    pub origin: String,
    pub synapses: Vec<CsvSynapse>,
}

/// A parsed spike-train file: `(step, index, line)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpikeTable {
    pub origin: String,
    pub spikes: Vec<(u32, u32, u32)>,
}

fn csv_error(e: SourceError) -> Error {
    Error::new(ErrorKind::Csv(e))
}

/// The records of `text`, each with between `min` and `max` fields.
fn records(
    text: &str,
    origin: &str,
    min: usize,
    max: usize,
    form: &str,
) -> Result<Vec<Record>, Error> {
    let file = csvread::read(text, origin).map_err(csv_error)?;
    for r in &file.records {
        let n = r.fields.len();
        if n < min || n > max {
            let at = if n > max { max } else { n.saturating_sub(1) };
            let expected = if min == max {
                format!("{min}")
            } else {
                format!("{min} or {max}")
            };
            return Err(csv_error(r.error(
                origin,
                at,
                format!("expected {expected} fields `{form}`, found {n}"),
            )));
        }
    }
    Ok(file.records)
}

const U32: &str = "(a whole number in 0..=4294967295)";

/// Parse a connectivity CSV (`pre,post,weight[,delay]`).
pub fn parse_synapses(text: &str, origin: &str) -> Result<SynapseTable, Error> {
    let mut synapses = Vec::new();
    for r in records(text, origin, 3, 4, "pre,post,weight[,delay]")? {
        let pre = r
            .parse(origin, 0, &format!("presynaptic index {U32}"))
            .map_err(csv_error)?;
        let post = r
            .parse(origin, 1, &format!("postsynaptic index {U32}"))
            .map_err(csv_error)?;
        let weight: f64 = r.parse(origin, 2, "weight").map_err(csv_error)?;
        if !weight.is_finite() {
            return Err(csv_error(r.error(
                origin,
                2,
                format!("`{}` is not a finite weight", r.fields[2].text),
            )));
        }
        let delay = match r.fields.len() {
            4 => Some(
                r.parse(origin, 3, &format!("delay {U32}"))
                    .map_err(csv_error)?,
            ),
            _ => None,
        };
        synapses.push(CsvSynapse {
            pre,
            post,
            weight,
            delay,
            line: r.line as u32,
        });
    }
    Ok(SynapseTable {
        origin: origin.to_string(),
        synapses,
    })
}

/// Parse a spike-train CSV (`step,index`).
pub fn parse_spikes(text: &str, origin: &str) -> Result<SpikeTable, Error> {
    let mut spikes = Vec::new();
    for r in records(text, origin, 2, 2, "step,index")? {
        let step = r
            .parse(origin, 0, &format!("step {U32}"))
            .map_err(csv_error)?;
        let index = r
            .parse(origin, 1, &format!("input index {U32}"))
            .map_err(csv_error)?;
        spikes.push((step, index, r.line as u32));
    }
    Ok(SpikeTable {
        origin: origin.to_string(),
        spikes,
    })
}

/// Read a file as text, naming it in errors.
pub fn read_text(path: &Path) -> Result<String, Error> {
    Ok(amine_chip::bounded::read_text(
        path,
        "CSV file",
        amine_chip::bounded::limits::PROGRAM_CSV,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_err(e: Error) -> SourceError {
        match e.kind() {
            ErrorKind::Csv(s) => s.clone(),
            k => panic!("not a CSV error: {k:?}"),
        }
    }

    #[test]
    fn reads_synapses_with_header_comments_and_delays() {
        let t = "pre,post,weight,delay\n# a comment\n0,1,2.5\n\n 3 , 4 , -1 , 2\n";
        let s = parse_synapses(t, "c.csv").unwrap();
        assert_eq!(s.synapses.len(), 2);
        assert_eq!(s.synapses[0].weight, 2.5);
        assert_eq!(s.synapses[0].delay, None);
        assert_eq!(s.synapses[1].pre, 3);
        assert_eq!(s.synapses[1].delay, Some(2));
        assert_eq!(s.synapses[1].line, 5);
    }

    #[test]
    fn bad_field_is_located_by_line_and_column() {
        let e = csv_err(parse_synapses("0,1,2\n0,x1,2\n", "c.csv").unwrap_err());
        assert_eq!((e.line, e.col), (2, 3), "{e}");
        assert!(e.to_string().starts_with("c.csv:2:3:"), "{e}");
        let e = csv_err(parse_synapses("0,1,2\n0,1, nan\n", "c.csv").unwrap_err());
        assert_eq!((e.line, e.col), (2, 6), "{e}");
        let e = csv_err(parse_synapses("0,1\n", "c.csv").unwrap_err());
        assert_eq!(e.line, 1);
        let e = csv_err(parse_synapses("0,1,2,3,4\n", "c.csv").unwrap_err());
        assert_eq!((e.line, e.col), (1, 9), "{e}");
    }

    #[test]
    fn negative_index_is_an_error() {
        let e = csv_err(parse_spikes("step,index\n1,2\n3,-4\n", "s.csv").unwrap_err());
        assert_eq!((e.line, e.col), (3, 3), "{e}");
    }

    #[test]
    fn reads_spikes() {
        let s = parse_spikes("1,2\n0,0\n", "s.csv").unwrap();
        assert_eq!(s.spikes, vec![(1, 2, 1), (0, 0, 2)]);
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "1,2,x",
            "1,2,3,4,5",
            "-1,0,1",
            "1,2,3,-4",
            "a,b\n1",
            "4294967296,0,1",
        ] {
            let _ = parse_synapses(t, "x");
            let _ = parse_spikes(t, "x");
        }
    }
}
