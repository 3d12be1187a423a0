//! The one CSV reader of amine: every CSV input — connectivity and spike-train files of
//! programs, `amine run --input` spikes — is read here, through the `csv` crate, in one
//! dialect:
//!
//! - RFC 4180 fields separated by commas (quotes allowed), surrounding spaces trimmed;
//! - lines starting with `#` are comments; blank lines are skipped;
//! - a first line none of whose fields is a number is a header (`step,index`);
//! - records may have different numbers of fields (each format checks its own).
//!
//! Every record keeps its 1-based line and the 1-based column of each field, so a
//! format's error can name `file:line:col`.

use crate::textfmt::SourceError;

/// One field: its trimmed text and the 1-based column where that text starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub text: String,
    pub col: usize,
}

/// One data line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the record in the file.
    pub line: usize,
    pub fields: Vec<Field>,
}

impl Record {
    /// A located error about field `i` (or the line's end if there is no such field).
    pub fn error(&self, origin: &str, i: usize, message: impl Into<String>) -> SourceError {
        SourceError {
            origin: origin.to_string(),
            line: self.line,
            col: self.fields.get(i).map_or(1, |f| f.col),
            field: None,
            message: message.into(),
        }
    }

    /// Field `i` parsed as `T`, or an error `` `text` is not a valid {what} ``.
    pub fn parse<T: std::str::FromStr>(
        &self,
        origin: &str,
        i: usize,
        what: &str,
    ) -> Result<T, SourceError> {
        let f = self
            .fields
            .get(i)
            .ok_or_else(|| self.error(origin, i, format!("the {what} is missing")))?;
        f.text
            .parse()
            .map_err(|_| self.error(origin, i, format!("`{}` is not a valid {what}", f.text)))
    }
}

/// A read file: its header (if the first line was one) and its data records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvFile {
    pub header: Option<Vec<String>>,
    pub records: Vec<Record>,
}

/// 1-based columns where each field of `line` starts (commas inside quotes ignored).
fn field_starts(line: &str) -> Vec<usize> {
    let mut starts = vec![1];
    let mut quoted = false;
    for (i, c) in line.chars().enumerate() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => starts.push(i + 2),
            _ => {}
        }
    }
    starts
}

/// The first byte at or after `at` that starts neither a comment nor an empty line:
/// where a record really begins (the csv crate places it after the previous record).
fn skip_ignored(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    while at < b.len() && matches!(b[at], b'#' | b'\n' | b'\r') {
        at = if b[at] == b'#' {
            b[at..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| at + i + 1)
        } else {
            at + 1
        };
    }
    at.min(b.len())
}

/// Read `text` (named `origin` in errors).
pub fn read(text: &str, origin: &str) -> Result<CsvFile, SourceError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out = CsvFile::default();
    let mut first = true;
    let (mut line, mut counted) = (1, 0);
    for result in reader.records() {
        let record = result.map_err(|e| SourceError {
            origin: origin.to_string(),
            line: e.position().map_or(0, |p| p.line() as usize),
            col: 1,
            field: None,
            message: e.to_string(),
        })?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        // The line is counted from the byte offset (the csv crate's own count skips
        // comment lines).
        let byte = skip_ignored(text, record.position().map_or(0, |p| p.byte() as usize));
        line += text.as_bytes()[counted..byte]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = byte;
        let pos = (byte, line);
        let raw = text.get(pos.0..).unwrap_or("");
        let raw = raw.split(['\n', '\r']).next().unwrap_or("");
        let starts = field_starts(raw);
        let fields: Vec<Field> = record
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let start = starts.get(i).copied().unwrap_or(1);
                let lead = raw
                    .chars()
                    .skip(start - 1)
                    .take_while(|c| c.is_whitespace())
                    .count();
                Field {
                    text: t.to_string(),
                    col: start + lead,
                }
            })
            .collect();
        if std::mem::take(&mut first) && fields.iter().all(|f| f.text.parse::<f64>().is_err()) {
            out.header = Some(fields.into_iter().map(|f| f.text).collect());
            continue;
        }
        out.records.push(Record {
            line: pos.1,
            fields,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_dialect_for_every_file() {
        let f = read(
            "step,index\n# a comment\n0,1\n\n 3 , 4 \n\"5\",6\n",
            "s.csv",
        )
        .unwrap();
        assert_eq!(f.header, Some(vec!["step".into(), "index".into()]));
        let lines: Vec<usize> = f.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 5, 6]);
        assert_eq!(
            f.records[1].fields[1],
            Field {
                text: "4".into(),
                col: 6
            }
        );
        assert_eq!(f.records[2].fields[0].text, "5");
        // Windows line ends, no header.
        let f = read("0,1\r\n2,3\r\n", "s.csv").unwrap();
        assert_eq!((f.header, f.records.len()), (None, 2));
    }

    #[test]
    fn fields_are_located() {
        let f = read("0,1,2\n0,x1,2\n", "c.csv").unwrap();
        let e = f.records[1]
            .parse::<u32>("c.csv", 1, "postsynaptic index")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.csv:2:3: `x1` is not a valid postsynaptic index"
        );
        let e = f.records[0].parse::<u32>("c.csv", 5, "delay").unwrap_err();
        assert_eq!(e.to_string(), "c.csv:1:1: the delay is missing");
    }

    #[test]
    fn garbage_never_panics() {
        for t in [
            "",
            ",",
            ",,,,",
            "\u{0}",
            "é,ü,ß",
            "\"open,1",
            "1,\"a\"\"b\"",
            "\n\n#\n",
        ] {
            let _ = read(t, "x");
        }
    }
}
