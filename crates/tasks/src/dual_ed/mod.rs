//! The f64 reference of dual-stream Error Diffusion with **modulo error routing**: a
//! deep network of excitatory/inhibitory stream pairs under strict Dale's principle,
//! where every hidden unit learns from the output error of one class, `unit mod
//! classes`, broadcast to it directly (no weight transport, no random feedback).
//!
//! Three ingredients make it classify (docs/dual-stream-ed.md has the method and its
//! sources), each switchable for the ablation ([`Ingredients`]):
//!
//! - **layer-specific sigmoid widths**: each layer has its own α in
//!   `1/(1 + exp(−2z/α))`; wide hidden sigmoids keep `φ'` from gating the routed error
//!   to nothing (off: every layer uses [`DualEdConfig::uniform_width`]);
//! - **batch-centred class errors**: the one-vs-all error `Y − ŷ` minus its mean over the
//!   batch, per class, which removes the common "every output down" component that the
//!   9:1 share of zero targets puts in every example's error (off: the raw error);
//! - **asymmetric initialisation**: hidden-layer same-stream magnitudes start ×1.5 and
//!   cross-stream ×0.5 (a 3:1 E/I start); the output layer starts 1:1 (off: 1:1
//!   everywhere).
//!
//! [`net`] has the equations. Results are bit-identical for a config whatever the
//! thread count ([`train`]'s `threads`).

pub mod chip_arith;
pub mod config;
pub mod conv;
pub mod error_unit;
pub mod gemm;
pub mod net;
pub mod patch;
mod sparse;
pub mod step;

use crate::datasets::{Dataset, Split};
use crate::error::Error;
pub use config::{with_bias_unit, AsymmetricInit, Centring, DualEdConfig, Hidden, Ingredients};
use net::{class_error, route, DualLayer};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use step::Rule;
pub use step::{Moments, Optimizer};

/// The network: hidden layers, then the output layer (`classes` units per stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DualNet {
    pub layers: Vec<DualLayer>,
    pub classes: usize,
    /// Updates applied so far (Adam's step count).
    pub steps: u64,
    /// The rows' exponents when the chip's weight arithmetic is emulated
    /// (`DualEdConfig::weight_arith`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<chip_arith::ChipWeights>,
}

impl DualNet {
    /// A network for images of `shape` and `classes` classes, initialised from `rng`:
    /// magnitudes `U[0, 1)/√fan_in` times the stream factor, biases 0.
    pub fn new(
        cfg: &DualEdConfig,
        shape: [usize; 2],
        classes: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<DualNet, Error> {
        let widths = cfg.effective_widths();
        let mut geometry = cfg.geometry(shape, classes)?;
        let last_in = geometry.last().map_or(shape[0] * shape[1], |g| g.1);
        geometry.push((last_in, classes, None));
        let output = geometry.len() - 1;
        let layers = geometry
            .into_iter()
            .enumerate()
            .map(|(l, (inputs, outputs, conv))| {
                let (same, cross) = if l < output && cfg.ingredients.asymmetric_init {
                    (cfg.asymmetry.same, cfg.asymmetry.cross)
                } else {
                    (1.0, 1.0)
                };
                let (mask, fan_in) = match (cfg.hidden.get(l), conv) {
                    (Some(&Hidden::Patch { size, stride, .. }), _) => (
                        Some(patch::mask(inputs, outputs, size, stride, classes)),
                        patch::fan_in(inputs, size),
                    ),
                    (_, Some(g)) => (None, g.taps()),
                    _ => (None, inputs),
                };
                let (count, biases) = match conv {
                    Some(g) => (g.weights(), g.channels),
                    None => (inputs * outputs, outputs),
                };
                let scale = 1.0 / (fan_in as f64).sqrt();
                let mut init = |factor: f64| -> Vec<f64> {
                    (0..count)
                        .map(|_| (rng.random::<f64>() * scale * factor).max(cfg.weight_floor))
                        .collect()
                };
                let (mut w_pp, mut w_np) = (init(same), init(cross));
                let (mut w_nn, mut w_pn) = (init(same), init(cross));
                if let Some(m) = &mask {
                    for w in [&mut w_pp, &mut w_np, &mut w_nn, &mut w_pn] {
                        for (w, &on) in w.iter_mut().zip(m) {
                            if !on {
                                *w = 0.0;
                            }
                        }
                    }
                }
                DualLayer {
                    inputs,
                    outputs,
                    alpha: widths[l],
                    conv,
                    w_pp,
                    w_np,
                    w_nn,
                    w_pn,
                    b_p: vec![0.0; biases],
                    b_n: vec![0.0; biases],
                    moments: None,
                    mask,
                    fields: Default::default(),
                    payload_bits: cfg.payload_bits,
                    table: cfg
                        .activation_table
                        .map(|t| (t, t.table(widths[l], cfg.payload_bits.unwrap_or(8)))),
                }
            })
            .collect::<Vec<_>>();
        let mut layers = layers;
        let chip = cfg
            .weight_arith
            .map(|a| chip_arith::ChipWeights::quantise(a, &mut layers));
        Ok(DualNet {
            layers,
            classes,
            steps: 0,
            chip,
        })
    }

    /// Forward pass of a batch (`B × inputs`, row-major): every layer's activity.
    pub fn forward(&self, x: &[f64], batch: usize, threads: usize) -> net::Activity {
        let mut act = net::Activity {
            p: vec![x.to_vec()],
            n: vec![x.to_vec()],
            batch,
        };
        for layer in &self.layers {
            let (p, n) =
                layer.forward(act.p.last().unwrap(), act.n.last().unwrap(), batch, threads);
            act.p.push(p);
            act.n.push(n);
        }
        act
    }

    /// The predicted class of each example of a forward pass: the largest output of the
    /// excitatory stream (the lowest index on a tie).
    pub fn predict(&self, act: &net::Activity) -> Vec<usize> {
        act.p
            .last()
            .unwrap()
            .chunks_exact(self.classes)
            .map(argmax)
            .collect()
    }

    /// One Error Diffusion update from a forward pass and the batch's labels; returns
    /// the routed error's mean magnitude (how much blame there was).
    pub fn learn(
        &mut self,
        act: &net::Activity,
        labels: &[u8],
        cfg: &DualEdConfig,
        learning_rate: f64,
        running: &mut [f64],
        threads: usize,
    ) -> f64 {
        let classes = self.classes;
        let mut s = class_error(
            act.p.last().unwrap(),
            labels,
            classes,
            cfg.effective_centring(),
            running,
        );
        if let Some(r) = cfg.error_rounding {
            let max = crate::ed::quant::payload_max(cfg.payload_bits.unwrap_or(8));
            s.iter_mut()
                .for_each(|e| *e = error_unit::round_error(*e, r, max));
        }
        self.steps += 1;
        let t = self.steps as f64;
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let learning_rate = learning_rate * cfg.layer_rates.get(l).copied().unwrap_or(1.0);
            let rule = match cfg.optimizer {
                Optimizer::Sgd => {
                    let fan_in = layer
                        .conv
                        .map_or_else(|| layer.fan_in(), |g| g.taps() * g.shared_positions());
                    Rule::Sgd {
                        rate: learning_rate / (act.batch * fan_in) as f64,
                    }
                }
                Optimizer::Adam {
                    beta1,
                    beta2,
                    epsilon,
                } => Rule::Adam {
                    rate: learning_rate * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t)),
                    scale: 1.0 / act.batch as f64,
                    beta1,
                    beta2,
                    epsilon,
                },
            };
            let routed = route(&s, classes, layer);
            let before = self
                .chip
                .is_some()
                .then(|| [&layer.w_pp, &layer.w_np, &layer.w_nn, &layer.w_pn].map(|w| w.clone()));
            layer.learn(
                &act.p[l],
                &act.n[l],
                &act.p[l + 1],
                &act.n[l + 1],
                &routed,
                act.batch,
                rule,
                cfg.weight_floor,
                threads,
            );
            if let (Some(chip), Some(old)) = (self.chip.as_mut(), &before) {
                let new = [
                    &mut layer.w_pp,
                    &mut layer.w_np,
                    &mut layer.w_nn,
                    &mut layer.w_pn,
                ];
                let old = [&old[0][..], &old[1][..], &old[2][..], &old[3][..]];
                chip.apply(l, old, new, cfg.seed ^ CHIP_DRAWS, self.steps);
            }
            if !cfg.layer_biases {
                layer.b_p.fill(0.0);
                layer.b_n.fill(0.0);
            }
        }
        s.iter().map(|v| v.abs()).sum::<f64>() / s.len().max(1) as f64
    }
}

/// Mixed into the seed of the emulated engine's rounding draws.
const CHIP_DRAWS: u64 = 0xC41B_A217_0000_0017;

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// Examples `idx` of `set` as one row-major `f64` batch.
fn gather(set: &Dataset, idx: &[usize]) -> Vec<f64> {
    idx.iter()
        .flat_map(|&i| set.inputs[i].iter().map(|&v| f64::from(v)))
        .collect()
}

/// Accuracy of `net` on `set` and the confusion matrix `[true][predicted]`.
pub fn evaluate(net: &DualNet, set: &Dataset, threads: usize) -> (f64, Vec<Vec<u32>>) {
    const CHUNK: usize = 256;
    let mut confusion = vec![vec![0u32; net.classes]; net.classes];
    let mut right = 0usize;
    let all: Vec<usize> = (0..set.len()).collect();
    for idx in all.chunks(CHUNK) {
        let act = net.forward(&gather(set, idx), idx.len(), threads);
        for (&i, p) in idx.iter().zip(net.predict(&act)) {
            let l = usize::from(set.labels[i]);
            confusion[l][p] += 1;
            right += usize::from(p == l);
        }
    }
    (right as f64 / set.len().max(1) as f64, confusion)
}

/// Measurements after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    /// Predictions made during the epoch, each before learning from its batch.
    pub online_train_accuracy: f64,
    pub test_accuracy: f64,
    /// Mean magnitude of the (centred) class error over the epoch's batches.
    pub mean_error: f64,
    /// Per layer: mean same-stream over mean cross-stream magnitude.
    pub ei_ratio: Vec<f64>,
    /// Per layer: fraction of magnitudes at the floor.
    pub at_floor: Vec<f64>,
}

/// The outcome of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DualEdResult {
    pub epochs: Vec<EpochStats>,
    /// Test set after the last epoch: `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    pub net: DualNet,
}

impl DualEdResult {
    /// Test accuracy after the last epoch (0 with no epochs).
    pub fn test_accuracy(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.test_accuracy)
    }
}

/// A training run in progress: the network, the example order and the running mean,
/// advanced one batch at a time (so tests can inspect every step).
pub struct Trainer {
    pub cfg: DualEdConfig,
    pub net: DualNet,
    order_rng: ChaCha8Rng,
    running: Vec<f64>,
    threads: usize,
}

impl Trainer {
    /// Checks `cfg` against `split` and initialises the network from `cfg.seed`.
    pub fn new(cfg: &DualEdConfig, split: &Split, threads: usize) -> Result<Trainer, Error> {
        cfg.check(split)?;
        let classes = split.classes();
        let mut init_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let net = DualNet::new(cfg, split.train.shape, classes, &mut init_rng)?;
        Ok(Trainer {
            cfg: cfg.clone(),
            net,
            order_rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0DDE_F0E1_5EED_0003),
            running: vec![0.0; classes],
            threads: threads.max(1),
        })
    }

    /// The example order of the next epoch (a seeded shuffle).
    pub fn epoch_order(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.order_rng);
        order
    }

    /// Forward pass and update on examples `idx` of `set` at learning rate `eta`;
    /// returns the number predicted right (before the update) and the error's mean
    /// magnitude.
    pub fn step(&mut self, set: &Dataset, idx: &[usize], eta: f64) -> (usize, f64) {
        let act = self.net.forward(&gather(set, idx), idx.len(), self.threads);
        let labels: Vec<u8> = idx.iter().map(|&i| set.labels[i]).collect();
        let right = self
            .net
            .predict(&act)
            .iter()
            .zip(&labels)
            .filter(|(&p, &l)| p == usize::from(l))
            .count();
        let err = self.net.learn(
            &act,
            &labels,
            &self.cfg,
            eta,
            &mut self.running,
            self.threads,
        );
        (right, err)
    }

    /// One pass over `split.train` in a fresh seeded order, then a test evaluation.
    pub fn epoch(&mut self, split: &Split, epoch: usize) -> (EpochStats, Vec<Vec<u32>>) {
        let order = self.epoch_order(split.train.len());
        let (mut right, mut err, mut batches) = (0usize, 0.0, 0usize);
        let eta = self.cfg.rate_at(epoch);
        for idx in order.chunks(self.cfg.batch_size) {
            let (r, e) = self.step(&split.train, idx, eta);
            right += r;
            err += e;
            batches += 1;
        }
        let (test_accuracy, confusion) = evaluate(&self.net, &split.test, self.threads);
        let floor = self.cfg.weight_floor;
        let stats = EpochStats {
            epoch,
            online_train_accuracy: right as f64 / split.train.len() as f64,
            test_accuracy,
            mean_error: err / batches.max(1) as f64,
            ei_ratio: self.net.layers.iter().map(DualLayer::ei_ratio).collect(),
            at_floor: self.net.layers.iter().map(|l| l.at_floor(floor)).collect(),
        };
        (stats, confusion)
    }
}

/// Trains the network of `cfg` on `split.train` in batches, calling `on_epoch` after
/// every epoch, and returns per-epoch measurements, the final test confusion matrix and
/// the trained network. `threads` changes the speed, never the result.
pub fn train(
    cfg: &DualEdConfig,
    split: &Split,
    threads: usize,
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<DualEdResult, Error> {
    let mut t = Trainer::new(cfg, split, threads)?;
    let mut epochs = Vec::with_capacity(cfg.epochs);
    let mut confusion = vec![vec![0; split.classes()]; split.classes()];
    for epoch in 1..=cfg.epochs {
        let (stats, conf) = t.epoch(split, epoch);
        on_epoch(&stats);
        epochs.push(stats);
        confusion = conf;
    }
    Ok(DualEdResult {
        epochs,
        confusion,
        net: t.net,
    })
}

/// A rate falling linearly epoch by epoch from `start` in epoch 1 to `end` in epoch
/// `epochs` (constant `start` without `end` or with one epoch): the one schedule of
/// the f64 reference ([`DualEdConfig::rate_at`]) and of the chip (`amine train
/// --final-rate`, the host rewriting the rules' scale registers between epochs).
pub fn linear_rate(start: f64, end: Option<f64>, epoch: usize, epochs: usize) -> f64 {
    match end {
        Some(end) if epochs > 1 => {
            let f = (epoch.clamp(1, epochs) - 1) as f64 / (epochs - 1) as f64;
            start + (end - start) * f
        }
        _ => start,
    }
}

#[cfg(test)]
mod tests;
