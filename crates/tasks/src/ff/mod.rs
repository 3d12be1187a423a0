//! Float references (f64) of three feed-forward learning rules on a layered network of
//! logistic units ([`net`]), with online (per-sample) or mini-batch SGD:
//!
//! - [`Rule::Backprop`]: the gradient of the squared error `½‖y − onehot‖²` at the
//!   sigmoid outputs, sent down through the transposed weights — the baseline.
//! - [`Rule::Dfa`]: direct feedback alignment (Nøkland, "Direct Feedback Alignment
//!   Provides Learning in Deep Neural Networks", NeurIPS 2016, arXiv 1609.01596, §2):
//!   the output layer's error `e = (y − t) ⊙ y(1 − y)` reaches every hidden layer `l`
//!   through a fixed random matrix, `δ_l = (B_l·e) ⊙ h_l(1 − h_l)`; no weight transport,
//!   but a feedback path.
//! - [`Rule::Sigprop`]: signal propagation, supervised form (Kohan, Rietman, Siegelmann,
//!   "Signal Propagation: The Framework for Learning and Inference in a Forward Pass",
//!   arXiv 2204.01723 / IEEE TNNLS 2023): the context (a one-hot class) is projected
//!   into the input space, `t_0 = S·c`, and propagated forward through the same layers
//!   as the sample, `t_l = f_l(t_{l−1})`; each layer updates its incoming weights from a
//!   local loss of its responses to samples and to contexts, with no feedback path
//!   ([`sigprop`] has the loss); inference compares the last layer's response to the
//!   sample with its responses to every class's context and picks the closest.
//!
//! Everything is seeded (initial weights, feedback matrices, context projection, sample
//! order) and single-threaded, so a configuration gives bit-identical results.

pub mod net;
pub mod prototypes;
pub mod readouts;
pub mod sigprop;

use crate::datasets::augment::Augment;
use crate::datasets::{Dataset, Split};
use crate::error::Error;
use net::{argmax, Mlp};
use rand::seq::SliceRandom;
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
pub use sigprop::SigpropConfig;

/// The learning rule of a feed-forward reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    Backprop,
    Dfa,
    Sigprop,
}

impl Rule {
    /// The work of one training sample of `sizes` (inputs first) with this rule.
    pub fn work(
        self,
        cfg: &FfConfig,
        sizes: &[usize],
        classes: usize,
    ) -> crate::conventional::Work {
        use crate::conventional::{Backward, Work};
        match self {
            Rule::Backprop => Work::layered(sizes, Backward::Transpose, cfg.batch),
            Rule::Dfa => Work::layered(sizes, Backward::Direct, cfg.batch),
            Rule::Sigprop => {
                let mut weights = crate::conventional::dense(sizes);
                if let (Some(p), [inputs, units, ..]) = (cfg.patch, sizes) {
                    // every unit reads one whole patch (and what lies beyond the image)
                    weights[0] = units * crate::dual_ed::patch::fan_in(*inputs, p.size);
                }
                Work::sigprop_wired(
                    sizes,
                    &weights,
                    classes * cfg.sigprop.contexts_per_class.max(1),
                    cfg.batch,
                    cfg.sigprop.target_updates,
                )
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Rule::Backprop => "backprop",
            Rule::Dfa => "dfa",
            Rule::Sigprop => "sigprop",
        }
    }
}

/// Everything that determines a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FfConfig {
    pub rule: Rule,
    /// Hidden layer widths (backprop, DFA: the output layer of `classes` units follows;
    /// sigprop: every layer is a sigprop layer and the last of these is compared with
    /// the contexts).
    pub hidden: Vec<usize>,
    /// SGD step.
    pub rate: f64,
    /// Initial weights uniform in `±init_scale/√fan_in`.
    pub init_scale: f64,
    /// DFA feedback entries uniform in `±feedback_scale`.
    pub feedback_scale: f64,
    /// Samples per update (1: online).
    pub batch: usize,
    pub epochs: usize,
    pub seed: u64,
    pub sigprop: SigpropConfig,
    /// `Some(b)`: a constant input `b` is appended to the sample and no layer has a
    /// learned bias (the chip's form: the bias unit of the input port); `None`: every
    /// layer learns a bias.
    #[serde(default)]
    pub input_bias: Option<f64>,
    /// DFA: feed back `e = (y − t) ⊙ y(1 − y)` (Nøkland's δ at the output) when true,
    /// the raw error `y − t` when false (the chip's form: the error units carry `t − o`
    /// and each unit's own derivative enters its update).
    #[serde(default = "yes")]
    pub feedback_derivative: bool,
    /// Each input `x` is presented together with its complement `1 − x` (two streams, as
    /// Error Diffusion's `x_e`/`x_i` ports carry a sample), doubling the input width.
    #[serde(default)]
    pub complement_inputs: bool,
    /// The step of epoch `e` (from 1) is `rate · rate_decay^(e−1)`.
    #[serde(default = "unit")]
    pub rate_decay: f64,
    /// Every update also shrinks each weight by `rate · weight_decay · w` (not the
    /// biases).
    #[serde(default)]
    pub weight_decay: f64,
    /// The first layer patch-wired: unit `j` reads one `size × size` patch of the
    /// (square) input image at `stride`, and the constant input if any
    /// ([`net::Dense::patch`]); `None`: dense. Not with `complement_inputs`.
    #[serde(default)]
    pub patch: Option<Patch>,
    /// Per layer (input side first), a factor on `rate` for that layer's weights; empty:
    /// 1 for every layer. Otherwise one factor a layer of weights, each finite and > 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_scales: Vec<f64>,
}

/// A patch-wired first layer's geometry ([`crate::dual_ed::patch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub size: usize,
    pub stride: usize,
}

fn unit() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl FfConfig {
    /// The digits settings of `rule` (docs/feedforward-rules.md; sigprop's tuning runs: docs/sigprop.md).
    pub fn digits(rule: Rule) -> FfConfig {
        let base = FfConfig {
            rule,
            hidden: vec![128],
            rate: 0.5,
            init_scale: 1.0,
            feedback_scale: 1.0,
            batch: 1,
            epochs: 20,
            seed: 1,
            sigprop: SigpropConfig::default(),
            input_bias: None,
            feedback_derivative: true,
            complement_inputs: false,
            rate_decay: 1.0,
            weight_decay: 0.0,
            patch: None,
            rate_scales: Vec::new(),
        };
        match rule {
            Rule::Backprop => FfConfig { rate: 1.0, ..base },
            Rule::Dfa => base,
            Rule::Sigprop => FfConfig {
                hidden: vec![128, 64],
                batch: 16,
                complement_inputs: true,
                sigprop: SigpropConfig {
                    loss: sigprop::Loss::Contrastive,
                    beta: 16.0,
                    target_updates: true,
                    context_scale: 1.0,
                    unit_widths: None,
                    readout: sigprop::Readout::Last,
                    context: sigprop::ContextForm::ClassMean,
                    sample_updates: false,
                    contexts: None,
                    contexts_per_class: 1,
                    pooled_readout: false,
                    own_class: sigprop::OwnClass::Negatives,
                },
                ..base
            },
        }
    }

    /// The MNIST-subset settings of `rule` (docs/sigprop.md): the digits
    /// settings, except sigprop's, which keep random contexts at half the inputs' mean
    /// and no complement stream, and decay the rate by 0.85 an epoch over 15 epochs.
    pub fn mnist(rule: Rule) -> FfConfig {
        let digits = FfConfig::digits(rule);
        match rule {
            Rule::Sigprop => FfConfig {
                complement_inputs: false,
                rate_decay: 0.85,
                epochs: 15,
                sigprop: SigpropConfig {
                    context: sigprop::ContextForm::Random,
                    context_scale: 0.5,
                    ..digits.sigprop
                },
                ..digits
            },
            _ => digits,
        }
    }

    /// The settings of `rule` for `task`: [`FfConfig::digits`] for the digits,
    /// [`FfConfig::mnist`] for the image tasks.
    pub fn for_task(rule: Rule, task: &crate::TaskSpec) -> FfConfig {
        match task {
            crate::TaskSpec::Digits => FfConfig::digits(rule),
            _ => FfConfig::mnist(rule),
        }
    }

    fn check(&self, split: &Split) -> Result<(), Error> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(Error::config(format!(
                "hidden = {:?}: at least one layer, none empty",
                self.hidden
            )));
        }
        for (name, v) in [
            ("rate", self.rate),
            ("init_scale", self.init_scale),
            ("feedback_scale", self.feedback_scale),
            ("sigprop.beta", self.sigprop.beta),
            ("rate_decay", self.rate_decay),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(format!(
                    "{name} = {v}: must be finite and > 0"
                )));
            }
        }
        if !(self.weight_decay.is_finite() && (0.0..1.0).contains(&(self.rate * self.weight_decay)))
        {
            return Err(Error::config(format!(
                "weight_decay = {}: must be ≥ 0 with rate · weight_decay < 1",
                self.weight_decay
            )));
        }
        if self.batch == 0 {
            return Err(Error::config("batch = 0: must be at least 1"));
        }
        let layers = self.sizes(split.train.input_len(), split.classes()).len() - 1;
        if !self.rate_scales.is_empty()
            && (self.rate_scales.len() != layers
                || self
                    .rate_scales
                    .iter()
                    .any(|v| !(v.is_finite() && *v > 0.0)))
        {
            return Err(Error::config(format!(
                "rate_scales = {:?}: one factor for each of the {layers} layers of weights, \
                 each finite and > 0 (or none)",
                self.rate_scales
            )));
        }
        if self.rule == Rule::Sigprop
            && self.sigprop.own_class != sigprop::OwnClass::Negatives
            && !self.sigprop.sample_updates
        {
            return Err(Error::config(
                "sigprop.own_class: only the chip's form (sample_updates) leaves out or pools the own class's contexts",
            ));
        }
        if self.sigprop.contexts_per_class == 0 {
            return Err(Error::config(
                "sigprop.contexts_per_class = 0: must be at least 1",
            ));
        }
        if let Some(c) = &self.sigprop.contexts {
            let width = self.sizes(split.train.input_len(), split.classes())[0];
            let needed = split.classes() * self.sigprop.contexts_per_class.max(1);
            if c.len() != needed || c.iter().any(|r| r.len() != width) {
                return Err(Error::config(format!(
                    "sigprop.contexts: {} contexts; the task needs {needed} of {width} values \
                     ({} classes × {} contexts_per_class)",
                    c.len(),
                    split.classes(),
                    self.sigprop.contexts_per_class.max(1)
                )));
            }
        }
        if let Some(p) = self.patch {
            self.check_patch(p, split.train.input_len())?;
        }
        split.check_trainable()
    }

    /// Why `patch` cannot wire the first layer over `inputs` values a sample, if not.
    fn check_patch(&self, p: Patch, inputs: usize) -> Result<(), Error> {
        if self.complement_inputs {
            return Err(Error::config(
                "patch: a patch-wired first layer reads one image; complement_inputs must be off",
            ));
        }
        if inputs.isqrt().pow(2) != inputs {
            return Err(Error::config(format!(
                "patch: a patch-wired first layer needs a square image; {inputs} inputs is not one"
            )));
        }
        let sources = self.sizes(inputs, 0)[0];
        crate::dual_ed::patch::check(sources, p.size, p.stride)
            .map_err(|e| Error::config(format!("patch: {e}")))
    }

    /// The network `amine template dfa` builds (`amine_compiler::templates::dfa`): one
    /// hidden layer of `hidden`, the bias as a constant 0.8 input, raw-error feedback.
    pub fn dfa_chip_form(hidden: usize, rate: f64) -> FfConfig {
        FfConfig {
            hidden: vec![hidden],
            rate,
            input_bias: Some(0.8),
            feedback_derivative: false,
            ..FfConfig::digits(Rule::Dfa)
        }
    }

    /// The network `amine template sigprop` builds (`amine_compiler::templates::sigprop`):
    /// layers `hidden`, the bias as a constant 0.8 input, the program's context
    /// projection `contexts` (whose rows already hold the complements and the bias),
    /// the contrastive loss in the form the chip runs (`SigpropConfig::sample_updates`).
    pub fn sigprop_chip_form(chip: SigpropChipForm) -> FfConfig {
        let d = FfConfig::digits(Rule::Sigprop);
        let SigpropChipForm {
            hidden,
            rate,
            rate_decay,
            beta,
            batch,
            complement_inputs,
            readout_sum,
            contexts,
            contexts_per_class,
            patch,
            own_class,
        } = chip;
        FfConfig {
            hidden,
            rate,
            rate_decay,
            batch,
            input_bias: Some(0.8),
            patch,
            // The program's contexts are given and the chip reads the class out at the
            // last layer.
            complement_inputs,
            sigprop: SigpropConfig {
                beta,
                target_updates: true,
                sample_updates: true,
                contexts: Some(contexts),
                contexts_per_class,
                own_class,
                readout: if readout_sum {
                    sigprop::Readout::Sum
                } else {
                    sigprop::Readout::Last
                },
                ..d.sigprop.clone()
            },
            ..d
        }
    }

    /// Layer widths from the input (with the constant input, if any): `inputs,
    /// hidden…` (and `classes` unless sigprop).
    pub fn sizes(&self, inputs: usize, classes: usize) -> Vec<usize> {
        let streams = 1 + usize::from(self.complement_inputs);
        let mut s = vec![streams * inputs + usize::from(self.input_bias.is_some())];
        s.extend(&self.hidden);
        if self.rule != Rule::Sigprop {
            s.push(classes);
        }
        s
    }
}

/// What a sigprop program fixes of its f64 reference ([`FfConfig::sigprop_chip_form`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SigpropChipForm {
    pub hidden: Vec<usize>,
    /// Per mini-batch, at the first epoch.
    pub rate: f64,
    /// The rate of epoch `e` (from 1) is `rate · rate_decay^(e−1)`.
    pub rate_decay: f64,
    pub beta: f64,
    pub batch: usize,
    /// The port carries each sample's complements after it.
    pub complement_inputs: bool,
    /// The class is read out from distances summed over every layer (else the last).
    pub readout_sum: bool,
    /// Per context, one value per network input (complements and the constant input
    /// included); class `c`'s `j`-th context is row `c·contexts_per_class + j`.
    pub contexts: Vec<Vec<f64>>,
    /// Contexts per class (sub-class prototypes, [`prototypes`]).
    pub contexts_per_class: usize,
    /// The first layer patch-wired ([`FfConfig::patch`]).
    pub patch: Option<Patch>,
    /// The own class's other contexts in the layer loss ([`SigpropConfig::own_class`]).
    pub own_class: sigprop::OwnClass,
}

/// Accuracy after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FfEpoch {
    pub epoch: usize,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

/// The outcome of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FfResult {
    pub rule: Rule,
    /// Layer widths, inputs first.
    pub sizes: Vec<usize>,
    pub epochs: Vec<FfEpoch>,
    /// Test set after the last epoch: `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
}

impl FfResult {
    /// Test accuracy after the last epoch (0 with no epochs).
    pub fn test_accuracy(&self) -> f64 {
        self.epochs.last().map_or(0.0, |e| e.test_accuracy)
    }
}

/// A sample or context in the input space as the network's input: followed by the
/// complements `1 − x` if [`FfConfig::complement_inputs`], then the constant input if any.
pub(crate) fn input_of(cfg: &FfConfig, v: Vec<f64>) -> Vec<f64> {
    network_input(v, cfg.complement_inputs, cfg.input_bias)
}

/// `v` followed by its complements `1 − v` if `complement`, then the constant input
/// `bias` if any: a sample or context as a network (or a sigprop program's port) takes
/// it.
pub fn network_input(mut v: Vec<f64>, complement: bool, bias: Option<f64>) -> Vec<f64> {
    if complement {
        let n = v.len();
        v.extend_from_within(..n);
        v[n..].iter_mut().for_each(|c| *c = 1.0 - *c);
    }
    v.extend(bias);
    v
}

/// A sample as the network's input ([`input_of`]).
pub(crate) fn input(cfg: &FfConfig, x: &[f32]) -> Vec<f64> {
    input_of(cfg, x.iter().map(|&v| f64::from(v)).collect())
}

/// A network and what its rule keeps beside it.
struct Learner {
    cfg: FfConfig,
    mlp: Mlp,
    /// DFA: one `units × classes` matrix per hidden layer.
    feedback: Vec<Vec<f64>>,
    sigprop: Option<sigprop::State>,
    classes: usize,
}

impl Learner {
    fn new(cfg: &FfConfig, train: &Dataset, classes: usize) -> Learner {
        let inputs = train.input_len();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let sizes = cfg.sizes(inputs, classes);
        let patch = cfg.patch.map(|p| (p.size, p.stride));
        let mlp = Mlp::with_patch(&sizes, patch, cfg.init_scale, &mut rng);
        let mut fb_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xFEED_BAC6_0000_0001);
        let feedback = match cfg.rule {
            Rule::Dfa => sizes[1..sizes.len() - 1]
                .iter()
                .map(|&n| {
                    (0..n * classes)
                        .map(|_| (2.0 * fb_rng.random::<f64>() - 1.0) * cfg.feedback_scale)
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        };
        let sigprop = (cfg.rule == Rule::Sigprop).then(|| sigprop::State::new(cfg, train, classes));
        Learner {
            cfg: cfg.clone(),
            mlp,
            feedback,
            sigprop,
            classes,
        }
    }

    fn predict(&self, x: &[f64], acts: &mut Vec<Vec<f64>>) -> usize {
        self.mlp.forward(x, acts);
        match &self.sigprop {
            Some(s) => s.predict(acts, self.cfg.sigprop.readout),
            None => argmax(&acts[acts.len() - 1]),
        }
    }

    /// One update from the samples `batch` of `data`.
    fn learn(&mut self, data: &Dataset, batch: &[usize], grads: &mut Grads) {
        if let Some(s) = &mut self.sigprop {
            s.learn(&mut self.mlp, &self.cfg, data, batch, grads);
            return;
        }
        grads.zero(&self.mlp);
        for &i in batch {
            let x = input(&self.cfg, &data.inputs[i]);
            self.mlp.forward(&x, &mut grads.acts);
            let label = usize::from(data.labels[i]);
            self.accumulate(label, grads);
        }
        grads.apply(&mut self.mlp, &self.cfg, batch.len());
        if self.cfg.input_bias.is_some() {
            self.mlp.layers.iter_mut().for_each(|l| l.b.fill(0.0));
        }
    }

    /// Backprop or DFA gradient of one sample (its activations in `grads.acts`).
    fn accumulate(&self, label: usize, grads: &mut Grads) {
        let layers = self.mlp.layers.len();
        let y = &grads.acts[layers];
        let err = |k: usize, o: f64| o - f64::from(u8::from(k == label));
        let delta: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(k, &o)| err(k, o) * o * (1.0 - o))
            .collect();
        let e: Vec<f64> = if self.cfg.feedback_derivative {
            delta.clone()
        } else {
            y.iter().enumerate().map(|(k, &o)| err(k, o)).collect()
        };
        let mut delta = delta;
        let mut down = Vec::new();
        for l in (0..layers).rev() {
            grads.add(l, &delta, &grads.acts[l].clone());
            if l == 0 {
                break;
            }
            let h = &grads.acts[l];
            match self.cfg.rule {
                Rule::Dfa => {
                    let b = &self.feedback[l - 1];
                    down.clear();
                    down.extend(
                        b.chunks_exact(self.classes)
                            .map(|row| row.iter().zip(&e).map(|(b, e)| b * e).sum::<f64>()),
                    );
                }
                _ => self.mlp.layers[l].transpose_times(&delta, &mut down),
            }
            delta = down.iter().zip(h).map(|(d, h)| d * h * (1.0 - h)).collect();
        }
    }
}

/// Summed gradients of a batch, and the activation buffers.
#[derive(Debug, Default)]
pub(crate) struct Grads {
    pub w: Vec<Vec<f64>>,
    pub b: Vec<Vec<f64>>,
    pub acts: Vec<Vec<f64>>,
    /// Each layer's wiring ([`net::Dense::sources`]).
    sources: Vec<Option<std::sync::Arc<Vec<u32>>>>,
}

impl Grads {
    pub fn zero(&mut self, mlp: &Mlp) {
        self.w.resize_with(mlp.layers.len(), Vec::new);
        self.b.resize_with(mlp.layers.len(), Vec::new);
        self.sources.clear();
        self.sources
            .extend(mlp.layers.iter().map(|l| l.sources.clone()));
        for (l, layer) in mlp.layers.iter().enumerate() {
            self.w[l].clear();
            self.w[l].resize(layer.w.len(), 0.0);
            self.b[l].clear();
            self.b[l].resize(layer.units, 0.0);
        }
    }

    /// `+= δ ⊗ x` for layer `l`.
    pub fn add(&mut self, l: usize, delta: &[f64], x: &[f64]) {
        let sources = self.sources[l].as_deref().map(Vec::as_slice);
        let fan = match sources {
            Some(s) => s.len() / delta.len().max(1),
            None => x.len(),
        };
        for (k, ((row, b), &d)) in self.w[l]
            .chunks_exact_mut(fan)
            .zip(&mut self.b[l])
            .zip(delta)
            .enumerate()
        {
            if d != 0.0 {
                net::add_outer(sources, k, row, d, x);
                *b += d;
            }
        }
    }

    /// `θ −= (rate / batch) · g`, and each weight shrinks by `rate · weight_decay · w`.
    pub fn apply(&self, mlp: &mut Mlp, cfg: &FfConfig, batch: usize) {
        let keep = 1.0 - cfg.rate * cfg.weight_decay;
        for (l, layer) in mlp.layers.iter_mut().enumerate() {
            let rate = cfg.rate * cfg.rate_scales.get(l).copied().unwrap_or(1.0) / batch as f64;
            layer
                .w
                .iter_mut()
                .zip(&self.w[l])
                .for_each(|(w, g)| *w = keep * *w - rate * g);
            layer
                .b
                .iter_mut()
                .zip(&self.b[l])
                .for_each(|(b, g)| *b -= rate * g);
        }
    }
}

/// Accuracy of `learner` on `set` and the confusion matrix.
fn evaluate(learner: &Learner, set: &Dataset) -> (f64, Vec<Vec<u32>>) {
    let c = learner.classes;
    let mut confusion = vec![vec![0u32; c]; c];
    let mut acts = Vec::new();
    let mut right = 0usize;
    for (x, &l) in set.inputs.iter().zip(&set.labels) {
        let p = learner.predict(&input(&learner.cfg, x), &mut acts);
        confusion[usize::from(l)][p] += 1;
        right += usize::from(p == usize::from(l));
    }
    (right as f64 / set.len().max(1) as f64, confusion)
}

/// Trains `cfg` on `split.train`, calling `on_epoch` after every epoch.
pub fn train(
    cfg: &FfConfig,
    split: &Split,
    on_epoch: &mut dyn FnMut(&FfEpoch),
) -> Result<FfResult, Error> {
    train_augmented(cfg, split, None, on_epoch)
}

/// [`train`] with a per-epoch augmentation of the training set
/// ([`Augment::epoch`], seeded with `cfg.seed`, as `amine train` seeds the chip run's):
/// each epoch learns from that epoch's set. The contexts, and the training accuracy,
/// come from `split.train` itself. An augmentation that is not per-epoch is ignored
/// here (apply it to `split.train` first).
pub fn train_augmented(
    cfg: &FfConfig,
    split: &Split,
    augment: Option<Augment>,
    on_epoch: &mut dyn FnMut(&FfEpoch),
) -> Result<FfResult, Error> {
    train_probing(cfg, split, augment, false, &mut |e, _| on_epoch(e))
}

/// [`train_augmented`]; with `probe` (sigprop only), after every epoch also the test
/// accuracy of every read-out of [`readouts`] on the same weights, handed to
/// `on_epoch` beside the epoch (empty without `probe` or for another rule).
pub fn train_probing(
    cfg: &FfConfig,
    split: &Split,
    augment: Option<Augment>,
    probe: bool,
    on_epoch: &mut dyn FnMut(&FfEpoch, &[readouts::ReadoutScore]),
) -> Result<FfResult, Error> {
    cfg.check(split)?;
    let classes = split.classes();
    let mut learner = Learner::new(cfg, &split.train, classes);
    let mut order_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0DDE_F0E1_5EED_00FF);
    let mut order: Vec<usize> = (0..split.train.len()).collect();
    let mut grads = Grads::default();
    let mut epochs = Vec::new();
    let mut confusion = Vec::new();
    for epoch in 1..=cfg.epochs {
        learner.cfg.rate = cfg.rate * cfg.rate_decay.powi(epoch as i32 - 1);
        order.shuffle(&mut order_rng);
        let moved = match augment {
            Some(a) => a.epoch(&split.train, cfg.seed, epoch - 1)?,
            None => None,
        };
        let data = moved.as_ref().unwrap_or(&split.train);
        for batch in order.chunks(cfg.batch) {
            learner.learn(data, batch, &mut grads);
        }
        if let Some(s) = learner.sigprop.as_mut() {
            if cfg.sigprop.readout == sigprop::Readout::Mean {
                s.set_means(&learner.mlp, cfg, data);
            }
        }
        let (train_accuracy, _) = evaluate(&learner, &split.train);
        let (test_accuracy, conf) = evaluate(&learner, &split.test);
        confusion = conf;
        let e = FfEpoch {
            epoch,
            train_accuracy,
            test_accuracy,
        };
        let scores = match (&learner.sigprop, probe) {
            (Some(s), true) => {
                readouts::probe(&learner.mlp, s, cfg, &split.train, &split.test, classes)
            }
            _ => Vec::new(),
        };
        on_epoch(&e, &scores);
        epochs.push(e);
    }
    Ok(FfResult {
        rule: cfg.rule,
        sizes: learner.mlp.sizes(),
        epochs,
        confusion,
    })
}

#[cfg(test)]
mod tests;
