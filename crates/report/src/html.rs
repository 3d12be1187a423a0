//! One self-contained HTML page per report: inline CSS, inline SVG pictures, tables and
//! the configuration, no script and no external file, so it reads the same offline, in
//! a mail attachment or years later.

use crate::{esc, Table};

/// A block of a page.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Section(String),
    Text(String),
    Facts(Vec<(String, String)>),
    Table { caption: String, html: String },
    Figure { svg: String, caption: String },
    Code { summary: String, text: String },
}

/// A report page, built block by block and rendered by [`Page::render`].
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    title: String,
    blocks: Vec<Block>,
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:2em}\
table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
th{background:#f2f2f2}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
caption{caption-side:top;text-align:left;font-weight:bold;padding:.3em 0}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:.9em;color:#555;margin-top:.3em}pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}\
nav a{margin-right:1em}";

impl Page {
    pub fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Start a section (listed in the page's contents).
    pub fn section(&mut self, title: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Section(title.into()));
        self
    }

    /// A paragraph of plain text.
    pub fn text(&mut self, text: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    /// Name–value pairs.
    pub fn facts<K: Into<String>, V: Into<String>>(
        &mut self,
        facts: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Page {
        self.blocks.push(Block::Facts(
            facts
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    pub fn table(&mut self, caption: impl Into<String>, table: &Table) -> &mut Page {
        self.blocks.push(Block::Table {
            caption: caption.into(),
            html: table.to_html(),
        });
        self
    }

    /// A picture (SVG text) with its caption.
    pub fn figure(&mut self, svg: impl Into<String>, caption: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Figure {
            svg: svg.into(),
            caption: caption.into(),
        });
        self
    }

    /// Preformatted text (a configuration, a summary), folded under `summary`.
    pub fn code(&mut self, summary: impl Into<String>, text: impl Into<String>) -> &mut Page {
        self.blocks.push(Block::Code {
            summary: summary.into(),
            text: text.into(),
        });
        self
    }

    /// The whole page.
    pub fn render(&self) -> String {
        let mut s = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            esc(&self.title),
            esc(&self.title)
        );
        let sections: Vec<&String> = self
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section(t) => Some(t),
                _ => None,
            })
            .collect();
        if sections.len() > 1 {
            s += "<nav>";
            for (i, t) in sections.iter().enumerate() {
                s += &format!("<a href=\"#s{i}\">{}</a>", esc(t));
            }
            s += "</nav>\n";
        }
        let mut section = 0;
        for b in &self.blocks {
            match b {
                Block::Section(t) => {
                    s += &format!("<h2 id=\"s{section}\">{}</h2>\n", esc(t));
                    section += 1;
                }
                Block::Text(t) => s += &format!("<p>{}</p>\n", esc(t)),
                Block::Facts(f) => {
                    s += "<dl>\n";
                    for (k, v) in f {
                        s += &format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(v));
                    }
                    s += "</dl>\n";
                }
                Block::Table { caption, html } => {
                    let caption = format!("<caption>{}</caption>", esc(caption));
                    s += &html.replacen("<table>", &format!("<table>{caption}"), 1);
                }
                Block::Figure { svg, caption } => {
                    s += &format!(
                        "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                        strip_xml_declaration(svg),
                        esc(caption)
                    );
                }
                Block::Code { summary, text } => {
                    s += &format!(
                        "<details><summary>{}</summary>\n<pre>{}</pre>\n</details>\n",
                        esc(summary),
                        esc(text)
                    );
                }
            }
        }
        s + "</body>\n</html>\n"
    }
}

/// An SVG document as an element to inline (without an `<?xml …?>` line).
fn strip_xml_declaration(svg: &str) -> &str {
    let t = svg.trim_start();
    match t.strip_prefix("<?xml").and_then(|r| r.split_once("?>")) {
        Some((_, rest)) => rest.trim_start(),
        None => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_self_contained_and_escaped() {
        let mut t = Table::new(["a"]);
        t.push(["1 < 2"]);
        let mut p = Page::new("Run <x>");
        p.section("Energy")
            .facts([("chip", "loihi & co")])
            .table("by component", &t)
            .figure(
                "<?xml version=\"1.0\"?>\n<svg width=\"1\" height=\"1\"></svg>",
                "a picture",
            )
            .section("Configuration")
            .code("chip", "ChipConfig(name: \"x\")");
        let h = p.render();
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<title>Run &lt;x&gt;</title>"));
        assert!(h.contains("<dd>loihi &amp; co</dd>"));
        assert!(h.contains("<table><caption>by component</caption>"));
        assert!(h.contains("<figure>\n<svg width=\"1\""), "{h}");
        assert!(!h.contains("<?xml"));
        assert!(h.contains("<a href=\"#s1\">Configuration</a>"));
        for external in ["src=", "http:", "https:", "<script", "<link"] {
            assert!(!h.contains(external), "{external} in {h}");
        }
    }
}
