//! The sweep's table: one row per point with every figure its report holds — the
//! report's JSON flattened to dotted names (`energy.total_pj`, `latency.mean_ns`,
//! `per_inference.energy_pj`, …), lists left out — after the point's own columns
//! (index, chip, fingerprints, one column per axis, seed, status).

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
                (
                    "chip_fingerprint".to_string(),
                    o.chip.identity.fingerprint.clone(),
                ),
                (
                    "chip_structure".to_string(),
                    o.chip.identity.structure.clone(),
                ),
            ];
            for (a, l) in sweep.spec.axes.iter().zip(&o.point.labels) {
                head.push((a.set.clone(), l.clone()));
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
                    "chip",
                    "chip_config.name",
                    "chip_config.fingerprint",
                    "chip_config.structure",
                    "chip_config.file",
                ] {
                    figures.remove(k);
                }
            }
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
    let detail = problems.first().copied().unwrap_or(first);
    let short: String = detail.chars().take(100).collect();
    if problems.len() > 1 {
        format!("{} problems, e.g. {short}", problems.len())
    } else {
        short
    }
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
    fn flattening_keeps_scalars_and_drops_lists() {
        let v = serde_json::json!({"a": {"b": 1, "c": [1, 2], "d": {"e": "x"}}, "f": null});
        let mut m = Map::new();
        flatten("", &v, &mut m);
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys, ["a.b", "a.d.e", "f"]);
    }
}
