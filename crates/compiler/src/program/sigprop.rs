//! A program's sigprop training (`sigprop` section, docs/sigprop.md "Sigprop on
//! the chip"): the layers the chip's sigprop learning unit serves, the contrast β, the
//! mini-batch, and the class contexts `S·c_k` as fixed program data.

use serde::{Deserialize, Serialize};

/// Supervised signal propagation with the contrastive layer loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigpropSpec {
    /// The graded input port samples and contexts enter by.
    pub port: String,
    /// The layers' populations, input side first. Each layer's incoming learning
    /// projections read the unit's pull as their modulator `m0`.
    pub layers: Vec<String>,
    /// The integer contrast β of `softmax_k(−(β/2)‖h − t_k‖²)`.
    pub beta: u32,
    /// Samples per mini-batch: the contexts' responses are latched once per batch.
    pub batch: u32,
    /// Per class, the context `S·c_k`: one value in [0, 1] per input of `port`.
    pub contexts: Vec<Vec<f64>>,
    /// The host sends each sample followed by its complements `1 − x`, then the bias:
    /// `port` has `2·inputs + 1` values (an odd count).
    #[serde(default)]
    pub complement: bool,
    /// The learning rate of epoch `e` (from 0) is the rules' rate times
    /// `rate_decay^e`, in (0, 1]; the host rewrites the rules' constants.
    #[serde(default = "one")]
    pub rate_decay: f64,
    /// `last` (nearest last-layer response) or `sum` (distances summed over layers).
    #[serde(default)]
    pub readout: amine_chip::image::sigprop::SigpropReadout,
    /// Contexts per class (sub-class prototypes): `contexts` holds class `c`'s `j`-th
    /// context at row `c·K + j`, so `contexts_per_class` must divide their count.
    #[serde(default = "one_u32", skip_serializing_if = "is_one")]
    pub contexts_per_class: u32,
    /// `negatives` (the default), `excluded` or `pooled`: the sample's own class's other
    /// contexts in the layer loss (`amine_chip::learning::sigprop::layer_signals`).
    #[serde(default, skip_serializing_if = "is_negatives")]
    pub own_class: amine_chip::image::sigprop::SigpropOwnClass,
}

fn is_negatives(v: &amine_chip::image::sigprop::SigpropOwnClass) -> bool {
    *v == amine_chip::image::sigprop::SigpropOwnClass::Negatives
}

fn one_u32() -> u32 {
    1
}

fn is_one(v: &u32) -> bool {
    *v == 1
}

fn one() -> f64 {
    1.0
}
