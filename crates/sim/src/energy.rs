//! Event counters and the energy they cost.
//!
//! The simulator counts events (u64, per core and per kind) and never accumulates
//! energy while running: energy is `count × cost` computed once from the counts, so an
//! energy figure can be checked exactly against a hand count. Components, from the
//! chip's [`CostTable`]:
//!
//! | component | events |
//! | --- | --- |
//! | synapse | `axon_in` + `synapse_word_read` + `synaptic_op` |
//! | dendrite | `dendrite_accumulate` |
//! | neuron | `neuron_active` + `neuron_idle` + `neuron_access` (per compartment update) + `neuron_update` (per active one) + `neuron_spike` |
//! | NoC | `spike_out` + `hop_ew` + `hop_ns` (+ the per-step barrier, chip level) |
//! | modulator | `modulator_cell_update` (chip level) |
//! | learning | `synaptic_update` + `trace_update` (the learning phase; zero without plastic rows) + `centring_update` (error units' centring registers) + `rule_write` (the host rewriting a rule's scale registers) |
//! | static | static power of the powered blocks ([`crate::power`]) × simulated time |

use crate::power::Powered;
use amine_chip::config::{ChipConfig, CostTable};
use amine_chip::units::{Cycles, Milliwatts};
use serde::{Deserialize, Serialize};
use std::ops::AddAssign;

/// Events of one kind each, counted on one core (or for the input ports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub axon_in: u64,
    pub synapse_word_read: u64,
    pub synaptic_op: u64,
    pub dendrite_accumulate: u64,
    pub synaptic_update: u64,
    pub trace_update: u64,
    pub neuron_active: u64,
    pub neuron_idle: u64,
    /// Spikes and graded payloads emitted by compartments (one per emitting
    /// compartment, however many packets it sends).
    #[serde(default)]
    pub neuron_spike: u64,
    pub spike_out: u64,
    pub hop_ew: u64,
    pub hop_ns: u64,
    /// Updates of error units' centring registers (while learning is on).
    #[serde(default)]
    pub centring_update: u64,
    /// Scale registers of learning rules the host rewrote (a learning-rate change).
    #[serde(default)]
    pub rule_write: u64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.axon_in += o.axon_in;
        self.synapse_word_read += o.synapse_word_read;
        self.synaptic_op += o.synaptic_op;
        self.dendrite_accumulate += o.dendrite_accumulate;
        self.synaptic_update += o.synaptic_update;
        self.trace_update += o.trace_update;
        self.neuron_active += o.neuron_active;
        self.neuron_idle += o.neuron_idle;
        self.neuron_spike += o.neuron_spike;
        self.spike_out += o.spike_out;
        self.hop_ew += o.hop_ew;
        self.hop_ns += o.hop_ns;
        self.centring_update += o.centring_update;
        self.rule_write += o.rule_write;
    }
}

impl Counts {
    /// The events counted since `before` (an earlier value of the same counters).
    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            axon_in: self.axon_in - before.axon_in,
            synapse_word_read: self.synapse_word_read - before.synapse_word_read,
            synaptic_op: self.synaptic_op - before.synaptic_op,
            dendrite_accumulate: self.dendrite_accumulate - before.dendrite_accumulate,
            synaptic_update: self.synaptic_update - before.synaptic_update,
            trace_update: self.trace_update - before.trace_update,
            neuron_active: self.neuron_active - before.neuron_active,
            neuron_idle: self.neuron_idle - before.neuron_idle,
            neuron_spike: self.neuron_spike - before.neuron_spike,
            spike_out: self.spike_out - before.spike_out,
            hop_ew: self.hop_ew - before.hop_ew,
            hop_ns: self.hop_ns - before.hop_ns,
            centring_update: self.centring_update - before.centring_update,
            rule_write: self.rule_write - before.rule_write,
        }
    }

    /// The cycles these events keep one core busy when it does them one after another
    /// (every kind a core executes; hops are the routers').
    pub fn serial_cycles(&self, c: &CostTable) -> u64 {
        [
            (self.axon_in, c.axon_in.cycles),
            (self.synapse_word_read, c.synapse_word_read.cycles),
            (self.synaptic_op, c.synaptic_op.cycles),
            (self.dendrite_accumulate, c.dendrite_accumulate.cycles),
            (self.synaptic_update, c.synaptic_update.cycles),
            (self.trace_update, c.trace_update.cycles),
            (self.spike_out, c.spike_out.cycles),
            (self.centring_update, c.centring_update.cycles),
        ]
        .iter()
        .map(|&(n, k)| n.saturating_mul(k))
        .fold(0u64, u64::saturating_add)
        .saturating_add(c.soma_cycles(
            self.neuron_active,
            self.neuron_idle,
            self.neuron_spike,
        ))
    }
}

/// Chip-level events, not attributable to one core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChipCounts {
    /// End-of-step barriers (one per step).
    pub barriers: u64,
    /// Modulator grid cell updates (cells × channels per grid step).
    pub modulator_cell_update: u64,
    /// Simulated time: the sum of all step latencies, in cycles.
    pub cycles: u64,
    /// Cycles the NoC added to packets over an idle network, summed.
    pub stall_cycles: u64,
    /// Packets sent (cores and input ports).
    pub packets: u64,
    /// Learning-engine cycles of each step's critical core, summed: the part of the
    /// simulated time the learning phase accounts for.
    pub learning_cycles: u64,
}

impl AddAssign for ChipCounts {
    fn add_assign(&mut self, o: ChipCounts) {
        self.barriers += o.barriers;
        self.modulator_cell_update += o.modulator_cell_update;
        self.cycles += o.cycles;
        self.stall_cycles += o.stall_cycles;
        self.packets += o.packets;
        self.learning_cycles += o.learning_cycles;
    }
}

/// Energy by component, in picojoules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Components {
    pub synapse: f64,
    pub dendrite: f64,
    pub neuron: f64,
    pub noc: f64,
    pub modulator: f64,
    pub learning: f64,
    #[serde(rename = "static")]
    pub static_: f64,
}

impl Components {
    /// Sum of all components, in a fixed order.
    pub fn total(&self) -> f64 {
        self.synapse
            + self.dendrite
            + self.neuron
            + self.noc
            + self.modulator
            + self.learning
            + self.static_
    }

    /// `(name, pJ)` pairs in report order.
    pub fn named(&self) -> [(&'static str, f64); 7] {
        [
            ("synapse", self.synapse),
            ("dendrite", self.dendrite),
            ("neuron", self.neuron),
            ("noc", self.noc),
            ("modulator", self.modulator),
            ("learning", self.learning),
            ("static", self.static_),
        ]
    }
}

impl AddAssign for Components {
    fn add_assign(&mut self, o: Components) {
        self.synapse += o.synapse;
        self.dendrite += o.dendrite;
        self.neuron += o.neuron;
        self.noc += o.noc;
        self.modulator += o.modulator;
        self.learning += o.learning;
        self.static_ += o.static_;
    }
}

impl Counts {
    /// The dynamic energy of these events: each component is `Σ count × cost`.
    pub fn energy(&self, c: &CostTable) -> Components {
        let e = |n: u64, cost: &amine_chip::config::Cost| n as f64 * cost.energy_pj;
        Components {
            synapse: e(self.axon_in, &c.axon_in)
                + e(self.synapse_word_read, &c.synapse_word_read)
                + e(self.synaptic_op, &c.synaptic_op),
            dendrite: e(self.dendrite_accumulate, &c.dendrite_accumulate),
            neuron: c.soma_energy_pj(self.neuron_active, self.neuron_idle, self.neuron_spike),
            noc: e(self.spike_out, &c.spike_out)
                + e(self.hop_ew, &c.hop_ew)
                + e(self.hop_ns, &c.hop_ns),
            modulator: 0.0,
            learning: e(self.synaptic_update, &c.synaptic_update)
                + e(self.trace_update, &c.trace_update)
                + e(self.centring_update, &c.centring_update)
                + e(self.rule_write, &c.rule_write),
            static_: 0.0,
        }
    }
}

/// What `counts` (every core's and input port's events, added up) and `chip` (barriers,
/// grid cell updates, simulated cycles) cost on `config`, whose barriers span `tiles`
/// tiles and whose `powered` blocks draw static power: each component `Σ count × cost`,
/// the barriers in the NoC component, static power over the simulated time. The one
/// pricing of a run: the general simulator's report and the fast e-prop backend both
/// call it.
pub fn price(
    counts: &Counts,
    chip: &ChipCounts,
    config: &ChipConfig,
    tiles: u32,
    powered: &Powered,
) -> Components {
    let costs = &config.costs;
    let mut c = counts.energy(costs);
    c.noc += chip.barriers as f64 * costs.barrier.for_tiles(tiles).energy_pj;
    c.modulator = chip.modulator_cell_update as f64 * costs.modulator_cell_update.energy_pj;
    c.static_ = Milliwatts(powered.static_mw)
        .energy_over(Cycles(chip.cycles), config.clock())
        .0;
    c
}
