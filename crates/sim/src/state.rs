//! The simulation state: plain data, separate from the stepping code.
//!
//! A [`SimState`] holds everything that changes during a run — per-core neuron state
//! as structure-of-arrays, the dendritic accumulators (a ring of slots per compartment
//! for delayed synapses), the modulator grid, the step counter and the event counters.
//! It can be cloned to snapshot a run and compared for equality, which is how the
//! determinism tests check that thread counts do not matter. Packets never outlive a
//! step (each step's packets are delivered into the accumulators before its barrier),
//! so there are no in-flight packets to keep between steps.

use crate::energy::{ChipCounts, Counts};
use amine_chip::learning::engine::{PostProducts, RowScratch};
use amine_chip::learning::eprop::EpropRow;
use amine_chip::modgrid::ModGrid;
use serde::{Deserialize, Serialize};

/// One core's changing state, as structure-of-arrays over its compartments.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CoreState {
    /// Synaptic current `u` (LIF/ALIF) or integrated input (graded units).
    pub u: Vec<i32>,
    /// Membrane voltage `v` (0 for graded units).
    pub v: Vec<i32>,
    /// Remaining refractory steps.
    pub refractory: Vec<u8>,
    /// ALIF threshold adaptation (0 for other models).
    pub a: Vec<i32>,
    /// Last graded payload sent (0 for spiking models).
    pub out: Vec<u16>,
    /// Dendritic accumulators: slot `s` of compartment `c` is `acc[s · n + c]`; the
    /// neuron update of step `t` reads and clears slot `t mod slots`.
    pub acc: Vec<i32>,
    /// Per accumulator slot, whether a packet reached the compartment (kept only on
    /// cores with event-driven graded units, which update only when this is set).
    pub touched: Vec<bool>,
    /// Events counted on this core so far.
    pub counts: Counts,
    /// The learning state of each plastic row of the core, in image order.
    pub plastic: Vec<PlasticState>,
    /// Post traces per learning slot used on the core.
    pub post: Vec<PostTraces>,
    /// The host's learning switch is off (a copy of it per core: error units' centring
    /// registers move only while learning is on).
    #[serde(default)]
    pub learning_off: bool,
    /// The sigprop unit's pull register of each compartment (the `m0` of its
    /// learning slots; empty without a sigprop unit).
    #[serde(default)]
    pub pull: Vec<i32>,
}

/// One plastic row: its weights as the learning engine keeps them and its pre traces.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlasticState {
    /// Weight mantissas, one per synapse of the row.
    pub mantissas: Vec<i32>,
    pub tags: Vec<i32>,
    pub exponent: i8,
    /// Effective weights (`effective_weight(mantissa, exponent)`): what delivery adds.
    pub weights: Vec<i32>,
    /// Pre traces of the row's source.
    pub x1: u16,
    pub x2: u16,
    /// The source spiked in the current epoch.
    pub x0: bool,
    /// A packet reached the row this step (set by delivery, consumed by the traces).
    pub arrived: bool,
    /// Payload of the last packet that reached the row in the current epoch (graded
    /// sources; the rule's `pre`), 0 if none: cleared with `x0` when the epoch ends.
    pub payload: u16,
    /// e-prop rows: εv of the source and εa, ē, g per synapse (empty otherwise).
    pub eprop: EpropRow,
}

impl PlasticState {
    /// Forget what the source did in the epoch that ended (its pre spike and payload).
    pub fn end_epoch(&mut self) {
        self.x0 = false;
        self.payload = 0;
    }
}

/// Post traces of one learning slot, per compartment of the core.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PostTraces {
    /// Spiked in the current epoch.
    pub y0: Vec<bool>,
    pub y1: Vec<u16>,
    pub y2: Vec<u16>,
    pub y3: Vec<u16>,
    /// Memory the learning phase reuses (not state: it compares equal whatever it holds,
    /// and a checkpoint leaves it out).
    #[serde(skip)]
    pub(crate) scratch: LearnScratch,
}

/// Buffers of one learning slot's phase on one core, kept so that steps do not allocate.
/// Every entry read in a step is written earlier in that step.
#[derive(Clone, Default)]
pub(crate) struct LearnScratch {
    /// Compartments that spiked this step (set and cleared within the step).
    pub spiked: Vec<bool>,
    /// Graded output and derivative per compartment (reached compartments only).
    pub out: Vec<u16>,
    pub deriv: Vec<u16>,
    /// Per channel, the modulator at each compartment's cell (reached compartments only).
    pub modulator: Vec<Vec<i32>>,
    pub products: PostProducts,
    pub row: RowScratch,
}

impl PartialEq for LearnScratch {
    fn eq(&self, _: &LearnScratch) -> bool {
        true
    }
}

impl Eq for LearnScratch {}

impl std::fmt::Debug for LearnScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LearnScratch")
    }
}

/// What the host has written into the chip's registers and the chip has not yet
/// consumed: graded values queued for the next step and the learning engine's switch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HostRegisters {
    /// Per input port, graded values queued for the next step: (input, payload).
    pub pending: Vec<Vec<(u32, u16)>>,
    /// Whether the learning phase runs (the host can switch the engine off).
    pub learning_on: bool,
    /// The factor the host last scaled every learning rule's rate by
    /// ([`crate::Simulator::set_learning_rate`]); `None`: the image's rates (1).
    #[serde(default)]
    pub rate_scale: Option<f64>,
}

/// The whole changing state of a run: everything a checkpoint needs to continue it
/// bit for bit (see [`crate::checkpoint`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SimState {
    /// Steps completed so far (the next step to run).
    pub step: u32,
    /// One entry per core of the image, in image order (increasing core id).
    pub cores: Vec<CoreState>,
    /// Events of the input ports (their packets' `spike_out` and hops).
    pub inputs: Counts,
    /// Chip-level events and the simulated time.
    pub chip: ChipCounts,
    /// The modulator grid, when the image has modulator sources or an e-prop engine.
    pub grid: Option<ModGrid>,
    /// The host's registers.
    pub host: HostRegisters,
    /// The e-prop engine's state, for an image with an e-prop section.
    pub eprop: Option<crate::learning_eprop::EpropEngineState>,
    /// Link traffic and per-chip finishing cycles of a run over a multi-chip system.
    #[serde(default)]
    pub system: Option<crate::links::SystemCounts>,
    /// The sigprop unit's registers, for an image with a sigprop section.
    #[serde(default)]
    pub sigprop: Option<crate::learning_sigprop::SigpropState>,
}

impl CoreState {
    pub(crate) fn new(n: usize, slots: usize) -> CoreState {
        CoreState {
            u: vec![0; n],
            v: vec![0; n],
            refractory: vec![0; n],
            a: vec![0; n],
            out: vec![0; n],
            acc: vec![0; n * slots],
            touched: Vec::new(),
            counts: Counts::default(),
            plastic: Vec::new(),
            post: Vec::new(),
            learning_off: false,
            pull: Vec::new(),
        }
    }
}

impl SimState {
    /// Events of all cores and the input ports added up.
    pub fn total_counts(&self) -> Counts {
        let mut c = self.inputs;
        for core in &self.cores {
            c += core.counts;
        }
        c
    }
}
