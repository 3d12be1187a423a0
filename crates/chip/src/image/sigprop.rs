//! The sigprop learning unit's part of a chip image ([`SigpropImage`]): which layers
//! the unit serves, the contrast β, the mini-batch over which the latched context
//! responses hold, and the class contexts `S·c_k` as payloads of the input port
//! (docs/feedforward-rules.md, "Sigprop on the chip").
//!
//! The compiler's sigprop pass fills it after checking the chip's `learning.sigprop`
//! limits; the simulator's sigprop phase (`amine_sim::learning_sigprop`) reads it.

use serde::{Deserialize, Serialize};

/// What the sigprop unit runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigpropImage {
    /// The input port the samples and the contexts enter by.
    pub port: String,
    /// The layers, input side first; the last is compared with the contexts for
    /// prediction.
    pub layers: Vec<SigpropLayer>,
    /// The integer contrast β.
    pub beta: u32,
    /// Samples per mini-batch: the contexts are passed and latched once per batch.
    pub batch: u32,
    /// Per class, the context `S·c_k` as the port's payloads (one per port input).
    pub contexts: Vec<Vec<u16>>,
}

/// One layer the unit serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigpropLayer {
    /// The layer's population.
    pub population: String,
    pub units: u32,
    /// Indices into [`super::ChipImage::learning`] of the slots that learn the layer's
    /// incoming weights: their modulator `m0` is the unit's pull, not the grid.
    pub slots: Vec<usize>,
}

impl SigpropImage {
    /// Classes (registers used per compartment).
    pub fn classes(&self) -> usize {
        self.contexts.len()
    }

    /// Whether learning slot `slot` reads the unit's pull.
    pub fn drives(&self, slot: usize) -> bool {
        self.layers.iter().any(|l| l.slots.contains(&slot))
    }
}
