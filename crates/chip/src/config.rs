//! The chip configuration schema: what a chip is made of and what each event costs.
//!
//! A [`ChipConfig`] is read from RON (see `docs/chip-config.md` and the presets in
//! `chip-configs/`). Every struct rejects unknown fields, so a typo is an error with
//! the file, line, column and field name rather than a silently ignored setting.
//! [`ChipConfig::validate`] checks cross-field consistency and reports every problem
//! at once.

mod checks;
pub mod eprop;
pub mod sigprop;

use crate::error::{Error, ErrorKind, Problem};
use crate::textfmt;
use crate::units::{Cycles, Hertz, Milliwatts, Picojoules};
use serde::{Deserialize, Serialize};

/// A whole chip: mesh, cores, routers, modulator grid, learning engine and costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipConfig {
    /// Short name, shown in reports and stamped into chip images.
    pub name: String,
    pub mesh: MeshConfig,
    pub core: CoreConfig,
    pub router: RouterConfig,
    pub modulator: ModulatorConfig,
    pub learning: LearningConfig,
    pub costs: CostTable,
    pub static_power: StaticPower,
}

/// W×H tiles with one router each and C cores per tile, XY-routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshConfig {
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub cores_per_tile: u32,
    /// Nominal clock: cycles in the cost table are counted at this frequency.
    pub clock_hz: u64,
}

/// Per-core resource limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreConfig {
    /// Neuron compartments per core.
    pub compartments: u32,
    /// Input axons (rows of synapse memory) per core.
    pub input_axons: u32,
    /// Output axons (entries of the fan-out table) per core.
    pub output_axons: u32,
    /// Synapse memory capacity in bits.
    pub synapse_memory_bits: u64,
    /// Width of one synapse-memory word in bits; rows start on word boundaries.
    pub word_bits: u32,
    /// Weight widths (bits of mantissa, sign included when signed) the memory supports.
    pub weight_bits: Vec<u8>,
    /// Smallest per-row weight exponent.
    pub weight_exponent_min: i8,
    /// Largest per-row weight exponent.
    pub weight_exponent_max: i8,
    /// Most bits a synapse may spend on its delay (0 disables delays).
    pub max_delay_bits: u8,
    /// Most bits a synapse may spend on its tag (eligibility) field.
    pub max_tag_bits: u8,
    /// Neuron models the core's soma implements.
    pub neuron_models: Vec<NeuronModelKind>,
    /// Population axons with shared synapse lists (Loihi's population-based hierarchical
    /// connectivity); `None` (the default): every input axon is discrete and the compiler
    /// expands convolutions into per-synapse rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationConfig>,
    /// Delta-coded (run-length) target rows besides the sparse ones
    /// ([`crate::synapse::TargetCoding`]); `None` (the default): sparse rows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_rows: Option<DeltaRowsConfig>,
}

/// Delta-coded synapse rows: a row's sorted targets stored as distances from the
/// previous target, in the row's own width.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaRowsConfig {
    /// Widest delta field a row may use, `1..=20`; a row whose largest delta needs more
    /// stays sparse.
    pub max_delta_bits: u8,
}

/// Population axons: one input axon stands for a whole population of source neurons (its
/// *atoms*). A spike carries its atom; the axon holds a compartment base and the first of
/// `atoms` consecutive synapse-memory rows, and the spike reads row `first + atom`, adding
/// `base` to every target index. Axons with the same connectivity pattern share the rows,
/// so a convolution stores its kernel once per core instead of once per pixel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationConfig {
    /// Most atoms one population axon addresses.
    pub max_atoms: u32,
    /// Width of the compartment base: bases lie in `0..2^base_bits`.
    pub base_bits: u8,
    /// Input-axon entries a population axon takes on the receiving core.
    pub input_slots: u32,
    /// Output-axon entries a population axon takes on the sending core (shared by all
    /// the source compartments of one population that reach the same axon).
    pub output_slots: u32,
}

/// The neuron models a core can implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NeuronModelKind {
    /// Loihi's current-based leaky integrate-and-fire compartment.
    Lif,
    /// LIF with an adaptive threshold.
    Alif,
    /// A non-spiking unit with a fixed-point sigmoid and graded output payload.
    Graded,
}

/// The router of each tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Width of one flit in bits.
    pub flit_bits: u32,
    /// Input buffer depth per port, in flits.
    pub buffer_flits: u32,
    /// Flits in a spike packet (header included).
    pub spike_packet_flits: u32,
    /// Flits in a graded-spike packet (header and payload).
    pub graded_packet_flits: u32,
    /// Cycles a link needs to pass one further flit after the head flit.
    pub flit_cycles: u64,
}

/// The on-chip diffusing modulator grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulatorConfig {
    /// Cells along x (0 disables the grid).
    pub width: u32,
    /// Cells along y.
    pub height: u32,
    /// Independent channels (error+, error−, reward, ...).
    pub channels: u32,
    /// 3×3 diffusion kernel; the centre keeps whatever the neighbours do not receive.
    pub kernel: Kernel,
    /// Fraction of every cell's concentration removed each update, in [0, 1].
    pub decay: f64,
    pub boundary: Boundary,
    /// Fixed-point format of a concentration.
    pub format: GridFormat,
}

/// Neighbour weights of the 3×3 kernel: each of the 4 edge neighbours receives
/// `edge` of a cell's concentration, each of the 4 corner neighbours `corner`.
/// The centre keeps `1 − 4·edge − 4·corner`, so the kernel conserves mass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    pub edge: f64,
    pub corner: f64,
}

/// What happens at the grid's edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Boundary {
    /// Opposite edges are joined: the grid has no edge.
    Torus,
    /// What would leave the grid stays in the cell that sent it.
    Reflecting,
    /// What would leave the grid is lost.
    Absorbing,
}

/// Supported fixed-point formats of a concentration (signed, 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GridFormat {
    /// 8 integer bits (sign included), 24 fractional.
    Q8_24,
    /// 16 integer bits, 16 fractional.
    Q16_16,
    /// 24 integer bits, 8 fractional.
    Q24_8,
}

impl GridFormat {
    pub fn frac_bits(self) -> u32 {
        match self {
            GridFormat::Q8_24 => 24,
            GridFormat::Q16_16 => 16,
            GridFormat::Q24_8 => 8,
        }
    }
}

/// The per-core learning engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningConfig {
    /// Whether cores have a learning engine at all.
    pub enabled: bool,
    /// Width of pre/post traces (x1, x2, y1, y2, y3), unsigned, saturating.
    pub trace_bits: u8,
    /// Width of the tag (eligibility) variable, signed.
    pub tag_bits: u8,
    /// Most product terms in one rule.
    pub max_terms: u8,
    /// Most factors in one product term.
    pub max_factors: u8,
    /// The e-prop learning engine (`None`: the chip has none; see [`eprop`]).
    #[serde(default)]
    pub eprop: Option<eprop::EpropEngineConfig>,
    /// The sigprop learning unit (`None`: the chip has none; see [`sigprop`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigprop: Option<sigprop::SigpropUnitConfig>,
    /// The error units' centring register (`None`: the chip has none); its energy is
    /// `costs.centring_update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centring: Option<CentringUnit>,
}

/// A running-mean register in each graded error unit (see
/// [`crate::neuron::graded::Centring`]): the unit subtracts the mean held so far from
/// its input before its table and, while the learning engine is on, moves the mean by
/// `2^−rate_shift` towards the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentringUnit {
    /// Fractional bits of the 32-bit mean register (at most 16).
    pub frac_bits: u8,
    /// Largest rate shift the register supports (rate `2^−max_rate_shift`, at most 16).
    pub max_rate_shift: u8,
}

/// Energy and cycles of one event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub energy_pj: f64,
    pub cycles: u64,
}

impl Cost {
    /// No energy and no time (an optional cost left out).
    pub fn is_free(&self) -> bool {
        *self == Cost::default()
    }
    pub fn energy(&self) -> Picojoules {
        Picojoules(self.energy_pj)
    }
    pub fn time(&self) -> Cycles {
        Cycles(self.cycles)
    }
}

/// What each kind of event costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostTable {
    /// An input spike arriving at a core (axon-in stage).
    pub axon_in: Cost,
    /// One synapse-memory word read.
    pub synapse_word_read: Cost,
    /// One synaptic spike operation (a synapse read and its weight applied).
    pub synaptic_op: Cost,
    /// One dendritic accumulation (a weight added to a compartment's input), per synapse.
    pub dendrite_accumulate: Cost,
    /// One weight/tag update by the learning engine.
    pub synaptic_update: Cost,
    /// One pre or post trace update by the learning engine.
    pub trace_update: Cost,
    /// A neuron update of a compartment that received input or has state to decay.
    pub neuron_active: Cost,
    /// A neuron update of an idle compartment.
    pub neuron_idle: Cost,
    /// Every compartment's state read by the soma, once per step whatever it does (the
    /// "access" of SANA-FE's soma model). Optional, default free.
    #[serde(default, skip_serializing_if = "Cost::is_free")]
    pub neuron_access: Cost,
    /// An update of an active compartment, on top of its access (the "update" of
    /// SANA-FE's soma model; counted like `neuron_active`). Optional, default free.
    #[serde(default, skip_serializing_if = "Cost::is_free")]
    pub neuron_update: Cost,
    /// A spike (or graded payload) a compartment emits, once per emitting compartment
    /// however many output axons it uses (the soma's "spike out"). Optional, default free.
    #[serde(default, skip_serializing_if = "Cost::is_free")]
    pub neuron_spike: Cost,
    /// A spike leaving a core (axon-out, one per output axon used), incl. delivery within its tile.
    pub spike_out: Cost,
    /// One east-west router hop of a packet.
    pub hop_ew: Cost,
    /// One north-south router hop of a packet.
    pub hop_ns: Cost,
    /// Barrier synchronisation at the end of a step, interpolated over the tiles in use.
    pub barrier: BarrierCost,
    /// One modulator cell update (per channel).
    pub modulator_cell_update: Cost,
    /// One update of an error unit's centring register (subtract, shift, add, write),
    /// per update of a unit that has one while learning is on (`learning.centring`).
    /// Optional, default free.
    #[serde(default, skip_serializing_if = "Cost::is_free")]
    pub centring_update: Cost,
    /// The host writing one scale register of a learning rule (one term's mantissa
    /// and shift, in every core that runs the rule) to change its learning rate
    /// between epochs (`amine train --final-rate`). Optional, default free.
    #[serde(default, skip_serializing_if = "Cost::is_free")]
    pub rule_write: Cost,
}

impl CostTable {
    /// Energy (pJ) of a soma phase that updated `active` and `idle` compartments and
    /// emitted `spikes`: the two-rate model (`neuron_active`, `neuron_idle`) plus the
    /// three-part one (`neuron_access` per compartment, `neuron_update` per active one,
    /// `neuron_spike` per emission). The only place a soma is priced.
    pub fn soma_energy_pj(&self, active: u64, idle: u64, spikes: u64) -> f64 {
        let e = |n: u64, c: &Cost| n as f64 * c.energy_pj;
        e(active, &self.neuron_active)
            + e(idle, &self.neuron_idle)
            + e(active + idle, &self.neuron_access)
            + e(active, &self.neuron_update)
            + e(spikes, &self.neuron_spike)
    }

    /// Cycles of the same soma phase (the events run one after the other).
    pub fn soma_cycles(&self, active: u64, idle: u64, spikes: u64) -> u64 {
        active * self.neuron_active.cycles
            + idle * self.neuron_idle.cycles
            + (active + idle) * self.neuron_access.cycles
            + active * self.neuron_update.cycles
            + spikes * self.neuron_spike.cycles
    }
}

impl CostTable {
    /// Every entry with its field name, in declaration order.
    pub fn entries(&self) -> [(&'static str, &Cost); 17] {
        [
            ("axon_in", &self.axon_in),
            ("synapse_word_read", &self.synapse_word_read),
            ("synaptic_op", &self.synaptic_op),
            ("dendrite_accumulate", &self.dendrite_accumulate),
            ("synaptic_update", &self.synaptic_update),
            ("trace_update", &self.trace_update),
            ("neuron_active", &self.neuron_active),
            ("neuron_idle", &self.neuron_idle),
            ("neuron_access", &self.neuron_access),
            ("neuron_update", &self.neuron_update),
            ("neuron_spike", &self.neuron_spike),
            ("spike_out", &self.spike_out),
            ("hop_ew", &self.hop_ew),
            ("hop_ns", &self.hop_ns),
            ("barrier.one_tile", &self.barrier.one_tile),
            ("barrier.at_max_tiles", &self.barrier.at_max_tiles),
            ("modulator_cell_update", &self.modulator_cell_update),
        ]
    }
}

/// Barrier cost, linear between a 1-tile and a `max_tiles` barrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BarrierCost {
    pub one_tile: Cost,
    pub max_tiles: u32,
    pub at_max_tiles: Cost,
}

impl BarrierCost {
    /// Cost of a barrier spanning `tiles` tiles (clamped to `1..=max_tiles`).
    pub fn for_tiles(&self, tiles: u32) -> Cost {
        let span = self.max_tiles.saturating_sub(1).max(1) as f64;
        let t = (tiles.clamp(1, self.max_tiles.max(1)) - 1) as f64 / span;
        let lerp = |a: f64, b: f64| a + (b - a) * t;
        Cost {
            energy_pj: lerp(self.one_tile.energy_pj, self.at_max_tiles.energy_pj),
            cycles: lerp(self.one_tile.cycles as f64, self.at_max_tiles.cycles as f64).round()
                as u64,
        }
    }
}

/// Static (leakage and clock) power, drawn for the whole simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticPower {
    pub per_core_mw: f64,
    pub per_router_mw: f64,
    /// Whole modulator grid.
    pub grid_mw: f64,
    /// Power gating: static power is drawn only by the cores an image uses, the routers
    /// of their tiles and of every tile on a route between them, and the grid if the
    /// image drives it. Off (the default): the whole chip draws static power.
    #[serde(default)]
    pub gating: bool,
}

impl ChipConfig {
    /// Parse a configuration from RON text. `origin` names the file in errors.
    pub fn from_ron(text: &str, origin: &str) -> Result<ChipConfig, Error> {
        textfmt::from_ron(text, origin).map_err(|e| Error::new(ErrorKind::Syntax(e)))
    }

    /// Read, parse and validate a configuration file.
    pub fn load(path: &std::path::Path) -> Result<ChipConfig, Error> {
        let text = crate::bounded::read_text(
            path,
            "chip configuration",
            crate::bounded::limits::CHIP_CONFIG,
        )?;
        let origin = path.display().to_string();
        let config = ChipConfig::from_ron(&text, &origin)?;
        config.validate_as(&origin)?;
        Ok(config)
    }

    /// Pretty RON text of this configuration.
    pub fn to_ron(&self) -> String {
        textfmt::to_ron(self)
    }

    /// Tiles of the mesh (saturating at `u32::MAX`; a valid chip has at most 65,536).
    pub fn tiles(&self) -> u32 {
        let t = u64::from(self.mesh.tiles_x) * u64::from(self.mesh.tiles_y);
        u32::try_from(t).unwrap_or(u32::MAX)
    }
    /// Cores of the chip (saturating at `u32::MAX`; a valid chip has at most 65,536).
    pub fn cores(&self) -> u32 {
        let c = u64::from(self.tiles()) * u64::from(self.mesh.cores_per_tile);
        u32::try_from(c).unwrap_or(u32::MAX)
    }
    pub fn compartments(&self) -> u64 {
        self.cores() as u64 * self.core.compartments as u64
    }
    pub fn clock(&self) -> Hertz {
        Hertz(self.mesh.clock_hz)
    }
    /// Static power of the whole chip (every core, router and the grid powered).
    pub fn static_power(&self) -> Milliwatts {
        self.static_power_of(self.cores(), self.tiles(), true)
    }
    /// Static power of `cores` cores, `routers` routers and the grid if `grid`: what a
    /// power-gated chip draws with only those powered.
    pub fn static_power_of(&self, cores: u32, routers: u32, grid: bool) -> Milliwatts {
        let s = &self.static_power;
        let grid = if grid && self.modulator.width > 0 {
            s.grid_mw
        } else {
            0.0
        };
        Milliwatts(s.per_core_mw * cores as f64 + s.per_router_mw * routers as f64 + grid)
    }
    /// Bits needed to address one compartment of a core.
    pub fn compartment_index_bits(&self) -> u32 {
        bits_for(self.core.compartments)
    }

    /// Check cross-field consistency; every problem found is reported.
    pub fn validate(&self) -> Result<(), Error> {
        self.validate_as(&self.name)
    }

    fn validate_as(&self, origin: &str) -> Result<(), Error> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::Invalid {
                origin: origin.to_string(),
                problems,
            }))
        }
    }

    /// Every consistency problem of this configuration (empty when valid).
    pub fn problems(&self) -> Vec<Problem> {
        checks::problems(self)
    }
}

/// Bits needed to represent the indices `0..n`.
pub fn bits_for(n: u32) -> u32 {
    if n <= 1 {
        1
    } else {
        32 - (n - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_for_counts() {
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(2), 1);
        assert_eq!(bits_for(1024), 10);
        assert_eq!(bits_for(1025), 11);
    }

    #[test]
    fn soma_models_default_to_free_and_add_up() {
        let mut c = crate::presets::preset("loihi").unwrap().costs;
        // Presets state only the two-rate model: the three-part entries are free.
        assert_eq!(c.neuron_access, Cost::default());
        assert_eq!(c.soma_energy_pj(3, 5, 2), 3.0 * 81.0 + 5.0 * 52.0);
        assert_eq!(c.soma_cycles(3, 5, 2), 3 * 84 + 5 * 53);
        c.neuron_access = Cost {
            energy_pj: 1.5,
            cycles: 2,
        };
        c.neuron_update = Cost {
            energy_pj: 0.25,
            cycles: 3,
        };
        c.neuron_spike = Cost {
            energy_pj: 8.0,
            cycles: 7,
        };
        assert_eq!(
            c.soma_energy_pj(3, 5, 2),
            3.0 * 81.0 + 5.0 * 52.0 + 8.0 * 1.5 + 3.0 * 0.25 + 2.0 * 8.0
        );
        assert_eq!(
            c.soma_cycles(3, 5, 2),
            3 * 84 + 5 * 53 + 8 * 2 + 3 * 3 + 2 * 7
        );
    }

    #[test]
    fn barrier_interpolates() {
        let b = BarrierCost {
            one_tile: Cost {
                energy_pj: 0.0,
                cycles: 1130,
            },
            max_tiles: 32,
            at_max_tiles: Cost {
                energy_pj: 0.0,
                cycles: 4650,
            },
        };
        assert_eq!(b.for_tiles(1).cycles, 1130);
        assert_eq!(b.for_tiles(32).cycles, 4650);
        assert_eq!(b.for_tiles(100).cycles, 4650);
        assert!(b.for_tiles(16).cycles > 1130 && b.for_tiles(16).cycles < 4650);
    }
}
