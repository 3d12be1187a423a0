//! The compilation context: the program, the chip, and the analyses each pass adds.
//!
//! Passes communicate only through [`Compilation`]: each reads what earlier passes left
//! and fills its own field (`None` until it has run). The verifier between passes
//! (`verify.rs`) checks these fields, so a pass can trust its inputs.

use crate::csv::{SpikeTable, SynapseTable};
use crate::program::Program;
use amine_chip::image::{ChipImage, Sign};
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::RowFormat;
use amine_chip::ChipConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything known about one compilation.
#[derive(Debug)]
pub struct Compilation {
    /// The program file's name, for messages.
    pub origin: String,
    /// Folder that relative CSV paths are read from.
    pub base_dir: PathBuf,
    pub program: Program,
    pub chip: ChipConfig,
    /// parse: every CSV file the program references, by the path written in the program.
    pub synapse_files: BTreeMap<String, SynapseTable>,
    pub spike_files: BTreeMap<String, SpikeTable>,
    /// validate: populations then inputs, the sources and targets of projections.
    pub nodes: Vec<Node>,
    /// validate: each population's resolved compartment parameters.
    pub params: Vec<NeuronParams>,
    pub net: Option<Network>,
    pub quant: Option<Quantization>,
    pub partition: Option<Partition>,
    pub placement: Option<Placement>,
    pub routing: Option<Routing>,
    /// eprop: the e-prop engine's registers (programs with an `eprop` section).
    pub eprop: Option<crate::passes::eprop::EpropPlan>,
    /// sigprop: the sigprop unit's layers and contexts (programs with a `sigprop`
    /// section).
    pub sigprop: Option<amine_chip::image::sigprop::SigpropImage>,
    pub image: Option<ChipImage>,
    /// Set when compiling for a multi-chip system: `chip` is then the system's virtual
    /// mesh and this maps its tiles back to chips.
    pub system: Option<amine_chip::system_layout::SystemLayout>,
}

/// A population or an input: anything a projection can start from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub size: u32,
    /// Index into `program.populations` or `program.inputs`.
    pub kind: NodeKind,
    pub sign: Sign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Population(usize),
    Input(usize),
}

/// Values that are often the same for a whole projection: kept once when constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Values<T> {
    Const(T),
    Each(Vec<T>),
}

impl<T: Copy> Values<T> {
    pub fn get(&self, i: usize) -> T {
        match self {
            Values::Const(v) => *v,
            Values::Each(v) => v[i],
        }
    }
}

/// expand: every projection's synapses, in compressed-sparse-row form by presynaptic
/// neuron (`post[offsets[i]..offsets[i+1]]` are neuron i's targets, ascending).
///
/// A convolution (or pooling) projection also has its [`Conv`](crate::conv::Conv) in
/// `convs`; one stored in shared form has no synapses here (its kernel becomes shared
/// synapse lists in `emit`).
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub projections: Vec<Expanded>,
    /// Per projection: the convolution it is, if any.
    pub convs: Vec<Option<crate::conv::Conv>>,
}

impl Network {
    /// The convolution of projection `i` if it is stored as shared lists.
    pub fn shared(&self, i: usize) -> Option<&crate::conv::Conv> {
        self.convs.get(i)?.as_ref().filter(|c| c.shared)
    }
}

#[derive(Debug, Clone)]
pub struct Expanded {
    /// Source node and target node (always a population).
    pub pre: usize,
    pub post: usize,
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
    /// Weights in weight units.
    pub weights: Values<f64>,
    /// Delays in steps.
    pub delays: Values<u8>,
}

impl Expanded {
    pub fn synapses(&self) -> usize {
        self.targets.len()
    }
    /// Synapse index range of presynaptic neuron `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i] as usize..self.offsets[i + 1] as usize
    }
}

/// quantize: projections grouped into row classes (projections from one source that can
/// share synapse-memory rows: same format, same per-neuron exponents, same learning).
#[derive(Debug, Clone, Default)]
pub struct Quantization {
    pub classes: Vec<RowClass>,
    /// Row class of each projection.
    pub class_of: Vec<usize>,
    /// Per projection: chosen format and error figures.
    pub projections: Vec<ProjectionQuant>,
    /// Over all synapses with a non-zero weight.
    pub max_rel_error: f64,
    pub rms_rel_error: f64,
    pub synapses: u64,
    pub exact: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowClass {
    /// Source node.
    pub source: usize,
    pub projections: Vec<usize>,
    pub format: RowFormat,
    /// Exponent of each source neuron's rows.
    pub exponents: Vec<i8>,
    /// Learning slot of every row of this class.
    pub slot: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProjectionQuant {
    pub name: String,
    pub weight_bits: u8,
    /// `Signed`, `Excitatory` or `Inhibitory`.
    pub sign: String,
    pub delay_bits: u8,
    pub synapses: u64,
    /// Whether every weight is represented exactly.
    pub exact: bool,
    pub max_rel_error: f64,
    pub rms_rel_error: f64,
}

/// partition: neurons cut into bins, one bin per core to be.
#[derive(Debug, Clone, Default)]
pub struct Partition {
    pub bins: Vec<Bin>,
    /// Bin and compartment of each neuron, indexed by `pop_base[p] + i`.
    pub bin_of: Vec<u32>,
    pub slot_of: Vec<u32>,
    /// First global neuron index of each population (nodes that are populations).
    pub pop_base: Vec<u32>,
    /// Every synapse-memory row: sorted by (bin, class, source).
    pub rows: Vec<RowRef>,
    /// The bins' shares of shared-weight convolutions, sorted by (bin, projection).
    pub shared: Vec<SharedBlock>,
    /// The widest delta rows were booked with (the chip's `core.delta_rows`), or `None`:
    /// every row booked sparse, an upper bound (a chip without delta rows, or a program
    /// with shared convolutions).
    pub delta_rows: Option<u8>,
}

/// Output channels `channels.0..channels.1` of shared convolution `projection`'s target,
/// held by `bin` from its compartment 0 (channel-major).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SharedBlock {
    pub bin: u32,
    pub projection: usize,
    pub channels: (u32, u32),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bin {
    /// Contiguous neuron ranges, in compartment order.
    pub blocks: Vec<BinBlock>,
    pub compartments: u32,
    pub input_axons: u32,
    pub output_axons: u32,
    pub synapse_bits: u64,
    /// The limit (or hint) that stopped this bin from taking the next neuron, if any.
    pub closed_by: Option<&'static str>,
    /// The core a `mapping.place` hint gives this bin.
    pub pinned: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinBlock {
    /// Population node.
    pub node: usize,
    pub first_neuron: u32,
    pub count: u32,
    pub first_compartment: u32,
}

/// One synapse-memory row: the synapses of `source` (a neuron of the class's source node)
/// onto the neurons of `bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowRef {
    pub bin: u32,
    pub class: u32,
    pub source: u32,
    pub len: u32,
    /// The widest distance between the row's targets in compartment order, the first
    /// from compartment 0 (what a delta-coded row's entries must hold).
    pub widest: u32,
}

/// place: the core of each bin, the input ports' entry tiles and the costs.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub core_of_bin: Vec<u32>,
    /// Per input (program order).
    pub entry_tiles: Vec<(u32, u32)>,
    /// Σ traffic × hops between bins for this placement, round-robin and in-order.
    pub cost: u64,
    pub round_robin_cost: u64,
    pub sequential_cost: u64,
}

/// route: axon numbers and fan-out figures.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// Input axon (row id on its core) of each row of `partition.rows`.
    pub axon_of_row: Vec<u32>,
    pub packets_per_spike: f64,
    pub hops_per_spike: f64,
    pub input_packets_per_spike: f64,
    pub input_hops_per_spike: f64,
}

impl Compilation {
    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Tile (x, y) of a core.
    pub fn tile_of(&self, core: u32) -> (u32, u32) {
        let m = &self.chip.mesh;
        let tile = core / m.cores_per_tile.max(1);
        (tile % m.tiles_x.max(1), tile / m.tiles_x.max(1))
    }

    /// XY-routing hops between the tiles of two cores.
    pub fn hops(&self, a: u32, b: u32) -> u32 {
        let (ax, ay) = self.tile_of(a);
        let (bx, by) = self.tile_of(b);
        ax.abs_diff(bx) + ay.abs_diff(by)
    }

    /// The placer's distance between two cores: XY hops, plus [`Self::link_weight`] for
    /// every chip-to-chip link the route crosses (none on a single chip).
    pub fn place_distance(&self, a: u32, b: u32) -> u32 {
        let hops = self.hops(a, b);
        match &self.system {
            Some(l) => {
                let crossings = l.crossings(self.tile_of(a), self.tile_of(b));
                hops.saturating_add(crossings.saturating_mul(self.link_weight()))
            }
            None => hops,
        }
    }

    /// A chip-to-chip link crossing in on-chip hops: the link's energy for a one-flit
    /// packet over the mean of the chip's E-W and N-S hop energies, rounded, at least 1.
    pub fn link_weight(&self) -> u32 {
        let Some(l) = &self.system else { return 0 };
        let k = &self.chip.costs;
        let hop = 0.5 * (k.hop_ew.energy_pj + k.hop_ns.energy_pj);
        let link = l.link.energy_pj_per_packet + l.link.energy_pj_per_flit;
        if hop > 0.0 {
            ((link / hop).round() as u32).max(1)
        } else {
            1
        }
    }
}
