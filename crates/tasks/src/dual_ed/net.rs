//! The dual-stream network: its layers, the batched forward pass, the routed and
//! centred class error, and the Error Diffusion update.
//!
//! Every layer `l` has an excitatory stream `p` and an inhibitory stream `n` of `out`
//! units each, four non-negative magnitude matrices and two signed biases:
//!
//! ```text
//! p_l = φ_l( p_{l−1}·W_pp − n_{l−1}·W_np + b_p )
//! n_l = φ_l( n_{l−1}·W_nn − p_{l−1}·W_pn + b_n )      φ_l(z) = 1 / (1 + exp(−2z/α_l))
//! ```
//!
//! The minus signs are structural, never learned, so a source's effect on a target is
//! fixed by the two streams' types (Dale's principle); every magnitude stays at or above
//! the floor. The input feeds both streams (`p_0 = n_0 = x`). The prediction is the
//! output layer's excitatory stream, `ŷ = p_L`.
//!
//! Learning (one batch of `B` examples): the class error `E = Y − ŷ` (one-hot `Y`),
//! centred per class over the batch, `S = E − mean_b E`; unit `j` of every layer hears
//! class `j mod C` of it, `R[b, j] = S[b, j mod C]` (modulo routing; on the output layer
//! unit `c` hears class `c`); the excitatory stream is driven towards `+R` and the
//! inhibitory stream towards `−R`:
//!
//! ```text
//! U_p = φ'_l(p_l) ⊙ R        U_n = φ'_l(n_l) ⊙ (−R)        φ'_l = (2/α_l)·a(1−a)
//! ΔW_pp = +ρ · p_{l−1}ᵀ U_p      ΔW_np = −ρ · n_{l−1}ᵀ U_p
//! ΔW_nn = +ρ · n_{l−1}ᵀ U_n      ΔW_pn = −ρ · p_{l−1}ᵀ U_n
//! Δb_p  = ρ · Σ_b U_p            Δb_n  = ρ · Σ_b U_n          ρ = η / (B · fan_in_l)
//! W ← max(W + ΔW, floor)
//! ```
//!
//! Every quantity is local to a synapse (its source's activity, its target's derivative
//! and the error its target's class hears): no transposed forward weight, no random
//! feedback matrix.
//!
//! **Determinism**: matrices are stored source-major (`w[i * out + j]`), and every sum is
//! taken in a fixed order (sources ascending, examples ascending) whatever the thread
//! count: threads split a layer's *target units* into contiguous ranges and never share
//! a sum, so results are bit-identical for any number of threads.

use super::conv::{self, ConvGeometry};
use super::gemm::{gemm, quarters, transpose, View};
use super::step::{Moments, Rule, Stepper};
use super::Centring;
use rayon::prelude::*;

/// The activation of a layer of width `alpha`: `1 / (1 + exp(−2z/α))`.
pub fn sigmoid(z: f64, alpha: f64) -> f64 {
    1.0 / (1.0 + (-2.0 * z / alpha).exp())
}

/// Its derivative, read off the activation `a`: `(2/α)·a·(1 − a)`.
pub fn sigmoid_derivative(a: f64, alpha: f64) -> f64 {
    (2.0 / alpha) * a * (1.0 - a)
}

/// The class whose error unit `unit` of a layer hears: `unit mod classes`.
pub fn routed_class(unit: usize, classes: usize) -> usize {
    unit % classes
}

/// One dual-stream layer: `inputs` sources per stream, `outputs` units per stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DualLayer {
    pub inputs: usize,
    pub outputs: usize,
    /// Sigmoid width α of this layer.
    pub alpha: f64,
    /// `None`: dense (every source onto every unit). `Some`: convolutional, with the
    /// kernels in the four matrices ([`conv`] has the layout) and one bias per channel.
    pub conv: Option<ConvGeometry>,
    /// Magnitudes (dense: source-major, `w_pp[i * outputs + j]` is the weight from
    /// excitatory source `i` onto excitatory unit `j`, used with sign +).
    pub w_pp: Vec<f64>,
    /// Inhibitory source `i` onto excitatory unit `j` (used with sign −).
    pub w_np: Vec<f64>,
    /// Inhibitory source onto inhibitory unit (sign +).
    pub w_nn: Vec<f64>,
    /// Excitatory source onto inhibitory unit (sign −).
    pub w_pn: Vec<f64>,
    /// Signed biases of the excitatory and inhibitory units (per channel when
    /// convolutional).
    pub b_p: Vec<f64>,
    pub b_n: Vec<f64>,
    /// Adam's moments, once Adam has stepped this layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moments: Option<Moments>,
    /// Dense layers only: which synapses exist (`mask[i * outputs + j]`, the matrices'
    /// layout; patch wiring, [`super::patch`]); `None`: all. An absent synapse's four
    /// magnitudes stay 0 and never learn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<Vec<bool>>,
    /// The mask's per-unit sources, read from it on first use.
    #[serde(skip)]
    pub fields: super::sparse::Fields,
    /// The chip's graded payload width (`DualEdConfig::payload_bits`): activations are
    /// rounded to `2^bits − 1` levels and the derivative is the chip's floored
    /// `o(1 − o)` ([`crate::ed::quant`]); `None`: exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_bits: Option<u8>,
    /// The chip's activation table, when emulated (`DualEdConfig::activation_table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<(
        super::chip_arith::TableSpec,
        amine_chip::neuron::graded::SigmoidTable,
    )>,
}

impl DualLayer {
    /// The activation of a unit with summed input `z`: `φ(z)`, sent as a payload of
    /// [`Self::payload_bits`].
    pub fn activate(&self, z: f64) -> f64 {
        if let Some((spec, table)) = &self.table {
            return super::chip_arith::table_activation(table, spec, z);
        }
        crate::ed::quant::quantize_unit(sigmoid(z, self.alpha), self.payload_bits)
    }

    /// `φ'` read off an activation `a`: `(2/α)·a(1 − a)`, the `a(1 − a)` as the chip
    /// computes it from a payload of [`Self::payload_bits`].
    pub fn derivative(&self, a: f64) -> f64 {
        (2.0 / self.alpha) * crate::ed::quant::derivative(a, self.payload_bits)
    }

    /// The four magnitude matrices with the sign each is used with: `(name, sign, w)`.
    pub fn matrices(&self) -> [(&'static str, f64, &[f64]); 4] {
        [
            ("pp", 1.0, &self.w_pp),
            ("np", -1.0, &self.w_np),
            ("nn", 1.0, &self.w_nn),
            ("pn", -1.0, &self.w_pn),
        ]
    }

    /// Mean same-stream magnitude over mean cross-stream magnitude (the E/I balance:
    /// 3 after the asymmetric initialisation, 1 when balanced).
    pub fn ei_ratio(&self) -> f64 {
        let mean = |w: &[f64]| w.iter().sum::<f64>() / w.len().max(1) as f64;
        (mean(&self.w_pp) + mean(&self.w_nn)) / (mean(&self.w_np) + mean(&self.w_pn))
    }

    /// Sources per unit of a dense layer: all of them, or (patch wiring) unit 0's.
    pub fn fan_in(&self) -> usize {
        match &self.mask {
            Some(m) => m
                .iter()
                .step_by(self.outputs.max(1))
                .filter(|&&on| on)
                .count(),
            None => self.inputs,
        }
    }

    /// Fraction of the synapses' magnitudes at the floor (pruned: the rule cannot push
    /// them lower); absent synapses (patch wiring) are not counted.
    pub fn at_floor(&self, floor: f64) -> f64 {
        let present = |e: usize| self.mask.as_ref().is_none_or(|m| m[e]);
        let all = 4 * (0..self.w_pp.len()).filter(|&e| present(e)).count();
        let n = [&self.w_pp, &self.w_np, &self.w_nn, &self.w_pn]
            .iter()
            .flat_map(|w| w.iter().enumerate())
            .filter(|&(e, &w)| present(e) && w <= floor)
            .count();
        n as f64 / all.max(1) as f64
    }
}

/// What a forward pass over a batch leaves for the update: per layer, both streams'
/// activations, `B × outputs` row-major (layer 0 is the input, shared by both streams).
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub p: Vec<Vec<f64>>,
    pub n: Vec<Vec<f64>>,
    pub batch: usize,
}

/// Splits `0..len` into `threads` contiguous ranges (the first ones one longer), and
/// runs `f(range)` for each on the process's pool. The ranges never overlap, so no two
/// threads share a sum.
pub(super) fn par_ranges<F>(len: usize, threads: usize, f: F)
where
    F: Fn(std::ops::Range<usize>) + Sync,
{
    let threads = threads.clamp(1, len.max(1));
    if threads == 1 {
        f(0..len);
        return;
    }
    let (base, extra) = (len / threads, len % threads);
    (0..threads).into_par_iter().for_each(|t| {
        let start = t * base + t.min(extra);
        f(start..start + base + usize::from(t < extra))
    });
}

/// A raw pointer that may cross to scoped threads; each thread writes only the elements
/// of its own unit range (see [`par_ranges`]).
#[derive(Clone, Copy)]
pub(super) struct SharedMut(pub *mut f64);
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// # Safety
    /// `i` must be in bounds and no other thread may touch element `i` meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn at(&self, i: usize) -> &mut f64 {
        &mut *self.0.add(i)
    }
}

impl DualLayer {
    /// The lengths of `[w_pp, w_np, w_nn, w_pn, b_p, b_n]`.
    pub(super) fn param_sizes(&self) -> [usize; 6] {
        let (w, b) = (self.w_pp.len(), self.b_p.len());
        [w, w, w, w, b, b]
    }

    /// Raw pointers to `[w_pp, w_np, w_nn, w_pn, b_p, b_n]`, for the update's threads.
    pub(super) fn shared_mut(&mut self) -> [SharedMut; 6] {
        [
            SharedMut(self.w_pp.as_mut_ptr()),
            SharedMut(self.w_np.as_mut_ptr()),
            SharedMut(self.w_nn.as_mut_ptr()),
            SharedMut(self.w_pn.as_mut_ptr()),
            SharedMut(self.b_p.as_mut_ptr()),
            SharedMut(self.b_n.as_mut_ptr()),
        ]
    }

    /// Forward pass of a batch: `p_in`, `n_in` are `B × inputs`; returns `(p, n)`, each
    /// `B × outputs`.
    pub fn forward(
        &self,
        p_in: &[f64],
        n_in: &[f64],
        batch: usize,
        threads: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        if let Some(g) = &self.conv {
            return conv::forward(self, g, p_in, n_in, batch, threads);
        }
        if let Some(mask) = &self.mask {
            return super::sparse::forward(self, mask, p_in, n_in, batch, threads);
        }
        let (ni, no) = (self.inputs, self.outputs);
        let mut p = vec![0.0; batch * no];
        let mut n = vec![0.0; batch * no];
        let (pp, pn) = (SharedMut(p.as_mut_ptr()), SharedMut(n.as_mut_ptr()));
        let (xp, xn) = (View::new(p_in, ni), View::new(n_in, ni));
        par_ranges(no, threads, |range| {
            let w = range.len();
            // The four sums of this thread's units, each B × w.
            let mut z = vec![0.0; 4 * batch * w];
            let [z_pp, z_np, z_nn, z_pn] = quarters(&mut z);
            for (x, m, out) in [
                (xp, &self.w_pp, &mut *z_pp),
                (xn, &self.w_np, &mut *z_np),
                (xn, &self.w_nn, &mut *z_nn),
                (xp, &self.w_pn, &mut *z_pn),
            ] {
                gemm(x, View::new(m, no), ni, 0..batch, range.clone(), out, w);
            }
            for b in 0..batch {
                for (k, j) in range.clone().enumerate() {
                    let e = b * w + k;
                    let zp = self.b_p[j] + z_pp[e] - z_np[e];
                    let zn = self.b_n[j] + z_nn[e] - z_pn[e];
                    // SAFETY: unit j belongs to this thread's range only.
                    unsafe {
                        *pp.at(b * no + j) = self.activate(zp);
                        *pn.at(b * no + j) = self.activate(zn);
                    }
                }
            }
        });
        (p, n)
    }

    /// The Error Diffusion update of this layer for a batch: `p_in`, `n_in` its sources
    /// (`B × inputs`), `p_out`, `n_out` its activations (`B × outputs`), `routed` the
    /// error each unit hears (`B × outputs`); `rule` turns the summed updates into steps
    /// (for plain steps, `ρ = η / (B·inputs)`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn learn(
        &mut self,
        p_in: &[f64],
        n_in: &[f64],
        p_out: &[f64],
        n_out: &[f64],
        routed: &[f64],
        batch: usize,
        rule: Rule,
        floor: f64,
        threads: usize,
    ) {
        // Postsynaptic drives: U_p = φ'(p)·R, U_n = φ'(n)·(−R).
        let (u_p, u_n) = conv::drives(p_out, n_out, routed, self);
        let (ni, no, geometry) = (self.inputs, self.outputs, self.conv);
        // Held outside the layer while the stepper writes through raw pointers into it.
        let owned_mask = self.mask.take();
        let owned_fields = std::mem::take(&mut self.fields);
        let step = Stepper::new(self, rule, floor);
        if let Some(g) = geometry {
            return conv::learn(&g, p_in, n_in, &u_p, &u_n, batch, &step, threads);
        }
        if let Some(mask) = &owned_mask {
            let fields = owned_fields.get(mask, ni, no);
            let (u_p, u_n) = (&u_p, &u_n);
            super::sparse::learn(
                fields,
                (ni, no),
                p_in,
                n_in,
                u_p,
                u_n,
                batch,
                &step,
                threads,
            );
            self.mask = owned_mask;
            self.fields = owned_fields;
            return;
        }
        // Sources as rows: Σ_b x[b,i]·U[b,j] is then a product over b.
        let (pt, nt) = (transpose(p_in, batch, ni), transpose(n_in, batch, ni));
        let (xp, xn) = (View::new(&pt, batch), View::new(&nt, batch));
        let (up, un) = (View::new(&u_p, no), View::new(&u_n, no));
        par_ranges(no, threads, |range| {
            const ROWS: usize = 64; // sources per block, to keep the sums in cache
            let w = range.len();
            let mut acc = vec![0.0; 4 * ROWS * w];
            for i0 in (0..ni).step_by(ROWS) {
                let rows = i0..(i0 + ROWS).min(ni);
                let h = rows.len();
                let [a_pp, a_np, a_nn, a_pn] = quarters(&mut acc[..4 * h * w]);
                for (x, u, out) in [
                    (xp, up, &mut *a_pp),
                    (xn, up, &mut *a_np),
                    (xn, un, &mut *a_nn),
                    (xp, un, &mut *a_pn),
                ] {
                    gemm(x, u, batch, rows.clone(), range.clone(), out, w);
                }
                for (r, i) in rows.enumerate() {
                    for (k, j) in range.clone().enumerate() {
                        let (e, a) = (i * no + j, r * w + k);
                        // SAFETY: column j belongs to this thread's range only.
                        unsafe {
                            step.apply(0, e, a_pp[a]);
                            step.apply(1, e, -a_np[a]);
                            step.apply(2, e, a_nn[a]);
                            step.apply(3, e, -a_pn[a]);
                        }
                    }
                }
            }
            learn_biases(&u_p, &u_n, batch, no, range, &step);
        });
    }
}

/// The biases' update of a dense layer's units `range`: `Σ_b U_p`, `Σ_b U_n`
/// (examples ascending).
pub(super) fn learn_biases(
    u_p: &[f64],
    u_n: &[f64],
    batch: usize,
    no: usize,
    range: std::ops::Range<usize>,
    step: &Stepper,
) {
    for j in range {
        let (mut sp, mut sn) = (0.0, 0.0);
        for b in 0..batch {
            sp += u_p[b * no + j];
            sn += u_n[b * no + j];
        }
        // SAFETY: bias j belongs to the caller's thread only.
        unsafe {
            step.apply(4, j, sp);
            step.apply(5, j, sn);
        }
    }
}

/// The class error of a batch, `E = Y − ŷ` (`B × classes`, one-hot targets), centred as
/// `centring` says. `running` is the running mean of [`Centring::Running`] (updated
/// here); the other modes leave it alone.
pub fn class_error(
    y_hat: &[f64],
    labels: &[u8],
    classes: usize,
    centring: Centring,
    running: &mut [f64],
) -> Vec<f64> {
    let batch = labels.len();
    let mut e: Vec<f64> = y_hat.iter().map(|&y| -y).collect();
    for (b, &l) in labels.iter().enumerate() {
        e[b * classes + usize::from(l)] += 1.0;
    }
    let mean = |e: &[f64]| -> Vec<f64> {
        (0..classes)
            .map(|c| (0..batch).map(|b| e[b * classes + c]).sum::<f64>() / batch as f64)
            .collect()
    };
    match centring {
        Centring::Off => {}
        Centring::Batch => {
            let m = mean(&e);
            for row in e.chunks_exact_mut(classes) {
                for (v, m) in row.iter_mut().zip(&m) {
                    *v -= m;
                }
            }
        }
        Centring::Running { rate } => {
            let m = mean(&e);
            for row in e.chunks_exact_mut(classes) {
                for (v, r) in row.iter_mut().zip(running.iter()) {
                    *v -= r;
                }
            }
            for (r, m) in running.iter_mut().zip(m) {
                *r += rate * (m - *r);
            }
        }
    }
    e
}

/// Routes a batch's class error to the units of `layer`: `R[b, j] = S[b, j mod C]` for
/// a dense layer, `S[b, channel(j) mod C]` for a convolutional one.
pub fn route(error: &[f64], classes: usize, layer: &DualLayer) -> Vec<f64> {
    let units = layer.outputs;
    let per_channel = layer.conv.map_or(1, |g| g.positions());
    let batch = error.len() / classes;
    let mut r = vec![0.0; batch * units];
    for b in 0..batch {
        for j in 0..units {
            r[b * units + j] = error[b * classes + routed_class(j / per_channel, classes)];
        }
    }
    r
}
