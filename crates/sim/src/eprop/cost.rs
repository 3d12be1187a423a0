//! What a trial on the e-prop core costs on a chip: the events it counted, priced by
//! the chip's cost table, and its latency on one core.
//!
//! The whole network sits on one neurocore, so a step's latency is the core's serial
//! work — neuron updates, synaptic operations, spikes out, eligibility-trace updates —
//! plus the grid's cell updates and the end-of-step barrier of one tile, with the same
//! per-event cycles the general simulator uses. Static power is the chip's, over the
//! simulated time (as `amine run` reports it).

use crate::energy::{ChipCounts, Components, Counts};
use amine_chip::config::ChipConfig;
use serde::{Deserialize, Serialize};

/// Energy by component and simulated time of a run on the core.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CoreCost {
    pub energy_pj: Components,
    pub cycles: u64,
    pub seconds: f64,
}

impl CoreCost {
    pub fn total_pj(&self) -> f64 {
        self.energy_pj.total()
    }
}

/// The cost of `counts`/`chip` events on `config`.
pub fn core_cost(counts: &Counts, chip: &ChipCounts, config: &ChipConfig) -> CoreCost {
    let c = &config.costs;
    let serial = [
        (counts.axon_in, c.axon_in.cycles),
        (counts.synapse_word_read, c.synapse_word_read.cycles),
        (counts.synaptic_op, c.synaptic_op.cycles),
        (counts.dendrite_accumulate, c.dendrite_accumulate.cycles),
        (counts.synaptic_update, c.synaptic_update.cycles),
        (counts.trace_update, c.trace_update.cycles),
        (counts.neuron_active, c.neuron_active.cycles),
        (counts.neuron_idle, c.neuron_idle.cycles),
        (counts.spike_out, c.spike_out.cycles),
        (chip.modulator_cell_update, c.modulator_cell_update.cycles),
        (chip.barriers, c.barrier.one_tile.cycles),
    ];
    let cycles: u64 = serial
        .iter()
        .map(|&(n, k)| n.saturating_mul(k))
        .fold(0u64, u64::saturating_add);
    let seconds = cycles as f64 / config.mesh.clock_hz.max(1) as f64;
    let mut energy = counts.energy(c);
    energy.modulator = chip.modulator_cell_update as f64 * c.modulator_cell_update.energy_pj;
    energy.noc += chip.barriers as f64 * c.barrier.one_tile.energy_pj;
    energy.static_ = config.static_power().0 * 1e-3 * seconds * 1e12;
    CoreCost {
        energy_pj: energy,
        cycles,
        seconds,
    }
}
