//! `--set path=value` overrides of a chip configuration (or of any configuration-like
//! value, such as a network program), checked like the file they change.
//!
//! A path is dotted field names, each optionally followed by selectors in brackets:
//! `costs.synaptic_op.energy_pj`, `core.weight_bits`, `populations[0].size` (by index),
//! `projections[ro].learning` (the list element whose `name` is `ro`) or
//! `projections[*].weight_bits` (every element). The value is
//! RON (see [`value`]). An override is applied to the target's serialised form, which
//! is then read back into its type — so an unknown field, a wrong type or an
//! out-of-range value is the same error it would be in the file, and names the path.
//! A path's last field may be one the serialised form omits (an optional section left
//! out of the file, such as `core.delta_rows`): it is added, and read back like the rest.
//! [`ChipConfig::with_sets`] also runs the configuration's validation.

pub mod value;

use crate::config::ChipConfig;
use crate::error::{Error, ErrorKind};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// One `path=value` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    /// The path as written.
    pub path: String,
    pub value: Value,
    /// `path=value` as given, for reports and errors.
    pub text: String,
}

fn err(set: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Override {
        set: set.to_string(),
        message: message.into(),
    })
}

impl Set {
    /// Parse `path=value`.
    pub fn parse(text: &str) -> Result<Set, Error> {
        let Some((path, value)) = text.split_once('=') else {
            return Err(err(
                text,
                "expected `path=value`, e.g. costs.synaptic_op.energy_pj=47.2",
            ));
        };
        let path = path.trim();
        parse_path(path).map_err(|m| err(text, m))?;
        let value = value::parse(value.trim()).map_err(|m| err(text, format!("the value: {m}")))?;
        Ok(Set {
            path: path.to_string(),
            value,
            text: text.to_string(),
        })
    }

    /// An override of `path` with an already parsed value (a sweep's axis).
    pub fn new(path: &str, value: Value) -> Result<Set, Error> {
        let text = format!("{path}={value}");
        parse_path(path).map_err(|m| err(&text, m))?;
        Ok(Set {
            path: path.to_string(),
            value,
            text,
        })
    }
}

/// Parse many `path=value` texts.
pub fn parse_all(texts: &[String]) -> Result<Vec<Set>, Error> {
    texts.iter().map(|t| Set::parse(t)).collect()
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
    /// `[*]`: every entry.
    All,
    Named(String),
}

fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("`{part}` in `{path}` is not a field name"));
        }
        steps.push(Step::Field(name.to_string()));
        while !rest.is_empty() {
            let Some((sel, after)) = rest.split_once(']') else {
                return Err(format!("`[` without `]` in `{path}`"));
            };
            steps.push(match sel.parse::<usize>() {
                Ok(i) => Step::Index(i),
                Err(_) if sel == "*" => Step::All,
                Err(_) if !sel.is_empty() => Step::Named(sel.to_string()),
                Err(_) => return Err(format!("an empty `[]` in `{path}`")),
            });
            rest = match after.strip_prefix('[') {
                Some(r) => r,
                None if after.is_empty() => "",
                None => return Err(format!("`{after}` after `]` in `{path}`")),
            };
        }
    }
    Ok(steps)
}

/// Replace the value at `path` in `root`, adding the last field if `root` omits it
/// (returns whether it did); the error names the first step that fails.
fn set_at(root: &mut Value, path: &str, new: Value) -> Result<bool, String> {
    let steps = parse_path(path)?;
    let mut added = false;
    set_steps(root, &steps, &new, "", &mut added)?;
    Ok(added)
}

/// Whether `steps` lead somewhere in `at` (every entry, for `[*]`).
fn reaches(at: &Value, steps: &[Step]) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return true;
    };
    match (step, at) {
        (Step::Field(f), Value::Object(m)) => m.get(f).is_some_and(|v| reaches(v, rest)),
        (Step::Index(i), Value::Array(a)) => a.get(*i).is_some_and(|v| reaches(v, rest)),
        (Step::All, Value::Array(a)) => a.iter().all(|v| reaches(v, rest)),
        (Step::Named(n), Value::Array(a)) => a
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(n))
            .is_some_and(|v| reaches(v, rest)),
        _ => false,
    }
}

/// Walk `steps` from `at` (reached by `walked`) and put `new` there; `[*]` puts it in
/// every entry of a list.
fn set_steps(
    at: &mut Value,
    steps: &[Step],
    new: &Value,
    walked: &str,
    added: &mut bool,
) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        *at = new.clone();
        return Ok(());
    };
    let here = if walked.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{walked}`")
    };
    match step {
        Step::Field(f) => {
            let Value::Object(m) = at else {
                return Err(format!("{here} has no fields, so no `{f}`"));
            };
            if rest.is_empty() && !m.contains_key(f) {
                // An optional field the serialised form leaves out; reading back decides
                // whether it is a field at all.
                m.insert(f.clone(), new.clone());
                *added = true;
                return Ok(());
            }
            let known: Vec<String> = m.keys().cloned().collect();
            let next = m.get_mut(f).ok_or_else(|| {
                format!(
                    "`{f}` is not a field of {here} (its fields: {})",
                    known.join(", ")
                )
            })?;
            let walked = if walked.is_empty() {
                f.clone()
            } else {
                format!("{walked}.{f}")
            };
            set_steps(next, rest, new, &walked, added)
        }
        Step::Index(i) => {
            let Value::Array(a) = at else {
                return Err(format!("{here} is not a list, so no [{i}]"));
            };
            let n = a.len();
            let next = a
                .get_mut(*i)
                .ok_or_else(|| format!("{here} has {n} entries, so no [{i}]"))?;
            set_steps(next, rest, new, &format!("{walked}[{i}]"), added)
        }
        Step::All => {
            let Value::Array(a) = at else {
                return Err(format!("{here} is not a list, so no [*]"));
            };
            if a.is_empty() {
                return Err(format!("{here} is an empty list: [*] selects nothing"));
            }
            for (i, e) in a.iter_mut().enumerate() {
                set_steps(e, rest, new, &format!("{walked}[{i}]"), added)?;
            }
            Ok(())
        }
        Step::Named(name) => {
            let Value::Array(a) = at else {
                return Err(format!("{here} is not a list, so no [{name}]"));
            };
            let names: Vec<String> = a
                .iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                .collect();
            let next = a
                .iter_mut()
                .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
                .ok_or_else(|| {
                    format!(
                        "{here} has no entry named `{name}` (names: {})",
                        names.join(", ")
                    )
                })?;
            set_steps(next, rest, new, &format!("{walked}[{name}]"), added)
        }
    }
}

/// `target` with every override applied, in order, read back into `T`: an unknown
/// field, a wrong type or a bad value is an error naming the override and the field.
pub fn apply<T: Serialize + DeserializeOwned>(target: &T, sets: &[Set]) -> Result<T, Error> {
    let Some(last) = sets.last() else {
        return serde_json::to_value(target)
            .and_then(serde_json::from_value)
            .map_err(|e| err("", e.to_string()));
    };
    let mut v = serde_json::to_value(target).map_err(|e| err(&last.text, e.to_string()))?;
    let mut added = Vec::new();
    for s in sets {
        if set_at(&mut v, &s.path, s.value.clone()).map_err(|m| err(&s.text, m))? {
            added.push(s);
        }
    }
    let t: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        // The override whose path the failing field lies on (the last such one).
        let culprit = sets
            .iter()
            .rev()
            .find(|s| path.starts_with(&s.path) || s.path.starts_with(&path))
            .unwrap_or(last);
        err(&culprit.text, format!("`{path}`: {}", e.inner()))
    })?;
    // A type that ignores unknown fields would drop an added misspelt one silently:
    // what was added must be there when the result is written out again.
    if added.iter().any(|s| !s.value.is_null()) {
        let back = serde_json::to_value(&t).map_err(|e| err(&last.text, e.to_string()))?;
        if let Some(s) = added.iter().find(|s| {
            !s.value.is_null() && !reaches(&back, &parse_path(&s.path).unwrap_or_default())
        }) {
            return Err(err(&s.text, format!("`{}` is not a field", s.path)));
        }
    }
    Ok(t)
}

impl ChipConfig {
    /// This configuration with `sets` applied and validated; a problem names the
    /// override and the field.
    pub fn with_sets(&self, sets: &[Set]) -> Result<ChipConfig, Error> {
        if sets.is_empty() {
            return Ok(self.clone());
        }
        let config: ChipConfig = apply(self, sets)?;
        let problems = config.problems();
        if let Some(p) = problems.first() {
            let culprit = sets
                .iter()
                .rev()
                .find(|s| p.field.starts_with(&s.path) || s.path.starts_with(&p.field))
                .unwrap_or(&sets[sets.len() - 1]);
            let all: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(err(&culprit.text, all.join("; ")));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loihi() -> ChipConfig {
        crate::presets::preset("loihi").unwrap()
    }

    fn sets(texts: &[&str]) -> Vec<Set> {
        texts.iter().map(|t| Set::parse(t).unwrap()).collect()
    }

    #[test]
    fn sets_costs_lists_and_enums() {
        let c = loihi()
            .with_sets(&sets(&[
                "costs.synaptic_op.energy_pj=47.2",
                "core.weight_bits=[1,2,4,8]",
                "modulator.boundary=Torus",
                "modulator.kernel=(edge: 0.05, corner: 0.05)",
                "mesh.clock_hz=1_000_000_000",
            ]))
            .unwrap();
        assert_eq!(c.costs.synaptic_op.energy_pj, 47.2);
        assert_eq!(c.core.weight_bits, [1, 2, 4, 8]);
        assert_eq!(c.modulator.boundary, crate::config::Boundary::Torus);
        assert_eq!(c.modulator.kernel.edge, 0.05);
        assert_eq!(c.mesh.clock_hz, 1_000_000_000);
        // Everything else is untouched.
        let mut back = c.clone();
        back.costs = loihi().costs;
        back.core = loihi().core;
        back.modulator = loihi().modulator;
        back.mesh = loihi().mesh;
        assert_eq!(back, loihi());
    }

    fn error(texts: &[&str]) -> String {
        loihi().with_sets(&sets(texts)).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_override_and_the_field() {
        let e = error(&["costs.synaptic_opp.energy_pj=1"]);
        assert!(
            e.starts_with(
                "--set costs.synaptic_opp.energy_pj=1: `synaptic_opp` is not a field of `costs`"
            ),
            "{e}"
        );
        assert!(e.contains("synaptic_op,"), "lists the fields: {e}");
        let e = error(&["core.weight_bits=4"]);
        assert!(
            e.contains("--set core.weight_bits=4: `core.weight_bits`"),
            "{e}"
        );
        assert!(e.contains("expected a sequence"), "{e}");
        let e = error(&["costs.hop_ew.energy_pj=-1"]);
        assert!(
            e.contains(
                "--set costs.hop_ew.energy_pj=-1: `costs.hop_ew.energy_pj`: -1 is outside [0, "
            ),
            "{e}"
        );
        let e = error(&["core.weight_bits=[0, 12]"]);
        assert!(e.contains("width 0 is outside 1..=16"), "{e}");
        let e = error(&["core.compartments.x=1"]);
        assert!(
            e.contains("`core.compartments` has no fields, so no `x`"),
            "{e}"
        );
        let e = error(&["modulator.boundary=Twisted"]);
        assert!(e.contains("unknown variant `Twisted`"), "{e}");
    }

    #[test]
    fn an_optional_section_the_file_leaves_out_can_be_set() {
        let mut c = loihi();
        c.core.delta_rows = None;
        let on = c
            .with_sets(&sets(&["core.delta_rows=Some((max_delta_bits: 6))"]))
            .unwrap();
        assert_eq!(
            serde_json::to_value(on.core.delta_rows).unwrap(),
            serde_json::json!({"max_delta_bits": 6})
        );
        // Only the last field may be added, and only a real one.
        let e = loihi().with_sets(&sets(&["core.delta_rowz=Some((max_delta_bits: 6))"]));
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("--set core.delta_rowz=") && e.contains("unknown field `delta_rowz`"),
            "{e}"
        );
        let e = error(&["learning.centring.frac_bits=8"]);
        assert!(e.contains("`centring` is not a field of `learning`"), "{e}");
        // A type that ignores unknown fields: the added one must survive the read-back.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Loose {
            a: u32,
        }
        let e = apply(&Loose { a: 1 }, &sets(&["b=2"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--set b=2: `b` is not a field"), "{e}");
    }

    #[test]
    fn malformed_overrides_are_refused() {
        for (text, want) in [
            ("costs", "expected `path=value`"),
            ("=3", "the path is empty"),
            ("costs..x=1", "is not a field name"),
            ("a[1=2", "`[` without `]`"),
            ("core.weight_bits=[1,", "the value: "),
        ] {
            let e = Set::parse(text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--set {text}:")), "{e}");
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn list_entries_by_index_and_by_name() {
        let v = serde_json::json!({"p": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]});
        let mut w = v.clone();
        set_at(&mut w, "p[b].n", 5.into()).unwrap();
        set_at(&mut w, "p[0].n", 7.into()).unwrap();
        assert_eq!(
            w,
            serde_json::json!({"p": [{"name": "a", "n": 7}, {"name": "b", "n": 5}]})
        );
        let mut w = v.clone();
        let e = set_at(&mut w, "p[c].n", 5.into()).unwrap_err();
        assert!(e.contains("no entry named `c` (names: a, b)"), "{e}");
        let e = set_at(&mut w, "p[2]", 5.into()).unwrap_err();
        assert!(e.contains("has 2 entries"), "{e}");
        set_at(&mut w, "p[*].n", 9.into()).unwrap();
        assert_eq!(
            w,
            serde_json::json!({"p": [{"name": "a", "n": 9}, {"name": "b", "n": 9}]})
        );
        let e = set_at(&mut w, "p[*].m.x", 9.into()).unwrap_err();
        assert!(e.contains("`m` is not a field of `p[0]`"), "{e}");
    }
}
