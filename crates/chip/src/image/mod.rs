//! The chip image: everything that is loaded into a chip before it runs.
//!
//! **API boundary:** the image is the only contract between amine-compiler (which
//! writes it) and amine-sim (which runs it). The simulator never re-decides a mapping;
//! everything it needs — compartment parameters, synapse memory contents, fan-out
//! (routing) tables, input ports, probes, modulator bindings and learning slots — is here.
//!
//! Images are versioned ([`IMAGE_VERSION`]) and stamped with the chip configuration
//! they were compiled for ([`ChipStamp`]); [`ChipImage::verify`] checks an image against
//! a configuration and reports every problem, so a corrupt or foreign image is an error,
//! never a panic. Two encodings: RON text ([`ChipImage::to_ron`]) and a compact,
//! checksummed binary ([`ChipImage::to_bytes`]); see [`codec`].

pub mod codec;
pub mod eprop;
mod population;
pub mod sigprop;
mod verified;
mod verify;

pub use population::{CorePopulation, PopAxon, PopFanout, PopTarget};
pub use verified::VerifiedImage;

use crate::config::{ChipConfig, NeuronModelKind};
use crate::learning::traces::TraceParams;
use crate::neuron::NeuronParams;
use crate::synapse::SynapseMemory;
use serde::{Deserialize, Serialize};

/// Version of the image format; bumped on every incompatible change.
pub const IMAGE_VERSION: u32 = 9;

/// A whole chip image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipImage {
    pub version: u32,
    /// The chip configuration this image was compiled for.
    pub chip: ChipStamp,
    /// Name of the network program it came from.
    pub program: String,
    /// The cores in use, in increasing id order.
    pub cores: Vec<CoreImage>,
    /// Spike sources outside the chip, and where their spikes go.
    pub inputs: Vec<InputPort>,
    /// Where each population's neurons live.
    pub populations: Vec<PopulationMap>,
    pub probes: Vec<Probe>,
    pub modulator: ModulatorImage,
    /// Learning rules, referenced by index from [`CoreImage::plastic_rows`].
    pub learning: Vec<LearningSlot>,
    /// The e-prop learning engine's registers and tables, for an image that trains
    /// with e-prop ([`eprop`]).
    #[serde(default)]
    pub eprop: Option<eprop::EpropImage>,
    /// The sigprop learning unit's layers and contexts, for an image that trains with
    /// sigprop ([`sigprop`]).
    #[serde(default)]
    pub sigprop: Option<sigprop::SigpropImage>,
}

/// Identifies the chip an image was compiled for, by its *structure* (see
/// [`crate::identity`]): costs, static power, clock and router timing are not part of
/// it, so one image runs on every variant of a chip that differs only in those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipStamp {
    /// Name of the configuration it was compiled with (for messages; not checked).
    pub name: String,
    /// [`crate::identity::structure_fingerprint`] of that configuration.
    pub fingerprint: u64,
    /// Fingerprint of each structural section, so a mismatch names what differs.
    pub sections: Vec<(String, u64)>,
}

impl ChipStamp {
    pub fn of(config: &ChipConfig) -> ChipStamp {
        ChipStamp {
            name: config.name.clone(),
            fingerprint: crate::identity::structure_fingerprint(config),
            sections: crate::identity::structure_sections(config),
        }
    }

    /// Whether an image with this stamp can run on a chip with stamp `other`.
    pub fn same_structure(&self, other: &ChipStamp) -> bool {
        self.fingerprint == other.fingerprint && self.sections == other.sections
    }

    /// Structural sections whose fingerprints differ from `other`'s (or that only one has).
    pub fn differing_sections(&self, other: &ChipStamp) -> Vec<String> {
        let mut names: Vec<&String> = self
            .sections
            .iter()
            .chain(&other.sections)
            .map(|(n, _)| n)
            .collect();
        names.sort();
        names.dedup();
        let find = |s: &ChipStamp, n: &str| s.sections.iter().find(|(m, _)| m == n).map(|x| x.1);
        names
            .into_iter()
            .filter(|n| find(self, n) != find(other, n))
            .cloned()
            .collect()
    }
}

/// One core's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreImage {
    /// Linear core id: tile `id / cores_per_tile`, tile x = `tile % tiles_x`, y = `tile / tiles_x`.
    pub id: u32,
    /// Distinct compartment parameter sets ("profiles") used on this core.
    pub profiles: Vec<NeuronParams>,
    /// Profile index of each compartment in use (compartment i is entry i).
    pub compartments: Vec<u16>,
    /// Synapse memory; row r belongs to input axon r.
    pub synapses: SynapseMemory,
    /// Output axons of compartment c are `fanout[fanout_offsets[c]..fanout_offsets[c+1]]`.
    pub fanout_offsets: Vec<u32>,
    pub fanout: Vec<AxonTarget>,
    /// Rows whose synapses learn, with the index of their rule in [`ChipImage::learning`].
    pub plastic_rows: Vec<PlasticRow>,
    /// Population axons and population fan-out (shared synapse lists); `None`: every row
    /// is a discrete input axon and every output axon is in `fanout`.
    #[serde(default)]
    pub population: Option<CorePopulation>,
}

/// Where an output axon sends a spike: input axon `axon` of core `core`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AxonTarget {
    pub core: u32,
    pub axon: u32,
}

/// A learning row: synapse-memory row `row` runs learning slot `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlasticRow {
    pub row: u32,
    pub slot: u16,
}

/// A spike source outside the chip (a sensor, the host). Its spikes enter the mesh at
/// `entry_tile` and travel to their targets like any other packet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputPort {
    pub name: String,
    pub size: u32,
    pub source: InputSource,
    /// Tile (x, y) whose router receives the port's packets.
    pub entry_tile: (u32, u32),
    /// Output axons of input i are `fanout[fanout_offsets[i]..fanout_offsets[i+1]]`.
    pub fanout_offsets: Vec<u32>,
    pub fanout: Vec<AxonTarget>,
    /// Population fan-out of the port's inputs (spikes to population axons).
    #[serde(default)]
    pub pop_fanout: Option<PopFanout>,
}

/// How an input port produces spikes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InputSource {
    /// Each input spikes independently with probability `p` each step.
    Bernoulli { p: f64, seed: u64 },
    /// Poisson spike trains of `rate_hz` at `dt_s` seconds per step (p = 1 − e^(−rate·dt)).
    Poisson { rate_hz: f64, dt_s: f64, seed: u64 },
    /// An explicit spike train: (step, input index), sorted by step then index.
    Explicit { spikes: Vec<(u32, u32)> },
    /// Supplied when the image is run (e.g. `amine run --input spikes.csv`).
    External,
    /// Graded values written by the host while the image runs (pixels, targets): each
    /// value the host sends goes out once, in the next step, as a graded packet of
    /// `payload_bits` (a zero value sends nothing).
    Graded { payload_bits: u8 },
}

/// Sign constraint of a population's outgoing synapses (Dale's principle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sign {
    Excitatory,
    Inhibitory,
    Mixed,
}

/// Where a population's neurons were placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationMap {
    pub name: String,
    pub size: u32,
    pub model: NeuronModelKind,
    pub sign: Sign,
    /// Contiguous neuron ranges and the core compartments they occupy.
    pub blocks: Vec<Block>,
}

/// Neurons `first_neuron..first_neuron+count` of a population live in compartments
/// `first_compartment..first_compartment+count` of core `core`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub core: u32,
    pub first_compartment: u32,
    pub first_neuron: u32,
    pub count: u32,
}

/// What a probe records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProbeKind {
    Spikes,
    Voltage,
    Current,
    /// A graded unit's output payload.
    Graded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub name: String,
    pub population: String,
    pub kind: ProbeKind,
    /// Neuron indices within the population; `None` records all of them.
    pub neurons: Option<Vec<u32>>,
}

/// Bindings between compartments and the modulator grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulatorImage {
    /// Compartments that inject into the grid.
    pub sources: Vec<ModSource>,
    /// Grid cell (x, y) of each compartment that reads the grid, per core. Compartments
    /// not listed read the cell under their core's position on the die.
    pub cells: Vec<CompartmentCell>,
    /// Kernel, decay and boundary for this image (`None`: the chip's defaults).
    #[serde(default)]
    pub registers: Option<GridRegisters>,
}

/// Compartment `compartment` of core `core` injects `gain` × its output into
/// `channel` at cell `cell`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModSource {
    pub core: u32,
    pub compartment: u32,
    pub channel: u32,
    pub gain: f64,
    pub cell: (u32, u32),
    /// Broadcast: inject the same amount into every cell of the `(width, height)`
    /// rectangle whose top-left cell is `cell` (`None`: `cell` alone).
    #[serde(default)]
    pub region: Option<(u32, u32)>,
}

/// Grid registers a program sets for its run, overriding the chip configuration's
/// defaults (the grid's size, channels and number format are hardware and stay).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridRegisters {
    pub kernel: crate::config::Kernel,
    pub decay: f64,
    pub boundary: crate::config::Boundary,
    /// The part of the grid in use, `(width, height)` cells from the corner (`None`:
    /// all of it): the kernel and the boundary act at its edges, cells outside it are
    /// not updated (and cost nothing), and positions map onto it.
    #[serde(default)]
    pub size: Option<(u32, u32)>,
}

impl ModulatorImage {
    /// The grid this image runs: the chip's, with the image's registers (kernel, decay,
    /// boundary and the size in use) in place of the chip's defaults.
    pub fn grid_config(
        &self,
        chip: &crate::config::ModulatorConfig,
    ) -> crate::config::ModulatorConfig {
        let mut grid = chip.clone();
        if let Some(r) = &self.registers {
            (grid.kernel, grid.decay, grid.boundary) = (r.kernel, r.decay, r.boundary);
            if let Some((w, h)) = r.size {
                grid.width = w;
                grid.height = h;
            }
        }
        grid
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompartmentCell {
    pub core: u32,
    pub compartment: u32,
    pub cell: (u32, u32),
}

/// A learning rule attached to one projection, run by the cores' learning engines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningSlot {
    /// The projection it came from.
    pub projection: String,
    /// A rule name (`stdp`, `r_stdp`, ...) or a sum-of-products expression.
    pub rule: String,
    /// Named numeric parameters of the rule.
    pub params: Vec<(String, f64)>,
    /// The rule runs every `epoch` steps.
    pub epoch: u32,
    /// The assembled rule (`rule` with `params`, as the learning engine runs it).
    pub microcode: crate::learning::RuleProgram,
    /// Pre-synaptic traces of the slot's rows.
    pub x1: TraceParams,
    pub x2: TraceParams,
    /// Post-synaptic traces of the compartments the slot's rows reach.
    pub y1: TraceParams,
    pub y2: TraceParams,
    pub y3: TraceParams,
    /// Seed of the stochastic-rounding draws.
    pub seed: u64,
    /// Whether a row whose weights leave its range is halved and its exponent raised
    /// (up to `core.weight_exponent_max`) instead of clamped.
    #[serde(default)]
    pub renormalise: bool,
    /// An e-prop slot: the eligibility unit ([`crate::learning::eprop`]) runs every step
    /// on the slot's rows instead of the microcode (which is then empty), and applies
    /// `Δw = −η·g` every `epoch` steps.
    #[serde(default)]
    pub eprop: Option<crate::learning::eprop::EpropParams>,
}

impl ChipImage {
    /// Number of compartments in use across all cores.
    pub fn compartments_used(&self) -> u64 {
        self.cores.iter().map(|c| c.compartments.len() as u64).sum()
    }

    /// Number of synapses across all cores: each discrete row's entries once, each
    /// population axon's rows once per axon (the synapses it stands for).
    pub fn synapse_count(&self) -> u64 {
        self.cores.iter().map(CoreImage::synapse_count).sum()
    }

    pub fn population(&self, name: &str) -> Option<&PopulationMap> {
        self.populations.iter().find(|p| p.name == name)
    }

    /// Every problem of this image as a load for `config` (empty when it can run).
    pub fn verify(&self, config: &ChipConfig) -> Vec<crate::Problem> {
        let mut p = verify::problems(self, config);
        if p.iter().all(|p| p.field != "chip") {
            p.extend(eprop::problems(self, config));
        }
        p
    }
}

impl CoreImage {
    /// The output axons of compartment `c`.
    pub fn fanout_of(&self, c: usize) -> &[AxonTarget] {
        let (a, b) = (
            self.fanout_offsets[c] as usize,
            self.fanout_offsets[c + 1] as usize,
        );
        &self.fanout[a..b]
    }
}

impl InputPort {
    /// The population fan-out of input `i` (none without one).
    pub fn pop_fanout_of(&self, i: usize) -> &[PopTarget] {
        self.pop_fanout.as_ref().map_or(&[], |f| f.of(i))
    }

    /// The output axons of input `i`.
    pub fn fanout_of(&self, i: usize) -> &[AxonTarget] {
        let (a, b) = (
            self.fanout_offsets[i] as usize,
            self.fanout_offsets[i + 1] as usize,
        );
        &self.fanout[a..b]
    }
}

/// 64-bit FNV-1a: a stable, dependency-free fingerprint (not a cryptographic hash).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests;
