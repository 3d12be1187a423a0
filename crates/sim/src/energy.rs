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
//! | learning | `synaptic_update` + `trace_update` (the learning phase; zero without plastic rows) |
//! | static | `ChipConfig::static_power()` × simulated time |

use amine_chip::config::CostTable;
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
                + e(self.trace_update, &c.trace_update),
            static_: 0.0,
        }
    }
}
