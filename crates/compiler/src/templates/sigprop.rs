//! Supervised signal propagation (sigprop, docs/sigprop.md "Sigprop on the
//! chip") as a program of graded units for the chip's sigprop learning unit
//! (`learning.sigprop`).
//!
//! - one graded input port `x` (`inputs + 1` values: the sample, then the bias 0.8; with
//!   `complement`, `2·inputs + 1`: the sample, its complements `1 − x`, the bias; a
//!   class context `S·c_k` takes the same port);
//! - layers `h1`, `h2`, … of event-driven logistic units (the DFA template's graded
//!   unit: `σ(a)` as `1/(1 + exp(−2u/u0))`, `u0 = 2` real), mixed sign;
//! - every weight onto a layer is signed (9 bits with the sign), initial values
//!   uniform in `±init_scale/√fan_in`, and learns with `dw = α·pre·deriv·m0`,
//!   `α = rate/batch · WEIGHT_SCALE`, once per sample (the epoch: [`steps_per_sample`]);
//! - the `sigprop` section names the layers, β, the mini-batch, the rate decay and the
//!   contexts: given ones (`amine template sigprop` computes the class means of a task
//!   with `amine_tasks::ff::sigprop::contexts`), or per class `inputs + 1` values drawn
//!   from the seed, uniform in `[0, 2·context_mean)` (with `complement`, the first
//!   `inputs` followed by their complements), rounded to the port's 8-bit payloads, so
//!   the f64 reference reads the same numbers back from the program.
//!
//! **Receptive fields** (optional, [`SigpropNetwork::receptive_fields`]): the first
//! layer's unit `j` reads only the given port values (the patch wiring of
//! `amine_tasks::dual_ed::patch` with one unit a class: unit `j` at patch position
//! `j mod positions`), as an explicit list of synapses with seeded initial weights
//! uniform in `±init_scale/√fan_in`; the f64 reference recognises the list
//! (`amine_tasks::dual_ed::patch::recognise`).
//!
//! The chip's sigprop unit supplies `m0` (its pull register) to the layers' slots; the
//! grid is not used.

use super::{graded_unit, PAYLOAD_MAX, WEIGHT_SCALE};
use crate::program::sigprop::SigpropSpec;
use crate::program::{
    Activation, Connect, Input, LearningSpec, MappingHints, Overflow, Population, Program,
    Projection, Source, Weight,
};
use amine_chip::config::ChipConfig;
use amine_chip::image::sigprop::{SigpropOwnClass, SigpropReadout};
use amine_chip::image::Sign;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A sigprop network for a classification task.
#[derive(Debug, Clone, PartialEq)]
pub struct SigpropNetwork {
    pub name: String,
    pub inputs: u32,
    pub classes: u32,
    /// Layer widths, input side first.
    pub hidden: Vec<u32>,
    /// The integer contrast β.
    pub beta: u32,
    /// Learning rate (real units) per mini-batch; the rule's scale `rate/batch ·
    /// WEIGHT_SCALE` is rounded to the engine's `m·2^k`, `|m| ≤ 255`.
    pub rate: f64,
    pub batch: u32,
    pub init_scale: f64,
    /// Mean of a context entry: drawn contexts are uniform in `[0, 2·context_mean)`.
    pub context_mean: f64,
    /// Given contexts, one row of port values per class (the sample's part, its
    /// complements with `complement`, the bias); `None`: drawn (see the module docs).
    pub contexts: Option<Vec<Vec<f64>>>,
    /// The port carries each sample's complements after it.
    pub complement: bool,
    /// The rate of epoch `e` (from 0) is `rate · rate_decay^e`.
    pub rate_decay: f64,
    pub readout: SigpropReadout,
    /// Contexts per class (sub-class prototypes, `amine_tasks::ff::prototypes`): given
    /// contexts hold `classes · contexts_per_class` rows, class-major; drawn ones draw
    /// that many.
    pub contexts_per_class: u32,
    /// The sources of each first-layer unit among the port's values (the patch wiring
    /// of `amine_tasks::dual_ed::patch`, `--hidden 1008p5s2,128`), all of the same
    /// size, with explicit seeded initial weights; `None`: every port value.
    pub receptive_fields: Option<Vec<Vec<u32>>>,
    pub seed: u64,
    /// The sample's own class's other contexts in the layer loss (`--own-class`).
    pub own_class: SigpropOwnClass,
}

impl Default for SigpropNetwork {
    /// The digits network as tuned for the chip's form (docs/sigprop.md,
    /// "Sigprop on the chip: tuned"): 64 inputs with their complements, 10 classes,
    /// layers 128-64, β 8, rate 0.25, batch 16, the read-out summed over layers; drawn
    /// contexts of mean 0.3 unless given (`amine template sigprop` gives the digits'
    /// class means).
    fn default() -> SigpropNetwork {
        SigpropNetwork {
            name: "sigprop_digits".into(),
            inputs: 64,
            classes: 10,
            hidden: vec![128, 64],
            beta: 8,
            rate: 0.25,
            batch: 16,
            init_scale: 1.0,
            // [A] about the digits' mean input (0.30); the f64 reference scales its
            // contexts to the training set's mean the same way.
            context_mean: 0.3,
            contexts: None,
            complement: true,
            rate_decay: 1.0,
            readout: SigpropReadout::Sum,
            contexts_per_class: 1,
            receptive_fields: None,
            seed: 1,
            own_class: SigpropOwnClass::Negatives,
        }
    }
}

/// Steps of one sample through `layers` layers: the input step, one step per layer,
/// and the learning step in which the engine reads the unit's pull.
pub fn steps_per_sample(layers: usize) -> u32 {
    layers as u32 + 2
}

impl SigpropNetwork {
    /// Values the port carries: the sample, its complements if any, the bias.
    pub fn port_size(&self) -> u32 {
        (1 + u32::from(self.complement)) * self.inputs + 1
    }

    /// Rows of contexts: `classes · contexts_per_class`.
    pub fn contexts_count(&self) -> u32 {
        self.classes.saturating_mul(self.contexts_per_class)
    }

    /// The contexts `S·c_k`, one row of [`Self::port_size`] values per context (class
    /// `c`'s `j`-th at row `c·K + j`), on the payload grid (k/255).
    pub fn contexts(&self) -> Vec<Vec<f64>> {
        let grid = |v: f64| (v.clamp(0.0, 1.0) * PAYLOAD_MAX).round() / PAYLOAD_MAX;
        if let Some(c) = &self.contexts {
            return c
                .iter()
                .map(|r| r.iter().map(|&v| grid(v)).collect())
                .collect();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5167_0000_C047_E7A1);
        let top = 2.0 * self.context_mean;
        let n = self.inputs as usize;
        (0..self.contexts_count())
            .map(|_| {
                let mut row: Vec<f64> = (0..=n).map(|_| grid(rng.random::<f64>() * top)).collect();
                if self.complement {
                    let complements: Vec<f64> = row[..n].iter().map(|v| 1.0 - v).collect();
                    row.splice(n..n, complements);
                }
                row
            })
            .collect()
    }

    /// The option that makes the network unrunnable on `chip`, and why: `(option,
    /// message)`. A chip without a sigprop unit is left to the compiler, which names it.
    pub fn check(&self, chip: &ChipConfig) -> Result<(), (&'static str, String)> {
        if self.inputs == 0 || self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err((
                "--hidden",
                "inputs and every layer need at least one unit".into(),
            ));
        }
        if self.contexts_per_class == 0 {
            return Err(("--contexts-per-class", "must be at least 1".into()));
        }
        if let Some(c) = &self.contexts {
            let size = self.port_size() as usize;
            if c.len() != self.contexts_count() as usize || c.iter().any(|r| r.len() != size) {
                return Err((
                    "--contexts",
                    format!(
                        "{} contexts; the network needs {} of {size} values",
                        c.len(),
                        self.contexts_count()
                    ),
                ));
            }
        }
        if let Some(f) = &self.receptive_fields {
            let fan = f.first().map_or(0, Vec::len);
            let port = self.port_size();
            if f.len() != self.hidden[0] as usize
                || fan == 0
                || f.iter()
                    .any(|s| s.len() != fan || s.iter().any(|&i| i >= port))
            {
                return Err((
                    "--hidden",
                    format!(
                        "receptive fields: {} lists for {} first-layer units; each must hold the same, non-zero number of the port's {port} values",
                        f.len(),
                        self.hidden[0]
                    ),
                ));
            }
        }
        if !(self.rate_decay > 0.0 && self.rate_decay <= 1.0) {
            return Err((
                "--rate-decay",
                format!("{}: must be in (0, 1]", self.rate_decay),
            ));
        }
        if self.classes < 2 {
            return Err(("--classes", "at least 2 classes".into()));
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(("--rate", format!("{}: must be finite and > 0", self.rate)));
        }
        if self.batch == 0 || self.beta == 0 {
            return Err(("--batch", "batch and β must be at least 1".into()));
        }
        let Some(u) = &chip.learning.sigprop else {
            return Ok(());
        };
        if self.classes > u.context.classes {
            return Err((
                "--classes",
                format!(
                    "{} classes; chip `{}`'s context register file holds {} (learning.sigprop.context.classes)",
                    self.classes, chip.name, u.context.classes
                ),
            ));
        }
        if self.contexts_count() > u.context.classes {
            return Err((
                "--contexts-per-class",
                format!(
                    "{} classes × {} contexts = {} contexts; chip `{}`'s context register file holds {} (learning.sigprop.context.classes)",
                    self.classes,
                    self.contexts_per_class,
                    self.contexts_count(),
                    chip.name,
                    u.context.classes
                ),
            ));
        }
        if let Some(&w) = self.hidden.iter().find(|&&w| w > u.distance.max_units) {
            return Err((
                "--hidden",
                format!(
                    "a layer of {w} units; chip `{}`'s distance unit serves {} (learning.sigprop.distance.max_units)",
                    chip.name, u.distance.max_units
                ),
            ));
        }
        if !u.distance.own_class.contains(&self.own_class) {
            return Err((
                "--own-class",
                format!(
                    "{}: chip `{}`'s distance unit does not implement it (learning.sigprop.distance.own_class)",
                    self.own_class.name(),
                    chip.name
                ),
            ));
        }
        let bits = 32 - self.beta.leading_zeros();
        if bits > u32::from(u.distance.beta_bits) {
            return Err((
                "--beta",
                format!(
                    "β = {} needs {bits} bits; chip `{}` has {} (learning.sigprop.distance.beta_bits)",
                    self.beta, chip.name, u.distance.beta_bits
                ),
            ));
        }
        Ok(())
    }
}

/// A signed learning projection onto a sigprop layer.
fn plastic(net: &SigpropNetwork, from: &str, to: &str, fan_in: u32) -> Projection {
    let r = net.init_scale / f64::from(fan_in.max(1)).sqrt() * WEIGHT_SCALE;
    let alpha = super::engine_scale(net.rate / f64::from(net.batch.max(1)) * WEIGHT_SCALE);
    Projection {
        name: None,
        from: from.into(),
        to: to.into(),
        connect: Connect::All,
        weight: Some(Weight::Uniform { low: -r, high: r }),
        delay: 0,
        weight_bits: Some(9),
        seed: None,
        learning: Some(LearningSpec {
            rule: format!("dw = {alpha}*pre*deriv*m0"),
            params: BTreeMap::new(),
            epoch: steps_per_sample(net.hidden.len()),
            overflow: Overflow::Renormalise,
            traces: Default::default(),
        }),
        sign: None,
    }
}

/// The program of `net` (see the module docs).
pub fn sigprop(net: &SigpropNetwork) -> Program {
    let unit = graded_unit(2.0 * WEIGHT_SCALE * PAYLOAD_MAX, Activation::Sigmoid, None);
    let names: Vec<String> = (1..=net.hidden.len()).map(|l| format!("h{l}")).collect();
    let populations = names
        .iter()
        .zip(&net.hidden)
        .map(|(name, &size)| Population {
            name: name.clone(),
            size,
            model: unit.clone(),
            sign: Sign::Mixed,
            positions: None,
        })
        .collect();
    let first = match &net.receptive_fields {
        Some(fields) => {
            let fan = fields.first().map_or(0, Vec::len) as u32;
            super::dual_ed::wire_fields(plastic(net, "x", &names[0], fan), fields, net.seed)
        }
        None => plastic(net, "x", &names[0], net.port_size()),
    };
    let mut projections = vec![first];
    for l in 1..names.len() {
        projections.push(plastic(net, &names[l - 1], &names[l], net.hidden[l - 1]));
    }
    Program {
        name: net.name.clone(),
        seed: net.seed,
        dt_ms: 1.0,
        populations,
        inputs: vec![Input {
            name: "x".into(),
            size: net.port_size(),
            source: Source::Graded { payload_bits: 8 },
            sign: Sign::Mixed,
            entry_tile: None,
        }],
        projections,
        probes: Vec::new(),
        modulators: Vec::new(),
        mapping: MappingHints::default(),
        grid: None,
        eprop: None,
        sigprop: Some(SigpropSpec {
            port: "x".into(),
            layers: names,
            beta: net.beta,
            batch: net.batch,
            contexts: net.contexts(),
            complement: net.complement,
            rate_decay: net.rate_decay,
            readout: net.readout,
            contexts_per_class: net.contexts_per_class,
            own_class: net.own_class,
        }),
    }
}
