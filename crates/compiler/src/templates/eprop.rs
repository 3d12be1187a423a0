//! The e-prop network of `docs/eprop.md` (50 LIF + 50 ALIF neurons on a 10 × 10 grid,
//! local recurrent connectivity, sparse input and readout) as a [`Program`], following
//! the float reference `amine_tasks::eprop::Net` in structure:
//!
//! - populations `lif` and `alif` (both the `Alif` model with `subtract_reset`; `lif`
//!   with no adaptation), each neuron at a distinct random cell of the `grid` lattice
//!   (`Positions::List`); reference neuron `j` is `lif[j]` for `j < lif`, else
//!   `alif[j − lif]`;
//! - an `External` spike port `x` of `inputs` channels (the host sends the task's
//!   Bernoulli spikes);
//! - recurrent synapses j←i (i ≠ j) with probability `1/(1 + exp(d²/(4σ)))`, d the
//!   toroidal distance on the lattice (in units of its side), exactly
//!   `round(input_p · inputs · n)` input synapses at distinct random pairs, weights
//!   Kaiming normal (N(0, 2/fan_in) truncated at ±2 sd, fan_in = inputs or n), all drawn
//!   from one ChaCha8 stream seeded with `seed`, in the reference's order, and written as
//!   `Sparse` lists; every such projection learns with the `eprop` rule (`docs/learning.md`),
//!   channel 0 of the modulator grid, one update per `epoch` steps;
//! - leaky graded readout units `y0..` (`outputs` of them, population `y`, the sigmoid
//!   with `tau_syn = tau_out`), each reading `round(readout_p · n)` distinct random
//!   neurons through fixed weights.
//!
//! **Scales.** The float model's membrane is in units where the threshold is `thr`
//! (0.03); here a real unit of `v` is `THRESHOLD / thr` weight units, so the threshold is
//! [`THRESHOLD`] (1,000) weight units whatever `thr` is. The float model integrates
//! `(1 − α)·W·z` with `α = e^(−1/τm)`; the chip's `v` adds its input current unscaled
//! (`tau_syn` = 1 step, so `u` keeps no memory), so a real weight `w` becomes
//! `(1 − α)·w·THRESHOLD/thr` weight units (a recurrent weight of one sd, 0.14, is about
//! 230). The ALIF threshold rises per spike by `β·(1 − ρ)` real units (`adapt`), and the
//! `eprop` rule's `beta` is in threshold units, `β/thr` (60 for 1.8 / 0.03). The readout
//! units use the same scale, with `(1 − κ)` in place of `(1 − α)`, and a sigmoid whose
//! `u0` is one real unit (`y = 1` reads `σ(2) ≈ 0.88`; `y = 0` reads ½).
//!
//! **Modulator grid.** The lattice is laid on the chip grid's first `grid` cells, one
//! lattice cell per chip cell (`chip_grid` is the chip's grid size: positions are
//! `(x + ½)/chip_width`, …), so the kernel acts per lattice cell as in the reference.
//! [`Feedback::Diffusion`] sets the kernel to `k/9` in every entry: with the chip's
//! kernel the centre keeps `1 − 4·edge − 4·corner` and decay removes a fraction after
//! the spread, so `edge = corner = 1/9` (the centre keeps 1/9 too) and `decay = 1 − k`
//! (see [`Feedback::registers`]), on a torus. The torus wraps at the chip grid's edges:
//! it is the reference's 10 × 10 torus only on a chip whose grid is the lattice
//! (`chip_grid == grid`); on Loihi's 32 × 32 grid mass spreading past the lattice's edge
//! is lost to it. [`Feedback::Sparse`] and [`Feedback::Full`] keep no kernel and no
//! memory (decay 1: a cell holds what was injected into it in that step) — every neuron
//! has its own cell, so `full`'s dense feedback is an injection at every neuron's cell.
//!
//! **Not yet generated** (the remaining pieces of `docs/learning.md`, "What remains"):
//! the error units (`softmax(y) − onehot`, injecting `Σ_k B_kj·err_k` into channel 0 at
//! neuron j's cell — `B` = the initial readout weights for `sparse`/`diffusion`, a dense
//! draw for `full`), readout learning, and the learning-window gating. Until then the
//! program has no modulator sources, so the `eprop` slots see `m = 0` and their
//! eligibility traces run without changing weights.

use crate::program::{
    Activation, Connect, Input, LearningSpec, MappingHints, Model, Overflow, Population, Positions,
    Program, Projection, Source, Time,
};
use amine_chip::config::{Boundary, Kernel};
use amine_chip::image::{GridRegisters, Sign};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The neurons' threshold in weight units (the scale of every weight; module docs).
pub const THRESHOLD: f64 = 1000.0;

/// How the learning signal reaches the recurrent neurons (`docs/eprop.md`, conditions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Feedback {
    /// Injected at the readout neurons' cells and spread by a uniform `k/9` 3×3 kernel.
    Diffusion { k: f64 },
    /// Only the neurons with a readout weight hear it, at their own cell (no kernel).
    Sparse,
    /// Every neuron hears a dense random feedback, at its own cell (no kernel).
    Full,
}

impl Feedback {
    /// The grid registers of this condition: for `Diffusion { k }` a kernel of `k/9` in
    /// every one of the 9 entries (`edge = corner = 1/9`, `decay = 1 − k`, torus); else
    /// no kernel and decay 1.
    pub fn registers(&self) -> GridRegisters {
        match *self {
            Feedback::Diffusion { k } => GridRegisters {
                kernel: Kernel {
                    edge: 1.0 / 9.0,
                    corner: 1.0 / 9.0,
                },
                decay: 1.0 - k,
                boundary: Boundary::Torus,
                size: None,
            },
            Feedback::Sparse | Feedback::Full => GridRegisters {
                kernel: Kernel {
                    edge: 0.0,
                    corner: 0.0,
                },
                decay: 1.0,
                boundary: Boundary::Torus,
                size: None,
            },
        }
    }
}

/// The cue-accumulation network of `docs/eprop.md` by default.
#[derive(Debug, Clone, PartialEq)]
pub struct EpropNetwork {
    pub name: String,
    pub inputs: u32,
    /// Neurons without adaptation (the reference's first `lif` neurons).
    pub lif: u32,
    pub alif: u32,
    pub tau_m_ms: f64,
    pub tau_a_ms: f64,
    /// Leak of the readouts and of the eligibility filter ē.
    pub tau_out_ms: f64,
    /// Threshold and adaptation strength in the float model's units.
    pub thr: f64,
    pub beta: f64,
    pub refractory_ms: f64,
    pub outputs: u32,
    /// Width σ of the connection probability `1/(1 + exp(d²/(4σ)))`.
    pub sigma: f64,
    /// Fraction of input→neuron pairs with a synapse.
    pub input_p: f64,
    /// Fraction of the neurons each readout reads.
    pub readout_p: f64,
    pub condition: Feedback,
    /// Learning rate of the `eprop` rule (its `eta`, in weight units per `ĝ`).
    pub eta: f64,
    /// Steps between weight updates (one cue-accumulation trial: 2,050).
    pub epoch: u32,
    pub seed: u64,
    /// The placement lattice (width, height): one neuron per cell at most.
    pub grid: (u32, u32),
    /// The target chip's modulator grid (width, height); the lattice sits in its corner.
    pub chip_grid: (u32, u32),
}

impl Default for EpropNetwork {
    fn default() -> EpropNetwork {
        EpropNetwork {
            name: "eprop_cue".into(),
            inputs: 40,
            lif: 50,
            alif: 50,
            tau_m_ms: 20.0,
            tau_a_ms: 2000.0,
            tau_out_ms: 20.0,
            thr: 0.03,
            beta: 1.8,
            refractory_ms: 5.0,
            outputs: 2,
            sigma: 0.012,
            input_p: 0.1,
            readout_p: 0.1,
            condition: Feedback::Diffusion { k: 0.75 },
            eta: 0.0625,
            epoch: 2050,
            seed: 1,
            grid: (10, 10),
            chip_grid: (32, 32),
        }
    }
}

impl EpropNetwork {
    pub fn neurons(&self) -> u32 {
        self.lif + self.alif
    }

    /// Weight units per real unit of the float model's membrane.
    pub fn scale(&self) -> f64 {
        THRESHOLD / self.thr
    }
}

/// A standard normal truncated to ±2 and rescaled to unit variance (as the reference).
fn trunc_normal(rng: &mut ChaCha8Rng) -> f64 {
    loop {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random();
        let x = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        if x.abs() < 2.0 {
            return x / 0.879_625_661_034_239_8;
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

/// The program of `net` (see the module docs for its layout and scales).
pub fn eprop(net: &EpropNetwork) -> Program {
    let n = net.neurons() as usize;
    let ni = net.inputs as usize;
    let (gw, gh) = (net.grid.0.max(1) as usize, net.grid.1.max(1) as usize);
    let mut rng = ChaCha8Rng::seed_from_u64(net.seed);
    // Placement: distinct lattice cells (row-major), as the reference.
    let cell = choose(&mut rng, gw * gh, n);
    let lattice: Vec<(f64, f64)> = cell
        .iter()
        .map(|&c| ((c % gw) as f64, (c / gw) as f64))
        .collect();
    let tor = |a: f64, b: f64, side: usize| {
        let d = (a - b).abs() / side as f64;
        d.min(1.0 - d)
    };
    // conn[j][s]: post j from source s (inputs 0..ni, then neurons).
    let mut conn = vec![false; n * (ni + n)];
    for j in 0..n {
        for i in 0..n {
            let u: f64 = rng.random();
            if i == j {
                continue;
            }
            let dx = tor(lattice[i].0, lattice[j].0, gw);
            let dy = tor(lattice[i].1, lattice[j].1, gh);
            let prob = 1.0 / (1.0 + ((dx * dx + dy * dy) / (4.0 * net.sigma)).exp());
            conn[j * (ni + n) + ni + i] = u < prob;
        }
    }
    let n_in = (net.input_p * (ni * n) as f64).round() as usize;
    for pair in choose(&mut rng, ni * n, n_in) {
        let (i, j) = (pair / n, pair % n);
        conn[j * (ni + n) + i] = true;
    }
    let alpha = (-1.0 / net.tau_m_ms).exp();
    let rho = (-1.0 / net.tau_a_ms).exp();
    let kappa = (-1.0 / net.tau_out_ms).exp();
    let scale = net.scale();
    let std_in = (2.0 / ni.max(1) as f64).sqrt() * (1.0 - alpha) * scale;
    let std_rec = (2.0 / n.max(1) as f64).sqrt();
    // Sparse lists by (source population, target population): 0 = x, 1 = lif, 2 = alif.
    let nl = net.lif as usize;
    let split = |s: usize| -> (usize, u32) {
        if s < ni {
            (0, s as u32)
        } else if s - ni < nl {
            (1, (s - ni) as u32)
        } else {
            (2, (s - ni - nl) as u32)
        }
    };
    let mut lists: Vec<Vec<Vec<(u32, u32, f64)>>> = vec![vec![Vec::new(); 3]; 3];
    for j in 0..n {
        let (tp, tj) = split(ni + j);
        for s in 0..ni + n {
            if conn[j * (ni + n) + s] {
                let std = if s < ni {
                    std_in
                } else {
                    std_rec * (1.0 - alpha) * scale
                };
                let (sp, si) = split(s);
                lists[sp][tp].push((si, tj, std * trunc_normal(&mut rng)));
            }
        }
    }
    let per_out = (net.readout_p * n as f64).round() as usize;
    let mut readout: Vec<Vec<(u32, u32, f64)>> = vec![Vec::new(); 3];
    for k in 0..net.outputs {
        let mut chosen = choose(&mut rng, n, per_out);
        chosen.sort_unstable();
        for j in chosen {
            let (sp, sj) = split(ni + j);
            let w = std_rec * trunc_normal(&mut rng) * (1.0 - kappa) * scale;
            readout[sp].push((sj, k, w));
        }
    }

    let (cw, ch) = (net.chip_grid.0.max(1) as f64, net.chip_grid.1.max(1) as f64);
    let at = |(x, y): (f64, f64)| ((x + 0.5) / cw, (y + 0.5) / ch);
    let neuron = |adapt: f64, positions: &[(f64, f64)]| {
        (
            Model::Alif {
                tau_syn: Time::Steps(1.0),
                tau_mem: Time::Ms(net.tau_m_ms),
                threshold: THRESHOLD,
                tau_adapt: Time::Ms(net.tau_a_ms),
                adapt,
                bias: 0.0,
                refractory: Some(Time::Ms(net.refractory_ms)),
                subtract_reset: true,
                reset: None,
            },
            Some(Positions::List(positions.iter().map(|&p| at(p)).collect())),
        )
    };
    let pop = |name: &str, size: u32, (model, positions)| Population {
        name: name.into(),
        size,
        model,
        sign: Sign::Mixed,
        positions,
    };
    let adapt = net.beta * (1.0 - rho) * scale;
    let populations = vec![
        pop("lif", net.lif, neuron(0.0, &lattice[..nl])),
        pop("alif", net.alif, neuron(adapt, &lattice[nl..])),
        Population {
            name: "y".into(),
            size: net.outputs,
            model: Model::Graded {
                u0: scale,
                span: 5.0,
                payload_bits: 8,
                bias: 0.0,
                tau_syn: Some(Time::Ms(net.tau_out_ms)),
                activation: Activation::Sigmoid,
                event_driven: false,
            },
            sign: Sign::Mixed,
            positions: None,
        },
    ];
    let learn = |beta: f64| LearningSpec {
        rule: "eprop".into(),
        params: BTreeMap::from([
            ("eta".to_string(), net.eta),
            ("beta".to_string(), beta),
            ("tau_m".to_string(), net.tau_m_ms),
            ("tau_a".to_string(), net.tau_a_ms),
            ("tau_out".to_string(), net.tau_out_ms),
            ("channel".to_string(), 0.0),
        ]),
        epoch: net.epoch,
        overflow: Overflow::Clamp,
        traces: Default::default(),
    };
    let names = ["x", "lif", "alif"];
    let projection = |from: &str, to: &str, list: Vec<(u32, u32, f64)>, learning| Projection {
        name: None,
        from: from.into(),
        to: to.into(),
        connect: Connect::Sparse(list),
        weight: None,
        delay: 0,
        weight_bits: None,
        seed: None,
        learning,
        sign: None,
    };
    let mut projections = Vec::new();
    for (sp, row) in lists.into_iter().enumerate() {
        for (tp, list) in row.into_iter().enumerate().skip(1) {
            if list.is_empty() {
                continue;
            }
            let beta = if tp == 2 { net.beta / net.thr } else { 0.0 };
            projections.push(projection(names[sp], names[tp], list, Some(learn(beta))));
        }
    }
    for (sp, list) in readout.into_iter().enumerate().skip(1) {
        if !list.is_empty() {
            projections.push(projection(names[sp], "y", list, None));
        }
    }
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
        grid: Some(net.condition.registers()),
    }
}
