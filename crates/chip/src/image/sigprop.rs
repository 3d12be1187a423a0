//! The sigprop learning unit's part of a chip image ([`SigpropImage`]): which layers
//! the unit serves, the contrast β, the mini-batch over which the latched context
//! responses hold, and the class contexts `S·c_k` as payloads of the input port
//! (docs/sigprop.md, "Sigprop on the chip").
//!
//! The compiler's sigprop pass fills it after checking the chip's `learning.sigprop`
//! limits; the simulator's sigprop phase (`amine_sim::learning_sigprop`) reads it.

use serde::{Deserialize, Serialize};

/// What the sigprop unit runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The host sends each sample followed by its complements `1 − x` (a second
    /// stream), then the bias: the port has `2·inputs + 1` values.
    #[serde(default)]
    pub complement: bool,
    /// The host scales every layer's learning rate by `rate_decay^e` in epoch `e`
    /// (from 0), rewriting the rules' constants between epochs; 1: constant.
    #[serde(default = "one")]
    pub rate_decay: f64,
    /// How a sample's class is read out.
    #[serde(default)]
    pub readout: SigpropReadout,
    /// Contexts per class (sub-class prototypes): class `c`'s `j`-th context is row
    /// `c·K + j` of `contexts`. The unit sees only contexts; the host maps a sample's
    /// class to its nearest own-class context and a predicted context to its class.
    /// Always written: the binary encoding (postcard) is positional.
    #[serde(default = "one_u32")]
    pub contexts_per_class: u32,
    /// What the layer loss makes of the sample's own class's other contexts
    /// (`contexts_per_class` > 1). Always written, after every other field.
    #[serde(default)]
    pub own_class: SigpropOwnClass,
}

/// With several contexts a class, the sample's own class's other contexts in the
/// unit's softmax (`amine_chip::learning::sigprop::layer_signals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigpropOwnClass {
    /// Negatives like every other context: the sample is pulled to its target only.
    #[default]
    Negatives,
    /// Masked out of the softmax: the sample is pulled to its target and pushed from
    /// the other classes' contexts only.
    Excluded,
    /// Pooled: the loss is `−log Σ_{j∈y} p_j`; the sample is pulled to its class's
    /// contexts weighted by their share `q_j` of the class's probability.
    Pooled,
}

impl SigpropOwnClass {
    /// Every treatment.
    pub const ALL: [SigpropOwnClass; 3] = [
        SigpropOwnClass::Negatives,
        SigpropOwnClass::Excluded,
        SigpropOwnClass::Pooled,
    ];

    /// The treatment's name in programs, chip configurations and `--own-class`.
    pub fn name(self) -> &'static str {
        match self {
            SigpropOwnClass::Negatives => "negatives",
            SigpropOwnClass::Excluded => "excluded",
            SigpropOwnClass::Pooled => "pooled",
        }
    }
}

fn one_u32() -> u32 {
    1
}

/// How the sigprop unit reads a sample's class out of the latched context responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SigpropReadout {
    /// The class whose last-layer response is nearest the sample's.
    #[default]
    Last,
    /// The class whose squared distances summed over every layer are smallest (one
    /// more add per class and layer; `c·u` distance terms at every layer).
    Sum,
}

fn one() -> f64 {
    1.0
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
    /// Contexts (registers used per compartment): `classes · contexts_per_class`.
    pub fn classes(&self) -> usize {
        self.contexts.len()
    }

    /// Contexts per class (at least 1).
    pub fn per_class(&self) -> usize {
        self.contexts_per_class.max(1) as usize
    }

    /// Task classes: contexts over contexts per class.
    pub fn task_classes(&self) -> usize {
        self.contexts.len() / self.per_class()
    }

    /// Values per sample (the port holds the complements too, if any, and the bias).
    pub fn inputs(&self) -> usize {
        let port = self.contexts.first().map_or(1, Vec::len).saturating_sub(1);
        if self.complement {
            port / 2
        } else {
            port
        }
    }

    /// Whether learning slot `slot` reads the unit's pull.
    pub fn drives(&self, slot: usize) -> bool {
        self.layers.iter().any(|l| l.slots.contains(&slot))
    }
}
