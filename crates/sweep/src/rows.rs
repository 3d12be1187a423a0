//! The sweep's table: one row per point with every figure its report holds — the
//! report's JSON flattened to dotted names (`energy.total_pj`, `latency.mean_ns`,
//! `per_inference.energy_pj`, …), lists left out — after the point's own columns
//! (index, chip name, file and fingerprints, one column per axis but `chip`, seed,
//! cores, status); a figure of the same name as one of those is left out.

use crate::exec::{Figures, Outcome};
use crate::spec::Sweep;
use amine_report::Table;
use serde_json::{Map, Value};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The point's own columns, in order.
    pub head: Vec<(String, String)>,
    /// Every scalar figure of its report, by dotted name (empty when it did not run).
    pub figures: Map<String, Value>,
}

fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        Value::Array(_) => {}
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// The rows of `outcomes`, in point order.
pub fn rows(sweep: &Sweep, outcomes: &[Outcome]) -> Vec<Row> {
    outcomes
        .iter()
        .map(|o| {
            let mut head = vec![
                ("point".to_string(), o.point.index.to_string()),
                ("chip".to_string(), o.chip.identity.name.clone()),
                ("chip_file".to_string(), o.chip.identity.file.clone()),
                (
                    "chip_fingerprint".to_string(),
                    o.chip.identity.fingerprint.clone(),
                ),
                (
                    "chip_structure".to_string(),
                    o.chip.identity.structure.clone(),
                ),
            ];
            // A `chip` axis is the `chip` and `chip_file` columns already.
            for (a, l) in sweep.spec.axes.iter().zip(&o.point.labels) {
                if a.set != "chip" {
                    head.push((a.set.clone(), l.clone()));
                }
            }
            head.push(("seed".to_string(), o.point.seed.to_string()));
            head.push(("cores".to_string(), o.cores.to_string()));
            head.push(("status".to_string(), status(&o.result)));
            let mut figures = Map::new();
            let json = match &o.result {
                Ok(Figures::Run(r)) => serde_json::to_value(r.as_ref()).ok(),
                Ok(Figures::Train(r)) => serde_json::to_value(r.as_ref()).ok(),
                Err(_) => None,
            };
            if let Err(e) = &o.result {
                figures.insert("error".into(), Value::String(e.clone()));
            }
            if let Some(j) = json {
                flatten("", &j, &mut figures);
                // Already in the point's columns.
                for k in [
                    "chip_config.name",
                    "chip_config.fingerprint",
                    "chip_config.structure",
                    "chip_config.file",
                ] {
                    figures.remove(k);
                }
            }
            figures.retain(|k, _| !head.iter().any(|h| h.0 == *k));
            Row { head, figures }
        })
        .collect()
}

/// `ok`, or a short reason a point did not run: the limits a program exceeds
/// (`does not fit: chip.compartments, …`), or the first problem.
pub fn status<T>(result: &Result<T, String>) -> String {
    let Err(e) = result else {
        return "ok".into();
    };
    let mut lines = e.lines();
    let first = lines.next().unwrap_or("").trim();
    let problems: Vec<&str> = lines.map(|l| l.trim().trim_start_matches("- ")).collect();
    if first.starts_with("does not fit") {
        let mut limits: Vec<&str> = problems
            .iter()
            .filter_map(|p| {
                p.split('(').find_map(|x| {
                    x.split(')')
                        .next()
                        .filter(|x| x.starts_with("chip.") || x.starts_with("core."))
                })
            })
            .collect();
        limits.sort_unstable();
        limits.dedup();
        if !limits.is_empty() {
            return format!("does not fit: {}", limits.join(", "));
        }
    }
    summarise(first, e)
}

/// `N problems: field ×count (what), …` — the problems of an error grouped by field
/// (list indices folded), each with the explanation of its first occurrence.
fn summarise(first: &str, e: &str) -> String {
    let mut kinds: Vec<(String, usize, String)> = Vec::new();
    for line in e.lines().skip(1) {
        let t = line.trim_start();
        if let Some(p) = t.strip_prefix("- ") {
            let (field, detail) = p.split_once(": ").unwrap_or(("", p));
            let mut norm = String::new();
            let mut in_index = false;
            for c in field.trim_matches('`').chars() {
                match c {
                    '[' => {
                        in_index = true;
                        norm.push_str("[i");
                    }
                    ']' => {
                        in_index = false;
                        norm.push(']');
                    }
                    _ if in_index => {}
                    _ => norm.push(c),
                }
            }
            match kinds.iter_mut().find(|k| k.0 == norm) {
                Some(k) => k.1 += 1,
                None => kinds.push((norm, 1, detail.to_string())),
            }
        } else if let Some(explained) = t.strip_prefix('^') {
            // A caret line explains the problem above it.
            if let Some(k) = kinds.last_mut() {
                if k.1 == 1 {
                    k.2 = explained.trim_start_matches('^').trim().to_string();
                }
            }
        }
    }
    if kinds.is_empty() {
        return shorten(first, 120);
    }
    let n: usize = kinds.iter().map(|k| k.1).sum();
    let parts: Vec<String> = kinds
        .iter()
        .take(3)
        .map(|(f, c, d)| {
            let d = shorten(d, 80);
            if f.is_empty() {
                format!("{d} ×{c}")
            } else {
                format!("{f} ×{c} ({d})")
            }
        })
        .collect();
    format!(
        "{n} problem{}: {}",
        amine_chip::units::plural_s(n as u64),
        parts.join("; ")
    )
}

/// `s` cut to at most `max` characters at a word boundary, with `…` if it was cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    let at_word = cut.rfind(' ').filter(|&i| i > max / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end_matches([',', ';', ' ']))
}

/// Every figure name of any row, sorted.
fn figure_names(rows: &[Row]) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.figures.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The whole table (every column) as [`Table`].
pub fn table(rows: &[Row]) -> Table {
    let names = figure_names(rows);
    let head: Vec<String> = rows
        .first()
        .map_or(Vec::new(), |r| r.head.iter().map(|h| h.0.clone()).collect());
    let mut t = Table::new(head.iter().cloned().chain(names.iter().cloned()));
    for r in rows {
        t.push(
            r.head
                .iter()
                .map(|h| h.1.clone())
                .chain(names.iter().map(|n| cell(r.figures.get(n)))),
        );
    }
    t
}

/// The rows as a JSON array of objects (the point's columns, then `figures`).
pub fn to_json(rows: &[Row]) -> String {
    let v: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for (k, v) in &r.head {
                m.insert(k.clone(), Value::String(v.clone()));
            }
            m.insert("figures".into(), Value::Object(r.figures.clone()));
            Value::Object(m)
        })
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}

/// A figure of a row as a number.
pub fn number(r: &Row, name: &str) -> Option<f64> {
    r.figures.get(name).and_then(Value::as_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_name_the_limits_or_group_the_problems() {
        let fit: Result<(), String> = Err("does not fit: 2 limits exceeded\n  - needs 1,000 compartments (chip.compartments); odin allows 256\n  - needs bits (chip.synapse_memory_bits)\n  - again (chip.compartments)".into());
        assert_eq!(
            status(&fit),
            "does not fit: chip.compartments, chip.synapse_memory_bits"
        );
        let many: Result<(), String> = Err("p.ron: 3 problems\n  - projections[0].learning.rule: dw = a*b\n       ^^ 2 terms; at most 0\n  - projections[7].learning.rule: dw = a*b\n  - modulators[1].region: outside the 0×0 grid".into());
        assert_eq!(
            status(&many),
            "3 problems: projections[i].learning.rule ×2 (2 terms; at most 0); modulators[i].region ×1 (outside the 0×0 grid)"
        );
        assert_eq!(status::<()>(&Ok(())), "ok");
        let long: Result<(), String> = Err("p.ron: 1 problem\n  - modulators[0].region: a 8×10 region from cell (0, 0) must be non-empty and inside the 0×0 grid of this chip".into());
        assert_eq!(
            status(&long),
            "1 problem: modulators[i].region ×1 (a 8×10 region from cell (0, 0) must be non-empty and inside the 0×0 grid of…)"
        );
    }

    #[test]
    fn flattening_keeps_scalars_and_drops_lists() {
        let v = serde_json::json!({"a": {"b": 1, "c": [1, 2], "d": {"e": "x"}}, "f": null});
        let mut m = Map::new();
        flatten("", &v, &mut m);
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys, ["a.b", "a.d.e", "f"]);
    }
}
