//! Program generators for networks too regular to write by hand.
//!
//! [`eprop`] writes the e-prop network of `docs/eprop.md` (see its module docs).
//! [`dual_stream_error_diffusion`] writes the shared dual-stream network with modulo
//! error routing (docs/dual-stream-ed.md; see its module docs).
//!
//! [`error_diffusion`] writes Kaneko's multi-class Error Diffusion network as an
//! ordinary [`Program`] (so it is compiled, checked and reported like any other, and can
//! be saved, read and edited as RON). The layout, for `C` classes and `H` hidden units
//! per class:
//!
//! - graded input ports `x_e`, `x_i` (`inputs + 1` values each: the inputs, then the
//!   bias 0.8) carry the same values into the excitatory and inhibitory stream, and
//!   `target` (`C` values) carries the one-hot target;
//! - per class `c`: hidden groups `h{c}e` and `h{c}i` (`H/2` event-driven sigmoid units
//!   each), the output `out{c}` (one excitatory unit), and two error units, `dp{c}`
//!   (`max(t − o, 0)`, a mirrored ramp) and `dm{c}` (`max(o − t, 0)`, a ramp), both
//!   reading `o` through weight +1 and `t` through weight −1;
//! - every learning projection is sign-fixed — same-type positive, cross-type negative —
//!   and runs `error_diffusion` with channel 0 (`d+`) for excitatory sources and
//!   channel 1 (`d−`) for inhibitory ones, once per sample (`epoch` = steps per sample),
//!   with row renormalisation when a magnitude outgrows 8 bits;
//! - class `c`'s units sit in their own rectangle ("region") of the modulator grid and
//!   its error units inject there: [`Credit::Broadcast`] into every cell of the region,
//!   [`Credit::Diffusion`] into its centre cell only, to spread by the grid's kernel.
//!
//! **Scales.** A weight of `w` (real) is `w · WEIGHT_SCALE` weight units; a graded value
//! `x ∈ [0, 1]` travels as the payload `round(255·x)`, so a unit's input is
//! `255 · WEIGHT_SCALE · Σ w·x` weight units and `u0` scales the same way. The rule's
//! `Δw` is in weight units too, so `alpha` is multiplied by `WEIGHT_SCALE`.
//!
//! **Timing.** A sample takes `steps_per_sample()` steps: the host sends `x` before
//! step 0 and the target before step 2; hidden units update in step 1, outputs in step
//! 2, error units in step 3, when the grid carries `d±` and the learning epoch ends
//! (with [`Credit::Diffusion`], `steps` later).

mod dfa;
mod dual_ed;
mod eprop;
mod sigprop;

pub use dfa::{dfa, DfaNetwork};
pub use dual_ed::{dual_stream_error_diffusion, DualEdNetwork};
pub use eprop::{eprop, EpropNetwork, Feedback, Update, THRESHOLD};
pub use sigprop::{sigprop, steps_per_sample, SigpropNetwork};

use crate::program::{
    Activation, Connect, Input, LearningSpec, MappingHints, Model, ModulatorSource, Overflow,
    Population, Positions, Program, Projection, Source, Weight,
};
use amine_chip::config::{Boundary, Kernel};
use amine_chip::image::{GridRegisters, Sign};
use std::collections::BTreeMap;

/// Weight units per real weight unit: puts the initial magnitudes (< 0.2) near the top
/// of an 8-bit mantissa at exponent 0, so learning starts at full resolution.
pub const WEIGHT_SCALE: f64 = 1024.0;
/// Largest 8-bit payload (a graded value of 1.0).
pub const PAYLOAD_MAX: f64 = 255.0;
/// The bias units' constant output.
pub const BIAS: f64 = 0.8;
/// Steps from sending a sample to its error in the grid (input, hidden, output, error).
pub const PIPELINE_STEPS: u32 = 4;

/// How class `c`'s error reaches its hidden group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Credit {
    /// Into every cell of the class's region, read in the same step (the grid keeps no
    /// memory: decay 1, no kernel).
    Broadcast,
    /// Into the region's centre only; the grid then spreads it for `steps` steps with
    /// the kernel and decay given, so the signal falls with distance and reaches
    /// neighbouring regions too. The injection gain is set so that the centre cell
    /// reads about `d` when the epoch ends ([`Credit::diffusion_gain`]); the decay
    /// should empty the grid before the next sample (0.5 over 10 steps leaves 0.1 %).
    Diffusion {
        edge: f64,
        corner: f64,
        decay: f64,
        steps: u32,
    },
}

impl Credit {
    /// The default spatial study: a uniform 3×3 blur (every neighbour 1/9), decay 0.5,
    /// 6 spreading steps (the signal's spread σ ≈ 2 cells, within an 8 × 10 region).
    pub fn diffusion() -> Credit {
        Credit::Diffusion {
            edge: 1.0 / 9.0,
            corner: 1.0 / 9.0,
            decay: 0.5,
            steps: 6,
        }
    }

    /// Injection gain of the error units. Broadcast: 1. Diffusion: after `s` steps the
    /// injected mass is `(1 − decay)^s`, spread like a Gaussian of per-axis variance
    /// `σ² = s·(2·edge + 4·corner)`, whose peak is `mass / (2πσ²)`; the gain is its
    /// inverse, so the centre reads about what broadcast would put everywhere.
    pub fn diffusion_gain(&self) -> f64 {
        match *self {
            Credit::Broadcast => 1.0,
            Credit::Diffusion {
                edge,
                corner,
                decay,
                steps,
            } => {
                let var = f64::from(steps.max(1)) * (2.0 * edge + 4.0 * corner);
                let mass = (1.0 - decay).powi(steps as i32);
                if var > 0.0 && mass > 0.0 {
                    2.0 * std::f64::consts::PI * var / mass
                } else {
                    1.0
                }
            }
        }
    }
}

/// An Error Diffusion network for a classification task.
#[derive(Debug, Clone, PartialEq)]
pub struct EdNetwork {
    pub name: String,
    /// Values per sample (64 for the 8×8 digits).
    pub inputs: u32,
    pub classes: u32,
    /// Hidden units per class, half excitatory, half inhibitory (even).
    pub hidden_per_class: u32,
    /// Learning rate α of the rule (real units).
    pub alpha: f64,
    /// Sigmoid width u0 in `1/(1+exp(−2u/u0))` (real units).
    pub u0: f64,
    /// Initial magnitudes are uniform in `[0, init_max)`.
    pub init_max: f64,
    pub seed: u64,
    pub credit: Credit,
    /// Cells of the target chip's modulator grid (width, height).
    pub grid: (u32, u32),
    /// For study: one hidden layer of `classes × hidden_per_class` units wired to every
    /// output and hearing the *mean* of all classes' errors (the grid sums the classes'
    /// injections, each with gain 1/C, over the one hidden region; each output still
    /// hears its own error at its own cell). With this rule it tops out well below the
    /// per-class network (magnitudes only grow). Broadcast credit only.
    pub shared_hidden: bool,
}

impl Default for EdNetwork {
    /// The digits network: 64 inputs, 10 classes, 64 hidden per class, α = 2^-5,
    /// u0 = 0.2, U[0, 0.2) (docs/tasks.md has the float study behind each number),
    /// broadcast credit on the Loihi preset's 32×32 grid.
    fn default() -> EdNetwork {
        EdNetwork {
            name: "ed_digits".into(),
            inputs: 64,
            classes: 10,
            hidden_per_class: 64,
            alpha: 1.0 / 32.0,
            u0: 0.2,
            init_max: 0.2,
            seed: 1,
            credit: Credit::Broadcast,
            grid: (32, 32),
            shared_hidden: false,
        }
    }
}

impl EdNetwork {
    /// Steps one training sample takes (the learning epoch).
    pub fn steps_per_sample(&self) -> u32 {
        match self.credit {
            Credit::Diffusion { steps, .. } if !self.shared_hidden => PIPELINE_STEPS + steps,
            _ => PIPELINE_STEPS,
        }
    }

    /// Class `c`'s rectangle of grid cells: `(x, y, width, height)`. The grid is cut
    /// into `ceil(√C)` columns and as many rows as needed. With a shared hidden layer
    /// every class has the same region: the grid less its last row, which holds the
    /// outputs (output `c` at cell `(c mod width, height − 1)`).
    pub fn region(&self, c: u32) -> (u32, u32, u32, u32) {
        if self.shared_hidden {
            return (
                0,
                0,
                self.grid.0.max(1),
                self.grid.1.saturating_sub(1).max(1),
            );
        }
        let cols = (1..).find(|k| k * k >= self.classes.max(1)).unwrap_or(1);
        let rows = self.classes.max(1).div_ceil(cols);
        let (w, h) = ((self.grid.0 / cols).max(1), (self.grid.1 / rows).max(1));
        ((c % cols) * w, (c / cols) * h, w, h)
    }

    /// Where hidden unit `k` of class `c` sits, as a position at its cell's centre
    /// (cell `k` of the area, row-major, wrapping): spread over the class's whole region
    /// for broadcast credit; for diffusion, packed (up to 4 per cell) into the smallest
    /// square around the region's centre, so they hear their own class's error strongly
    /// and the neighbours' (8 or more cells away) hardly at all.
    fn hidden_position(&self, c: u32, k: u32) -> (f64, f64) {
        let (gw, gh) = (self.grid.0.max(1) as f64, self.grid.1.max(1) as f64);
        let (x, y, w, h) = self.region(c);
        let (x, y, w, h) = match self.credit {
            Credit::Broadcast => (x, y, w, h),
            Credit::Diffusion { .. } => {
                let side = (1..)
                    .find(|s| 4 * s * s >= self.hidden_per_class)
                    .unwrap_or(1)
                    .min(w)
                    .min(h);
                (x + (w - side) / 2, y + (h - side) / 2, side, side)
            }
        };
        let k = k % (w * h).max(1);
        (
            (f64::from(x + k % w) + 0.5) / gw,
            (f64::from(y + k / w) + 0.5) / gh,
        )
    }

    /// A plastic projection `from` → `to` of the `error_diffusion` rule, its magnitudes
    /// fixed to `sign`; `channel`: 0 (d+) for an excitatory source, 1 (d−) for an
    /// inhibitory one.
    fn plastic(&self, from: &str, to: &str, sign: Sign, channel: u32) -> Projection {
        let learn = LearningSpec {
            rule: "error_diffusion".into(),
            params: BTreeMap::from([
                ("alpha".to_string(), self.alpha * WEIGHT_SCALE),
                ("channel".to_string(), f64::from(channel)),
            ]),
            epoch: self.steps_per_sample(),
            overflow: Overflow::Renormalise,
            traces: Default::default(),
        };
        sign_fixed(from, to, sign, self.init_max * WEIGHT_SCALE, learn)
    }

    /// The cell of class `c`'s output and error units: its region's centre, or with a
    /// shared hidden layer cell `c` (wrapping) of the grid's last row.
    fn centre_cell(&self, c: u32) -> (u32, u32) {
        if self.shared_hidden {
            return (c % self.grid.0.max(1), self.grid.1.saturating_sub(1));
        }
        let (x, y, w, h) = self.region(c);
        (x + w / 2, y + h / 2)
    }
}

/// The program of `net` (see the module docs for its layout).
pub fn error_diffusion(net: &EdNetwork) -> Program {
    // A shared hidden layer always hears broadcast credit (see `shared_hidden`).
    let net = &EdNetwork {
        credit: if net.shared_hidden {
            Credit::Broadcast
        } else {
            net.credit
        },
        ..net.clone()
    };
    let graded = |u0: f64, activation: Activation| graded_unit(u0, activation, None);
    let unit_u0 = net.u0 * WEIGHT_SCALE * PAYLOAD_MAX;
    let half = net.hidden_per_class / 2;
    let (gw, gh) = (net.grid.0.max(1) as f64, net.grid.1.max(1) as f64);
    let shared = net.shared_hidden;
    let classes_per_layer = if shared { net.classes } else { 1 };
    let mut populations = Vec::new();
    let mut projections = Vec::new();
    let mut modulators = Vec::new();
    let plastic =
        |from: &str, to: &str, sign: Sign, channel: u32| net.plastic(from, to, sign, channel);
    for c in 0..net.classes {
        // A shared layer is `h0e`/`h0i`, made once.
        let hc = if shared { 0 } else { c };
        let (he, hi, out) = (format!("h{hc}e"), format!("h{hc}i"), format!("out{c}"));
        let (dp, dm) = (format!("dp{c}"), format!("dm{c}"));
        let layer = half * classes_per_layer;
        let hidden_at = |parity: u32| {
            Positions::List(
                (0..layer)
                    .map(|j| net.hidden_position(c, 2 * j + parity))
                    .collect(),
            )
        };
        let pop = |name: &str, size, model, sign, positions| Population {
            name: name.to_string(),
            size,
            model,
            sign,
            positions,
        };
        let (cx, cy) = net.centre_cell(c);
        let centre_pos = Positions::List(vec![(
            (f64::from(cx) + 0.5) / gw,
            (f64::from(cy) + 0.5) / gh,
        )]);
        let sigmoid = graded(unit_u0, Activation::Sigmoid);
        if !shared || c == 0 {
            let hidden = |name: &str, sign, parity| {
                pop(name, layer, sigmoid.clone(), sign, Some(hidden_at(parity)))
            };
            populations.extend([
                hidden(&he, Sign::Excitatory, 0),
                hidden(&hi, Sign::Inhibitory, 1),
            ]);
            projections.extend([
                plastic("x_e", &he, Sign::Excitatory, 0),
                plastic("x_i", &he, Sign::Inhibitory, 1),
                plastic("x_e", &hi, Sign::Inhibitory, 0),
                plastic("x_i", &hi, Sign::Excitatory, 1),
            ]);
        }
        populations.extend(output_and_error_units(
            [&out, &dp, &dm],
            sigmoid,
            centre_pos,
        ));
        projections.extend([
            plastic(&he, &out, Sign::Excitatory, 0),
            plastic(&hi, &out, Sign::Inhibitory, 1),
        ]);
        projections.extend(error_unit_wiring(c, &out, &dp, &dm));
        modulators.extend(class_modulators(net, c, [&dp, &dm]));
    }
    let registers = match net.credit {
        Credit::Broadcast => broadcast_registers(),
        Credit::Diffusion {
            edge,
            corner,
            decay,
            ..
        } => GridRegisters {
            kernel: Kernel { edge, corner },
            decay,
            boundary: Boundary::Absorbing,
            size: None,
        },
    };
    classifier_program(
        (&net.name, net.seed),
        (net.inputs, net.classes),
        populations,
        projections,
        modulators,
        registers,
    )
}

/// Class `c`'s output unit `out` (the model `output`) and its error units `dp`, `dm`,
/// one each, all at `at`. The error units' input is `o − t` in payload steps (weights
/// ±1), so their u0 is 255.
fn output_and_error_units(
    [out, dp, dm]: [&String; 3],
    output: Model,
    at: Positions,
) -> [Population; 3] {
    let pop = |name: &String, model, sign| Population {
        name: name.clone(),
        size: 1,
        model,
        sign,
        positions: Some(at.clone()),
    };
    [
        pop(out, output, Sign::Excitatory),
        pop(
            dp,
            graded_unit(PAYLOAD_MAX, Activation::MirroredRamp, None),
            Sign::Mixed,
        ),
        pop(
            dm,
            graded_unit(PAYLOAD_MAX, Activation::Ramp, None),
            Sign::Mixed,
        ),
    ]
}

/// Where class `c`'s error units `[dp, dm]` send their error into the grid (channels 0
/// and 1): the hidden units hear the region's sum (with gain 1/C, the mean over a
/// shared layer's classes) and, with a shared hidden layer, the output its own error at
/// its own cell.
fn class_modulators(net: &EdNetwork, c: u32, errors: [&String; 2]) -> Vec<ModulatorSource> {
    let classes_per_layer = if net.shared_hidden { net.classes } else { 1 };
    let (x, y, w, h) = net.region(c);
    let (cell, region) = match net.credit {
        Credit::Broadcast => ((x, y), Some((w, h))),
        Credit::Diffusion { .. } => (net.centre_cell(c), None),
    };
    let mut modulators = Vec::new();
    for (name, channel) in errors.into_iter().zip([0, 1]) {
        if net.shared_hidden {
            // The output hears its own error at its own cell ...
            modulators.push(ModulatorSource {
                population: name.clone(),
                neurons: None,
                channel,
                gain: 1.0,
                cell: Some(net.centre_cell(c)),
                region: None,
            });
        }
        // ... and the hidden units the region's sum: with gain 1/C, the mean.
        modulators.push(ModulatorSource {
            population: name.clone(),
            neurons: None,
            channel,
            gain: net.credit.diffusion_gain() / f64::from(classes_per_layer),
            cell: Some(cell),
            region,
        });
    }
    modulators
}

/// An all-to-all plastic projection of 8-bit magnitudes fixed to `sign`, starting
/// uniform in `[0, magnitude)` (weight units).
fn sign_fixed(
    from: &str,
    to: &str,
    sign: Sign,
    magnitude: f64,
    learning: LearningSpec,
) -> Projection {
    Projection {
        name: None,
        from: from.into(),
        to: to.into(),
        connect: Connect::All,
        weight: Some(match sign {
            Sign::Inhibitory => Weight::Uniform {
                low: -magnitude,
                high: 0.0,
            },
            _ => Weight::Uniform {
                low: 0.0,
                high: magnitude,
            },
        }),
        delay: 0,
        weight_bits: Some(8),
        seed: None,
        learning: Some(learning),
        sign: Some(sign),
    }
}

/// Round `x > 0` to the learning engine's scale format, `m·2^k` with `m` ≤ 255
/// ([`amine_chip::learning::nearest_scale`]): every template writes its rules' scales
/// through this, so any rate it is given compiles.
fn engine_scale(x: f64) -> f64 {
    amine_chip::learning::nearest_scale(x)
        .map_or(x, |(m, k)| f64::from(m) * 2f64.powi(i32::from(k)))
}

/// An event-driven graded unit with 8-bit payloads (every template's units), with an
/// error unit's centring register where `centring` is set.
fn graded_unit(u0: f64, activation: Activation, centring: Option<f64>) -> Model {
    Model::Graded {
        u0,
        span: 5.0,
        payload_bits: 8,
        bias: 0.0,
        tau_syn: None,
        activation,
        event_driven: true,
        centring,
    }
}

/// The program of a classifier template: graded ports `x_e`, `x_i` (`inputs + 1`
/// values: the sample, then the bias unit) and `target` (one value per class), the
/// template's populations, projections and grid injections, and its grid registers.
fn classifier_program(
    (name, seed): (&str, u64),
    (inputs, classes): (u32, u32),
    populations: Vec<Population>,
    projections: Vec<Projection>,
    modulators: Vec<ModulatorSource>,
    registers: GridRegisters,
) -> Program {
    let port = |name: &str, size, sign| Input {
        name: name.into(),
        size,
        source: Source::Graded { payload_bits: 8 },
        sign,
        entry_tile: None,
    };
    Program {
        name: name.into(),
        seed,
        dt_ms: 1.0,
        populations,
        inputs: vec![
            port("x_e", inputs + 1, Sign::Mixed),
            port("x_i", inputs + 1, Sign::Mixed),
            port("target", classes, Sign::Inhibitory),
        ],
        projections,
        probes: Vec::new(),
        modulators,
        mapping: MappingHints::default(),
        grid: Some(registers),
        eprop: None,
        sigprop: None,
    }
}

/// Grid registers that carry an injection to exactly the cells it names, in the step
/// it is made: no kernel, decay 1.
fn broadcast_registers() -> GridRegisters {
    GridRegisters {
        kernel: Kernel {
            edge: 0.0,
            corner: 0.0,
        },
        decay: 1.0,
        boundary: Boundary::Absorbing,
        size: None,
    }
}

/// Class `c`'s error units `dp`, `dm` hear its output `out` through weight +1 and
/// component `c` of the target port through weight −1.
fn error_unit_wiring(c: u32, out: &str, dp: &str, dm: &str) -> [Projection; 4] {
    [
        fixed(out, dp, Connect::All, Some(1.0)),
        fixed(out, dm, Connect::All, Some(1.0)),
        fixed("target", dp, Connect::Sparse(vec![(c, 0, -1.0)]), None),
        fixed("target", dm, Connect::Sparse(vec![(c, 0, -1.0)]), None),
    ]
}

/// A fixed projection (the error units' wiring).
fn fixed(from: &str, to: &str, connect: Connect, w: Option<f64>) -> Projection {
    Projection {
        name: None,
        from: from.into(),
        to: to.into(),
        connect,
        weight: w.map(Weight::Const),
        delay: 0,
        weight_bits: None,
        seed: None,
        learning: None,
        sign: None,
    }
}
