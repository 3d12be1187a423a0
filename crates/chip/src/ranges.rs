//! The valid range of every numeric chip-configuration field.
//!
//! [`RANGES`] is the one table of per-field bounds (docs/chip-config.md lists the same
//! numbers, and a test holds the two together); [`problems`] checks a configuration
//! against it. Cross-field rules (the mesh's core count, a graded packet at least as
//! long as a spike packet, the kernel's sum, …) stay in
//! [`ChipConfig::problems`](crate::ChipConfig::problems), which also calls this.
//!
//! The bounds keep every product the simulator and compiler form from a configuration
//! inside 64 bits: at most 65,536 cores, 2^24 axons and 2^32 synapse-memory bits per
//! core, 2^28 grid cells, costs of at most 10^6 cycles and 10^9 pJ per event.

use crate::config::ChipConfig;
use crate::error::Problem;

/// Bounds of one field: inclusive, integer or real.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Int(i128, i128),
    Real(f64, f64),
}

/// One field's valid range and why it is bounded there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldRange {
    /// Dotted path; `costs.*` stands for every cost entry.
    pub field: &'static str,
    pub bound: Bound,
}

const fn int(field: &'static str, min: i128, max: i128) -> FieldRange {
    FieldRange {
        field,
        bound: Bound::Int(min, max),
    }
}

const fn real(field: &'static str, min: f64, max: f64) -> FieldRange {
    FieldRange {
        field,
        bound: Bound::Real(min, max),
    }
}

/// Most cores a chip may have (`tiles_x · tiles_y · cores_per_tile`).
pub const MAX_CORES: u64 = 1 << 16;
/// Most bytes of a chip's `name`.
pub const MAX_NAME_BYTES: usize = 256;

/// Every numeric field's range.
pub const RANGES: &[FieldRange] = &[
    int("mesh.tiles_x", 1, 65_536),
    int("mesh.tiles_y", 1, 65_536),
    int("mesh.cores_per_tile", 1, 65_536),
    int("mesh.clock_hz", 1, 1_000_000_000_000),
    int("core.compartments", 1, 1 << 20),
    int("core.input_axons", 1, 1 << 24),
    int("core.output_axons", 1, 1 << 24),
    int("core.synapse_memory_bits", 8, 1 << 32),
    int("core.population.max_atoms", 1, 1 << 20),
    int("core.population.base_bits", 1, 20),
    int("core.population.input_slots", 1, 1024),
    int("core.population.output_slots", 1, 1024),
    int("router.flit_bits", 8, 4096),
    int("router.buffer_flits", 1, 65_536),
    int("router.spike_packet_flits", 1, 256),
    int("router.graded_packet_flits", 1, 256),
    int("router.flit_cycles", 1, 1_000_000),
    int("modulator.width", 0, 4096),
    int("modulator.height", 0, 4096),
    int("modulator.channels", 0, 256),
    real("modulator.kernel.edge", 0.0, 0.25),
    real("modulator.kernel.corner", 0.0, 0.25),
    real("modulator.decay", 0.0, 1.0),
    int("learning.max_terms", 1, 255),
    int("learning.max_factors", 1, 255),
    real("costs.*.energy_pj", 0.0, 1e9),
    int("costs.*.cycles", 0, 1_000_000),
    int("costs.barrier.max_tiles", 1, 65_536),
    real("static_power.per_core_mw", 0.0, 1e9),
    real("static_power.per_router_mw", 0.0, 1e9),
    real("static_power.grid_mw", 0.0, 1e9),
];

/// A field's value, as the range check reads it.
enum Value {
    Int(i128),
    Real(f64),
}

/// Every numeric field of `c` the table bounds, with its path and its table entry.
fn values(c: &ChipConfig) -> Vec<(String, &'static str, Value)> {
    use Value::{Int, Real};
    let mut v: Vec<(String, &'static str, Value)> = Vec::new();
    let mut int = |path: &'static str, x: i128| v.push((path.into(), path, Int(x)));
    let (m, k, r, g, l) = (&c.mesh, &c.core, &c.router, &c.modulator, &c.learning);
    int("mesh.tiles_x", m.tiles_x.into());
    int("mesh.tiles_y", m.tiles_y.into());
    int("mesh.cores_per_tile", m.cores_per_tile.into());
    int("mesh.clock_hz", m.clock_hz.into());
    int("core.compartments", k.compartments.into());
    int("core.input_axons", k.input_axons.into());
    int("core.output_axons", k.output_axons.into());
    int("core.synapse_memory_bits", k.synapse_memory_bits.into());
    if let Some(p) = &k.population {
        int("core.population.max_atoms", p.max_atoms.into());
        int("core.population.base_bits", p.base_bits.into());
        int("core.population.input_slots", p.input_slots.into());
        int("core.population.output_slots", p.output_slots.into());
    }
    int("router.flit_bits", r.flit_bits.into());
    int("router.buffer_flits", r.buffer_flits.into());
    int("router.spike_packet_flits", r.spike_packet_flits.into());
    int("router.graded_packet_flits", r.graded_packet_flits.into());
    int("router.flit_cycles", r.flit_cycles.into());
    int("modulator.width", g.width.into());
    int("modulator.height", g.height.into());
    int("modulator.channels", g.channels.into());
    if l.enabled {
        int("learning.max_terms", l.max_terms.into());
        int("learning.max_factors", l.max_factors.into());
    }
    int("costs.barrier.max_tiles", c.costs.barrier.max_tiles.into());
    let mut real = |path: &'static str, x: f64| v.push((path.into(), path, Real(x)));
    real("modulator.kernel.edge", g.kernel.edge);
    real("modulator.kernel.corner", g.kernel.corner);
    real("modulator.decay", g.decay);
    let s = &c.static_power;
    real("static_power.per_core_mw", s.per_core_mw);
    real("static_power.per_router_mw", s.per_router_mw);
    real("static_power.grid_mw", s.grid_mw);
    for (name, cost) in c.costs.entries() {
        v.push((
            format!("costs.{name}.energy_pj"),
            "costs.*.energy_pj",
            Real(cost.energy_pj),
        ));
        v.push((
            format!("costs.{name}.cycles"),
            "costs.*.cycles",
            Int(cost.cycles.into()),
        ));
    }
    v
}

/// 1048576 → "1,048,576"; negative numbers keep their sign.
fn show(x: i128) -> String {
    let digits = crate::units::group_digits(x.unsigned_abs().min(u64::MAX as u128) as u64);
    if x < 0 {
        format!("-{digits}")
    } else {
        digits
    }
}

/// Every field of `c` outside its range in [`RANGES`], the name's length, and the mesh's
/// and the grid's products (computed in 64 bits, so no product wraps).
pub fn problems(c: &ChipConfig) -> Vec<Problem> {
    let mut out = Vec::new();
    for (path, key, value) in values(c) {
        let Some(range) = RANGES.iter().find(|r| r.field == key) else {
            continue;
        };
        let message = match (range.bound, value) {
            (Bound::Int(lo, hi), Value::Int(x)) if !(lo..=hi).contains(&x) => {
                format!("{} is outside {}..={}", show(x), show(lo), show(hi))
            }
            (Bound::Real(lo, hi), Value::Real(x)) if !(x.is_finite() && lo <= x && x <= hi) => {
                format!("{x} is outside [{lo}, {hi}]")
            }
            _ => continue,
        };
        out.push(Problem {
            field: path,
            message,
        });
    }
    if c.name.len() > MAX_NAME_BYTES {
        out.push(Problem {
            field: "name".into(),
            message: format!(
                "{} bytes, at most {MAX_NAME_BYTES}",
                show(c.name.len() as i128)
            ),
        });
    }
    let m = &c.mesh;
    let cores = u64::from(m.tiles_x) * u64::from(m.tiles_y) * u64::from(m.cores_per_tile);
    if cores > MAX_CORES {
        out.push(Problem {
            field: "mesh".into(),
            message: format!(
                "{} × {} tiles × {} cores per tile = {} cores, more than the {} supported",
                show(m.tiles_x.into()),
                show(m.tiles_y.into()),
                show(m.cores_per_tile.into()),
                show(cores.into()),
                show(MAX_CORES.into())
            ),
        });
    }
    let g = &c.modulator;
    let cells = u64::from(g.width) * u64::from(g.height) * u64::from(g.channels);
    if cells > crate::modgrid::MAX_CELLS {
        out.push(Problem {
            field: "modulator".into(),
            message: format!(
                "{} × {} cells × {} channels = {} cells, more than {}",
                g.width,
                g.height,
                g.channels,
                show(cells.into()),
                show(crate::modgrid::MAX_CELLS.into())
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loihi() -> ChipConfig {
        crate::presets::preset("loihi").unwrap()
    }

    fn fields(c: &ChipConfig) -> Vec<String> {
        problems(c).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn presets_are_in_range() {
        for name in crate::presets::names() {
            let c = crate::presets::preset(name).unwrap();
            assert!(problems(&c).is_empty(), "{name}: {:?}", problems(&c));
        }
    }

    #[test]
    fn products_do_not_wrap() {
        let mut c = loihi();
        (c.mesh.tiles_x, c.mesh.tiles_y, c.mesh.cores_per_tile) = (65_536, 65_536, 1);
        assert!(fields(&c).contains(&"mesh".to_string()));
        assert!(c.problems().iter().any(|p| p.field == "mesh"));
        // 2,147,483,712 × 2 wraps to 128 in 32 bits.
        (c.mesh.tiles_x, c.mesh.tiles_y) = (2_147_483_712, 2);
        let f = fields(&c);
        assert!(f.contains(&"mesh".to_string()), "{f:?}");
        assert!(f.contains(&"mesh.tiles_x".to_string()), "{f:?}");
        assert_eq!(c.cores(), u32::MAX, "cores() saturates");
    }

    #[test]
    fn every_field_out_of_range_is_named() {
        let mut c = loihi();
        c.modulator.channels = u32::MAX;
        c.costs.hop_ew.cycles = u64::MAX;
        c.costs.synaptic_op.energy_pj = f64::INFINITY;
        c.static_power.grid_mw = f64::NAN;
        c.core.input_axons = u32::MAX;
        c.name = "x".repeat(300);
        let f = fields(&c);
        for want in [
            "modulator.channels",
            "modulator",
            "costs.hop_ew.cycles",
            "costs.synaptic_op.energy_pj",
            "static_power.grid_mw",
            "core.input_axons",
            "name",
        ] {
            assert!(f.contains(&want.to_string()), "{want} missing from {f:?}");
        }
        let p = problems(&c);
        let ch = p.iter().find(|p| p.field == "modulator.channels").unwrap();
        assert_eq!(ch.message, "4,294,967,295 is outside 0..=256");
    }

    #[test]
    fn every_range_is_checked_and_documented() {
        let mut c = loihi();
        c.core.population = Some(crate::config::PopulationConfig {
            max_atoms: 1,
            base_bits: 1,
            input_slots: 1,
            output_slots: 1,
        });
        c.learning.enabled = true;
        let checked: Vec<&str> = values(&c).into_iter().map(|(_, k, _)| k).collect();
        let docs = include_str!("../../../docs/chip-config.md");
        for r in RANGES {
            assert!(checked.contains(&r.field), "{} is never checked", r.field);
            let shown = match r.bound {
                Bound::Int(lo, hi) => format!("`{}` | {}..={}", r.field, show(lo), show(hi)),
                Bound::Real(lo, hi) => format!("`{}` | [{lo}, {hi}]", r.field),
            };
            assert!(docs.contains(&shown), "docs/chip-config.md lacks `{shown}`");
        }
    }
}
