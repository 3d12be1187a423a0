//! The e-prop networks of `docs/eprop.md` as programs: a recurrent LIF/ALIF network on
//! a lattice of the modulator grid, trained by the chip's e-prop engine with learning
//! signals that reach the neurons directly (`sparse`, `full`) or by diffusion.
//!
//! [`eprop`] writes, for an [`EpropNetwork`] (sizes, time constants, the task's trial,
//! the condition, widths and rates, all in the float model's units):
//!
//! - populations `lif` and `alif` (the `Alif` model with `reset: SubtractBase`, `lif`
//!   without adaptation; a population of size 0 is left out), on one shared
//!   `Lattice(width: side, height: side)`, threshold [`THRESHOLD`] weight units, no
//!   synaptic filter (`tau_syn: Steps(0)`);
//! - an `External` input `x` (the host sends the task's spikes);
//! - `x → lif`, `x → alif` with `FixedTotal(p: input_p)` and the four recurrent
//!   projections with `Distance(sigma:)`, all `TruncatedNormal` (Kaiming: std
//!   `√(2/fan_in)`), every one learning with the `eprop` rule;
//! - the `eprop` section: readouts reading `readout_p` of the neurons, softmax or
//!   regression error units, the feedback of the condition, the trial and its window,
//!   the regulariser and the update;
//! - the grid registers of the condition on a `side × side` torus: `diffusion` a kernel
//!   of `k/9` in all nine entries (`edge = corner = 1/9`, `decay = 1 − k`), `sparse` and
//!   `full` no kernel and `decay = 1` (a cell holds what was injected into it that step).
//!
//! **Units.** The float model integrates `v ← α·v + (1 − α)·W·z` with threshold `thr`;
//! the chip adds a spike's weight to `v` unscaled with threshold [`THRESHOLD`], so a real
//! weight `w` is `(1 − α)·w·THRESHOLD/thr` weight units ([`EpropNetwork::scale`]), with
//! α the chip's `1 − decay_from_tau(τm)/4096` — the same conversion the compiler uses
//! for the neurons, so the network and its weights agree. The ALIF increment is
//! `β·(1 − ρ)·THRESHOLD/thr`; rates scale as weights do (Adam's step by `scale`, the
//! plain update's `lr` by `scale²`); the readouts are in the float model's units.

use crate::program::eprop::{
    EpropSpec, ErrorKind, FeedbackSpec, FeedbackWeights, ReadoutSpec, RegulariserSpec, TrialSpec,
    UpdateSpec,
};
use crate::program::{
    Connect, Input, LearningSpec, MappingHints, Model, Population, Positions, Program, Projection,
    Source, Time, Weight,
};
use amine_chip::config::{Boundary, Kernel};
use amine_chip::image::{GridRegisters, Sign};
use amine_chip::neuron::alif::Reset;
use amine_chip::neuron::{decay_from_tau, kept};
use std::collections::BTreeMap;

/// The neurons' threshold in weight units (the scale of every weight).
pub const THRESHOLD: f64 = 1000.0;

/// How the learning signal reaches the recurrent neurons (`docs/eprop.md`, conditions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feedback {
    /// The readout neurons inject at their cells and a uniform `k/9` 3×3 kernel spreads it.
    Diffusion { k: f64 },
    /// Only the neurons with a readout weight hear it, at their own cell (no kernel).
    Sparse,
    /// Every neuron hears a dense random feedback, at its own cell (no kernel).
    Full,
}

impl Feedback {
    /// The grid registers of this condition on a `side × side` torus.
    pub fn registers(&self, side: u32) -> GridRegisters {
        let (kernel, decay) = match *self {
            Feedback::Diffusion { k } => (1.0 / 9.0, 1.0 - k),
            Feedback::Sparse | Feedback::Full => (0.0, 1.0),
        };
        GridRegisters {
            kernel: Kernel {
                edge: kernel,
                corner: kernel,
            },
            decay,
            boundary: Boundary::Torus,
            size: Some((side, side)),
        }
    }
}

/// The update unit's rule, with rates in the float model's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Update {
    /// `Δw = −lr·g`, one rate per group (input, recurrent, readout).
    Sgd { lr: [f64; 3] },
    /// Adam with this step (β1 = 0.9, β2 = 0.999).
    Adam { step: f64 },
}

/// An e-prop network and its training, in the float model's units.
#[derive(Debug, Clone, PartialEq)]
pub struct EpropNetwork {
    pub name: String,
    pub seed: u64,
    pub inputs: u32,
    pub outputs: u32,
    /// Classification (softmax error units) or regression (`y − target`).
    pub classification: bool,
    pub trial_steps: u32,
    pub window: (u32, u32),
    pub lif: u32,
    pub alif: u32,
    /// The lattice is `side × side` cells of the grid (a torus).
    pub side: u32,
    pub tau_m_ms: f64,
    pub tau_a_ms: f64,
    /// The readouts' leak and the eligibility filter ē.
    pub tau_out_ms: f64,
    pub thr: f64,
    pub beta: f64,
    pub refractory_ms: f64,
    /// Width σ of the connection probability `1/(1 + exp(d²/(4σ)))`.
    pub sigma: f64,
    /// Fraction of input→neuron pairs with a synapse.
    pub input_p: f64,
    /// Fraction of the neurons each readout reads.
    pub readout_p: f64,
    pub condition: Feedback,
    pub frac_bits: u8,
    pub weight_bits: u8,
    pub lazy_decay: bool,
    pub update: Update,
    pub batch: u32,
    /// Strength and target (Hz) of the rate regulariser.
    pub regulariser: Option<(f64, f64)>,
}

impl EpropNetwork {
    /// The cue-accumulation network and trial of docs/eprop.md under diffusion, Adam.
    pub fn cue_accumulation() -> EpropNetwork {
        EpropNetwork {
            name: "cue_accumulation".into(),
            seed: 1,
            inputs: 40,
            outputs: 2,
            classification: true,
            trial_steps: 2050,
            window: (1900, 2050),
            lif: 50,
            alif: 50,
            side: 10,
            tau_m_ms: 20.0,
            tau_a_ms: 2000.0,
            tau_out_ms: 20.0,
            thr: 0.03,
            beta: 1.8,
            refractory_ms: 5.0,
            sigma: 0.012,
            input_p: 0.1,
            readout_p: 0.1,
            condition: Feedback::Diffusion { k: 0.75 },
            frac_bits: 20,
            weight_bits: 16,
            lazy_decay: true,
            update: Update::Adam { step: 0.005 },
            batch: 64,
            regulariser: Some((0.005, 10.0)),
        }
    }

    pub fn neurons(&self) -> u32 {
        self.lif + self.alif
    }

    /// Weight units per real weight: `(1 − α)·THRESHOLD/thr`, α the chip's decay of τm.
    pub fn scale(&self) -> f64 {
        (1.0 - kept(decay_from_tau(self.tau_m_ms))) * THRESHOLD / self.thr
    }
}

/// The program of `net` (module docs for its layout and units).
pub fn eprop(net: &EpropNetwork) -> Program {
    let populations = populations(net);
    let names: Vec<String> = populations.iter().map(|p| p.name.clone()).collect();
    let rates = LearnedRates::of(net);
    let projections = projections(net, &names, &rates);
    let eprop = eprop_spec(net, names, &rates);
    Program {
        name: net.name.clone(),
        seed: net.seed,
        dt_ms: 1.0,
        populations,
        inputs: vec![Input {
            name: "x".into(),
            size: net.inputs,
            source: Source::External,
            sign: Sign::Mixed,
            entry_tile: None,
        }],
        projections,
        probes: Vec::new(),
        modulators: Vec::new(),
        mapping: MappingHints::default(),
        grid: Some(net.condition.registers(net.side)),
        eprop: Some(eprop),
        sigprop: None,
    }
}

/// The `lif` and `alif` populations (those of nonzero size) on the side × side lattice.
fn populations(net: &EpropNetwork) -> Vec<Population> {
    let rho = kept(decay_from_tau(net.tau_a_ms));
    let lattice = Some(Positions::Lattice {
        width: net.side,
        height: net.side,
        seed: None,
    });
    let neuron = |adapt: f64| Model::Alif {
        tau_syn: Time::Steps(0.0),
        tau_mem: Time::Ms(net.tau_m_ms),
        threshold: THRESHOLD,
        tau_adapt: Time::Ms(net.tau_a_ms),
        adapt,
        bias: 0.0,
        refractory: Some(Time::Ms(net.refractory_ms)),
        subtract_reset: false,
        reset: Some(Reset::SubtractBase),
    };
    let adapt = net.beta * (1.0 - rho) * THRESHOLD / net.thr;
    [("lif", net.lif, 0.0), ("alif", net.alif, adapt)]
        .into_iter()
        .filter(|p| p.1 > 0)
        .map(|(name, size, a)| Population {
            name: name.into(),
            size,
            model: neuron(a),
            sign: Sign::Mixed,
            positions: lattice.clone(),
        })
        .collect()
}

/// The update's rate parameter name (`lr` or `step`) and its value per weight group
/// (input, recurrent, readout) in the program's units.
struct LearnedRates {
    name: &'static str,
    groups: [f64; 3],
}

impl LearnedRates {
    fn of(net: &EpropNetwork) -> LearnedRates {
        let scale = net.scale();
        let (name, groups) = match net.update {
            Update::Sgd { lr } => ("lr", [lr[0] * scale * scale, lr[1] * scale * scale, lr[2]]),
            Update::Adam { step } => ("step", [step * scale, step * scale, step]),
        };
        LearnedRates { name, groups }
    }
}

/// The input projections `x → population` (group 0), then the recurrent ones
/// between every pair of populations (group 1), all learned with e-prop.
fn projections(net: &EpropNetwork, names: &[String], rates: &LearnedRates) -> Vec<Projection> {
    let n = f64::from(net.neurons().max(1));
    let scale = net.scale();
    let learning = |group: usize| LearningSpec {
        rule: crate::program::eprop::RULE.into(),
        params: BTreeMap::from([(rates.name.to_string(), rates.groups[group])]),
        epoch: 1,
        overflow: Default::default(),
        traces: Default::default(),
    };
    let projection = |from: &str, to: &str, connect: Connect, std: f64, group: usize| Projection {
        name: Some(format!("{from}->{to}")),
        from: from.into(),
        to: to.into(),
        connect,
        weight: Some(Weight::TruncatedNormal { std }),
        delay: 0,
        weight_bits: Some(net.weight_bits),
        seed: None,
        learning: Some(learning(group)),
        sign: None,
    };
    let std_in = (2.0 / f64::from(net.inputs.max(1))).sqrt() * scale;
    let std_rec = (2.0 / n).sqrt() * scale;
    let mut projections = Vec::new();
    for to in names {
        projections.push(projection(
            "x",
            to,
            Connect::FixedTotal { p: net.input_p },
            std_in,
            0,
        ));
    }
    for from in names {
        for to in names {
            projections.push(projection(
                from,
                to,
                Connect::Distance {
                    sigma: net.sigma,
                    allow_self: false,
                },
                std_rec,
                1,
            ));
        }
    }
    projections
}

/// The e-prop section: trial, readout (reading `names`), error, feedback,
/// regulariser, update and batch.
fn eprop_spec(net: &EpropNetwork, names: Vec<String>, rates: &LearnedRates) -> EpropSpec {
    let n = f64::from(net.neurons().max(1));
    let std_out = (2.0 / n).sqrt();
    EpropSpec {
        frac_bits: net.frac_bits,
        lazy_decay: net.lazy_decay,
        trial: TrialSpec {
            steps: net.trial_steps,
            window: net.window,
        },
        readout: ReadoutSpec {
            size: net.outputs,
            tau: Time::Ms(net.tau_out_ms),
            from: names,
            p: net.readout_p,
            weight: Weight::TruncatedNormal { std: std_out },
            weight_bits: Some(net.weight_bits),
            headroom: 4.0,
            lr: matches!(net.update, Update::Sgd { .. }).then_some(rates.groups[2]),
            step: matches!(net.update, Update::Adam { .. }).then_some(rates.groups[2]),
            seed: None,
        },
        error: if net.classification {
            ErrorKind::Softmax
        } else {
            ErrorKind::Regression
        },
        feedback: FeedbackSpec {
            channel: 0,
            weights: match net.condition {
                Feedback::Full => FeedbackWeights::Dense {
                    weight: Weight::TruncatedNormal { std: std_out },
                    seed: None,
                },
                _ => FeedbackWeights::Readout,
            },
        },
        regulariser: net
            .regulariser
            .map(|(strength, target_hz)| RegulariserSpec {
                strength,
                target_hz,
            }),
        update: match net.update {
            Update::Sgd { .. } => UpdateSpec::Sgd,
            Update::Adam { .. } => UpdateSpec::Adam {
                beta1: 0.9,
                beta2: 0.999,
            },
        },
        batch: net.batch,
    }
}
