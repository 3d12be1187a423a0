//! What a run on the fast backend costs on its chip: the events it counted and the
//! simulated cycles, priced by [`crate::energy::price`] — the general simulator's own
//! pricing — for the images it runs: one core, whose input port enters at its tile
//! (one router) and which drives the grid with its learning signals.

use crate::energy::{price, ChipCounts, Components, Counts};
use crate::power::Powered;
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

/// The cost of `counts`/`chip` events (cycles included) on `config`.
pub fn core_cost(counts: &Counts, chip: &ChipCounts, config: &ChipConfig) -> CoreCost {
    CoreCost {
        energy_pj: price(counts, chip, config, 1, &Powered::gated(config, 1, 1, true)),
        cycles: chip.cycles,
        seconds: chip.cycles as f64 / config.mesh.clock_hz.max(1) as f64,
    }
}
