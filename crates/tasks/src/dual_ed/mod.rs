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

pub mod conv;
pub mod gemm;
pub mod net;
pub mod patch;
pub mod step;

use crate::datasets::{Dataset, Split};
use crate::error::Error;
use conv::ConvGeometry;
use net::{class_error, route, DualLayer};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use step::Rule;
pub use step::{Moments, Optimizer};

/// How the class error is centred before it is routed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Centring {
    /// The raw error `Y − ŷ`.
    Off,
    /// Minus its mean over the batch, per class (needs batches of 2 or more).
    Batch,
    /// Minus a running mean per class, `m ← m + rate·(mean_batch E − m)` after each
    /// batch (a form an error unit can hold; works with batches of one).
    Running { rate: f64 },
}

/// The three ingredients the ablation removes one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingredients {
    /// Per-layer sigmoid widths ([`DualEdConfig::widths`]); else [`DualEdConfig::uniform_width`].
    pub layer_widths: bool,
    /// Centre the class error ([`DualEdConfig::centring`]); else use it raw.
    pub centring: bool,
    /// 3:1 same/cross-stream start in hidden layers; else 1:1.
    pub asymmetric_init: bool,
}

impl Ingredients {
    /// All three on.
    pub const ALL: Ingredients = Ingredients {
        layer_widths: true,
        centring: true,
        asymmetric_init: true,
    };
}

/// One hidden layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hidden {
    /// `units` per stream, each wired to every source.
    Dense { units: usize },
    /// `units` per stream, each wired to one `size × size` patch of the input image,
    /// the patches `stride` pixels apart (receptive fields; [`patch`] has the layout);
    /// only as the first layer.
    Patch {
        units: usize,
        size: usize,
        #[serde(default = "one")]
        stride: usize,
    },
    /// `channels` maps per stream from `kernel × kernel` kernels at `stride` (no
    /// padding); only before the dense layers. `shared`: one kernel per channel
    /// (convolutional); else one per unit (locally connected).
    Conv {
        channels: usize,
        kernel: usize,
        stride: usize,
        shared: bool,
    },
}

impl std::fmt::Display for Hidden {
    /// `256` (dense), `360p3` or `1440p5s2` (patch-wired), `c16k5s2` (convolutional) or `l16k5s2` (locally connected), the
    /// form [`Hidden::parse`] reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hidden::Dense { units } => write!(f, "{units}"),
            Hidden::Patch {
                units,
                size,
                stride: 1,
            } => write!(f, "{units}p{size}"),
            Hidden::Patch {
                units,
                size,
                stride,
            } => write!(f, "{units}p{size}s{stride}"),
            Hidden::Conv {
                channels,
                kernel,
                stride,
                shared,
            } => {
                let c = if *shared { 'c' } else { 'l' };
                write!(f, "{c}{channels}k{kernel}s{stride}")
            }
        }
    }
}

impl Hidden {
    /// Parses `256` (a dense layer of 256 units), `360p3` (360 units, each wired to a
    /// 3×3 patch of the input, [`patch`]; `1440p5s2`: 5×5 patches at stride 2), `c16k5s2` (convolutional: 16 channels of 5×5
    /// kernels at stride 2; `s1` may be left out) or `l16k5s2` (the same, locally
    /// connected).
    pub fn parse(text: &str) -> Result<Hidden, Error> {
        let bad = || {
            Error::config(format!(
                "hidden layer `{text}`: expected a unit count (`256`), patch wiring (`360p3`, `1440p5s2`), `c<channels>k<kernel>s<stride>` \
                 (convolutional, `c16k5s2`) or `l…` (locally connected, `l16k5s2`)"
            ))
        };
        let num = |s: &str| s.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(bad);
        let text = text.trim();
        let (shared, rest) = match (text.strip_prefix('c'), text.strip_prefix('l')) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => {
                return Ok(match text.split_once('p') {
                    Some((units, rest)) => {
                        let (size, stride) = rest.split_once('s').unwrap_or((rest, "1"));
                        Hidden::Patch {
                            units: num(units)?,
                            size: num(size)?,
                            stride: num(stride)?,
                        }
                    }
                    None => Hidden::Dense { units: num(text)? },
                })
            }
        };
        let (channels, rest) = rest.split_once('k').ok_or_else(bad)?;
        let (kernel, stride) = rest.split_once('s').unwrap_or((rest, "1"));
        Ok(Hidden::Conv {
            channels: num(channels)?,
            kernel: num(kernel)?,
            stride: num(stride)?,
            shared,
        })
    }

    /// Parses a comma-separated list (`c16k5s2,256`).
    pub fn parse_list(text: &str) -> Result<Vec<Hidden>, Error> {
        text.split(',').map(Hidden::parse).collect()
    }
}

/// Everything that determines a run; the same config gives bit-identical results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DualEdConfig {
    /// The hidden layers, input side first: convolutional layers (if any), then dense
    /// ones. Each has at least as many units (dense) or channels (convolutional) as
    /// there are classes, so that every class is heard.
    pub hidden: Vec<Hidden>,
    /// Colour planes of an input image: an example of `shape = [rows, cols]` is
    /// `input_channels` maps of `rows / input_channels × cols` (MNIST and digits 1,
    /// CIFAR-10 3). Only convolutional layers care.
    pub input_channels: usize,
    /// Sigmoid width α of each layer: one per hidden layer, then the output layer's.
    pub widths: Vec<f64>,
    /// The one width every layer gets when `ingredients.layer_widths` is off.
    pub uniform_width: f64,
    /// Learning rate η: a layer with `fan_in` sources per stream updates by
    /// `η/(B·fan_in) · Σ_b …`, so one η suits layers of any width.
    pub learning_rate: f64,
    /// When set, the rate falls linearly epoch by epoch, from `learning_rate` in the
    /// first epoch to this in the last; else it stays constant.
    #[serde(default)]
    pub final_learning_rate: Option<f64>,
    /// Per-layer factors on the learning rate (hidden layers, then the output layer);
    /// empty means 1 for every layer.
    #[serde(default)]
    pub layer_rates: Vec<f64>,
    /// How summed updates become steps (plain, or Adam on them).
    #[serde(default = "sgd")]
    pub optimizer: Optimizer,
    /// Examples per update.
    pub batch_size: usize,
    pub epochs: usize,
    /// Seeds the initial weights and the example order.
    pub seed: u64,
    /// Magnitudes never go below this (the Dale floor).
    pub weight_floor: f64,
    /// Initial magnitudes are `U[0, 1)/√fan_in` times a stream factor.
    pub asymmetry: AsymmetricInit,
    pub centring: Centring,
    pub ingredients: Ingredients,
    /// Every layer learns its signed biases (the paper's form); off, they stay 0 — the
    /// chip's form, whose only bias is a constant unit appended to the input
    /// ([`with_bias_unit`]).
    #[serde(default = "yes")]
    pub layer_biases: bool,
    /// Emulate the chip's graded payloads of this many bits (1–16) in every layer:
    /// activations rounded to `2^bits − 1` levels and the chip's floored derivative
    /// (docs/dual-stream-ed.md, fourth round); `None`: exact f64.
    #[serde(default)]
    pub payload_bits: Option<u8>,
}

fn yes() -> bool {
    true
}

/// `split` with the constant `value` appended to every sample: the bias unit of the
/// chip's input ports (`amine template ed`), so that the float reference of a chip
/// network has its first layer's bias as a learned weight like the chip.
pub fn with_bias_unit(split: &Split, value: f32) -> Split {
    let mut out = split.clone();
    for d in [&mut out.train, &mut out.test] {
        for x in &mut d.inputs {
            x.push(value);
        }
        // A flat vector now: only dense layers read it.
        d.shape = [1, d.shape[0] * d.shape[1] + 1];
    }
    out
}

/// The stream factors of the asymmetric initialisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsymmetricInit {
    /// Hidden layers, same-stream matrices (`W_pp`, `W_nn`).
    pub same: f64,
    /// Hidden layers, cross-stream matrices (`W_np`, `W_pn`).
    pub cross: f64,
}

fn one() -> usize {
    1
}

fn sgd() -> Optimizer {
    Optimizer::Sgd
}

impl Default for DualEdConfig {
    /// The MNIST-subset configuration of docs/dual-stream-ed.md: a convolutional layer
    /// of 20 channels (5×5 kernels, stride 2, α = 3), a dense layer of 200 units (α = 6),
    /// the output (α = 6); η = 3000 falling linearly to 100 over 40 epochs, batches of
    /// 32, batch centring, 3:1 start, floor 10⁻⁴.
    fn default() -> DualEdConfig {
        DualEdConfig {
            hidden: vec![
                Hidden::Conv {
                    channels: 20,
                    kernel: 5,
                    stride: 2,
                    shared: true,
                },
                Hidden::Dense { units: 200 },
            ],
            input_channels: 1,
            widths: vec![3.0, 6.0, 6.0],
            uniform_width: 2.0,
            learning_rate: 3000.0,
            final_learning_rate: Some(100.0),
            layer_rates: Vec::new(),
            optimizer: Optimizer::Sgd,
            batch_size: 32,
            epochs: 40,
            seed: 1,
            weight_floor: 1e-4,
            asymmetry: AsymmetricInit {
                same: 1.5,
                cross: 0.5,
            },
            centring: Centring::Batch,
            ingredients: Ingredients::ALL,
            layer_biases: true,
            payload_bits: None,
        }
    }
}

impl DualEdConfig {
    /// The width each layer runs with, after the `layer_widths` switch.
    pub fn effective_widths(&self) -> Vec<f64> {
        if self.ingredients.layer_widths {
            self.widths.clone()
        } else {
            vec![self.uniform_width; self.hidden.len() + 1]
        }
    }

    /// The learning rate of epoch `epoch` (1-based).
    pub fn rate_at(&self, epoch: usize) -> f64 {
        linear_rate(
            self.learning_rate,
            self.final_learning_rate,
            epoch,
            self.epochs,
        )
    }

    /// The centring each batch gets, after the `centring` switch.
    pub fn effective_centring(&self) -> Centring {
        if self.ingredients.centring {
            self.centring
        } else {
            Centring::Off
        }
    }

    /// The geometry of every hidden layer for inputs of `shape`, checked: `(inputs,
    /// outputs, conv)` per layer.
    fn geometry(
        &self,
        shape: [usize; 2],
        classes: usize,
    ) -> Result<Vec<(usize, usize, Option<ConvGeometry>)>, Error> {
        if let Some(b) = self.payload_bits.filter(|b| !(1..=16).contains(b)) {
            return Err(Error::config(format!(
                "payload_bits = {b}: the chip's graded payloads are 1 to 16 bits"
            )));
        }
        let ch = self.input_channels;
        if ch == 0 || !shape[0].is_multiple_of(ch) {
            return Err(Error::config(format!(
                "input_channels = {ch}: images of {} rows do not split into {ch} planes",
                shape[0]
            )));
        }
        // The current maps (channels, height, width), until a dense layer flattens them.
        let mut maps = Some((ch, shape[0] / ch, shape[1]));
        let mut size = shape[0] * shape[1];
        let mut out = Vec::new();
        for (l, h) in self.hidden.iter().enumerate() {
            let name = format!("hidden layer {} ({h})", l + 1);
            let (units, conv) = match *h {
                Hidden::Dense { units } => {
                    maps = None;
                    (units, None)
                }
                Hidden::Patch {
                    units,
                    size: patch,
                    stride,
                } => {
                    maps = None;
                    if l > 0 {
                        return Err(Error::config(format!(
                            "{name}: patch wiring reads the input image, so only the first layer can have it"
                        )));
                    }
                    patch::check(size, patch, stride)
                        .map_err(|e| Error::config(format!("{name}: {e}")))?;
                    (units, None)
                }
                Hidden::Conv {
                    channels,
                    kernel,
                    stride,
                    shared,
                } => {
                    let Some((c, hh, ww)) = maps else {
                        return Err(Error::config(format!(
                            "{name}: a convolutional layer cannot follow a dense one"
                        )));
                    };
                    if kernel > hh || kernel > ww {
                        return Err(Error::config(format!(
                            "{name}: a {kernel}×{kernel} kernel does not fit {hh}×{ww} maps"
                        )));
                    }
                    let g = ConvGeometry {
                        in_channels: c,
                        in_height: hh,
                        in_width: ww,
                        channels,
                        kernel,
                        stride,
                        shared,
                    };
                    maps = Some((channels, g.out_height(), g.out_width()));
                    (channels, Some(g))
                }
            };
            if units < classes {
                return Err(Error::config(format!(
                    "{name} has {units} {} per stream, fewer than the {classes} classes: \
                     modulo routing would leave classes {units}.. unheard",
                    if conv.is_some() { "channels" } else { "units" }
                )));
            }
            let outputs = conv.map_or(units, |g| g.outputs());
            out.push((size, outputs, conv));
            size = outputs;
        }
        Ok(out)
    }

    fn check(&self, split: &Split) -> Result<(), Error> {
        self.geometry(split.train.shape, split.classes())?;
        if !self.layer_rates.is_empty() && self.layer_rates.len() != self.hidden.len() + 1 {
            return Err(Error::config(format!(
                "{} layer rates for {} layers: give one per hidden layer, then the output layer's",
                self.layer_rates.len(),
                self.hidden.len() + 1
            )));
        }
        if self.widths.len() != self.hidden.len() + 1 {
            return Err(Error::config(format!(
                "{} widths for {} layers: give one per hidden layer, then the output layer's",
                self.widths.len(),
                self.hidden.len() + 1
            )));
        }
        let positive = self.widths.iter().map(|&w| ("width", w)).chain([
            ("uniform_width", self.uniform_width),
            ("learning_rate", self.learning_rate),
            ("weight_floor", self.weight_floor),
            ("asymmetry.same", self.asymmetry.same),
            ("asymmetry.cross", self.asymmetry.cross),
        ]);
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!(
                    "{name} = {v}: must be finite and > 0"
                )));
            }
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size = 0: must be at least 1"));
        }
        match self.effective_centring() {
            Centring::Batch if self.batch_size < 2 => {
                return Err(Error::config(
                    "batch centring needs batch_size ≥ 2: a batch of one centres every error to 0",
                ))
            }
            Centring::Running { rate } if !(rate > 0.0 && rate <= 1.0) => {
                return Err(Error::config(format!(
                    "running centring rate = {rate}: must be in (0, 1]"
                )))
            }
            _ => {}
        }
        if let Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } = self.optimizer
        {
            if !((0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2) && epsilon > 0.0) {
                return Err(Error::config(format!(
                    "Adam β1 = {beta1}, β2 = {beta2}, ε = {epsilon}: the βs must be in [0, 1), ε > 0"
                )));
            }
        }
        split.check_trainable()
    }
}

/// The network: hidden layers, then the output layer (`classes` units per stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DualNet {
    pub layers: Vec<DualLayer>,
    pub classes: usize,
    /// Updates applied so far (Adam's step count).
    pub steps: u64,
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
                    payload_bits: cfg.payload_bits,
                }
            })
            .collect();
        Ok(DualNet {
            layers,
            classes,
            steps: 0,
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
        let s = class_error(
            act.p.last().unwrap(),
            labels,
            classes,
            cfg.effective_centring(),
            running,
        );
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
            if !cfg.layer_biases {
                layer.b_p.fill(0.0);
                layer.b_n.fill(0.0);
            }
        }
        s.iter().map(|v| v.abs()).sum::<f64>() / s.len().max(1) as f64
    }
}

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
