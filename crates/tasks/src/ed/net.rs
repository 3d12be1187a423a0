//! The dual-stream Error Diffusion network itself: layout, forward pass and the update.
//!
//! Layout (fixed, and relied on by [`super::EdWeights`]): every layer's sources come in
//! excitatory/inhibitory order, so a column is excitatory when its index is even.
//!
//! - Hidden-layer sources: `[bias+, bias−, x0+, x0−, x1+, x1−, …]`: the two bias units
//!   (constant 0.8) *are* the E and I copies of one bias input, and every input feeds an
//!   E and an I copy carrying the same value.
//! - Hidden units alternate E, I, E, I, … (row `k` is excitatory when `k` is even).
//! - Output-layer sources: `[bias+, bias−, h0(E), h1(I), h2(E), …]`.
//! - Output units are excitatory only: nothing downstream reads an output but its error
//!   unit, so an inhibitory copy would be dead weight (Kaneko's code does the same).
//!
//! Magnitudes are stored, signs are implied: `w_km = t_k·t_m·|w_km|` with `t = +1` for E
//! and `−1` for I. Since `sign(w_km)·sign(w_km) = 1`, the rule
//! `Δw_km = α·in_m·o_k(1−o_k)·(d+ if m is E else d−)·sign(w_km)` is exactly
//! `Δ|w_km| = α·in_m·o_k(1−o_k)·(d+ if m is E else d−) ≥ 0`: magnitudes only grow, no
//! weight ever changes sign, and a weight at zero still learns (its sign is its types').

use super::quant::{
    derivative, quantize_unit, sigmoid, Dither, Overflow, Quantization, SigmoidTable,
};
use super::{EdConfig, Layer, Topology};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The constant output of the two bias units.
pub const BIAS: f64 = 0.8;

/// One weight matrix: `rows` receiving units × `cols` sources, magnitudes row-major.
#[derive(Debug, Clone)]
pub(crate) struct Mat {
    pub rows: usize,
    pub cols: usize,
    /// `|w|`; when weights are quantized, always `mantissa · 2^exp` exactly.
    pub mag: Vec<f64>,
    /// Row `k` is excitatory (output layers: all rows).
    pub row_exc: Vec<bool>,
    /// The shared exponent when weights are quantized.
    pub exp: Option<i32>,
    /// Every (E, I) column pair carries one value (hidden layers: input copies); else
    /// only the bias pair does (output layers: hidden columns are distinct units).
    pub copies: bool,
}

impl Mat {
    fn row(&self, k: usize) -> &[f64] {
        &self.mag[k * self.cols..(k + 1) * self.cols]
    }

    /// `u_k = t_k · Σ_m t_m |w_km| x_m`, pairing each E column with the I column after it.
    fn drive(&self, k: usize, x: &[f64]) -> f64 {
        let s: f64 = self
            .row(k)
            .chunks_exact(2)
            .zip(x.chunks_exact(2))
            .map(|(w, x)| w[0] * x[0] - w[1] * x[1])
            .sum();
        if self.row_exc[k] {
            s
        } else {
            -s
        }
    }

    pub fn to_layer(&self) -> Layer {
        let mut weights = self.mag.clone();
        for (k, row) in weights.chunks_exact_mut(self.cols).enumerate() {
            for (m, w) in row.iter_mut().enumerate() {
                // Same type positive, cross type negative.
                if self.row_exc[k] != (m % 2 == 0) {
                    *w = -*w;
                }
            }
        }
        Layer {
            rows: self.rows,
            cols: self.cols,
            weights,
            row_excitatory: self.row_exc.clone(),
            exponent: self.exp,
        }
    }
}

/// A hidden group and the output units it feeds: one per class (per-class topology) or
/// one for all classes (shared hidden layer).
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub hidden: Mat,
    pub output: Mat,
    /// The classes of `output`'s rows.
    pub classes: Vec<usize>,
}

/// The activations of one forward pass, kept for the update.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trace {
    /// Hidden-layer sources: `[0.8, 0.8, x0, x0, …]` (payload-rounded when quantized).
    pub x: Vec<f64>,
    /// Per block, output-layer sources: `[0.8, 0.8, h0, h1, …]`.
    pub h: Vec<Vec<f64>>,
    /// Per class: output activation and its pre-activation.
    pub y: Vec<f64>,
    pub u: Vec<f64>,
}

/// The whole network and the emulated chip formats it runs in.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub blocks: Vec<Block>,
    pub classes: usize,
    alpha: f64,
    u0: f64,
    quant: Option<Quantization>,
    table: Option<SigmoidTable>,
    dither: Dither,
    /// Overflow events (a layer that had to be repaired after an update) so far.
    pub overflows: u64,
}

impl Net {
    /// Builds the network for `inputs` values per example, magnitudes `U[0, init_max)`
    /// from `rng` (then rounded to the weight grid when quantized).
    pub fn new(cfg: &EdConfig, inputs: usize, classes: usize, rng: &mut ChaCha8Rng) -> Net {
        let quant = cfg.quantization;
        let h = cfg.hidden_per_class;
        let groups: Vec<(usize, Vec<usize>)> = match cfg.topology {
            Topology::PerClass => (0..classes).map(|c| (h, vec![c])).collect(),
            Topology::SharedHidden => vec![(h * classes, (0..classes).collect())],
        };
        let mut dither = Dither::new(cfg.seed ^ 0xD17E_5EED_0000_0001);
        let mut mat = |rows: usize, cols: usize, row_exc: Vec<bool>, copies: bool| {
            let mut mag: Vec<f64> = (0..rows * cols)
                .map(|_| rng.random::<f64>() * cfg.init_max)
                .collect();
            let exp = quant.and_then(|q| q.weight_bits).map(|bits| {
                // The smallest exponent whose range holds init_max: finest resolution.
                let max = f64::from((1u32 << bits.clamp(1, 24)) - 1);
                let mut e = -60;
                while max * 2f64.powi(e) < cfg.init_max {
                    e += 1;
                }
                e
            });
            if let (Some(e), Some(q)) = (exp, quant) {
                let scale = 2f64.powi(e);
                for w in &mut mag {
                    *w = dither.round(*w / scale, q.rounding) * scale;
                }
            }
            Mat {
                rows,
                cols,
                mag,
                row_exc,
                exp,
                copies,
            }
        };
        let blocks = groups
            .into_iter()
            .map(|(units, classes)| Block {
                hidden: mat(
                    units,
                    2 + 2 * inputs,
                    (0..units).map(|k| k % 2 == 0).collect(),
                    true,
                ),
                output: mat(classes.len(), 2 + units, vec![true; classes.len()], false),
                classes,
            })
            .collect();
        let table = quant.map(|q| SigmoidTable::new(cfg.u0, q.table_span, q.activation_bits));
        Net {
            blocks,
            classes,
            alpha: cfg.alpha,
            u0: cfg.u0,
            quant,
            table,
            dither,
            overflows: 0,
        }
    }

    fn act_bits(&self) -> Option<u8> {
        self.quant.and_then(|q| q.activation_bits)
    }

    fn activate(&self, u: f64) -> f64 {
        match &self.table {
            Some(t) => t.lookup(u),
            None => sigmoid(u, self.u0),
        }
    }

    /// Forward pass on one example; fills `t`.
    pub fn forward(&self, input: &[f32], t: &mut Trace) {
        let bits = self.act_bits();
        t.x.clear();
        t.x.extend([BIAS, BIAS]);
        for &v in input {
            let v = quantize_unit(f64::from(v), bits);
            t.x.extend([v, v]);
        }
        t.h.resize(self.blocks.len(), Vec::new());
        t.y.resize(self.classes, 0.0);
        t.u.resize(self.classes, 0.0);
        for (b, h) in self.blocks.iter().zip(&mut t.h) {
            h.clear();
            h.extend([BIAS, BIAS]);
            h.extend((0..b.hidden.rows).map(|k| self.activate(b.hidden.drive(k, &t.x))));
            for (r, &c) in b.classes.iter().enumerate() {
                t.u[c] = b.output.drive(r, h);
                t.y[c] = self.activate(t.u[c]);
            }
        }
    }

    /// The class read out: the largest output pre-activation (the soma register, which
    /// unlike a saturated payload never ties in practice), lowest class on a tie.
    pub fn predict(t: &Trace) -> usize {
        let mut best = 0;
        for c in 1..t.u.len() {
            if t.u[c] > t.u[best] {
                best = c;
            }
        }
        best
    }

    /// One online update after `forward` on an example of class `label`.
    pub fn learn(&mut self, t: &Trace, label: usize) {
        let bits = self.act_bits();
        // e = target − output, split into the two modulator channels.
        let d: Vec<(f64, f64)> = (0..self.classes)
            .map(|c| {
                let e = if c == label { 1.0 } else { 0.0 } - t.y[c];
                (e.max(0.0), (-e).max(0.0))
            })
            .collect();
        let (alpha, quant) = (self.alpha, self.quant);
        let mut blocks = std::mem::take(&mut self.blocks);
        for (b, h) in blocks.iter_mut().zip(&t.h) {
            // A hidden group hears the mean of its outputs' errors: its own class's in
            // the per-class topology; all classes' when shared (what a cell roughly
            // equidistant from every error source reads off the grid). The plain sum
            // collapses a shared layer at once: nine d− per example drive every E unit
            // to 0 and every I unit to 1 before the outputs have learnt anything.
            let dh = b
                .classes
                .iter()
                .fold((0.0, 0.0), |a, &c| (a.0 + d[c].0, a.1 + d[c].1));
            let nc = b.classes.len() as f64;
            let dh = (dh.0 / nc, dh.1 / nc);
            for (r, &c) in b.classes.iter().enumerate() {
                let g = derivative(t.y[c], bits);
                self.update_row(&mut b.output, r, h, alpha * g, d[c]);
            }
            for k in 0..b.hidden.rows {
                let g = derivative(h[2 + k], bits);
                self.update_row(&mut b.hidden, k, &t.x, alpha * g, dh);
            }
            if quant.is_some_and(|q| q.weight_bits.is_some()) {
                self.fit(&mut b.output);
                self.fit(&mut b.hidden);
            }
        }
        self.blocks = blocks;
    }

    /// `Δ|w_km| = a·in_m·(d+ if m is E else d−)` for row `k`, with `a = α·o_k(1−o_k)`.
    fn update_row(&mut self, m: &mut Mat, k: usize, x: &[f64], a: f64, (dp, dm): (f64, f64)) {
        let (ap, am) = (a * dp, a * dm);
        if ap == 0.0 && am == 0.0 {
            return;
        }
        let row = &mut m.mag[k * m.cols..(k + 1) * m.cols];
        match (m.exp, self.quant) {
            (Some(e), Some(q)) => {
                // In mantissa steps; left unbounded here and brought back by `fit`.
                let inv = 2f64.powi(-e);
                let scale = 2f64.powi(e);
                for (w, x) in row.chunks_exact_mut(2).zip(x.chunks_exact(2)) {
                    for (w, dx) in w.iter_mut().zip([ap * x[0], am * x[1]]) {
                        if dx != 0.0 {
                            *w += self.dither.round(dx * inv, q.rounding) * scale;
                        }
                    }
                }
            }
            _ => {
                for (w, x) in row.chunks_exact_mut(2).zip(x.chunks_exact(2)) {
                    w[0] += ap * x[0];
                    w[1] += am * x[1];
                }
            }
        }
    }

    /// Brings a quantized layer back within `2^weight_bits − 1` mantissa steps under the
    /// configured overflow policy.
    fn fit(&mut self, m: &mut Mat) {
        let (Some(q), Some(e)) = (self.quant, m.exp) else {
            return;
        };
        let Some(bits) = q.weight_bits else { return };
        let max_mant = f64::from((1u32 << bits.clamp(1, 24)) - 1);
        let limit = max_mant * 2f64.powi(e);
        if !m.mag.iter().any(|&w| w > limit) {
            return;
        }
        self.overflows += 1;
        match q.overflow {
            Overflow::Saturate => m.mag.iter_mut().for_each(|w| *w = w.min(limit)),
            Overflow::HalveLayer => self.halve_until_fits(m, max_mant),
            Overflow::CancelOverlap => {
                let paired = if m.copies { m.cols } else { 2 };
                for row in m.mag.chunks_exact_mut(m.cols) {
                    for w in row[..paired].chunks_exact_mut(2) {
                        let common = w[0].min(w[1]);
                        w[0] -= common;
                        w[1] -= common;
                    }
                }
                if m.mag.iter().any(|&w| w > limit) {
                    self.halve_until_fits(m, max_mant);
                }
            }
        }
    }

    fn halve_until_fits(&mut self, m: &mut Mat, max_mant: f64) {
        let Some(q) = self.quant else { return };
        while let Some(e) = m.exp {
            let scale = 2f64.powi(e);
            if !m.mag.iter().any(|&w| w > max_mant * scale) {
                break;
            }
            let new_scale = scale * 2.0;
            for w in &mut m.mag {
                *w = self.dither.round(*w / new_scale, q.rounding) * new_scale;
            }
            m.exp = Some(e + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn cfg(classes_h: usize) -> EdConfig {
        EdConfig {
            hidden_per_class: classes_h,
            alpha: 0.125,
            u0: 0.4,
            init_max: 0.2,
            epochs: 1,
            seed: 1,
            topology: Topology::PerClass,
            quantization: None,
        }
    }

    /// The update on a hand-computed example: 2 inputs, 2 classes, 2 hidden units each.
    #[test]
    fn update_formula_on_a_two_input_example() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut net = Net::new(&cfg(2), 2, 2, &mut rng);
        // Hidden magnitudes: every weight 0.1, except unit 0's from x0+ = 0.3.
        for b in &mut net.blocks {
            b.hidden.mag.iter_mut().for_each(|w| *w = 0.1);
            b.hidden.mag[2] = 0.3;
            b.output.mag.iter_mut().for_each(|w| *w = 0.2);
        }
        let x = [1.0f32, 0.5];
        let mut t = Trace::default();
        net.forward(&x, &mut t);
        // Sources [0.8, 0.8, 1, 1, 0.5, 0.5]. E unit 0: 0.08−0.08+0.3−0.1+0.05−0.05 = 0.2.
        // I unit 1: −(0.08−0.08+0.1−0.1+0.05−0.05) = 0.
        let (h0, h1) = (sigmoid(0.2, 0.4), 0.5);
        assert!((t.h[0][2] - h0).abs() < 1e-15 && t.h[0][3] == h1);
        // Output: 0.2·0.8 − 0.2·0.8 + 0.2·h0 − 0.2·h1.
        let u = 0.2 * h0 - 0.2 * h1;
        let y = sigmoid(u, 0.4);
        assert!((t.y[0] - y).abs() < 1e-15 && (t.y[1] - y).abs() < 1e-15);

        net.learn(&t, 0);
        let w = |c: usize| {
            (
                net.blocks[c].hidden.to_layer(),
                net.blocks[c].output.to_layer(),
            )
        };
        // Class 0, target 1: e = 1 − y > 0, so d+ = e and d− = 0; only E sources move.
        let (hid, out) = w(0);
        let (dp, a) = (1.0 - y, 0.125);
        let g0 = h0 * (1.0 - h0);
        // E unit 0 from x0+ (sign +): 0.3 + α·1·g0·d+.
        assert!((hid.weights[2] - (0.3 + a * 1.0 * g0 * dp)).abs() < 1e-15);
        // E unit 0 from x0− (sign −, an I source hears d− = 0): unchanged.
        assert_eq!(hid.weights[3], -0.1);
        // I unit 1 from x1+ (sign −): −(0.1 + α·0.5·0.25·d+): an I unit is pushed down.
        assert!((hid.weights[6 + 4] - -(0.1 + a * 0.5 * 0.25 * dp)).abs() < 1e-15);
        // Output from h0 (E, sign +) grows by α·h0·y(1−y)·d+; from h1 (I) unchanged.
        let gy = y * (1.0 - y);
        assert!((out.weights[2] - (0.2 + a * h0 * gy * dp)).abs() < 1e-15);
        assert_eq!(out.weights[3], -0.2);
        // Class 1, target 0: d− = y, only I sources move, magnitudes grow.
        let (hid, out) = w(1);
        let dm = y;
        assert_eq!(hid.weights[2], 0.3);
        assert!((hid.weights[3] - -(0.1 + a * 1.0 * g0 * dm)).abs() < 1e-15);
        // I unit 1 from bias− (sign +): 0.1 + α·0.8·0.25·d−.
        assert!((hid.weights[6 + 1] - (0.1 + a * 0.8 * 0.25 * dm)).abs() < 1e-15);
        assert!((out.weights[3] - -(0.2 + a * h1 * gy * dm)).abs() < 1e-15);
        assert_eq!(out.weights[2], 0.2);
    }

    #[test]
    fn cancel_overlap_keeps_every_drive_and_halving_keeps_the_function() {
        use super::super::quant::Overflow;
        let mut c = cfg(4);
        c.quantization = Some(Quantization::eight_bit(Overflow::CancelOverlap));
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut net = Net::new(&c, 3, 2, &mut rng);
        let x = [0.25f32, 1.0, 0.5];
        let mut before = Trace::default();
        net.forward(&x, &mut before);
        let mut blocks = std::mem::take(&mut net.blocks);
        let e = blocks[0].hidden.exp.unwrap();
        // Push one hidden magnitude past 255 steps: the overlap cancels, no halving.
        blocks[0].hidden.mag[2] = 300.0 * 2f64.powi(e);
        blocks[0].hidden.mag[3] = 100.0 * 2f64.powi(e);
        let drive: Vec<f64> = (0..4)
            .map(|k| blocks[0].hidden.drive(k, &before.x))
            .collect();
        net.fit(&mut blocks[0].hidden);
        assert_eq!(blocks[0].hidden.exp, Some(e));
        assert_eq!(blocks[0].hidden.mag[2], 200.0 * 2f64.powi(e));
        for (k, d) in drive.iter().enumerate() {
            assert!((blocks[0].hidden.drive(k, &before.x) - d).abs() < 1e-12);
        }
        // The output layer has no copies to cancel: it is halved, exponent + 1.
        let oe = blocks[0].output.exp.unwrap();
        blocks[0].output.mag[4] = 256.0 * 2f64.powi(oe);
        net.fit(&mut blocks[0].output);
        assert_eq!(blocks[0].output.exp, Some(oe + 1));
        assert_eq!(blocks[0].output.mag[4], 128.0 * 2f64.powi(oe + 1));
        assert_eq!(net.overflows, 2);
    }
}
