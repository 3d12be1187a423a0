//! Direct feedback alignment (DFA) as a program of graded units: one hidden layer, the
//! output error fed back to every hidden unit through fixed random gains in the
//! modulator grid (the "full" feedback of the e-prop work, for a feed-forward net).
//!
//! The layout follows the Error Diffusion sample protocol (`amine_train::ed`), so
//! `amine train` runs it as it runs ED:
//!
//! - graded input ports `x_e` (`inputs + 1` values: the sample, then the bias 0.8),
//!   `x_i` (the same values; nothing reads it — the protocol sends both streams) and
//!   `target` (one-hot);
//! - the hidden layer `h` (`hidden` event-driven logistic units, mixed sign) and the
//!   outputs `out{c}`; every weight onto them is signed (`weight_bits` 9, sign
//!   included) and learns with `dw = α·pre·deriv·m0`;
//! - per class the error units `dp{c}` = `max(t − o, 0)` and `dm{c}` = `max(o − t, 0)`,
//!   as in ED;
//! - each error unit injects on channel 0 with gain `±1` at its output's cell (so the
//!   output reads `t − o`) and with gain `±B_cj` at hidden unit `j`'s cell, `B` drawn
//!   once from the seed, uniform in `±feedback_scale`; the grid keeps no memory (no
//!   kernel, decay 1), so hidden unit `j` reads `Σ_c B_cj·(t_c − o_c)` in the step the
//!   errors are injected, and the learning epoch ends in that step.
//!
//! Every unit has its own grid cell, so `hidden + classes` must fit the grid.
//!
//! **Scales** are ED's ([`super::WEIGHT_SCALE`], payload 255 = 1); the logistic
//! `1/(1 + e^−a)` is the chip's `1/(1 + exp(−2u/u0))` with `u0 = 2`.

use super::{
    broadcast_registers, classifier_program, error_unit_wiring, graded_unit, PAYLOAD_MAX,
    PIPELINE_STEPS, WEIGHT_SCALE,
};
use crate::program::{
    Activation, Connect, LearningSpec, Model, ModulatorSource, Overflow, Population, Positions,
    Program, Projection, Weight,
};
use amine_chip::image::Sign;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// A DFA network for a classification task.
#[derive(Debug, Clone, PartialEq)]
pub struct DfaNetwork {
    pub name: String,
    pub inputs: u32,
    pub classes: u32,
    pub hidden: u32,
    /// Learning rate (real units); the rule's scale `rate · WEIGHT_SCALE` is rounded to
    /// the engine's `m·2^k`, `|m| ≤ 255`.
    pub rate: f64,
    /// Initial weights uniform in `±init_scale/√fan_in` (fan-in with the bias).
    pub init_scale: f64,
    /// Feedback gains uniform in `±feedback_scale`.
    pub feedback_scale: f64,
    pub seed: u64,
    /// Cells of the target chip's modulator grid.
    pub grid: (u32, u32),
}

impl Default for DfaNetwork {
    /// The digits network: 64 inputs, 10 classes, 128 hidden units, rate 0.5, on the
    /// Loihi preset's 32 × 32 grid.
    fn default() -> DfaNetwork {
        DfaNetwork {
            name: "dfa_digits".into(),
            inputs: 64,
            classes: 10,
            hidden: 128,
            rate: 0.5,
            init_scale: 1.0,
            feedback_scale: 1.0,
            seed: 1,
            grid: (32, 32),
        }
    }
}

impl DfaNetwork {
    /// The fixed feedback matrix, `B[c][j]`.
    pub fn feedback(&self) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0xFEED_BAC6_0000_0001);
        (0..self.classes)
            .map(|_| {
                (0..self.hidden)
                    .map(|_| (2.0 * rng.random::<f64>() - 1.0) * self.feedback_scale)
                    .collect()
            })
            .collect()
    }

    /// Cell `k` of the grid, row-major: hidden unit `j` is cell `j`, output `c` is cell
    /// `hidden + c`.
    fn cell(&self, k: u32) -> (u32, u32) {
        let w = self.grid.0.max(1);
        (k % w, k / w)
    }

    /// Why the network does not fit the grid, if it does not.
    pub fn check(&self) -> Result<(), String> {
        let cells = u64::from(self.grid.0) * u64::from(self.grid.1);
        let need = u64::from(self.hidden) + u64::from(self.classes);
        if need > cells {
            return Err(format!(
                "DFA needs one modulator cell per hidden and output unit: {need} (hidden {} + classes {}); the grid has {cells} ({} × {})",
                self.hidden, self.classes, self.grid.0, self.grid.1
            ));
        }
        if self.hidden == 0 || self.inputs == 0 || self.classes == 0 {
            return Err("inputs, classes and hidden must be at least 1".into());
        }
        Ok(())
    }
}

/// An event-driven graded unit with 8-bit payloads.
fn graded(u0: f64, activation: Activation) -> Model {
    graded_unit(u0, activation, None)
}

/// A signed learning projection: weights uniform in `±init_scale/√fan_in`, 9 bits with
/// the sign, `dw = α·pre·deriv·m0` once per sample, rows renormalised on overflow.
fn plastic(net: &DfaNetwork, from: &str, to: &str, fan_in: u32) -> Projection {
    let r = net.init_scale / f64::from(fan_in.max(1)).sqrt() * WEIGHT_SCALE;
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
            rule: format!(
                "dw = {}*pre*deriv*m0",
                super::engine_scale(net.rate * WEIGHT_SCALE)
            ),
            params: BTreeMap::new(),
            epoch: PIPELINE_STEPS,
            overflow: Overflow::Renormalise,
            traces: Default::default(),
        }),
        sign: None,
    }
}

/// Class `c`'s error units' injections: `±1` at output `c`'s cell, `±B_cj` at hidden
/// unit `j`'s cell (`+` for `dp{c}`, `−` for `dm{c}`), all on channel 0.
fn feedback_sources(net: &DfaNetwork, c: u32, b: &[f64]) -> Vec<ModulatorSource> {
    let mut out = Vec::new();
    for (name, sign) in [(format!("dp{c}"), 1.0), (format!("dm{c}"), -1.0)] {
        let inject = |gain: f64, k: u32| ModulatorSource {
            population: name.clone(),
            neurons: None,
            channel: 0,
            gain,
            cell: Some(net.cell(k)),
            region: None,
        };
        out.push(inject(sign, net.hidden + c));
        out.extend(
            b.iter()
                .enumerate()
                .map(|(j, &g)| inject(sign * g, j as u32)),
        );
    }
    out
}

/// The program of `net` (see the module docs).
pub fn dfa(net: &DfaNetwork) -> Program {
    let (gw, gh) = (net.grid.0.max(1) as f64, net.grid.1.max(1) as f64);
    let at = |k: u32| {
        let (x, y) = net.cell(k);
        ((f64::from(x) + 0.5) / gw, (f64::from(y) + 0.5) / gh)
    };
    let plastic = |from: &str, to: &str, fan_in: u32| plastic(net, from, to, fan_in);
    let pop = |name: String, size, model, sign, positions| Population {
        name,
        size,
        model,
        sign,
        positions: Some(positions),
    };
    let sigmoid = graded(2.0 * WEIGHT_SCALE * PAYLOAD_MAX, Activation::Sigmoid);
    let mut populations = vec![pop(
        "h".into(),
        net.hidden,
        sigmoid.clone(),
        Sign::Mixed,
        Positions::List((0..net.hidden).map(at).collect()),
    )];
    let mut projections = vec![plastic("x_e", "h", net.inputs + 1)];
    let mut modulators = Vec::new();
    let b = net.feedback();
    for c in 0..net.classes {
        let (out, dp, dm) = (format!("out{c}"), format!("dp{c}"), format!("dm{c}"));
        let here = Positions::List(vec![at(net.hidden + c)]);
        populations.extend([
            pop(
                out.clone(),
                1,
                sigmoid.clone(),
                Sign::Excitatory,
                here.clone(),
            ),
            pop(
                dp.clone(),
                1,
                graded(PAYLOAD_MAX, Activation::MirroredRamp),
                Sign::Mixed,
                here.clone(),
            ),
            pop(
                dm.clone(),
                1,
                graded(PAYLOAD_MAX, Activation::Ramp),
                Sign::Mixed,
                here,
            ),
        ]);
        projections.extend([plastic("h", &out, net.hidden)]);
        projections.extend(error_unit_wiring(c, &out, &dp, &dm));
        modulators.extend(feedback_sources(net, c, &b[c as usize]));
    }
    classifier_program(
        (&net.name, net.seed),
        (net.inputs, net.classes),
        populations,
        projections,
        modulators,
        broadcast_registers(),
    )
}
