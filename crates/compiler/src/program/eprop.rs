//! The e-prop part of a program (`eprop: Some((...))`): what the chip's e-prop learning
//! engine runs besides the network itself — leaky readouts and their weights, the error
//! units, how the learning signal reaches the neurons (the feedback; the grid's kernel
//! and decay are the program's `grid` registers), the trial and its learning window, the
//! firing-rate regulariser and the update unit. The recurrent network is ordinary
//! populations (LIF/ALIF) and projections; a projection learns with e-prop when its
//! `learning` is `Some((rule: "eprop", params: {...}))`. See docs/eprop.md, "Programs".

use super::{Time, Weight};
use serde::{Deserialize, Serialize};

pub use amine_chip::image::eprop::ErrorKind;

/// Training a network with e-prop on the chip's e-prop engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropSpec {
    /// Fractional bits F of the eligibility traces (the chip's eligibility unit sets the
    /// range).
    #[serde(default = "twenty")]
    pub frac_bits: u8,
    /// Skip rows that only decay and catch them up later (`false`: every row steps
    /// every step).
    #[serde(default = "yes")]
    pub lazy_decay: bool,
    pub trial: TrialSpec,
    pub readout: ReadoutSpec,
    pub error: ErrorKind,
    pub feedback: FeedbackSpec,
    /// Pull every neuron's rate towards a target (`None`: off).
    #[serde(default)]
    pub regulariser: Option<RegulariserSpec>,
    pub update: UpdateSpec,
    /// Trials per weight update.
    #[serde(default = "sixty_four")]
    pub batch: u32,
}

/// A trial: `steps` long, learning in steps `window.0..window.1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialSpec {
    pub steps: u32,
    pub window: (u32, u32),
}

/// The readouts `y_k ← κ·y_k + (1 − κ)·Σ_j w_kj·z_j`, κ = e^(−1/τ) through the
/// chip's one decay conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutSpec {
    pub size: u32,
    pub tau: Time,
    /// The populations read, their neurons in this order.
    pub from: Vec<String>,
    /// Each readout reads `round(p · neurons)` distinct random neurons of `from`.
    pub p: f64,
    /// Initial weights, in units of `y`.
    pub weight: Weight,
    /// Weight width (default: the engine's widest).
    #[serde(default)]
    pub weight_bits: Option<u8>,
    /// The weight format holds this many times the largest initial weight.
    #[serde(default = "four")]
    pub headroom: f64,
    /// The plain update's rate (`Δw = −lr·∂L/∂w`, units of `y`).
    #[serde(default)]
    pub lr: Option<f64>,
    /// Adam's step, in units of `y`.
    #[serde(default)]
    pub step: Option<f64>,
    /// Seed of the readout's connectivity and weights (default: from the program seed).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// Where the error units inject, on which grid channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackSpec {
    #[serde(default)]
    pub channel: u32,
    pub weights: FeedbackWeights,
}

/// The feedback weights B: neuron j injects `Σ_k B_kj·err_k` at its grid cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeedbackWeights {
    /// B is the readout's initial weights: only the neurons a readout reads inject
    /// (the `sparse` and `diffusion` conditions).
    Readout,
    /// Every neuron of the readout's `from` populations injects, with B drawn like
    /// `weight` (the `full` condition).
    Dense {
        weight: Weight,
        #[serde(default)]
        seed: Option<u64>,
    },
}

/// At the end of each trial, the gradient of `(strength/2)·Σ_j (f_j − target)²`,
/// `f_j` neuron j's rate in spikes per step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegulariserSpec {
    pub strength: f64,
    pub target_hz: f64,
}

/// What the update unit does at the end of a batch. Every e-prop projection and the
/// readout give the rate this rule needs: `lr` for `Sgd`, `step` for `Adam`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum UpdateSpec {
    /// `Δw = −lr·g` (g the batch-mean gradient), stochastically rounded.
    Sgd,
    /// Adam in the update unit's fixed point (the chip needs `learning.eprop.update.adam`).
    Adam {
        #[serde(default = "beta1")]
        beta1: f64,
        #[serde(default = "beta2")]
        beta2: f64,
    },
}

fn twenty() -> u8 {
    20
}
fn yes() -> bool {
    true
}
fn four() -> f64 {
    4.0
}
fn sixty_four() -> u32 {
    64
}
fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}

/// The name of the e-prop learning rule.
pub const RULE: &str = "eprop";

/// The parameters of the `eprop` learning rule of a projection, with their defaults.
pub const RULE_PARAMS: &[(&str, &str)] = &[
    (
        "lr",
        "the plain update's rate, weight units² per unit of loss",
    ),
    ("step", "Adam's step, in weight units"),
    (
        "headroom",
        "the weight format holds this many times the largest initial weight (4)",
    ),
];
