//! The LIF/ALIF network: neuron placement on the grid, local recurrent connectivity,
//! sparse input and readout, and the initial weights.
//!
//! Synapses (input and recurrent alike) are stored once, as dense f32 arrays in CSR
//! order by postsynaptic neuron: row `j` is `row_start[j]..row_start[j + 1]`, and
//! `src[s]` names the presynaptic source, input `i` as `i` and neuron `i` as
//! `inputs + i`. Every per-synapse state of e-prop (traces, gradients, optimiser
//! moments) uses the same indexing, so a row's work is one contiguous sweep. Spike
//! propagation needs the opposite view (by source), kept as an index list into the
//! same weight array, so a weight update never has to be copied.

use crate::error::Error;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Sizes and constants of the network (dt = 1 ms; times in ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetParams {
    /// Neurons `0..n_lif` are LIF (β = 0), `n_lif..n_lif + n_alif` ALIF.
    pub n_lif: usize,
    pub n_alif: usize,
    pub inputs: usize,
    pub outputs: usize,
    /// Neurons sit at distinct cells of a `grid_side × grid_side` grid.
    pub grid_side: usize,
    pub tau_m: f32,
    pub tau_out: f32,
    pub tau_a: f32,
    pub thr: f32,
    /// Threshold adaptation strength of ALIF neurons.
    pub beta: f32,
    /// Pseudo-derivative height factor γ in `ψ = (γ/thr)·max(0, 1 − |v − A|/thr)`.
    pub gamma: f32,
    /// Steps a neuron cannot spike after a spike.
    pub refractory: u32,
    /// Width σ of the connection probability `1/(1 + exp(d²/(4σ)))`.
    pub sigma: f32,
    /// Fraction of all input→neuron pairs that get a synapse.
    pub input_density: f32,
    /// Fraction of the neurons each output reads.
    pub readout_density: f32,
}

impl NetParams {
    pub fn neurons(&self) -> usize {
        self.n_lif + self.n_alif
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        let n = self.neurons();
        if n == 0 || self.outputs == 0 || self.inputs == 0 {
            return Err(Error::config(
                "neurons, inputs and outputs must be positive",
            ));
        }
        if n > self.grid_side * self.grid_side {
            return Err(Error::config(format!(
                "{n} neurons do not fit a {0}×{0} grid",
                self.grid_side
            )));
        }
        if self.inputs + n > u32::MAX as usize / 2 || self.inputs > u16::MAX as usize {
            return Err(Error::config("too many inputs or neurons"));
        }
        for (name, v) in [
            ("tau_m", self.tau_m),
            ("tau_out", self.tau_out),
            ("tau_a", self.tau_a),
            ("thr", self.thr),
            ("sigma", self.sigma),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!(
                    "{name} = {v}: must be finite and > 0"
                )));
            }
        }
        for (name, v) in [
            ("beta", self.beta),
            ("gamma", self.gamma),
            ("input_density", self.input_density),
            ("readout_density", self.readout_density),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(format!(
                    "{name} = {v}: must be finite and >= 0"
                )));
            }
        }
        if self.input_density > 1.0 || self.readout_density > 1.0 {
            return Err(Error::config("densities must be at most 1"));
        }
        Ok(())
    }
}

/// A standard normal truncated to ±2 and rescaled to unit variance, as JAX's
/// `truncated_normal` (so `kaiming_normal` initial weights match the reference code).
fn trunc_normal(rng: &mut ChaCha8Rng) -> f32 {
    loop {
        // Box–Muller; both halves are usable but one keeps the stream simple.
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random();
        let x = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        if x.abs() < 2.0 {
            return (x / 0.879_625_661_034_239_8) as f32;
        }
    }
}

/// `k` distinct values of `0..n` in random order (partial Fisher–Yates).
fn choose(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = rng.random_range(i..n);
        all.swap(i, j);
    }
    all.truncate(k);
    all
}

/// The network's structure and weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Net {
    pub p: NetParams,
    /// The grid cell (`row * side + col`) of each neuron.
    pub cell: Vec<usize>,
    /// β per neuron (0 for LIF).
    pub beta: Vec<f32>,
    pub row_start: Vec<usize>,
    pub src: Vec<u32>,
    pub w: Vec<f32>,
    /// By source: `out_post[out_start[s]..out_start[s + 1]]` are the neurons source `s`
    /// reaches through synapses `out_syn[..]` (indices into `w`).
    pub out_start: Vec<usize>,
    pub out_post: Vec<u32>,
    pub out_syn: Vec<u32>,
    /// Readout weights `w_out[k * n + j]`, exactly 0 where `out_mask` is false.
    pub w_out: Vec<f32>,
    pub out_mask: Vec<bool>,
    /// Feedback of the `sparse`/`diffusion` conditions: the initial readout weights.
    pub b_sparse: Vec<f32>,
    /// Feedback of the `full` condition: every entry drawn at the readout's scale.
    pub b_full: Vec<f32>,
}

impl Net {
    /// Draws placement, connectivity and weights from `rng`:
    /// - neurons at distinct random cells, positions at cell centres in [0, 1]²;
    /// - recurrent synapse j←i (i ≠ j) with probability `1/(1 + exp(d²/(4σ)))`, d the
    ///   toroidal distance;
    /// - `round(input_density · inputs · n)` input synapses at distinct random pairs;
    /// - each output reads `round(readout_density · n)` distinct random neurons;
    /// - weights N(0, 2/fan_in) truncated at ±2 std (Kaiming normal, gain 1, as the
    ///   neuromodRNNs code), fan_in = inputs for input weights and n for recurrent
    ///   and readout weights, computed over the full (unmasked) matrix.
    pub fn new(p: &NetParams, rng: &mut ChaCha8Rng) -> Result<Net, Error> {
        p.check()?;
        let n = p.neurons();
        let ni = p.inputs;
        let side = p.grid_side;
        let cell = choose(rng, side * side, n);
        let pos: Vec<(f32, f32)> = cell
            .iter()
            .map(|&c| {
                let (r, col) = (c / side, c % side);
                (
                    (col as f32 + 0.5) / side as f32,
                    (r as f32 + 0.5) / side as f32,
                )
            })
            .collect();
        let tor = |a: f32, b: f32| {
            let d = (a - b).abs();
            d.min(1.0 - d)
        };
        // Connectivity matrix by (post, source), decided in a fixed order.
        let mut conn = vec![false; n * (ni + n)];
        for j in 0..n {
            for i in 0..n {
                let u: f64 = rng.random();
                if i == j {
                    continue;
                }
                let dx = tor(pos[i].0, pos[j].0);
                let dy = tor(pos[i].1, pos[j].1);
                let d2 = f64::from(dx * dx + dy * dy);
                let prob = 1.0 / (1.0 + (d2 / (4.0 * f64::from(p.sigma))).exp());
                conn[j * (ni + n) + ni + i] = u < prob;
            }
        }
        let n_in = (f64::from(p.input_density) * (ni * n) as f64).round() as usize;
        for pair in choose(rng, ni * n, n_in) {
            let (i, j) = (pair / n, pair % n);
            conn[j * (ni + n) + i] = true;
        }
        let std_in = (2.0 / ni as f32).sqrt();
        let std_rec = (2.0 / n as f32).sqrt();
        let mut row_start = vec![0];
        let mut src = Vec::new();
        let mut w = Vec::new();
        for j in 0..n {
            for s in 0..ni + n {
                if conn[j * (ni + n) + s] {
                    src.push(s as u32);
                    let std = if s < ni { std_in } else { std_rec };
                    w.push(std * trunc_normal(rng));
                }
            }
            row_start.push(src.len());
        }
        let o = p.outputs;
        let per_out = (f64::from(p.readout_density) * n as f64).round() as usize;
        let mut out_mask = vec![false; o * n];
        let mut w_out = vec![0.0f32; o * n];
        for k in 0..o {
            let mut chosen = choose(rng, n, per_out);
            chosen.sort_unstable();
            for j in chosen {
                out_mask[k * n + j] = true;
                w_out[k * n + j] = std_rec * trunc_normal(rng);
            }
        }
        let b_full = (0..o * n).map(|_| std_rec * trunc_normal(rng)).collect();
        Net::from_parts(
            p,
            cell,
            row_start,
            src,
            w,
            w_out.clone(),
            out_mask,
            w_out,
            b_full,
        )
    }

    /// A network given synapse by synapse (row `j` of `row_start`/`src`/`w` holds the
    /// synapses onto neuron j), with its readout `w_out[k·n + j]` (only `out_mask`
    /// entries exist), the feedback of `sparse`/`diffusion` and of `full`, and each
    /// neuron's grid cell.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        p: &NetParams,
        cell: Vec<usize>,
        row_start: Vec<usize>,
        src: Vec<u32>,
        w: Vec<f32>,
        w_out: Vec<f32>,
        out_mask: Vec<bool>,
        b_sparse: Vec<f32>,
        b_full: Vec<f32>,
    ) -> Result<Net, Error> {
        p.check()?;
        let (n, ni, o) = (p.neurons(), p.inputs, p.outputs);
        let consistent = cell.len() == n
            && cell.iter().all(|&c| c < p.grid_side * p.grid_side)
            && row_start.len() == n + 1
            && row_start.windows(2).all(|x| x[0] <= x[1])
            && row_start.last() == Some(&src.len())
            && w.len() == src.len()
            && src.iter().all(|&s| (s as usize) < ni + n)
            && [w_out.len(), out_mask.len(), b_sparse.len(), b_full.len()]
                .iter()
                .all(|&l| l == o * n);
        if !consistent {
            return Err(Error::config(
                "a network's cells, rows, readout and feedback must match its sizes",
            ));
        }
        let mut out_start = vec![0usize; ni + n + 1];
        for &s in &src {
            out_start[s as usize + 1] += 1;
        }
        for s in 0..ni + n {
            out_start[s + 1] += out_start[s];
        }
        let mut fill = out_start.clone();
        let mut out_post = vec![0u32; src.len()];
        let mut out_syn = vec![0u32; src.len()];
        for j in 0..n {
            for (sy, &s) in src
                .iter()
                .enumerate()
                .take(row_start[j + 1])
                .skip(row_start[j])
            {
                let s = s as usize;
                out_post[fill[s]] = j as u32;
                out_syn[fill[s]] = sy as u32;
                fill[s] += 1;
            }
        }
        let beta = (0..n)
            .map(|j| if j < p.n_lif { 0.0 } else { p.beta })
            .collect();
        Ok(Net {
            p: p.clone(),
            cell,
            beta,
            row_start,
            src,
            b_sparse,
            w,
            out_start,
            out_post,
            out_syn,
            w_out,
            out_mask,
            b_full,
        })
    }

    pub fn neurons(&self) -> usize {
        self.p.neurons()
    }

    pub fn synapses(&self) -> usize {
        self.w.len()
    }

    /// Input and recurrent synapse counts.
    pub fn synapse_counts(&self) -> (usize, usize) {
        let ni = self.p.inputs as u32;
        let inp = self.src.iter().filter(|&&s| s < ni).count();
        (inp, self.src.len() - inp)
    }

    /// Recurrent synapses over the n(n − 1) possible ones.
    pub fn recurrent_density(&self) -> f64 {
        let n = self.neurons() as f64;
        self.synapse_counts().1 as f64 / (n * (n - 1.0)).max(1.0)
    }
}
