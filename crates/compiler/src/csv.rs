//! Readers for the two CSV formats a program may reference.
//!
//! - connectivity: `pre,post,weight[,delay]` — one synapse per line;
//! - spike trains: `step,index` — one spike per line.
//!
//! Blank lines and lines starting with `#` are skipped; a first line whose fields are not
//! numbers is taken as a header (`pre,post,weight`). Fields may be surrounded by spaces.
//! A malformed field is an [`ErrorKind::Csv`] error at file:line:col of that field, so
//! a user can jump straight to it. These formats are too small to need a CSV crate, and
//! reading them by hand gives exact columns.

use crate::error::{Error, ErrorKind};
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

fn err(origin: &str, line: usize, col: usize, message: String) -> Error {
    Error::new(ErrorKind::Csv(SourceError {
        origin: origin.to_string(),
        line,
        col,
        field: None,
        message,
    }))
}

/// The fields of one line with their 1-based starting columns (after trimming).
fn fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in line.split(',') {
        let lead = piece.len() - piece.trim_start().len();
        let col = line[..start + lead].chars().count() + 1;
        out.push((col, piece.trim()));
        start += piece.len() + 1;
    }
    out
}

fn is_header(fs: &[(usize, &str)]) -> bool {
    fs.iter().all(|(_, f)| f.parse::<f64>().is_err())
}

/// Lines that carry data: `(1-based line number, text)`, the header dropped.
fn data_lines<'a>(text: &'a str) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    let mut first = true;
    text.lines().enumerate().filter_map(move |(i, l)| {
        let l = l.trim_end_matches('\r');
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            return None;
        }
        if std::mem::take(&mut first) && is_header(&fields(l)) {
            return None;
        }
        Some((i + 1, l))
    })
}

fn parse_u32(origin: &str, line: usize, (col, f): (usize, &str), what: &str) -> Result<u32, Error> {
    f.parse::<u32>().map_err(|_| {
        err(
            origin,
            line,
            col,
            format!("`{f}` is not a valid {what} (a whole number in 0..=4294967295)"),
        )
    })
}

/// Parse a connectivity CSV (`pre,post,weight[,delay]`).
pub fn parse_synapses(text: &str, origin: &str) -> Result<SynapseTable, Error> {
    let mut synapses = Vec::new();
    for (n, line) in data_lines(text) {
        let fs = fields(line);
        if !(3..=4).contains(&fs.len()) {
            let col = fs.get(4).map_or(line.len() + 1, |f| f.0);
            return Err(err(
                origin,
                n,
                col,
                format!(
                    "expected 3 or 4 fields `pre,post,weight[,delay]`, found {}",
                    fs.len()
                ),
            ));
        }
        let pre = parse_u32(origin, n, fs[0], "presynaptic index")?;
        let post = parse_u32(origin, n, fs[1], "postsynaptic index")?;
        let (wc, wf) = fs[2];
        let weight = wf
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite())
            .ok_or_else(|| err(origin, n, wc, format!("`{wf}` is not a finite weight")))?;
        let delay = match fs.get(3) {
            Some(&f) => Some(parse_u32(origin, n, f, "delay")?),
            None => None,
        };
        synapses.push(CsvSynapse {
            pre,
            post,
            weight,
            delay,
            line: n as u32,
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
    for (n, line) in data_lines(text) {
        let fs = fields(line);
        if fs.len() != 2 {
            let col = fs.get(2).map_or(line.len() + 1, |f| f.0);
            return Err(err(
                origin,
                n,
                col,
                format!("expected 2 fields `step,index`, found {}", fs.len()),
            ));
        }
        let step = parse_u32(origin, n, fs[0], "step")?;
        let index = parse_u32(origin, n, fs[1], "input index")?;
        spikes.push((step, index, n as u32));
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
            "",
            ",",
            ",,,,",
            "\u{0}",
            "é,ü,ß",
            "1,2,3,4,5,6",
            "1e400,2,3",
        ] {
            let _ = parse_synapses(t, "x");
            let _ = parse_spikes(t, "x");
        }
    }
}
