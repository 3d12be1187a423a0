//! Population axons in the image: shared synapse lists (Loihi's population-based
//! hierarchical connectivity, see `PopulationConfig`).
//!
//! On the receiving core, rows `0..shared_from` of synapse memory are discrete input
//! axons (axon `r` reads row `r`, as without population axons) and rows from
//! `shared_from` on are *shared lists*, addressed only through population axons. The
//! population axon `k` has the input-axon id `shared_from + k`; a spike reaching it with
//! atom `a` reads row `first_row + a` and adds its weights to compartments
//! `base + target`. Many axons point at the same rows, which are stored (and counted in
//! synapse memory) once.
//!
//! On the sending side, a compartment's population fan-out lists `(core, axon, atom)`:
//! one packet each, carrying the atom. The output-axon entries a core needs are counted
//! per distinct `(core, axon)` it sends to — the compartments of one source population
//! that reach the same axon share the entry and differ only in their atom.

use super::{ChipImage, CoreImage};
use crate::config::{ChipConfig, PopulationConfig};
use crate::error::Problem;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A core's population axons (receiving side) and population fan-out (sending side).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorePopulation {
    /// First row of the shared lists; rows before it are discrete input axons.
    pub shared_from: u32,
    /// Input axon `shared_from + k` is `axons[k]`.
    pub axons: Vec<PopAxon>,
    /// Population fan-out of the core's compartments.
    pub fanout: PopFanout,
}

/// One population axon: `atoms` rows from `first_row`, targets offset by `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopAxon {
    pub first_row: u32,
    pub atoms: u32,
    pub base: u32,
}

/// Where a population spike goes: population axon `axon` (its input-axon id) of core
/// `core`, reading the row of `atom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PopTarget {
    pub core: u32,
    pub axon: u32,
    pub atom: u32,
}

/// Population fan-out of source `i` (a compartment, or an input of a port):
/// `targets[offsets[i]..offsets[i + 1]]`. Empty `offsets`: no source has any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopFanout {
    pub offsets: Vec<u32>,
    pub targets: Vec<PopTarget>,
}

impl PopFanout {
    /// The population targets of source `i` (none when the table is empty).
    pub fn of(&self, i: usize) -> &[PopTarget] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) if a <= b && b as usize <= self.targets.len() => {
                &self.targets[a as usize..b as usize]
            }
            _ => &[],
        }
    }

    /// Distinct `(core, axon)` pairs among the targets: the output-axon entries used.
    pub fn distinct_axons(&self) -> u64 {
        let mut v: Vec<(u32, u32)> = self.targets.iter().map(|t| (t.core, t.axon)).collect();
        v.sort_unstable();
        v.dedup();
        v.len() as u64
    }

    /// Well-formed for `sources` sources: empty, or offsets rising from 0 to the end.
    fn shaped(&self, sources: usize) -> bool {
        (self.offsets.is_empty() && self.targets.is_empty())
            || (self.offsets.len() == sources + 1
                && self.offsets.first() == Some(&0)
                && self.offsets.windows(2).all(|w| w[0] <= w[1])
                && self.offsets.last().copied() == Some(self.targets.len() as u32))
    }
}

impl CoreImage {
    /// Rows that are discrete input axons (all of them without population axons).
    pub fn discrete_rows(&self) -> u32 {
        let rows = self.synapses.rows().len() as u32;
        self.population
            .as_ref()
            .map_or(rows, |p| p.shared_from.min(rows))
    }

    /// Input-axon entries in use: one per discrete row, `input_slots` per population axon.
    pub fn input_axons_used(&self, pop: Option<&PopulationConfig>) -> u64 {
        let slots = pop.map_or(1, |p| p.input_slots) as u64;
        self.discrete_rows() as u64
            + self
                .population
                .as_ref()
                .map_or(0, |p| p.axons.len() as u64 * slots)
    }

    /// Output-axon entries in use: one per discrete fan-out entry, `output_slots` per
    /// distinct population axon the core sends to.
    pub fn output_axons_used(&self, pop: Option<&PopulationConfig>) -> u64 {
        let slots = pop.map_or(1, |p| p.output_slots) as u64;
        self.fanout.len() as u64
            + self
                .population
                .as_ref()
                .map_or(0, |p| p.fanout.distinct_axons() * slots)
    }

    /// The population fan-out of compartment `c` (none without population axons).
    pub fn pop_fanout_of(&self, c: usize) -> &[crate::image::PopTarget] {
        self.population.as_ref().map_or(&[], |p| p.fanout.of(c))
    }

    /// Synapses the core holds for its sources: the discrete rows' entries, plus every
    /// population axon's rows once per axon (the synapses it stands for).
    pub fn synapse_count(&self) -> u64 {
        let rows = self.synapses.rows();
        let len = |r: u32| rows.get(r as usize).map_or(0, |x| x.len as u64);
        let discrete: u64 = (0..self.discrete_rows()).map(len).sum();
        let shared: u64 = self.population.as_ref().map_or(0, |p| {
            p.axons
                .iter()
                .map(|a| {
                    (0..a.atoms)
                        .map(|k| len(a.first_row.saturating_add(k)))
                        .sum::<u64>()
                })
                .sum()
        });
        discrete + shared
    }
}

/// Every problem of the image's population axons and fan-out (see the module docs).
pub(super) fn problems(image: &ChipImage, config: &ChipConfig, out: &mut Vec<Problem>) {
    let pc = config.core.population.as_ref();
    let uses = image.cores.iter().any(|c| c.population.is_some())
        || image.inputs.iter().any(|p| p.pop_fanout.is_some());
    if uses && pc.is_none() {
        out.push(Problem {
            field: "cores".into(),
            message: format!(
                "the image uses population axons, which chip `{}` does not have (core.population)",
                config.name
            ),
        });
        return;
    }
    let Some(pc) = pc else { return };
    // Population axons of each core id: (shared_from, atoms of each axon).
    let mut axons_of = HashMap::new();
    for (ci, core) in image.cores.iter().enumerate() {
        let Some(p) = &core.population else { continue };
        if core_population_problems(ci, core, p, pc, out) {
            axons_of.insert(core.id, p);
        }
    }
    for (ci, core) in image.cores.iter().enumerate() {
        if let Some(p) = &core.population {
            fanout_targets(
                &axons_of,
                format!("cores[{ci}].population.fanout"),
                &p.fanout,
                out,
            );
        }
    }
    for (ii, port) in image.inputs.iter().enumerate() {
        let Some(fan) = &port.pop_fanout else {
            continue;
        };
        let field = format!("inputs[{ii}].pop_fanout");
        if !fan.shaped(port.size as usize) {
            out.push(Problem {
                field: field.clone(),
                message: "offsets must be empty or rise from 0 over every input".into(),
            });
        }
        fanout_targets(&axons_of, field, fan, out);
    }
}

/// Core `ci`'s population section: its axons and the shape of its fan-out; `false`
/// (nothing else checked) when its shared rows start past the core's rows.
fn core_population_problems(
    ci: usize,
    core: &CoreImage,
    p: &CorePopulation,
    pc: &PopulationConfig,
    out: &mut Vec<Problem>,
) -> bool {
    let at = |f: &str| format!("cores[{ci}].population.{f}");
    let rows = core.synapses.rows().len() as u32;
    if p.shared_from > rows {
        out.push(Problem {
            field: at("shared_from"),
            message: format!("row {} of {rows}", p.shared_from),
        });
        return false;
    }
    for (k, a) in p.axons.iter().enumerate() {
        axon_problems(
            format!("cores[{ci}].population.axons[{k}]"),
            a,
            p,
            core,
            pc,
            out,
        );
    }
    if !p.fanout.shaped(core.compartments.len()) {
        out.push(Problem {
            field: at("fanout"),
            message: "offsets must be empty or rise from 0 over every compartment".into(),
        });
    }
    true
}

/// Population axon `a` (field `at`) of `core`: shared rows, atoms and base the chip
/// allows, targets inside the core.
fn axon_problems(
    at: String,
    a: &PopAxon,
    p: &CorePopulation,
    core: &CoreImage,
    pc: &PopulationConfig,
    out: &mut Vec<Problem>,
) {
    let mem = &core.synapses;
    let rows = mem.rows().len() as u32;
    let n = core.compartments.len() as u64;
    let ok_rows = a.atoms >= 1
        && a.first_row >= p.shared_from
        && a.first_row as u64 + a.atoms as u64 <= rows as u64;
    if !ok_rows {
        out.push(Problem {
            field: at,
            message: format!(
                "rows {}..{} are not shared rows ({}..{rows})",
                a.first_row,
                a.first_row as u64 + a.atoms as u64,
                p.shared_from
            ),
        });
        return;
    }
    if a.atoms > pc.max_atoms {
        out.push(Problem {
            field: at.clone(),
            message: format!("{} atoms, the chip allows {}", a.atoms, pc.max_atoms),
        });
    }
    if a.base as u64 >= 1u64 << pc.base_bits {
        out.push(Problem {
            field: at.clone(),
            message: format!(
                "compartment base {} needs more than {} bits",
                a.base, pc.base_bits
            ),
        });
    }
    let top = (0..a.atoms)
        .flat_map(|k| mem.row_targets(a.first_row + k))
        .max();
    if let Some(t) = top.filter(|&t| a.base as u64 + t as u64 >= n) {
        out.push(Problem {
            field: at,
            message: format!("reaches compartment {} of {n}", a.base as u64 + t as u64),
        });
    }
}

/// The first of `fan`'s targets that is no atom of a population axon (`axons_of`).
fn fanout_targets(
    axons_of: &HashMap<u32, &CorePopulation>,
    field: String,
    fan: &PopFanout,
    out: &mut Vec<Problem>,
) {
    let bad = fan.targets.iter().find(|t| {
        axons_of.get(&t.core).is_none_or(|p| {
            t.axon < p.shared_from
                || p.axons
                    .get((t.axon - p.shared_from) as usize)
                    .is_none_or(|a| t.atom >= a.atoms)
        })
    });
    if let Some(t) = bad {
        out.push(Problem {
            field,
            message: format!(
                "population fan-out to core {} axon {} atom {}, which does not exist",
                t.core, t.axon, t.atom
            ),
        });
    }
}
