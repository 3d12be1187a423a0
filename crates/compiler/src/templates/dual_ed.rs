//! The shared dual-stream Error Diffusion network with modulo error routing
//! (`amine template ed --routing modulo`; the float reference is
//! `amine_tasks::dual_ed`, docs/dual-stream-ed.md).
//!
//! For `C` classes and hidden layers of `N_1, …, N_L` units:
//!
//! - graded input ports `x_e`, `x_i` (`inputs + 1` values: the sample, then the bias
//!   [`super::BIAS`]) carry the same values into both streams, `target` (`C` values) the
//!   one-hot target, as in the per-class network;
//! - hidden layer `l` (1-based) is two populations of `N_l` event-driven sigmoid units,
//!   `l{l}e` (the excitatory stream `p_l`) and `l{l}i` (the inhibitory stream `n_l`),
//!   with the layer's own sigmoid width `α_l` (`u0 = α_l` in real units: the chip's
//!   table is `1/(1+exp(−2u/u0))`, the paper's `φ_l`);
//! - four **sign-fixed** learning projections per layer: same stream positive
//!   (`E→E`, `I→I`), cross stream negative (`I→E`, `E→I`); the I stream excites the
//!   next I stream, so hidden populations are of `Mixed` sign and every projection
//!   carries its own (the compiler refuses a weight of the wrong sign, and the learning
//!   engine clamps magnitudes at zero, so no weight ever changes sign);
//! - the output is one excitatory unit `out{c}` per class reading the last layer's two
//!   streams (its I stream is omitted: nothing reads it), then the error units `dp{c}`
//!   (`max(t − o, 0)`, a ramp of `t − o`) and `dm{c}` (`max(o − t, 0)`, a ramp of
//!   `o − t`), optionally each with a **centring register** (a running mean of its
//!   input subtracted before the ramp; `target` is a `Mixed` port, +1 into `dp`);
//! - **modulo routing by placement**: unit `i` of every hidden layer belongs to class
//!   `i mod C` and sits in class `(i mod C)`'s rectangle of the modulator grid (the
//!   regions of the per-class network), where `dp{c}`/`dm{c}` inject on channels 0/1
//!   into every cell; so a unit reads its class's error `m0 − m1` where it sits;
//! - the rule (signed, per synapse): onto an E unit `Δw = +K·pre·deriv·(m0 − m1)`, onto
//!   an I unit `Δw = −K·pre·deriv·(m0 − m1)`, `K = η·(2/α_l)/fan_in_l` (the `2/α_l` of
//!   `φ'_l`; the chip's `deriv` is `o(1 − o)`) in weight units, rounded to the engine's
//!   8-bit scale mantissa.
//!
//! **Receptive fields** (optional, [`DualEdNetwork::receptive_fields`]): the first
//! layer's unit `j` is wired to a given subset of the port's values (the patch wiring
//! of `amine_tasks::dual_ed::patch`, `--hidden 360p3`), with explicit seeded initial
//! magnitudes; `fan_in_1` is then the subset's size.
//!
//! Biases: the first layer's come from the ports' bias value; deeper layers and the
//! output have none (a host-driven bias into a later layer would reach it in the wrong
//! step). One sample takes `L + 3` steps: input, `L` hidden layers, output, error.

use super::{
    broadcast_registers, classifier_program, engine_scale, fixed, graded_unit, sign_fixed,
    EdNetwork, PAYLOAD_MAX, WEIGHT_SCALE,
};
use crate::program::{
    Activation, Connect, LearningSpec, Model, ModulatorSource, Overflow, Population, Positions,
    Program, Projection, Weight,
};
use amine_chip::image::Sign;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A shared dual-stream network with modulo routing.
#[derive(Debug, Clone, PartialEq)]
pub struct DualEdNetwork {
    pub name: String,
    /// Values per sample (64 for the 8×8 digits).
    pub inputs: u32,
    pub classes: u32,
    /// Units per hidden layer (each layer an E and an I population of that size).
    pub hidden: Vec<u32>,
    /// The sources of each first-layer unit among the port's `inputs + 1` values (the
    /// bias last), all of the same size; `None`: every source.
    pub receptive_fields: Option<Vec<Vec<u32>>>,
    /// Sigmoid width `α_l` of each hidden layer, then of the output.
    pub widths: Vec<f64>,
    /// Learning rate `η` (per sample; `ρ_l = η/fan_in_l`).
    pub eta: f64,
    /// Rate of the error units' running-mean centring (a power of two); `None`: off.
    pub centring: Option<f64>,
    /// Hidden layers start same-stream magnitudes ×1.5 and cross-stream ×0.5 (3:1);
    /// off, ×1 everywhere.
    pub asymmetric_init: bool,
    pub seed: u64,
    /// Cells of the target chip's modulator grid (width, height).
    pub grid: (u32, u32),
}

impl Default for DualEdNetwork {
    /// The digits network measured in docs/dual-stream-ed.md: one hidden layer of 200
    /// units, α = 3 then 6 at the output, η = 100, centring at 2^-7, 3:1 start, on the
    /// Loihi preset's 32×32 grid.
    fn default() -> DualEdNetwork {
        DualEdNetwork {
            name: "dual_ed_digits".into(),
            inputs: 64,
            classes: 10,
            hidden: vec![200],
            receptive_fields: None,
            widths: vec![3.0, 6.0],
            eta: 100.0,
            centring: Some(1.0 / 128.0),
            asymmetric_init: true,
            seed: 1,
            grid: (32, 32),
        }
    }
}

impl DualEdNetwork {
    /// The default widths for `layers` hidden layers: 3 for the first, 6 for the
    /// others and the output.
    pub fn default_widths(layers: usize) -> Vec<f64> {
        let mut w = vec![6.0; layers + 1];
        w[0] = 3.0;
        w
    }

    /// Steps one training sample takes: input, each hidden layer, output, error.
    pub fn steps_per_sample(&self) -> u32 {
        self.hidden.len() as u32 + 3
    }

    /// Every problem with the options, naming each.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let cells = u64::from(self.grid.0) * u64::from(self.grid.1);
        if self.classes < 2 {
            p.push(format!("--classes {}: at least 2", self.classes));
        }
        if u64::from(self.classes) > cells {
            p.push(format!(
                "{} classes but the chip's modulator grid has {} cells ({}×{}): modulo routing needs one region per class",
                self.classes, cells, self.grid.0, self.grid.1
            ));
        }
        if self.inputs == 0 {
            p.push("--inputs: at least 1".into());
        }
        if self.hidden.is_empty() {
            p.push("--hidden: at least one hidden layer".into());
        }
        for (l, &n) in self.hidden.iter().enumerate() {
            if n < self.classes {
                p.push(format!(
                    "--hidden: layer {} has {n} units, fewer than the {} classes the modulo rule assigns",
                    l + 1,
                    self.classes
                ));
            }
        }
        if let Some(fields) = &self.receptive_fields {
            let units = self.hidden.first().copied().unwrap_or(0) as usize;
            let size = fields.first().map_or(0, Vec::len);
            if fields.len() != units {
                p.push(format!(
                    "receptive fields: {} given for the first layer's {units} units",
                    fields.len()
                ));
            }
            if size == 0 || fields.iter().any(|f| f.len() != size) {
                p.push(
                    "receptive fields: every unit needs the same, non-zero number of sources"
                        .into(),
                );
            }
            if let Some(bad) = fields.iter().flatten().find(|&&i| i > self.inputs) {
                p.push(format!(
                    "receptive fields: source {bad} is beyond the {} inputs and the bias",
                    self.inputs
                ));
            }
        }
        if self.widths.len() != self.hidden.len() + 1 {
            p.push(format!(
                "--widths: {} given; {} needed (each hidden layer, then the output)",
                self.widths.len(),
                self.hidden.len() + 1
            ));
        }
        if let Some(w) = self.widths.iter().find(|w| !(**w > 0.0 && w.is_finite())) {
            p.push(format!("--widths: {w} is not a positive number"));
        }
        if !(self.eta > 0.0 && self.eta.is_finite()) {
            p.push(format!("--lr {}: must be positive", self.eta));
        }
        if let Some(r) = self.centring {
            if !(r > 0.0 && r <= 1.0 && r.log2().fract() == 0.0) {
                p.push(format!(
                    "--centring {r}: the error units' register moves at a power of two, 2^-k (e.g. 0.0078125)"
                ));
            }
        }
        p
    }

    /// Class `c`'s rectangle of grid cells (the per-class network's regions).
    pub fn region(&self, c: u32) -> (u32, u32, u32, u32) {
        EdNetwork {
            classes: self.classes,
            grid: self.grid,
            ..EdNetwork::default()
        }
        .region(c)
    }

    /// Where unit `i` of a hidden layer sits: class `i mod C`'s region, filled row-major
    /// by the unit's rank among its class's units (wrapping when the layer outnumbers
    /// the cells), at the cell's centre.
    fn hidden_position(&self, i: u32) -> (f64, f64) {
        let c = i % self.classes;
        let k = i / self.classes;
        let (x, y, w, h) = self.region(c);
        let k = k % (w * h).max(1);
        self.cell_centre(x + k % w, y + k / w)
    }

    fn cell_centre(&self, x: u32, y: u32) -> (f64, f64) {
        (
            (f64::from(x) + 0.5) / f64::from(self.grid.0.max(1)),
            (f64::from(y) + 0.5) / f64::from(self.grid.1.max(1)),
        )
    }
}

/// The program of `net` (see the module docs), or every problem with its options.
pub fn dual_stream_error_diffusion(net: &DualEdNetwork) -> Result<Program, Vec<String>> {
    let problems = net.problems();
    if !problems.is_empty() {
        return Err(problems);
    }
    let pop = mixed_population;
    let plastic =
        |from: &str, to: &str, sign: Sign, onto_e: bool, alpha: f64, fan_in: u32, gain: f64| {
            net.plastic([from, to], sign, onto_e, alpha, fan_in, gain)
        };
    let (same, cross) = if net.asymmetric_init {
        (1.5, 0.5)
    } else {
        (1.0, 1.0)
    };
    let mut populations = Vec::new();
    let mut projections = Vec::new();
    let (mut src_e, mut src_i, mut fan_in) = ("x_e".to_string(), "x_i".to_string(), net.inputs + 1);
    for (l, &n) in net.hidden.iter().enumerate() {
        let alpha = net.widths[l];
        let (e, i) = (format!("l{}e", l + 1), format!("l{}i", l + 1));
        let at: Vec<(f64, f64)> = (0..n).map(|j| net.hidden_position(j)).collect();
        populations.push(pop(e.clone(), n, sigmoid(alpha), at.clone()));
        populations.push(pop(i.clone(), n, sigmoid(alpha), at));
        let fields = net.receptive_fields.as_ref().filter(|_| l == 0);
        if let Some(f) = fields {
            fan_in = f[0].len() as u32;
        }
        let layer = [
            plastic(&src_e, &e, Sign::Excitatory, true, alpha, fan_in, same),
            plastic(&src_i, &e, Sign::Inhibitory, true, alpha, fan_in, cross),
            plastic(&src_i, &i, Sign::Excitatory, false, alpha, fan_in, same),
            plastic(&src_e, &i, Sign::Inhibitory, false, alpha, fan_in, cross),
        ];
        projections.extend(layer.into_iter().enumerate().map(|(k, p)| match fields {
            Some(f) => wire_fields(p, f, net.seed.wrapping_add(k as u64)),
            None => p,
        }));
        (src_e, src_i, fan_in) = (e, i, n);
    }
    let alpha_out = net.widths[net.hidden.len()];
    let mut modulators = Vec::new();
    for c in 0..net.classes {
        let (x, y, w, h) = net.region(c);
        let centre = vec![net.cell_centre(x + w / 2, y + h / 2)];
        let (out, dp, dm) = (format!("out{c}"), format!("dp{c}"), format!("dm{c}"));
        populations.push(pop(out.clone(), 1, sigmoid(alpha_out), centre.clone()));
        populations.extend(net.error_units([dp.clone(), dm.clone()], centre));
        projections.extend([
            plastic(&src_e, &out, Sign::Excitatory, true, alpha_out, fan_in, 1.0),
            plastic(&src_i, &out, Sign::Inhibitory, true, alpha_out, fan_in, 1.0),
        ]);
        projections.extend(centred_error_wiring(c, &out, &dp, &dm));
        for (name, channel) in [(dp, 0), (dm, 1)] {
            modulators.push(ModulatorSource {
                population: name,
                neurons: None,
                channel,
                gain: 1.0,
                cell: Some((x, y)),
                region: Some((w, h)),
            });
        }
    }
    let mut program = classifier_program(
        (&net.name, net.seed),
        (net.inputs, net.classes),
        populations,
        projections,
        modulators,
        broadcast_registers(),
    );
    // `dp` hears the target with weight +1, `dm` with −1.
    if let Some(target) = program.inputs.iter_mut().find(|i| i.name == "target") {
        target.sign = Sign::Mixed;
    }
    Ok(program)
}

/// The graded sigmoid unit of width `alpha`.
fn sigmoid(alpha: f64) -> Model {
    graded_unit(
        alpha * WEIGHT_SCALE * PAYLOAD_MAX,
        Activation::Sigmoid,
        None,
    )
}

/// A population of mixed sign at these positions.
fn mixed_population(
    name: String,
    size: u32,
    model: Model,
    positions: Vec<(f64, f64)>,
) -> Population {
    Population {
        name,
        size,
        model,
        sign: Sign::Mixed,
        positions: Some(Positions::List(positions)),
    }
}

impl DualEdNetwork {
    /// A plastic projection `[from, to]` onto a layer of width `alpha` and fan-in
    /// `fan_in`: `sign` is the synapses' (same stream +, cross stream −), `onto_e`
    /// whether the targets are E units, `gain` the start's magnitude factor.
    fn plastic(
        &self,
        [from, to]: [&str; 2],
        sign: Sign,
        onto_e: bool,
        alpha: f64,
        fan_in: u32,
        gain: f64,
    ) -> Projection {
        let k = engine_scale(self.eta * (2.0 / alpha) / f64::from(fan_in) * WEIGHT_SCALE);
        let (plus, minus) = if onto_e { (0, 1) } else { (1, 0) };
        let magnitude = gain / f64::from(fan_in).sqrt() * WEIGHT_SCALE;
        let rule = format!("dw = {k}*pre*deriv*m{plus} - {k}*pre*deriv*m{minus}");
        let learning = LearningSpec {
            rule,
            params: Default::default(),
            epoch: self.steps_per_sample(),
            overflow: Overflow::Renormalise,
            traces: Default::default(),
        };
        sign_fixed(from, to, sign, magnitude, learning)
    }

    /// A class's error units `[dp, dm]` at `centre`: input in payload steps (weights
    /// ±1), so u0 = 255. Both are increasing ramps — `dp` of `t − o`, `dm` of `o − t` —
    /// so both round a centred (fractional) input to the nearest step; a mirrored ramp of
    /// `o − t` would read its decreasing table's larger end and round `t − o` up
    /// (`amine_tasks::dual_ed::error_unit`, docs/dual-stream-ed-rounds-6-9.md sixth
    /// round).
    fn error_units(&self, [dp, dm]: [String; 2], centre: Vec<(f64, f64)>) -> [Population; 2] {
        let unit = || graded_unit(PAYLOAD_MAX, Activation::Ramp, self.centring);
        [
            mixed_population(dp, 1, unit(), centre.clone()),
            mixed_population(dm, 1, unit(), centre),
        ]
    }
}

/// Class `c`'s error units: `dp` hears `t − o` (the output through −1, target component
/// `c` through +1), `dm` hears `o − t`; each input's two sources side by side.
fn centred_error_wiring(c: u32, out: &str, dp: &str, dm: &str) -> [Projection; 4] {
    [
        fixed(out, dp, Connect::All, Some(-1.0)),
        fixed("target", dp, Connect::Sparse(vec![(c, 0, 1.0)]), None),
        fixed(out, dm, Connect::All, Some(1.0)),
        fixed("target", dm, Connect::Sparse(vec![(c, 0, -1.0)]), None),
    ]
}

/// `p` (all-to-all, initial magnitudes `Uniform` up to a bound) wired instead to the
/// sources `fields[j]` of each unit `j`, with magnitudes drawn uniformly below the same
/// bound from a generator seeded by `seed` (an explicit list carries its own weights).
pub(super) fn wire_fields(mut p: Projection, fields: &[Vec<u32>], seed: u64) -> Projection {
    let (low, high) = match p.weight.take() {
        Some(Weight::Uniform { low, high }) => (low, high),
        _ => (0.0, 0.0),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005E_EDF1_E1D5);
    let list = fields
        .iter()
        .enumerate()
        .flat_map(|(j, f)| f.iter().map(move |&i| (i, j as u32)))
        .map(|(i, j)| (i, j, low + (high - low) * rng.random::<f64>()))
        .collect();
    p.connect = Connect::Sparse(list);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_unit_i_sits_in_class_i_mod_c_region() {
        let net = DualEdNetwork {
            hidden: vec![25, 12],
            widths: vec![3.0, 6.0, 6.0],
            ..DualEdNetwork::default()
        };
        let program = dual_stream_error_diffusion(&net).unwrap();
        // The Loihi grid cut into 4 columns × 3 rows of 8 × 10 cells: class c's region
        // starts at ((c mod 4)·8, (c div 4)·10). Hand table for i = 0..25 (i mod 10).
        let table = [
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4,
        ];
        for layer in ["l1e", "l1i"] {
            let p = program
                .populations
                .iter()
                .find(|p| p.name == layer)
                .unwrap();
            let Some(Positions::List(at)) = &p.positions else {
                panic!("{layer} has no position list");
            };
            assert_eq!(at.len(), 25);
            for (i, &(x, y)) in at.iter().enumerate() {
                let (cx, cy) = ((x * 32.0) as u32, (y * 32.0) as u32);
                let c = table[i];
                let (x0, y0) = ((c % 4) * 8, (c / 4) * 10);
                assert!(
                    (x0..x0 + 8).contains(&cx) && (y0..y0 + 10).contains(&cy),
                    "{layer} unit {i} at cell ({cx}, {cy}), not in class {c}'s region"
                );
            }
        }
        // Two hidden layers: the sample takes 5 steps, every rule's epoch.
        assert_eq!(net.steps_per_sample(), 5);
        assert!(program
            .projections
            .iter()
            .filter_map(|p| p.learning.as_ref())
            .all(|l| l.epoch == 5));
        // Four sign-fixed projections per hidden layer, two per output.
        let plastic = program.projections.iter().filter(|p| p.learning.is_some());
        assert_eq!(plastic.count(), 4 * 2 + 2 * 10);
    }

    #[test]
    fn the_rule_scale_is_the_engines_8_bit_mantissa() {
        for x in [1050.3, 0.77, 255.0, 255.6, 1.0e-3] {
            let k = engine_scale(x);
            let e = k.log2().floor() as i32 - 7;
            let m = k / 2f64.powi(e);
            assert!(m.fract() == 0.0 && m <= 255.0, "{x} → {k} = {m}·2^{e}");
            assert!((k - x).abs() / x < 1.0 / 128.0, "{x} → {k}");
        }
        assert_eq!(engine_scale(1050.3), 1048.0);
    }
}
