//! The network program: what a user writes, in physical units, once for any chip.
//!
//! A program is RON (see `docs/program-format.md` and `programs/`). Every struct rejects
//! unknown fields. Weights, thresholds and biases are all in one scale, the **weight
//! unit**: a spike through a synapse of weight 1 adds 1 to its target's `a_in`, i.e.
//! `1 << 6` to the 24-bit current `u`; a LIF neuron with `threshold: 1000` spikes when
//! `v > 1000 << 6`. Time constants are given in steps or milliseconds.

pub mod eprop;
pub mod sigprop;

use amine_chip::image::{ProbeKind, Sign};
use amine_chip::neuron::alif::AlifParams;
use amine_chip::neuron::lif::LifParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole network program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub name: String,
    /// Seed of everything random in the program (connectivity, weights, inputs) unless a
    /// part names its own.
    #[serde(default)]
    pub seed: u64,
    /// Physical duration of one step, in milliseconds (for taus and rates given in ms).
    #[serde(default = "one")]
    pub dt_ms: f64,
    pub populations: Vec<Population>,
    #[serde(default)]
    pub inputs: Vec<Input>,
    #[serde(default)]
    pub projections: Vec<Projection>,
    #[serde(default)]
    pub probes: Vec<ProbeSpec>,
    #[serde(default)]
    pub modulators: Vec<ModulatorSource>,
    /// Hints for partitioning (which populations share cores, how densely to pack).
    #[serde(default)]
    pub mapping: MappingHints,
    /// Modulator-grid kernel, decay and boundary for this program (default: the chip's).
    #[serde(default)]
    pub grid: Option<amine_chip::image::GridRegisters>,
    /// Training with e-prop: the readouts, error units, feedback, trial and update the
    /// chip's e-prop engine runs ([`eprop::EpropSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eprop: Option<eprop::EpropSpec>,
    /// Training with sigprop: the layers the chip's sigprop learning unit serves and the
    /// class contexts ([`sigprop::SigpropSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigprop: Option<sigprop::SigpropSpec>,
}

fn one() -> f64 {
    1.0
}

/// A group of neurons of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    pub name: String,
    pub size: u32,
    pub model: Model,
    /// Dale's principle: the sign every outgoing weight must have.
    #[serde(default = "mixed")]
    pub sign: Sign,
    /// Positions in the unit square, used to bind neurons to modulator-grid cells.
    #[serde(default)]
    pub positions: Option<Positions>,
}

fn mixed() -> Sign {
    Sign::Mixed
}

/// Where a population's neurons sit, in [0, 1]².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Positions {
    /// Row-major on a `width × height` lattice (cell centres).
    Grid { width: u32, height: u32 },
    /// Uniformly random, distinct lattice cells drawn with `seed`.
    Random { seed: u64 },
    /// Explicit (x, y) per neuron.
    List(Vec<(f64, f64)>),
    /// Distinct random cells of a `width × height` lattice (cell centres), shared by
    /// every population naming the same lattice and seed: their neurons take distinct
    /// cells, in population order. `seed: None` derives one from the program seed.
    Lattice {
        width: u32,
        height: u32,
        #[serde(default)]
        seed: Option<u64>,
    },
}

/// A time span, in steps or in milliseconds (converted with the program's `dt_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Time {
    Steps(f64),
    Ms(f64),
}

/// A neuron model, in physical units or as raw chip fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Model {
    /// Loihi CUBA LIF from time constants: `du + 1 = decay(tau_syn)`, `dv =
    /// decay(tau_mem)` with the chip's `decay(τ) = round(4096·(1 − e^(−1/τ)))` (τ in
    /// steps; 0 = no memory); `threshold` and `bias` in weight units.
    Lif {
        tau_syn: Time,
        tau_mem: Time,
        threshold: f64,
        #[serde(default)]
        bias: f64,
        #[serde(default)]
        refractory: Option<Time>,
    },
    /// Loihi CUBA LIF, raw fixed-point fields as the chip stores them.
    LifRaw(LifParams),
    /// Adaptive-threshold LIF from time constants; `adapt` is the threshold increase per
    /// spike in weight units, `tau_adapt` its decay.
    Alif {
        tau_syn: Time,
        tau_mem: Time,
        threshold: f64,
        tau_adapt: Time,
        adapt: f64,
        #[serde(default)]
        bias: f64,
        #[serde(default)]
        refractory: Option<Time>,
        /// Reset by subtracting the threshold (e-prop style) instead of to zero.
        #[serde(default)]
        subtract_reset: bool,
        /// The reset rule, when neither `Zero` nor `subtract_reset`'s `Subtract`:
        /// `Some(SubtractBase)` removes the base threshold and keeps integrating while
        /// refractory (the LSNN neuron e-prop is defined on; docs/neurons.md).
        #[serde(default)]
        reset: Option<amine_chip::neuron::alif::Reset>,
    },
    AlifRaw(AlifParams),
    /// A graded (rate) unit: `o = 1/(1+exp(−2u/u0))`, sent as an unsigned payload.
    Graded {
        /// Sigmoid scale in weight units.
        u0: f64,
        /// The table covers ±`span`·u0.
        #[serde(default = "five")]
        span: f64,
        #[serde(default = "eight")]
        payload_bits: u8,
        #[serde(default)]
        bias: f64,
        /// Input time constant; `None` (the default) keeps no memory (`du = 4095`).
        #[serde(default)]
        tau_syn: Option<Time>,
        /// The activation table (default the sigmoid).
        #[serde(default)]
        activation: Activation,
        /// Update and send only in steps that received input; hold otherwise.
        #[serde(default)]
        event_driven: bool,
        /// Subtract a running mean of the input before the table, moving it at this rate
        /// (a power of two, `2^−k`) while learning is on: an error unit's centring
        /// register (the chip needs `learning.centring`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        centring: Option<f64>,
    },
}

/// What a graded unit's table holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `o = 1/(1+exp(−2u/u0))` over ±`span`·u0.
    #[default]
    Sigmoid,
    /// `o = clamp(u/u0, 0, 1)`: a rectifier, e.g. an error unit sending `max(e, 0)`.
    Ramp,
    /// `o = clamp(−u/u0, 0, 1)`: the mirrored rectifier (`max(−e, 0)` from the same
    /// input). Its table decreases, so no learning rule may read it as a post unit.
    MirroredRamp,
}

fn five() -> f64 {
    5.0
}
fn eight() -> u8 {
    8
}

/// A spike source outside the chip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub name: String,
    pub size: u32,
    pub source: Source,
    /// Dale's principle for the input's outgoing weights, as for populations.
    #[serde(default = "mixed")]
    pub sign: Sign,
    /// Tile `(x, y)` whose router receives the input's packets; by default the tile that
    /// minimises hops to its targets.
    #[serde(default)]
    pub entry_tile: Option<(u32, u32)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// Each input spikes with probability `p` per step.
    Bernoulli {
        p: f64,
        #[serde(default)]
        seed: Option<u64>,
    },
    /// Poisson trains at `rate_hz` (with the program's `dt_ms`).
    Poisson {
        rate_hz: f64,
        #[serde(default)]
        seed: Option<u64>,
    },
    /// Explicit spikes from a CSV file with lines `step,index` (path relative to the program).
    File(String),
    /// Spikes given when the image runs (`amine run --input spikes.csv`).
    External,
    /// Graded values the host sends while the image runs (`amine train` sends pixels
    /// and targets this way); each sent value goes out once as a graded packet.
    Graded {
        #[serde(default = "eight")]
        payload_bits: u8,
    },
}

/// Synapses from one population (or input) to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Projection {
    /// Defaults to `from->to`.
    #[serde(default)]
    pub name: Option<String>,
    pub from: String,
    pub to: String,
    pub connect: Connect,
    /// Weights for `Random`, `All` and `OneToOne` connectivity.
    #[serde(default)]
    pub weight: Option<Weight>,
    /// Synaptic delay in steps, for connectivity that carries none itself.
    #[serde(default)]
    pub delay: u8,
    /// Force a weight width instead of letting the compiler choose.
    #[serde(default)]
    pub weight_bits: Option<u8>,
    /// Seed of this projection's randomness (default: derived from the program seed).
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub learning: Option<LearningSpec>,
    /// Sign-fix this projection's synapses (a source of `Mixed` sign only): its weights
    /// all keep this sign, stored without a sign bit, and learning never flips them, as
    /// the cross-type synapses of Error Diffusion need.
    #[serde(default)]
    pub sign: Option<Sign>,
}

/// Which synapses a projection has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Connect {
    /// `weights[pre][post]`; zero entries are absent synapses.
    Dense(Vec<Vec<f64>>),
    /// Explicit `(pre, post, weight)` triples.
    Sparse(Vec<(u32, u32, f64)>),
    /// Each (pre, post) pair independently with probability `p`. With `modules: Some(m)`
    /// both sides are cut into `m` equal contiguous modules and only pairs within the
    /// same module are candidates (module-local random connectivity). With `partners:
    /// Some(n)` as well, each module of `to` instead draws from `n` other modules of
    /// `from`, chosen at random (seeded) for every module: connectivity between modules.
    Random {
        p: f64,
        #[serde(default = "yes")]
        allow_self: bool,
        #[serde(default)]
        modules: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partners: Option<u32>,
    },
    /// pre i → post i (sizes must match).
    OneToOne,
    /// Every pre to every post.
    All,
    /// A CSV file with lines `pre,post,weight[,delay]` (path relative to the program).
    File(String),
    /// Each pair with probability `1/(1 + exp(d²/(4σ)))`, `d` the distance of the two
    /// neurons' positions on the unit torus (both populations need positions): local
    /// connectivity, ≈ `4πσ·ln 2` of all pairs.
    Distance {
        sigma: f64,
        #[serde(default)]
        allow_self: bool,
    },
    /// Exactly `round(p · pre · post)` distinct pairs, drawn uniformly.
    FixedTotal { p: f64 },
    /// A 2-D convolution (PyTorch's `Conv2d`; a height of 1 makes it 1-D) from a
    /// `channels × height × width` population to the output it computes.
    Conv {
        /// Shape of `from`: (channels, height, width), channel-major.
        input: (u32, u32, u32),
        /// Output channels (filters).
        channels: u32,
        /// Kernel (height, width).
        kernel: (u32, u32),
        #[serde(default = "ones")]
        stride: (u32, u32),
        #[serde(default)]
        padding: (u32, u32),
        #[serde(default = "ones")]
        dilation: (u32, u32),
        #[serde(default = "one_u32")]
        groups: u32,
        /// The kernel, `channels × input channels/groups × kh × kw` values row-major
        /// (PyTorch's weight layout); `None`: drawn from the projection's `weight`.
        #[serde(default)]
        weights: Option<Vec<f64>>,
        /// `Some(true)`: store as shared synapse lists or fail; `Some(false)`: expand into
        /// per-synapse rows; `None` (default): shared where the chip can, else expanded.
        #[serde(default)]
        shared: Option<bool>,
    },
    /// Sum pooling (average pooling with `weight` 1/k): every `kernel` window of a
    /// channel reaches one output of the same channel with the projection's `Const` weight.
    Pool {
        /// Shape of `from`: (channels, height, width).
        input: (u32, u32, u32),
        /// Window (height, width).
        kernel: (u32, u32),
        /// Default: the window (non-overlapping).
        #[serde(default)]
        stride: Option<(u32, u32)>,
        #[serde(default)]
        padding: (u32, u32),
        /// As for `Conv`.
        #[serde(default)]
        shared: Option<bool>,
    },
}

impl Connect {
    /// The convolution this connectivity describes (a pooling as a depthwise one), if any.
    pub fn conv_spec(&self) -> Option<crate::conv::ConvSpec> {
        match self {
            Connect::Conv {
                input,
                channels,
                kernel,
                stride,
                padding,
                dilation,
                groups,
                weights,
                shared,
            } => Some(crate::conv::ConvSpec {
                input: *input,
                channels: *channels,
                kernel: *kernel,
                stride: *stride,
                padding: *padding,
                dilation: *dilation,
                groups: *groups,
                weights: weights.clone(),
                shared: *shared,
            }),
            Connect::Pool {
                input,
                kernel,
                stride,
                padding,
                shared,
            } => Some(crate::conv::ConvSpec {
                input: *input,
                channels: input.0,
                kernel: *kernel,
                stride: stride.unwrap_or(*kernel),
                padding: *padding,
                dilation: (1, 1),
                groups: input.0.max(1),
                weights: None,
                shared: *shared,
            }),
            _ => None,
        }
    }
}

fn ones() -> (u32, u32) {
    (1, 1)
}

fn yes() -> bool {
    true
}

/// How weights are drawn, in weight units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Weight {
    Const(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Normal {
        mean: f64,
        std: f64,
    },
    /// `std · x`, x a standard normal truncated to ±2 and rescaled to unit variance
    /// (Kaiming's initialisation as JAX's `truncated_normal` draws it).
    TruncatedNormal {
        std: f64,
    },
}

/// A learning rule attached to a projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningSpec {
    /// A rule name (`stdp`, `r_stdp`, `error_diffusion`) or an expression such as
    /// `"dw = 2^-4*x1*y0 - 2^-4*y1*x0"`.
    pub rule: String,
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// Run the rule every `epoch` steps.
    #[serde(default = "one_u32")]
    pub epoch: u32,
    /// What a weight leaving its row's range does.
    #[serde(default)]
    pub overflow: Overflow,
    /// Trace time constants and impulses (default: x1, y1 16 steps; x2, y2, y3 64 steps;
    /// impulse 32 each).
    #[serde(default)]
    pub traces: Traces,
}

/// The five traces of a learning rule; any left out keeps its default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traces {
    #[serde(default)]
    pub x1: Option<Trace>,
    #[serde(default)]
    pub x2: Option<Trace>,
    #[serde(default)]
    pub y1: Option<Trace>,
    #[serde(default)]
    pub y2: Option<Trace>,
    #[serde(default)]
    pub y3: Option<Trace>,
}

/// A trace: decays with time constant `tau`, and a spike adds `impulse` (it saturates at
/// `2^trace_bits − 1`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    pub tau: Time,
    pub impulse: u16,
}

/// What the learning engine does with a weight that would leave its row's range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Overflow {
    /// Clamp it at the range's end (sign-fixed rows stop at 0).
    #[default]
    Clamp,
    /// Halve the whole row and raise its exponent (up to `core.weight_exponent_max`),
    /// then apply the update: the row keeps its function at one bit less resolution.
    Renormalise,
}

fn one_u32() -> u32 {
    1
}

/// Something to record during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    pub name: String,
    pub population: String,
    pub kind: ProbeKind,
    #[serde(default)]
    pub neurons: Option<Vec<u32>>,
}

/// Neurons of `population` inject `gain` × their output into modulator `channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulatorSource {
    pub population: String,
    #[serde(default)]
    pub neurons: Option<Vec<u32>>,
    pub channel: u32,
    #[serde(default = "one")]
    pub gain: f64,
    /// Grid cell to inject into; by default the cell under each neuron's position, or
    /// under its core when the population has no positions.
    #[serde(default)]
    pub cell: Option<(u32, u32)>,
    /// Broadcast into every cell of a `(width, height)` rectangle whose top-left is the
    /// injection cell, instead of that cell alone.
    #[serde(default)]
    pub region: Option<(u32, u32)>,
}

/// Hints for the partition and place passes (in a program's `mapping`, or a hints file
/// and flags on the command line; see `docs/compiler.md`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingHints {
    /// Groups of populations cut in proportion, so that slice k of each lands on the same
    /// core (e.g. an E/I pair with module-local connectivity).
    #[serde(default)]
    pub colocate: Vec<Vec<String>>,
    /// Use at most this many compartments per core (spreads a network over more cores).
    #[serde(default)]
    pub max_compartments_per_core: Option<u32>,
    /// Per population: at most this many of its neurons on one core.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max_per_core: BTreeMap<String, u32>,
    /// Per population: spread it evenly over exactly this many cores of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cores: BTreeMap<String, u32>,
    /// Per population: the cores (ids) its slices go to, in neuron order; one slice per
    /// listed core, which it has to itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub place: BTreeMap<String, Vec<u32>>,
}

impl MappingHints {
    /// Parse a hints file (a `MappingHints` in RON); `origin` names it in errors.
    pub fn from_ron(text: &str, origin: &str) -> Result<MappingHints, crate::Error> {
        amine_chip::textfmt::from_ron(text, origin)
            .map_err(|e| crate::Error::new(crate::ErrorKind::Syntax(e)))
    }

    /// Add `other`'s hints to these: its groups are appended, its per-population entries
    /// and its `max_compartments_per_core` replace these ones.
    pub fn merge(&mut self, other: MappingHints) {
        self.colocate.extend(other.colocate);
        if other.max_compartments_per_core.is_some() {
            self.max_compartments_per_core = other.max_compartments_per_core;
        }
        self.max_per_core.extend(other.max_per_core);
        self.cores.extend(other.cores);
        self.place.extend(other.place);
    }

    /// The cores population `name` is spread over by the hints, if any.
    pub fn cores_of(&self, name: &str) -> Option<u32> {
        self.place
            .get(name)
            .map(|v| v.len() as u32)
            .or_else(|| self.cores.get(name).copied())
    }

    /// The most neurons of population `name` the caps (`max_compartments_per_core`,
    /// `max_per_core`) allow on one core.
    pub fn max_of(&self, name: &str) -> u32 {
        let cap = self.max_compartments_per_core.unwrap_or(u32::MAX);
        self.max_per_core.get(name).map_or(cap, |&m| cap.min(m))
    }

    /// The most neurons of population `name` (of `size`) the hints allow on one core: the
    /// caps, and an even share of the cores a `cores` or `place` hint gives it.
    pub fn cap_of(&self, name: &str, size: u32) -> u32 {
        let mut cap = self.max_of(name);
        if let Some(n) = self.cores_of(name).filter(|&n| n > 0) {
            cap = cap.min(size.div_ceil(n));
        }
        cap
    }
}

impl Program {
    /// Parse a program from RON text; `origin` names the file in errors (file:line:col).
    pub fn from_ron(text: &str, origin: &str) -> Result<Program, crate::Error> {
        amine_chip::textfmt::from_ron(text, origin)
            .map_err(|e| crate::Error::new(crate::ErrorKind::Syntax(e)))
    }

    /// Pretty RON text of this program.
    pub fn to_ron(&self) -> String {
        amine_chip::textfmt::to_ron(self)
    }
}

impl Projection {
    /// The sign its weights must keep: its own, else its source's.
    pub fn sign_with(&self, source: Sign) -> Sign {
        match (source, self.sign) {
            (Sign::Mixed, Some(s)) => s,
            (s, _) => s,
        }
    }

    /// The projection's name: given, or `from->to`.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", self.from, self.to))
    }
}

impl Time {
    /// The span in steps.
    pub fn steps(&self, dt_ms: f64) -> f64 {
        match *self {
            Time::Steps(s) => s,
            Time::Ms(ms) => ms / dt_ms,
        }
    }
}
