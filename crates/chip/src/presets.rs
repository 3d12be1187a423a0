//! Chip presets embedded in the binary, so `--chip loihi` works without any file.
//!
//! The RON sources live in the workspace's `chip-configs/` folder; they are compiled in
//! here, and a test checks that every preset parses and validates.

use crate::config::ChipConfig;
use crate::error::{Error, ErrorKind};
use crate::identity::ChipIdentity;
use crate::overrides::Set;
use std::path::Path;

/// Name and RON text of each embedded preset.
pub const PRESETS: &[(&str, &str)] = &[
    ("loihi", include_str!("../../../chip-configs/loihi.ron")),
    (
        "loihi-eprop",
        include_str!("../../../chip-configs/loihi_eprop.ron"),
    ),
    (
        "loihi-ed",
        include_str!("../../../chip-configs/loihi_ed.ron"),
    ),
    (
        "loihi-sigprop",
        include_str!("../../../chip-configs/loihi_sigprop.ron"),
    ),
    (
        "loihi-sigprop-128",
        include_str!("../../../chip-configs/loihi_sigprop_128.ron"),
    ),
    ("tiny", include_str!("../../../chip-configs/tiny.ron")),
    (
        "truenorth",
        include_str!("../../../chip-configs/truenorth.ron"),
    ),
    (
        "spinnaker2",
        include_str!("../../../chip-configs/spinnaker2.ron"),
    ),
    ("odin", include_str!("../../../chip-configs/odin.ron")),
];

/// Names of the embedded presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The embedded preset called `name`, parsed and validated.
pub fn preset(name: &str) -> Result<ChipConfig, Error> {
    let (_, text) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        Error::new(ErrorKind::UnknownPreset {
            name: name.into(),
            known: names(),
        })
    })?;
    let origin = format!("<preset {name}>");
    let config = ChipConfig::from_ron(text, &origin)?;
    config.validate()?;
    Ok(config)
}

/// The shipped sigprop presets, smallest register file first.
pub const SIGPROP_PRESETS: &[&str] = &["loihi-sigprop", "loihi-sigprop-128"];

/// The first of [`SIGPROP_PRESETS`] whose context register file holds `contexts`
/// contexts (classes × contexts per class), if any does.
pub fn sigprop_preset_for(contexts: u64) -> Option<&'static str> {
    let holds = |name: &&&str| {
        preset(name)
            .ok()
            .and_then(|c| c.learning.sigprop)
            .is_some_and(|u| contexts <= u64::from(u.context.classes))
    };
    SIGPROP_PRESETS.iter().find(holds).copied()
}

/// A chip named on the command line, with `--set` overrides applied, and how reports
/// name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub config: ChipConfig,
    pub identity: ChipIdentity,
}

impl Resolved {
    /// This chip repeated over `system` as the one virtual chip every image for the
    /// system is compiled for and runs on (see
    /// [`SystemConfig::virtual_chip`](crate::system::SystemConfig::virtual_chip)), named
    /// like this chip's file and overrides, and the system's layout.
    pub fn on_system(
        &self,
        system: &crate::system::SystemConfig,
    ) -> Result<(Resolved, crate::system_layout::SystemLayout), Error> {
        let (config, layout) = system.virtual_chip(&self.config)?;
        let identity = ChipIdentity::of(&config, &self.identity.file, &self.identity.overrides);
        Ok((Resolved { identity, config }, layout))
    }
}

/// [`resolve`] `name_or_path`, then apply `sets` (validated, see
/// [`ChipConfig::with_sets`]).
pub fn resolve_with(name_or_path: &str, sets: &[Set]) -> Result<Resolved, Error> {
    let base = resolve(name_or_path)?;
    let config = base.with_sets(sets)?;
    let file = if Path::new(name_or_path).is_file() {
        name_or_path.to_string()
    } else {
        format!("<preset {name_or_path}>")
    };
    let texts: Vec<String> = sets.iter().map(|s| s.text.clone()).collect();
    Ok(Resolved {
        identity: ChipIdentity::of(&config, &file, &texts),
        config,
    })
}

/// A chip named on the command line: an existing file is read; otherwise the name must
/// be a preset.
pub fn resolve(name_or_path: &str) -> Result<ChipConfig, Error> {
    let path = Path::new(name_or_path);
    // A file, or anything else that exists and is not a directory (a pipe, a device).
    if path.exists() && !path.is_dir() {
        return ChipConfig::load(path);
    }
    if PRESETS.iter().any(|(n, _)| *n == name_or_path) {
        return preset(name_or_path);
    }
    if name_or_path.ends_with(".ron") || name_or_path.contains('/') {
        return Err(Error::io(
            path,
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    Err(Error::new(ErrorKind::UnknownPreset {
        name: name_or_path.into(),
        known: names(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_validates() {
        for name in names() {
            let c = preset(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.name, name);
        }
    }

    #[test]
    fn loihi_has_the_published_size() {
        let c = preset("loihi").unwrap();
        assert_eq!(c.cores(), 128);
        assert_eq!(c.compartments(), 131_072);
        assert_eq!(c.core.synapse_memory_bits, 128 * 1024 * 8);
        let p = c.static_power().0;
        assert!((p - 104.0).abs() < 0.5, "static power {p} mW");
    }

    #[test]
    fn a_sigprop_network_defaults_to_the_smallest_file_that_holds_its_contexts() {
        assert_eq!(sigprop_preset_for(40), Some("loihi-sigprop"));
        assert_eq!(sigprop_preset_for(64), Some("loihi-sigprop"));
        assert_eq!(sigprop_preset_for(65), Some("loihi-sigprop-128"));
        assert_eq!(sigprop_preset_for(120), Some("loihi-sigprop-128"));
        assert_eq!(sigprop_preset_for(128), Some("loihi-sigprop-128"));
        assert_eq!(sigprop_preset_for(129), None);
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let e = resolve("loihii").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("loihi") && s.contains("tiny"), "{s}");
    }

    #[test]
    fn round_trips_through_ron() {
        let c = preset("tiny").unwrap();
        let back = ChipConfig::from_ron(&c.to_ron(), "x").unwrap();
        assert_eq!(c, back);
    }

    /// Where two configurations differ, as dotted field paths (a list differs as a whole).
    fn differences(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let null = serde_json::Value::Null;
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    differences(
                        x.get(k).unwrap_or(&null),
                        y.get(k).unwrap_or(&null),
                        &path,
                        out,
                    );
                }
            }
            _ if a != b => out.push(at.to_string()),
            _ => {}
        }
    }

    /// The derived Loihi presets say in their headers that they are `loihi` plus the
    /// fields marked [E]; this holds them to it, so a field added to `loihi` later is not
    /// silently missing from them.
    #[test]
    fn derived_loihi_presets_differ_from_loihi_only_where_they_say() {
        let json = |name: &str| serde_json::to_value(preset(name).unwrap()).unwrap();
        let loihi = json("loihi");
        for (name, declared) in [
            (
                "loihi-ed",
                &[
                    "learning.centring",
                    "costs.centring_update",
                    "costs.rule_write",
                ][..],
            ),
            ("loihi-sigprop", &["learning.sigprop"][..]),
            (
                "loihi-sigprop-128",
                &["learning.sigprop", "static_power.per_core_mw"][..],
            ),
            (
                "loihi-eprop",
                &[
                    "core.weight_bits",
                    "core.population",
                    "core.delta_rows",
                    "modulator.format",
                    "learning.eprop",
                    "static_power.gating",
                ][..],
            ),
        ] {
            let mut found = Vec::new();
            differences(&loihi, &json(name), "", &mut found);
            found.retain(|p| p != "name");
            let mut declared: Vec<String> = declared.iter().map(|s| s.to_string()).collect();
            declared.sort();
            found.sort();
            assert_eq!(found, declared, "{name}: fields that differ from loihi");
        }
    }
}
