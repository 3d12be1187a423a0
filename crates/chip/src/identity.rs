//! How images and reports name a chip configuration.
//!
//! A configuration has two fingerprints:
//!
//! - its **fingerprint**: FNV-1a of its canonical RON text — every field, so two reports
//!   with the same fingerprint priced their runs with the same numbers;
//! - its **structure**: the fingerprint of what a compiled image depends on — the mesh
//!   (without its clock), the core limits, the modulator grid, the learning engine and
//!   any further hardware section. The run-time fields [`RUN_TIME_FIELDS`] — the name,
//!   the clock, the router's packet timing, the cost table and static power — are left
//!   out: the compiler never reads them and the simulator applies them when it runs, so
//!   an image survives any change of costs (what-if sweeps over costs reuse one image).
//!
//! [`ChipIdentity`] is what reports carry: name, file, both fingerprints and the
//! `--set` overrides that were applied.

use crate::config::ChipConfig;
use crate::image::fnv1a;
use serde::{Deserialize, Serialize};

/// Fields of a configuration that apply at run time and are not part of its structure
/// (dotted paths; a section name stands for the whole section).
pub const RUN_TIME_FIELDS: &[&str] = &["name", "mesh.clock_hz", "router", "costs", "static_power"];

/// The configuration as a canonical JSON object (keys sorted), run-time fields removed
/// when `structure_only`.
fn canonical(
    config: &ChipConfig,
    structure_only: bool,
) -> serde_json::Map<String, serde_json::Value> {
    // Plain data with finite numbers (validated): serialisation cannot fail.
    let serde_json::Value::Object(mut top) =
        serde_json::to_value(config).expect("a chip configuration serialises")
    else {
        unreachable!("a struct serialises to an object")
    };
    if structure_only {
        for field in RUN_TIME_FIELDS {
            match field.split_once('.') {
                None => {
                    top.remove(*field);
                }
                Some((section, key)) => {
                    if let Some(serde_json::Value::Object(s)) = top.get_mut(section) {
                        s.remove(key);
                    }
                }
            }
        }
    }
    top
}

/// Fingerprint of every structural section, by name, in name order.
pub fn structure_sections(config: &ChipConfig) -> Vec<(String, u64)> {
    canonical(config, true)
        .into_iter()
        .map(|(name, value)| {
            let fp = fnv1a(value.to_string().as_bytes());
            (name, fp)
        })
        .collect()
}

/// Fingerprint of the structure: what a compiled image depends on.
pub fn structure_fingerprint(config: &ChipConfig) -> u64 {
    let text: String = structure_sections(config)
        .iter()
        .map(|(name, fp)| format!("{name}={fp:016x};"))
        .collect();
    fnv1a(text.as_bytes())
}

/// Fingerprint of the whole configuration (every field, costs included).
pub fn fingerprint(config: &ChipConfig) -> u64 {
    fnv1a(config.to_ron().as_bytes())
}

/// Which chip configuration a run used, as its report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipIdentity {
    /// The configuration's `name`.
    pub name: String,
    /// Where it came from: a file path, or `<preset loihi>`.
    pub file: String,
    /// Fingerprint of the whole configuration, 16 hex digits.
    pub fingerprint: String,
    /// Fingerprint of its structure (what images depend on), 16 hex digits.
    pub structure: String,
    /// `--set path=value` overrides applied after reading it, in order.
    #[serde(default)]
    pub overrides: Vec<String>,
}

impl ChipIdentity {
    /// The identity of `config`, read from `file`, with `overrides` applied.
    pub fn of(config: &ChipConfig, file: &str, overrides: &[String]) -> ChipIdentity {
        ChipIdentity {
            name: config.name.clone(),
            file: file.to_string(),
            fingerprint: format!("{:016x}", fingerprint(config)),
            structure: format!("{:016x}", structure_fingerprint(config)),
            overrides: overrides.to_vec(),
        }
    }

    /// `loihi (chip-configs/loihi.ron, fingerprint 805c…)`, with the overrides.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} ({}, fingerprint {})",
            self.name, self.file, self.fingerprint
        );
        if !self.overrides.is_empty() {
            s += &format!(" with --set {}", self.overrides.join(" --set "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_clock_router_and_name_leave_the_structure() {
        let base = crate::presets::preset("loihi").unwrap();
        let mut c = base.clone();
        c.name = "loihi_2x".into();
        c.costs.synaptic_op.energy_pj *= 2.0;
        c.costs.hop_ns.cycles += 1;
        c.static_power.per_core_mw = 0.0;
        c.mesh.clock_hz /= 2;
        c.router.buffer_flits += 4;
        assert_eq!(structure_fingerprint(&c), structure_fingerprint(&base));
        assert_ne!(fingerprint(&c), fingerprint(&base));
    }

    #[test]
    fn every_structural_field_changes_the_structure() {
        let base = crate::presets::preset("loihi").unwrap();
        let edits: [fn(&mut ChipConfig); 6] = [
            |c| c.mesh.tiles_x += 1,
            |c| c.core.weight_bits = vec![8],
            |c| c.core.compartments -= 1,
            |c| c.modulator.channels += 1,
            |c| c.modulator.decay = 0.5,
            |c| c.learning.trace_bits -= 1,
        ];
        for edit in edits {
            let mut c = base.clone();
            edit(&mut c);
            assert_ne!(
                structure_fingerprint(&c),
                structure_fingerprint(&base),
                "{c:?}"
            );
        }
    }

    #[test]
    fn sections_name_what_differs() {
        let base = crate::presets::preset("loihi").unwrap();
        let mut c = base.clone();
        c.core.weight_bits = vec![4];
        let (a, b) = (structure_sections(&base), structure_sections(&c));
        let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["core", "learning", "mesh", "modulator"]);
        let differ: Vec<&str> = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| x.1 != y.1)
            .map(|(x, _)| x.0.as_str())
            .collect();
        assert_eq!(differ, ["core"]);
    }
}
