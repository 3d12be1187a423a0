//! The f64 reference of Kaneko's multi-class Error Diffusion (ED), and an emulation of
//! the chip's fixed-point formats on top of it.
//!
//! The network ([`net`] has the exact layout): graded units `o = 1/(1+exp(−2u/u0))`,
//! every input fed as an excitatory and an inhibitory copy, two bias units of constant
//! 0.8 (an E/I pair), same-type weights positive and cross-type negative. In the
//! per-class topology each class has its own group of `hidden_per_class` hidden units
//! (alternately E and I) wired only to that class's (excitatory) output unit, and only
//! that class's error reaches the group. The error `e = target − output` (target 1 for
//! the true class, 0 otherwise) is split into `d+ = max(e, 0)` and `d− = max(−e, 0)`, and
//! every weight of the group, hidden and output layer alike, moves by
//! `Δw_km = α · in_m · o_k(1−o_k) · (d+ if m is excitatory else d−) · sign(w_km)`
//! after every example (online), in a seeded random order per epoch.
//!
//! [`Topology::SharedHidden`] is the single hidden layer fully wired to all outputs,
//! hearing the mean of all classes' `d+` and of their `d−`; it is for study: with this
//! rule it tops out well below the per-class network (docs/tasks.md), because
//! magnitudes only grow.
//!
//! With [`EdConfig::quantization`] set, the same training runs through a tabulated
//! sigmoid, payload-rounded activations and few-bit weight magnitudes with a shared
//! exponent per layer ([`quant`]), so the on-chip implementation has a target to match.

pub mod net;
pub mod quant;

pub use quant::{Overflow, Quantization, Rounding, SigmoidTable};

use crate::datasets::{Dataset, Split};
use crate::error::Error;
use net::{Net, Trace};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How hidden units are wired to the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Topology {
    /// Kaneko's multi-class ED: one hidden group per class, wired only to its output.
    PerClass,
    /// One hidden layer of `hidden_per_class × classes` units wired to every output.
    SharedHidden,
}

/// Everything that determines a run; the same config gives bit-identical results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdConfig {
    /// Hidden units per class, half excitatory and half inhibitory (so an even number:
    /// `hidden_per_class / 2` E/I pairs).
    pub hidden_per_class: usize,
    /// Learning rate α.
    pub alpha: f64,
    /// Sigmoid width u0 in `1/(1+exp(−2u/u0))`.
    pub u0: f64,
    /// Initial magnitudes are uniform in `[0, init_max)`.
    pub init_max: f64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Seeds initial weights, example order and stochastic rounding.
    pub seed: u64,
    pub topology: Topology,
    /// Emulate the chip's fixed-point formats; `None` is the pure f64 reference.
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

impl Default for EdConfig {
    /// The tuned digits configuration (docs/tasks.md): 128 hidden units per class,
    /// α = 2^-5, u0 = 0.2, U[0, 0.2) initial magnitudes, 20 epochs, float.
    fn default() -> EdConfig {
        EdConfig {
            hidden_per_class: 128,
            alpha: 1.0 / 32.0,
            u0: 0.2,
            init_max: 0.2,
            epochs: 20,
            seed: 1,
            topology: Topology::PerClass,
            quantization: None,
        }
    }
}

impl EdConfig {
    fn check(&self, split: &Split) -> Result<(), Error> {
        let h = self.hidden_per_class;
        if h == 0 || h % 2 == 1 {
            return Err(Error::config(format!(
                "hidden_per_class = {h}: must be even and positive (E/I pairs)"
            )));
        }
        for (name, v) in [
            ("alpha", self.alpha),
            ("u0", self.u0),
            ("init_max", self.init_max),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!(
                    "{name} = {v}: must be finite and > 0"
                )));
            }
        }
        if let Some(q) = &self.quantization {
            if !(q.table_span.is_finite() && q.table_span > 0.0) {
                return Err(Error::config(format!(
                    "table_span = {}: must be finite and > 0",
                    q.table_span
                )));
            }
            for (name, b) in [
                ("weight_bits", q.weight_bits),
                ("activation_bits", q.activation_bits),
            ] {
                if let Some(b) = b.filter(|b| !(1..=16).contains(b)) {
                    return Err(Error::config(format!("{name} = {b}: must be in 1..=16")));
                }
            }
        }
        split.check_trainable()
    }
}

/// Measurements after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based.
    pub epoch: usize,
    /// Accuracy over the whole training set, measured after the epoch's updates.
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    /// Largest weight magnitude in any hidden layer / any output layer.
    pub max_hidden_weight: f64,
    pub max_output_weight: f64,
    /// Largest shared exponent over hidden / output layers (quantized weights only).
    pub max_hidden_exponent: Option<i32>,
    pub max_output_exponent: Option<i32>,
    /// Layer repairs (an update pushed a layer past its mantissa range) in this epoch.
    pub overflow_events: u64,
}

/// One weight matrix, signed: `weights[k * cols + m]` is the weight from source `m` to
/// unit `k`. Column `m` is excitatory when `m` is even (the layout in [`net`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub rows: usize,
    pub cols: usize,
    pub weights: Vec<f64>,
    pub row_excitatory: Vec<bool>,
    /// The shared exponent (weights are `mantissa · 2^exponent`) when quantized.
    pub exponent: Option<i32>,
}

impl Layer {
    /// The sign Dale's principle fixes for `(k, m)`: +1 same type, −1 cross type.
    pub fn sign(&self, k: usize, m: usize) -> f64 {
        if self.row_excitatory[k] == m.is_multiple_of(2) {
            1.0
        } else {
            -1.0
        }
    }
}

/// The trained weights: per block (one per class, or one shared), the hidden layer and
/// the output layer (one row per class the block serves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdWeights {
    pub hidden: Vec<Layer>,
    pub output: Vec<Layer>,
    /// The classes of each output layer's rows.
    pub output_classes: Vec<Vec<usize>>,
}

/// The outcome of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdResult {
    pub epochs: Vec<EpochStats>,
    /// Test set after the last epoch: `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    pub weights: EdWeights,
}

impl EdResult {
    /// Test accuracy after the last epoch (0 with no epochs).
    pub fn test_accuracy(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.test_accuracy)
    }
}

/// Accuracy of `net` on `set`, and the confusion matrix.
fn evaluate(net: &Net, set: &Dataset, classes: usize) -> (f64, Vec<Vec<u32>>) {
    let mut confusion = vec![vec![0u32; classes]; classes];
    let mut t = Trace::default();
    let mut right = 0usize;
    for (x, &l) in set.inputs.iter().zip(&set.labels) {
        net.forward(x, &mut t);
        let p = Net::predict(&t);
        confusion[usize::from(l)][p] += 1;
        right += usize::from(p == usize::from(l));
    }
    (right as f64 / set.len().max(1) as f64, confusion)
}

fn weights(net: &Net) -> EdWeights {
    EdWeights {
        hidden: net.blocks.iter().map(|b| b.hidden.to_layer()).collect(),
        output: net.blocks.iter().map(|b| b.output.to_layer()).collect(),
        output_classes: net.blocks.iter().map(|b| b.classes.clone()).collect(),
    }
}

/// Trains the ED network of `cfg` on `split.train` with online updates, calling
/// `on_epoch` after every epoch (for progress output), and returns per-epoch accuracy,
/// the final test confusion matrix and the final weights.
pub fn train(
    cfg: &EdConfig,
    split: &Split,
    on_epoch: &mut dyn FnMut(EpochStats),
) -> Result<EdResult, Error> {
    cfg.check(split)?;
    let classes = split.classes();
    // Separate streams, so quantized and float runs of one seed share init and order.
    let mut init_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0DDE_F0E1_5EED_0002);
    let mut net = Net::new(cfg, split.train.input_len(), classes, &mut init_rng);
    let mut order: Vec<usize> = (0..split.train.len()).collect();
    let mut trace = Trace::default();
    let mut epochs = Vec::with_capacity(cfg.epochs);
    let mut confusion = vec![vec![0; classes]; classes];
    for epoch in 1..=cfg.epochs {
        order.shuffle(&mut order_rng);
        let before = net.overflows;
        for &i in &order {
            net.forward(&split.train.inputs[i], &mut trace);
            net.learn(&trace, usize::from(split.train.labels[i]));
        }
        let (train_accuracy, _) = evaluate(&net, &split.train, classes);
        let (test_accuracy, conf) = evaluate(&net, &split.test, classes);
        confusion = conf;
        let max_of = |f: fn(&net::Block) -> &net::Mat| {
            net.blocks
                .iter()
                .map(f)
                .flat_map(|m| m.mag.iter())
                .fold(0.0f64, |a, &w| a.max(w))
        };
        let exp_of =
            |f: fn(&net::Block) -> &net::Mat| net.blocks.iter().filter_map(|b| f(b).exp).max();
        let stats = EpochStats {
            epoch,
            train_accuracy,
            test_accuracy,
            max_hidden_weight: max_of(|b| &b.hidden),
            max_output_weight: max_of(|b| &b.output),
            max_hidden_exponent: exp_of(|b| &b.hidden),
            max_output_exponent: exp_of(|b| &b.output),
            overflow_events: net.overflows - before,
        };
        on_epoch(stats.clone());
        epochs.push(stats);
    }
    Ok(EdResult {
        epochs,
        confusion,
        weights: weights(&net),
    })
}

#[cfg(test)]
mod tests;
