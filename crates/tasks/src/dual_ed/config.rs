//! The configuration of the f64 reference ([`DualEdConfig`]) and its parts: the hidden
//! layers ([`Hidden`]), the centring of the class error ([`Centring`]), the ablation's
//! switches ([`Ingredients`]) and the asymmetric start ([`AsymmetricInit`]), with the
//! checks that refuse a configuration the modulo rule or the data cannot serve.

use super::conv::ConvGeometry;
use super::error_unit;
use super::patch;
use super::{linear_rate, Optimizer};
use crate::datasets::Split;
use crate::error::Error;
use serde::{Deserialize, Serialize};

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
    /// (docs/dual-stream-ed-rounds-2-5.md, fourth round); `None`: exact f64.
    #[serde(default)]
    pub payload_bits: Option<u8>,
    /// Round the centred class error to payload steps (of `payload_bits`, 8 if unset)
    /// as the chip's error units do ([`error_unit`]); `None`: exact.
    #[serde(default)]
    pub error_rounding: Option<error_unit::ErrorRounding>,
    /// Emulate the chip learning engine's weight arithmetic: row mantissas with
    /// stochastically rounded updates, the clamp at 0 and row renormalisation
    /// ([`super::chip_arith`]); `None`: exact f64 (floored at `weight_floor`).
    #[serde(default)]
    pub weight_arith: Option<super::chip_arith::ChipArith>,
    /// Read every layer's `φ` from the chip's activation table
    /// ([`super::chip_arith::table_activation`]); `None`: exact (or rounded to
    /// `payload_bits`).
    #[serde(default)]
    pub activation_table: Option<super::chip_arith::TableSpec>,
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
            error_rounding: None,
            weight_arith: None,
            activation_table: None,
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
    pub(super) fn geometry(
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

    pub(super) fn check(&self, split: &Split) -> Result<(), Error> {
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
        if let Some(a) = &self.weight_arith {
            a.check().map_err(Error::config)?;
            if self.hidden.iter().any(|h| matches!(h, Hidden::Conv { .. })) {
                return Err(Error::config(
                    "weight_arith: the chip's arithmetic is emulated for dense and patch layers only (the chip learns no convolution)",
                ));
            }
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
