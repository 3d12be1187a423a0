//! Training: batches of trials simulated in parallel, the batch-mean gradient applied
//! by SGD or Adam, and a learning curve with evaluation on fresh trials.
//!
//! Determinism for any thread count: every trial gets its own rng seed drawn in order
//! from the run's stream, is generated and simulated by whichever thread takes it,
//! writes its gradient into its own buffer, and the buffers are summed in trial order
//! (in f64). So the thread count changes only the wall time.

use super::net::Net;
use super::sim::{run_trial, LearnParams, Scratch, TrialOut};
use super::tasks::{TaskGen, Trial};
use super::{Condition, EpropConfig, Optimizer};
use crate::error::Error;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Summary of a set of trials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalStats {
    pub trials: usize,
    /// Classification accuracy (NaN for regression).
    pub accuracy: f64,
    /// Loss per window step per trial (cross-entropy, or ½·err²).
    pub loss: f64,
    /// Regression: Σ err² / Σ (target − mean)² over the window (NaN for classification).
    pub nmse: f64,
    /// Mean firing rate (Hz) of the LIF and of the ALIF population (NaN for a
    /// population of no neurons).
    pub rate_lif_hz: f64,
    pub rate_alif_hz: f64,
}

/// One learning-curve point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Training trials seen so far.
    pub trials: usize,
    /// The training trials since the previous point (measured before each update).
    pub train: EvalStats,
    /// Fresh trials after the last update (absent with `eval_trials = 0`).
    pub eval: Option<EvalStats>,
}

/// The outcome of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpropResult {
    pub curve: Vec<CurvePoint>,
    /// `eval_trials` fresh trials (at least 1) after the last update.
    pub final_eval: EvalStats,
    /// RMS of the batch-mean gradient of the first batch over input, recurrent and
    /// readout weights.
    pub grad_rms_init: [f64; 3],
    pub input_synapses: usize,
    pub recurrent_synapses: usize,
    pub recurrent_density: f64,
    pub trials: usize,
}

/// Accumulates trial outcomes into [`EvalStats`].
#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    correct: usize,
    loss: f64,
    window_steps: usize,
    sq_err: f64,
    target_ss: f64,
    spikes: [u64; 2],
    steps: usize,
}

impl Tally {
    fn add(&mut self, o: &TrialOut) {
        self.trials += 1;
        self.correct += usize::from(o.correct);
        self.loss += o.loss;
        self.window_steps += o.window_steps;
        self.sq_err += o.sq_err;
        self.target_ss += o.target_ss;
        self.spikes[0] += o.spikes_lif;
        self.spikes[1] += o.spikes_alif;
        self.steps += o.steps;
    }

    fn stats(&self, net: &Net, classification: bool) -> EvalStats {
        let hz = |spikes: u64, count: usize| {
            if count == 0 {
                f64::NAN // no such population
            } else if self.steps == 0 {
                0.0
            } else {
                1000.0 * spikes as f64 / (count * self.steps) as f64
            }
        };
        EvalStats {
            trials: self.trials,
            accuracy: if classification {
                self.correct as f64 / self.trials.max(1) as f64
            } else {
                f64::NAN
            },
            loss: self.loss / self.window_steps.max(1) as f64,
            nmse: if classification {
                f64::NAN
            } else {
                self.sq_err / self.target_ss.max(f64::MIN_POSITIVE)
            },
            rate_lif_hz: hz(self.spikes[0], net.p.n_lif),
            rate_alif_hz: hz(self.spikes[1], net.p.n_alif),
        }
    }
}

/// Runs `seeds.len()` trials (trial `i` generated from `seeds[i]`) on up to
/// `scratch.len()` threads, into `outs[i]`.
fn run_batch(
    net: &Net,
    gen: &TaskGen,
    lp: &LearnParams,
    seeds: &[u64],
    scratch: &mut [Scratch],
    outs: &mut [TrialOut],
    learn: bool,
) -> Result<(), Error> {
    let one = |s: &mut Scratch, seed: u64, out: &mut TrialOut| -> Result<(), Error> {
        let trial: Trial = gen.trial(&mut ChaCha8Rng::seed_from_u64(seed));
        trial.check(net.p.inputs, net.p.outputs)?;
        run_trial(net, &trial, lp, s, out, learn);
        Ok(())
    };
    let chunk_run = |s: &mut Scratch, outs: &mut [TrialOut], seeds: &[u64]| {
        outs.iter_mut()
            .zip(seeds)
            .try_for_each(|(out, &seed)| one(s, seed, out))
    };
    let threads = scratch.len().min(seeds.len()).max(1);
    if threads == 1 {
        return chunk_run(&mut scratch[0], outs, seeds);
    }
    // Fixed chunks, one per scratch, on the process's pool.
    let chunk = seeds.len().div_ceil(threads);
    let results: Vec<Result<(), Error>> = scratch
        .par_iter_mut()
        .zip(outs[..seeds.len()].par_chunks_mut(chunk))
        .zip(seeds.par_chunks(chunk))
        .map(|((s, outs), seeds)| chunk_run(s, outs, seeds))
        .collect();
    // In chunk order, so the error reported does not depend on timing.
    results.into_iter().collect()
}

/// Adam moments, or nothing for SGD.
struct Opt {
    kind: Optimizer,
    lr: [f32; 3],
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Opt {
    fn step(&mut self, net: &mut Net, grad: &[f64], grad_out: &[f64]) {
        let ni = net.p.inputs as u32;
        let group = |s: u32| usize::from(s >= ni);
        self.t += 1;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        let syn = net.w.len();
        let mut update = |i: usize, g: f64, lr: f32| -> f32 {
            match self.kind {
                Optimizer::Sgd => -(f64::from(lr) * g) as f32,
                Optimizer::Adam => {
                    self.m[i] = b1 * self.m[i] + (1.0 - b1) * g;
                    self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g;
                    let mh = self.m[i] / c1;
                    let vh = self.v[i] / c2;
                    -(f64::from(lr) * mh / (vh.sqrt() + eps)) as f32
                }
            }
        };
        for (sy, &g) in grad.iter().enumerate() {
            let lr = self.lr[group(net.src[sy])];
            net.w[sy] += update(sy, g, lr);
        }
        for (q, &g) in grad_out.iter().enumerate() {
            if net.out_mask[q] {
                net.w_out[q] += update(syn + q, g, self.lr[2]);
            }
        }
    }
}

/// Trains the network of `cfg` on its task, calling `on_point` at every learning-curve
/// point (for progress output).
pub fn train(
    cfg: &EpropConfig,
    on_point: &mut dyn FnMut(&CurvePoint),
) -> Result<EpropResult, Error> {
    train_on(cfg, &TaskGen::new(cfg.task, cfg.seed), on_point)
}

/// [`train`] on the trials of `gen` (`cfg.task` is then only a label).
pub fn train_on(
    cfg: &EpropConfig,
    gen: &TaskGen,
    on_point: &mut dyn FnMut(&CurvePoint),
) -> Result<EpropResult, Error> {
    cfg.check(gen)?;
    let mut init_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let net = Net::new(&cfg.net, &mut init_rng)?;
    train_net(cfg, gen, net, on_point)
}

/// [`train_on`] for a given network (e.g. one built with [`Net::from_parts`] from a
/// network the chip runs); `cfg.net` must describe it.
pub fn train_net(
    cfg: &EpropConfig,
    gen: &TaskGen,
    mut net: Net,
    on_point: &mut dyn FnMut(&CurvePoint),
) -> Result<EpropResult, Error> {
    cfg.check(gen)?;
    if net.p != cfg.net {
        return Err(Error::config(
            "the network's parameters are not the config's",
        ));
    }
    let classification = gen.is_classification();
    let mut train_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7EA1_0000_0000_0001);
    let mut eval_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xE7A1_0000_0000_0002);
    let lp = LearnParams {
        condition: cfg.condition,
        k: match cfg.condition {
            Condition::Diffusion => cfg.k_diffusion,
            _ => 0.0,
        },
        c_reg: cfg.c_reg,
        f_target: cfg.f_target_hz / 1000.0,
        truncate_ebar: cfg.truncate_ebar,
        adjoint: cfg.adjoint,
    };
    let threads = cfg.threads.min(cfg.batch.max(cfg.eval_trials)).max(1);
    let mut scratch: Vec<Scratch> = (0..threads)
        .map(|_| Scratch::new(&net, lp.k, gen.steps()))
        .collect();
    let lr = match (cfg.optimizer, cfg.lr_groups) {
        (Optimizer::Sgd, Some(g)) => g,
        _ => [cfg.lr; 3],
    };
    let params = net.w.len() + net.w_out.len();
    let adam = cfg.optimizer == Optimizer::Adam;
    let mut opt = Opt {
        kind: cfg.optimizer,
        lr,
        m: vec![0.0; if adam { params } else { 0 }],
        v: vec![0.0; if adam { params } else { 0 }],
        t: 0,
    };
    let (n_in, n_rec) = net.synapse_counts();
    let mut result = EpropResult {
        curve: Vec::new(),
        final_eval: EvalStats::default(),
        grad_rms_init: [0.0; 3],
        input_synapses: n_in,
        recurrent_synapses: n_rec,
        recurrent_density: net.recurrent_density(),
        trials: 0,
    };
    let evaluate = |net: &Net, rng: &mut ChaCha8Rng, count: usize, scratch: &mut [Scratch]| {
        let count = if classification { count.max(1) } else { 1 };
        let seeds: Vec<u64> = (0..count).map(|_| rng.random()).collect();
        let mut outs = vec![TrialOut::default(); count];
        run_batch(net, gen, &lp, &seeds, scratch, &mut outs, false)?;
        let mut tally = Tally::default();
        outs.iter().for_each(|o| tally.add(o));
        Ok::<_, Error>(tally.stats(net, classification))
    };
    let batches = cfg.trials.div_ceil(cfg.batch);
    let every = cfg.eval_every.div_ceil(cfg.batch).max(1);
    let mut outs = vec![TrialOut::default(); cfg.batch];
    let mut grad = vec![0.0f64; net.w.len()];
    let mut grad_out = vec![0.0f64; net.w_out.len()];
    let mut tally = Tally::default();
    for b in 0..batches {
        let seeds: Vec<u64> = (0..cfg.batch).map(|_| train_rng.random()).collect();
        run_batch(&net, gen, &lp, &seeds, &mut scratch, &mut outs, true)?;
        grad.iter_mut().for_each(|g| *g = 0.0);
        grad_out.iter_mut().for_each(|g| *g = 0.0);
        let inv = 1.0 / cfg.batch as f64;
        for o in &outs {
            tally.add(o);
            for (g, &x) in grad.iter_mut().zip(&o.grad) {
                *g += f64::from(x) * inv;
            }
            for (g, &x) in grad_out.iter_mut().zip(&o.grad_out) {
                *g += f64::from(x) * inv;
            }
        }
        if b == 0 {
            result.grad_rms_init = grad_rms(&net, &grad, &grad_out);
        }
        opt.step(&mut net, &grad, &grad_out);
        result.trials += cfg.batch;
        if (b + 1) % every == 0 || b + 1 == batches {
            let eval = if cfg.eval_trials > 0 {
                Some(evaluate(
                    &net,
                    &mut eval_rng,
                    cfg.eval_trials,
                    &mut scratch,
                )?)
            } else {
                None
            };
            let point = CurvePoint {
                trials: result.trials,
                train: tally.stats(&net, classification),
                eval,
            };
            tally = Tally::default();
            on_point(&point);
            result.curve.push(point);
        }
    }
    result.final_eval = match result.curve.last().and_then(|p| p.eval.clone()) {
        Some(e) => e,
        None => evaluate(&net, &mut eval_rng, cfg.eval_trials, &mut scratch)?,
    };
    Ok(result)
}

/// RMS over input synapses, recurrent synapses and existing readout weights.
fn grad_rms(net: &Net, grad: &[f64], grad_out: &[f64]) -> [f64; 3] {
    let ni = net.p.inputs as u32;
    let mut ss = [0.0f64; 3];
    let mut count = [0usize; 3];
    for (sy, &g) in grad.iter().enumerate() {
        let k = usize::from(net.src[sy] >= ni);
        ss[k] += g * g;
        count[k] += 1;
    }
    for (q, &g) in grad_out.iter().enumerate() {
        if net.out_mask[q] {
            ss[2] += g * g;
            count[2] += 1;
        }
    }
    [0, 1, 2].map(|k| (ss[k] / count[k].max(1) as f64).sqrt())
}
