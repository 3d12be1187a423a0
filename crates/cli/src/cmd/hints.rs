//! Mapping hints from the command line: a hints file (`--hints`) and flags, added to the
//! program's own `mapping` (flags over the file over the program).

use crate::args::MappingArgs;
use amine_compiler::program::MappingHints;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// `POP=VALUE` → (POP, VALUE), or an error naming the flag.
fn pair<'a>(flag: &str, s: &'a str) -> Result<(String, &'a str)> {
    match s.split_once('=') {
        Some((p, v)) if !p.trim().is_empty() && !v.trim().is_empty() => {
            Ok((p.trim().to_string(), v.trim()))
        }
        _ => bail!("--{flag} {s}: expected POPULATION=VALUE"),
    }
}

fn number(flag: &str, s: &str, v: &str) -> Result<u32> {
    v.parse()
        .with_context(|| format!("--{flag} {s}: `{v}` is not a whole number"))
}

/// Per-population `POP=N` flags as a map (a population given twice is an error).
fn counts(flag: &str, values: &[String]) -> Result<BTreeMap<String, u32>> {
    let mut m = BTreeMap::new();
    for s in values {
        let (p, v) = pair(flag, s)?;
        if m.insert(p.clone(), number(flag, s, v)?).is_some() {
            bail!("--{flag}: population `{p}` is given twice");
        }
    }
    Ok(m)
}

impl MappingArgs {
    /// Whether any hint was given.
    pub fn given(&self) -> bool {
        self.hints.is_some()
            || !self.cores.is_empty()
            || !self.max_per_core.is_empty()
            || !self.place.is_empty()
            || !self.colocate.is_empty()
    }

    /// The hints these arguments give (empty when none).
    pub fn hints(&self) -> Result<MappingHints> {
        let mut h = MappingHints::default();
        if let Some(path) = &self.hints {
            let text = amine_chip::bounded::read_text(
                path,
                "mapping-hints file",
                amine_chip::bounded::limits::HINTS,
            )
            .with_context(|| format!("reading the hints file {}", path.display()))?;
            h = MappingHints::from_ron(&text, &path.display().to_string())?;
        }
        let mut place = BTreeMap::new();
        for s in &self.place {
            let (p, v) = pair("place", s)?;
            let cores = v
                .split(',')
                .map(|k| number("place", s, k.trim()))
                .collect::<Result<Vec<u32>>>()?;
            if place.insert(p.clone(), cores).is_some() {
                bail!("--place: population `{p}` is given twice");
            }
        }
        let colocate = self
            .colocate
            .iter()
            .map(|g| g.split(',').map(|n| n.trim().to_string()).collect())
            .collect();
        h.merge(MappingHints {
            colocate,
            max_compartments_per_core: None,
            max_per_core: counts("max-per-core", &self.max_per_core)?,
            cores: counts("cores", &self.cores)?,
            place,
        });
        Ok(h)
    }
}
