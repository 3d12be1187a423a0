//! Laying a network onto the e-prop core: real-valued weights and time constants become
//! the core's registers, weight mantissas and fixed-point constants.
//!
//! **Scales.** The membrane is in the chip's v units with the threshold at
//! `vth << 6` = [`THR_V`]; a real unit of the float model's membrane is `THR_V / thr`
//! v units. The float model integrates `(1 − α)·W·z`; the chip adds its input
//! unscaled, so a real weight `w` is stored as `(1 − α)·w·THR_V/thr` v units, as a
//! `weight_bits` mantissa shifted by its group's exponent (input, recurrent), chosen so
//! that [`HEADROOM`] times the largest initial weight fits. Readout weights are Q.16
//! real units with their own exponent. Decays are the chip's 12-bit fields (`dv` for α,
//! `da` for ρ), and the eligibility unit uses the same α and ρ so traces and neurons
//! agree; κ is Q0.16.

use crate::error::Error;
use amine_chip::learning::eprop::{EpropConsts, EpropParams};
use amine_chip::learning::error_unit::ErrorUnit;
use amine_chip::neuron::alif::{AlifParams, Reset};
use amine_chip::neuron::lif::LifParams;
use serde::{Deserialize, Serialize};

/// The threshold in v units (`vth = 1000`).
pub const THR_V: i64 = 1000 << 6;
/// Weight memory holds this many times the largest initial weight of each group.
pub const HEADROOM: f64 = 4.0;
/// Fractional bits of readout values, errors, feedback weights and z̄.
pub const Q: u32 = 16;
/// Fractional bits of the power tables of lazy decay.
pub const POW_BITS: u32 = 24;

/// How the learning signal reaches the neurons.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Feedback {
    /// Every neuron gets `Σ_k B_kj·err_k` (dense B) at its own cell; the grid keeps no
    /// memory.
    Full,
    /// The neurons with a feedback weight inject it at their cells; no memory, no
    /// spread (k = 0).
    Sparse,
    /// They inject it into a grid whose 3×3 kernel entries are all `k/9` (torus).
    Diffusion { k: f64 },
}

/// A network in the float model's units (`amine_tasks::eprop::Net` carries one).
#[derive(Debug, Clone, PartialEq)]
pub struct EpropNet {
    pub inputs: usize,
    /// Neurons `0..n_lif` are LIF, the rest ALIF.
    pub n_lif: usize,
    pub n_alif: usize,
    pub outputs: usize,
    /// The grid is `grid_side × grid_side`; neuron j sits at cell `cell[j]` (row-major).
    pub grid_side: u32,
    pub cell: Vec<usize>,
    pub tau_m: f64,
    pub tau_a: f64,
    pub tau_out: f64,
    pub thr: f64,
    pub beta: f64,
    pub refractory: u8,
    /// Synapses by postsynaptic row: row j is `row_start[j]..row_start[j + 1]`, source
    /// `src[s]` (input i as i, neuron i as `inputs + i`), weight `w[s]`.
    pub row_start: Vec<usize>,
    pub src: Vec<u32>,
    pub w: Vec<f64>,
    /// Readout `w_out[k·n + j]`; only `out_mask` entries exist.
    pub w_out: Vec<f64>,
    pub out_mask: Vec<bool>,
    /// Feedback weights `b[k·n + j]` (0: neuron j gets nothing from output k).
    pub b: Vec<f64>,
    pub feedback: Feedback,
}

impl EpropNet {
    pub fn neurons(&self) -> usize {
        self.n_lif + self.n_alif
    }
}

/// Choices of the core that are not the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreOptions {
    /// Weight mantissa bits, sign included (2..=16).
    pub weight_bits: u8,
    /// Fractional bits of the eligibility traces (8..=24).
    pub frac_bits: u8,
    /// Skip rows that only decay and catch up with a power table (module docs).
    pub lazy_decay: bool,
    /// Keys the stochastic rounding of weight updates.
    pub seed: u64,
    /// SGD rates of the input, recurrent and readout weights, for the gradient of the
    /// window-mean loss (as the float reference's `lr_groups`).
    pub lr: [f64; 3],
    /// Trials whose gradients are summed before one update.
    pub batch: usize,
    /// Steps of the learning window (the loss is its mean).
    pub window: usize,
    /// Rate regulariser strength and target (Hz).
    pub c_reg: f64,
    pub f_target_hz: f64,
    /// Longest trial, in steps (sizes the power tables).
    pub max_steps: usize,
    /// `Some(step)`: the update unit applies Adam (β1 = 0.9, β2 = 0.999, ε = 1e-8, in
    /// the float model's gradient units) to each batch's gradient instead of
    /// `Δw = −η·g`; `lr` is then unused.
    pub adam: Option<f64>,
}

impl Default for CoreOptions {
    fn default() -> CoreOptions {
        CoreOptions {
            weight_bits: 16,
            frac_bits: 20,
            lazy_decay: true,
            seed: 1,
            lr: [65.0, 327.0, 25.0],
            batch: 64,
            window: 150,
            c_reg: 0.005,
            f_target_hz: 10.0,
            max_steps: 2050,
            adam: None,
        }
    }
}

/// Per weight group (input, recurrent, readout): exponent and learning rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightGroups {
    /// Mantissa << exponent is the weight (v units; readout: Q.16 real units).
    pub exp: [u32; 3],
    /// `Δmant = −η·g`: `eta_m · 2^eta_e`.
    pub eta_m: [i64; 3],
    pub eta_e: [i32; 3],
}

/// The e-prop core: structure, registers and weights. Read-only during a batch
/// ([`EpropState`](super::EpropState) holds what a trial changes); [`EpropCore::apply`]
/// changes the weights between batches.
#[derive(Debug, Clone)]
pub struct EpropCore {
    pub(super) n: usize,
    pub(super) n_lif: usize,
    pub(super) inputs: usize,
    pub(super) outputs: usize,
    pub(super) side: u32,
    pub(super) cell: Vec<(u32, u32)>,
    pub(super) params: Vec<AlifParams>,
    pub(super) lif_c: EpropConsts,
    pub(super) alif_c: EpropConsts,
    pub(super) kappa: i64,
    pub(super) row_start: Vec<usize>,
    pub(super) src: Vec<u32>,
    pub(super) w: Vec<i32>,
    pub(super) out_start: Vec<usize>,
    pub(super) out_post: Vec<u32>,
    pub(super) out_syn: Vec<u32>,
    pub(super) w_out: Vec<i32>,
    pub(super) out_mask: Vec<bool>,
    /// Per neuron, its feedback weights `(k, B_kj)` in Q.16.
    pub(super) feedback: Vec<Vec<(usize, i32)>>,
    pub(super) injectors: Vec<usize>,
    pub(super) grid_kernel: f64,
    pub(super) groups: WeightGroups,
    pub(super) wmax: i32,
    pub(super) rho_pow: Vec<i64>,
    pub(super) kappa_pow: Vec<i64>,
    pub(super) error_unit: ErrorUnit,
    pub(super) opts: CoreOptions,
    /// Real units of the membrane per v unit... and its inverse for weights.
    pub(super) v_per_real: f64,
    pub(super) alpha_chip: f64,
    pub(super) tau_out: f64,
    pub(super) updates: u64,
    /// Float-model gradient units per raw `g` unit, per group (batch mean), and
    /// mantissa LSBs per float-model weight unit, per group.
    pub(super) grad_unit: [f64; 3],
    pub(super) mant_per_real: [f64; 3],
    /// Adam's moments per weight (synapses, then readout weights).
    pub(super) adam_m: Vec<f64>,
    pub(super) adam_v: Vec<f64>,
    /// The hoisted neuron groups and ψ̂ divider of the group step (`None`: the chip's
    /// `AlifState::step` neuron by neuron).
    pub(super) fast: Option<super::bank::Fast>,
}

/// `x` as a 16-bit mantissa times a power of two.
fn mant_exp(x: f64) -> (i64, i32) {
    if !(x > 0.0 && x.is_finite()) {
        return (0, 0);
    }
    let e = x.log2().floor() as i32 - 15;
    ((x / 2f64.powi(e)).round() as i64, e)
}

/// The smallest exponent at which `HEADROOM · max` fits `bits` signed bits.
fn exponent_for(max: f64, bits: u8) -> u32 {
    let top = f64::from((1u32 << (bits - 1)) - 1);
    let need = HEADROOM * max / top;
    if need <= 1.0 {
        0
    } else {
        need.log2().ceil() as u32
    }
}

impl EpropCore {
    /// Lays `net` on the core. Every problem of the network or the options is reported
    /// at once.
    pub fn new(net: &EpropNet, opts: &CoreOptions) -> Result<EpropCore, Error> {
        let n = net.neurons();
        let mut problems = Vec::new();
        let side = net.grid_side as usize;
        if n == 0 || net.inputs == 0 || net.outputs == 0 {
            problems.push("neurons, inputs and outputs must be positive".to_string());
        }
        if net.cell.len() != n || net.cell.iter().any(|&c| c >= side * side) {
            problems.push(format!(
                "every neuron needs a cell of the {side}×{side} grid"
            ));
        }
        if net.row_start.len() != n + 1
            || net.row_start.windows(2).any(|w| w[0] > w[1])
            || net.row_start.last() != Some(&net.src.len())
            || net.w.len() != net.src.len()
            || net.src.iter().any(|&s| s as usize >= net.inputs + n)
        {
            problems.push("synapse rows are inconsistent".to_string());
        }
        let o = net.outputs;
        if net.w_out.len() != o * n || net.out_mask.len() != o * n || net.b.len() != o * n {
            problems.push("readout and feedback need outputs × neurons entries".to_string());
        }
        for (name, v) in [
            ("tau_m", net.tau_m),
            ("tau_a", net.tau_a),
            ("tau_out", net.tau_out),
            ("thr", net.thr),
        ] {
            if !(v.is_finite() && v > 0.0) {
                problems.push(format!("{name} = {v}: must be finite and > 0"));
            }
        }
        if !(net.beta.is_finite() && net.beta >= 0.0) {
            problems.push(format!("beta = {}: must be finite and ≥ 0", net.beta));
        }
        if !(2..=16).contains(&opts.weight_bits) {
            problems.push(format!(
                "weight_bits = {}: must be in 2..=16",
                opts.weight_bits
            ));
        }
        if !(8..=24).contains(&opts.frac_bits) {
            problems.push(format!("frac_bits = {}: must be in 8..=24", opts.frac_bits));
        }
        if opts.batch == 0 || opts.window == 0 || opts.max_steps == 0 {
            problems.push("batch, window and max_steps must be positive".to_string());
        }
        for (name, v) in [
            ("lr_in", opts.lr[0]),
            ("lr_rec", opts.lr[1]),
            ("lr_out", opts.lr[2]),
            ("c_reg", opts.c_reg),
            ("f_target_hz", opts.f_target_hz),
            ("adam step", opts.adam.unwrap_or(0.0)),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                problems.push(format!("{name} = {v}: must be finite and ≥ 0"));
            }
        }
        if let Feedback::Diffusion { k } = net.feedback {
            if !(k.is_finite() && (0.0..=1.0).contains(&k)) {
                problems.push(format!("diffusion k = {k}: must be in [0, 1]"));
            }
        }
        if !problems.is_empty() {
            return Err(Error::options(format!(
                "e-prop core: {}",
                problems.join("; ")
            )));
        }

        // Neurons: the chip's ALIF with 12-bit decays.
        let dv = (4096.0 * (1.0 - (-1.0 / net.tau_m).exp()))
            .round()
            .clamp(0.0, 4095.0) as u16;
        let da = (4096.0 * (1.0 - (-1.0 / net.tau_a).exp()))
            .round()
            .clamp(1.0, 4095.0) as u16;
        let alpha = f64::from(4096 - dv) / 4096.0;
        let rho = f64::from(4096 - da) / 4096.0;
        let kappa = (-1.0 / net.tau_out).exp();
        let v_per_real = THR_V as f64 / net.thr;
        let a_inc = (net.beta * (1.0 - rho) * v_per_real).round() as i32;
        let lif = LifParams {
            du: 4095,
            dv,
            vth: (THR_V >> 6) as u32,
            bias_mant: 0,
            bias_exp: 0,
            refractory: net.refractory,
        };
        let params = (0..n)
            .map(|j| AlifParams {
                lif,
                da,
                a_inc: if j < net.n_lif { 0 } else { a_inc },
                reset: Reset::SubtractBase,
            })
            .collect();
        // The eligibility unit's β in threshold units: a_inc / ((1 − ρ)·thr).
        let beta_hat = f64::from(a_inc) / ((1.0 - rho) * THR_V as f64);
        let ep = |beta: f64| EpropParams {
            alpha,
            rho,
            beta,
            kappa,
            eta: 0.0,
            channel: 0,
            frac_bits: opts.frac_bits,
        };
        let (lif_c, alif_c) = (ep(0.0).consts(), ep(beta_hat).consts());

        // Weights.
        let n_in = net.inputs;
        let in_max = net
            .w
            .iter()
            .zip(&net.src)
            .filter(|(_, &s)| (s as usize) < n_in)
            .fold(0.0f64, |m, (w, _)| m.max(w.abs()));
        let rec_max = net
            .w
            .iter()
            .zip(&net.src)
            .filter(|(_, &s)| (s as usize) >= n_in)
            .fold(0.0f64, |m, (w, _)| m.max(w.abs()));
        let out_max = net.w_out.iter().fold(0.0f64, |m, w| m.max(w.abs()));
        let to_v = (1.0 - alpha) * v_per_real;
        let bits = opts.weight_bits;
        let exp = [
            exponent_for(in_max * to_v, bits),
            exponent_for(rec_max * to_v, bits),
            exponent_for(out_max * f64::from(1u32 << Q), bits),
        ];
        let wmax = (1i32 << (bits - 1)) - 1;
        let q = |x: f64, e: u32| {
            ((x / f64::from(1u32 << e)).round() as i64).clamp(-(wmax as i64), wmax as i64) as i32
        };
        let w: Vec<i32> = net
            .w
            .iter()
            .zip(&net.src)
            .map(|(&x, &s)| {
                let g = usize::from(s as usize >= n_in);
                q(x * to_v, exp[g])
            })
            .collect();
        let w_out: Vec<i32> = net
            .w_out
            .iter()
            .zip(&net.out_mask)
            .map(|(&x, &on)| {
                if on {
                    q(x * f64::from(1u32 << Q), exp[2])
                } else {
                    0
                }
            })
            .collect();
        // Learning rates: Δmant = −η·g (module docs of `run` give g's units).
        let ebits = f64::from(u32::from(opts.frac_bits) + 24);
        let (bw, win) = (opts.batch as f64, opts.window as f64);
        let eta_syn = |lr: f64, e: u32| {
            lr * to_v / (f64::from(1u32 << e) * bw * net.thr * win * 2f64.powf(ebits))
        };
        let eta = [
            eta_syn(opts.lr[0], exp[0]),
            eta_syn(opts.lr[1], exp[1]),
            opts.lr[2] * f64::from(1u32 << Q)
                / (f64::from(1u32 << exp[2]) * bw * win * 2f64.powi(2 * Q as i32)),
        ];
        let me = eta.map(mant_exp);
        let syn_unit = 1.0 / (bw * net.thr * win * 2f64.powf(ebits));
        let out_unit = 1.0 / (bw * win * 2f64.powi(2 * Q as i32));
        let n_weights = net.w.len() + net.w_out.len();
        let groups = WeightGroups {
            exp,
            eta_m: me.map(|m| m.0),
            eta_e: me.map(|m| m.1),
        };

        // Source-major view for spike delivery.
        let ns = n_in + n;
        let mut out_start = vec![0usize; ns + 1];
        for &s in &net.src {
            out_start[s as usize + 1] += 1;
        }
        for s in 0..ns {
            out_start[s + 1] += out_start[s];
        }
        let mut fill = out_start.clone();
        let mut out_post = vec![0u32; net.src.len()];
        let mut out_syn = vec![0u32; net.src.len()];
        for j in 0..n {
            for sy in net.row_start[j]..net.row_start[j + 1] {
                let s = net.src[sy] as usize;
                out_post[fill[s]] = j as u32;
                out_syn[fill[s]] = sy as u32;
                fill[s] += 1;
            }
        }
        let fb = |x: f64| {
            (x * f64::from(1u32 << Q))
                .round()
                .clamp(-(i32::MAX as f64), i32::MAX as f64) as i32
        };
        let feedback: Vec<Vec<(usize, i32)>> = (0..n)
            .map(|j| {
                (0..o)
                    .filter(|&k| net.b[k * n + j] != 0.0)
                    .map(|k| (k, fb(net.b[k * n + j])))
                    .collect()
            })
            .collect();
        let injectors = (0..n).filter(|&j| !feedback[j].is_empty()).collect();
        let pow = |x: f64| -> Vec<i64> {
            (0..=opts.max_steps)
                .map(|i| (x.powi(i as i32) * f64::from(1u32 << POW_BITS)).round() as i64)
                .collect()
        };
        let side = net.grid_side;
        let mut core = EpropCore {
            n,
            n_lif: net.n_lif,
            inputs: n_in,
            outputs: o,
            side,
            cell: net
                .cell
                .iter()
                .map(|&c| ((c % side as usize) as u32, (c / side as usize) as u32))
                .collect(),
            params,
            lif_c,
            alif_c,
            kappa: alif_c.kappa,
            row_start: net.row_start.clone(),
            src: net.src.clone(),
            w,
            out_start,
            out_post,
            out_syn,
            w_out,
            out_mask: net.out_mask.clone(),
            feedback,
            injectors,
            grid_kernel: match net.feedback {
                Feedback::Diffusion { k } => k,
                _ => 0.0,
            },
            groups,
            wmax,
            rho_pow: pow(rho),
            kappa_pow: pow(kappa),
            error_unit: ErrorUnit::new(),
            opts: opts.clone(),
            v_per_real,
            alpha_chip: alpha,
            tau_out: net.tau_out,
            updates: 0,
            grad_unit: [syn_unit, syn_unit, out_unit],
            mant_per_real: [
                to_v / f64::from(1u32 << exp[0]),
                to_v / f64::from(1u32 << exp[1]),
                f64::from(1u32 << Q) / f64::from(1u32 << exp[2]),
            ],
            adam_m: if opts.adam.is_some() {
                vec![0.0; n_weights]
            } else {
                Vec::new()
            },
            adam_v: if opts.adam.is_some() {
                vec![0.0; n_weights]
            } else {
                Vec::new()
            },
            fast: None,
        };
        core.fast = super::bank::Fast::new(&core);
        Ok(core)
    }

    pub fn neurons(&self) -> usize {
        self.n
    }

    pub fn synapses(&self) -> usize {
        self.w.len()
    }

    pub fn options(&self) -> &CoreOptions {
        &self.opts
    }

    pub fn groups(&self) -> &WeightGroups {
        &self.groups
    }

    /// Weight mantissas by postsynaptic row (v units after the group's shift).
    pub fn weights(&self) -> &[i32] {
        &self.w
    }

    pub fn readout_weights(&self) -> &[i32] {
        &self.w_out
    }

    /// The weights in the float model's units (input and recurrent, then readout).
    pub fn real_weights(&self) -> (Vec<f64>, Vec<f64>) {
        let to_v = (1.0 - self.alpha_chip) * self.v_per_real;
        let syn = self
            .w
            .iter()
            .zip(&self.src)
            .map(|(&m, &s)| {
                let g = usize::from(s as usize >= self.inputs);
                f64::from(m) * f64::from(1u32 << self.groups.exp[g]) / to_v
            })
            .collect();
        let out = self
            .w_out
            .iter()
            .map(|&m| f64::from(m) * f64::from(1u32 << self.groups.exp[2]) / f64::from(1u32 << Q))
            .collect();
        (syn, out)
    }

    /// The first step at which ē is kept for a window starting at `window_start`:
    /// `⌈τout·(F + 1)·ln 2⌉` steps before it, where what ē carried from earlier is
    /// below half an LSB.
    pub fn ebar_from(&self, window_start: usize) -> usize {
        let f = f64::from(self.opts.frac_bits) + 1.0;
        let horizon = (self.tau_out * f * std::f64::consts::LN_2).ceil() as usize;
        window_start.saturating_sub(horizon)
    }

    /// Cells of the modulator grid (`side²`).
    pub fn grid_side(&self) -> u32 {
        self.side
    }

    /// The grid cell `(x, y)` of each neuron.
    pub fn cells(&self) -> &[(u32, u32)] {
        &self.cell
    }

    /// Weight updates applied so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }
}

impl EpropCore {
    /// The cells of the neurons that inject a learning signal.
    pub fn injector_cells(&self) -> Vec<(u32, u32)> {
        self.injectors.iter().map(|&j| self.cell[j]).collect()
    }
}
