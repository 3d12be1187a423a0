//! A table of text cells, rendered as CSV, HTML or aligned terminal text.

use crate::esc;

/// Rows of cells under a header. Cells are already formatted text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push<S: Into<String>>(&mut self, row: impl IntoIterator<Item = S>) {
        self.rows.push(row.into_iter().map(Into::into).collect());
    }

    /// RFC 4180 CSV with a header line (fields quoted where they need it).
    pub fn to_csv(&self) -> String {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        // Writing to memory cannot fail.
        let _ = w.write_record(&self.header);
        for r in &self.rows {
            let _ = w.write_record(r);
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// An HTML `<table>`; cells that read as numbers are right-aligned.
    pub fn to_html(&self) -> String {
        let mut s = String::from("<table>\n<thead><tr>");
        for h in &self.header {
            s += &format!("<th>{}</th>", esc(h));
        }
        s += "</tr></thead>\n<tbody>\n";
        for r in &self.rows {
            s += "<tr>";
            for c in r {
                let class = if is_number(c) { " class=\"num\"" } else { "" };
                s += &format!("<td{class}>{}</td>", esc(c));
            }
            s += "</tr>\n";
        }
        s + "</tbody>\n</table>\n"
    }

    /// Columns padded to their widest cell (numbers right-aligned), for terminals.
    pub fn to_text(&self) -> String {
        let cols = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let width = |i: usize| {
            self.rows
                .iter()
                .filter_map(|r| r.get(i))
                .chain(self.header.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..cols).map(width).collect();
        let line = |r: &[String]| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if is_number(c) {
                        format!("{c:>w$}", w = widths[i])
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string() + "\n"
        };
        let mut s = line(&self.header);
        s += &(widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
            + "\n");
        for r in &self.rows {
            s += &line(r);
        }
        s
    }
}

/// Whether a cell reads as a number, possibly with a unit or a percent sign.
fn is_number(c: &str) -> bool {
    let t = c.trim();
    // `0.91 ± 0.02` is a number; a sentence that starts with one is not.
    let words: Vec<&str> = t.split(' ').collect();
    if words.len() > 2 && !(words.len() == 3 && words[1] == "±") {
        return false;
    }
    let head = t.split(' ').next().unwrap_or("").trim_end_matches('%');
    !head.is_empty() && head.replace(',', "").parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_a_unit_align_right_and_sentences_do_not() {
        for n in [
            "1.5 µJ",
            "90.00 %",
            "1,024",
            "-3e2",
            "72.3 pJ",
            "84.17 ± 1.20",
        ] {
            assert!(is_number(n), "{n}");
        }
        for s in ["20 problems: a, b", "3 limits exceeded", "ok", "", "µJ 1.5"] {
            assert!(!is_number(s), "{s}");
        }
    }

    #[test]
    fn renders_csv_html_and_text() {
        let mut t = Table::new(["chip", "energy"]);
        t.push(["loihi, 14 nm", "1.5 µJ"]);
        t.push(["tiny", "<3>"]);
        assert_eq!(
            t.to_csv(),
            "chip,energy\n\"loihi, 14 nm\",1.5 µJ\ntiny,<3>\n"
        );
        let h = t.to_html();
        assert!(
            h.contains("<td class=\"num\">1.5 µJ</td>") && h.contains("&lt;3&gt;"),
            "{h}"
        );
        assert_eq!(
            t.to_text(),
            "chip          energy\n------------  ------\nloihi, 14 nm  1.5 µJ\ntiny          <3>\n"
        );
    }
}
