//! Fixed-point neuron compartments. (Filled in by the neuron-block work.)
pub mod lif;
