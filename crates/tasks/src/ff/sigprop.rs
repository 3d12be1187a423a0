//! Signal propagation, supervised (arXiv 2204.01723): the layer-local loss and the
//! forward pass of the contexts.
//!
//! **Context.** Class `k`'s context `c_k` (one-hot) is projected into the input space,
//! `t_0,k = S·c_k`, by a fixed random `S` (entries uniform in [0, 1), the range of the
//! inputs), and each layer sends it on as it sends a sample: `t_l,k = σ(W_l·t_{l−1},k +
//! b_l)` (the paper's "the target is treated as an additional input", §III).
//!
//! **Layer loss.** For a sample x of class y with response `h_l` at layer l, the layer's
//! loss is the cross-entropy of the softmax over classes of the negative squared
//! distances between the sample's and every context's response,
//!
//! ```text
//! s_k = −(β/2)·‖h_l − t_l,k‖²,   p = softmax(s),   L_l = −log p_y
//! ∂L_l/∂h_l   = β·(Σ_k p_k·t_l,k − t_l,y)
//! ∂L_l/∂t_l,k = −β·(δ_ky − p_k)·(h_l − t_l,k)
//! ```
//!
//! (the paper's supervised loss compares sample and target responses of a batch, pulling
//! a sample toward its class's target and away from the others; here the comparison
//! runs against every class's context, which the paper also uses for prediction). Both
//! gradients stop at the layer's input: `W_l` moves by `−rate·(δ_h ⊗ h_{l−1} + Σ_k δ_t,k
//! ⊗ t_{l−1},k)` with `δ = ∂L/∂h ⊙ σ'`, so no layer waits for or hears from another.
//! With `target_updates` off only the sample path updates (the contexts still move, as
//! the weights they pass through change).
//!
//! **Prediction** (the paper's first output option): the class whose context's response
//! at the last layer is closest to the sample's.

use super::net::{argmax, Mlp};
use super::{FfConfig, Grads};
use crate::datasets::Dataset;
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The layer loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Cross-entropy over the classes' contexts (the module docs).
    Contrastive,
    /// `½‖h_l − t_l,y‖²` through the sample's path only: `δ = (h − t_y) ⊙ σ'(h)`,
    /// scaled by β — the variant the chip's learning engine runs (one comparison per
    /// unit, of its own response to the sample and to its class's context).
    Pull,
    /// `β·(t̄_l − t_l,y)` with `t̄` the plain mean of the classes' context responses:
    /// the contrastive gradient with uniform class probabilities (small β).
    Mean,
}

/// How class `k`'s context `S·c_k` is formed in the input space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextForm {
    /// Fixed random entries uniform in `[0, 2·context_scale·x̄)`, `x̄` the training set's
    /// mean input value.
    #[default]
    Random,
    /// `context_scale` times the mean of class `k`'s training inputs: a fixed `S` whose
    /// column `k` is that class's mean sample.
    ClassMean,
}

/// With several contexts a class, what the layer loss makes of the sample's own class's
/// other contexts (the chip's form, [`SigpropConfig::sample_updates`], only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnClass {
    /// Negatives like every other class's: the softmax runs over all contexts and the
    /// sample is pulled to its target context only.
    #[default]
    Negatives,
    /// Left out of the softmax (a mask on the distance terms): the sample is pulled to
    /// its target and pushed from the other classes' contexts only.
    Excluded,
    /// Pooled: the loss is `−log Σ_{j∈y} p_j`, so the sample is pulled to its class's
    /// contexts weighted by `q_j = p_j / Σ_{j∈y} p_j` (`δ = β·(Σ_k p_k·t_k − Σ_j q_j·t_j)`),
    /// and context `j` of its class moves with `β·(q_j − p_j)` (a class whose
    /// probabilities all underflow to 0 is pulled to the target alone).
    Pooled,
}

/// How a sample's class is read out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// The class whose context response at the last layer is nearest the sample's.
    #[default]
    Last,
    /// The class with the smallest squared distance summed over every layer (the
    /// argmax of `Σ_l log p_l,k`: each layer's log-softmax differs from `−(β/2)·d_l,k`
    /// by a term that is the same for every class).
    Sum,
    /// The class whose mean last-layer response over the training set (computed after
    /// each epoch) is nearest the sample's.
    Mean,
}

/// Sigprop's own settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigpropConfig {
    pub loss: Loss,
    /// Inverse temperature of the layer loss.
    pub beta: f64,
    /// Also update through the contexts' path (the paper updates both).
    pub target_updates: bool,
    /// Context entries are uniform in `[0, 2·context_scale·x̄)`, `x̄` the mean input value
    /// of the training set: at 1 a context has the inputs' mean.
    #[serde(default = "one")]
    pub context_scale: f64,
    /// The contrastive loss as a fixed-point learning unit would see it: responses
    /// rounded to `response_bits` fractional bits, probabilities to `prob_bits`
    /// (`None`: f64 throughout). The rounding is done here in f64, independently of any
    /// chip code, to measure what the widths cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_widths: Option<UnitWidths>,
    #[serde(default)]
    pub readout: Readout,
    #[serde(default)]
    pub context: ContextForm,
    /// The chip's form (`amine template sigprop`): the sample path's update is applied
    /// after every sample (at `rate / batch`), the contexts' responses still fixed for
    /// the mini-batch. The chip's learning engine updates a synapse from one sample and
    /// keeps no gradient accumulator.
    #[serde(default)]
    pub sample_updates: bool,
    /// A given context projection (`contexts[k]` = `S·c_k`, one value per network input,
    /// the constant input included), as a program carries it; `None`: drawn from the
    /// seed as the module docs say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts: Option<Vec<Vec<f64>>>,
    /// Contexts per class (sub-class prototypes, [`super::prototypes`]): with class-mean
    /// contexts the `K` k-means centroids of the class's training inputs, with random
    /// ones `K` draws. A sample's target is the nearest context of its own class; the
    /// loss's softmax runs over all `classes·K` contexts. 1: one context a class.
    #[serde(default = "one_usize")]
    pub contexts_per_class: usize,
    /// With several contexts per class, read a class out by pooling its contexts
    /// (`log Σ_j exp(−(β/2)·d_j)`, the class's summed softmax probability) instead of
    /// taking the class of the nearest context.
    #[serde(default)]
    pub pooled_readout: bool,
    /// With several contexts a class, the loss's treatment of the own class's other
    /// contexts (chip form only).
    #[serde(default)]
    pub own_class: OwnClass,
}

fn one_usize() -> usize {
    1
}

/// Widths of a sigprop learning unit (see [`SigpropConfig::unit_widths`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitWidths {
    pub response_bits: u8,
    pub prob_bits: u8,
}

/// `v` rounded to `bits` fractional bits (`None`: unchanged).
fn round_to(v: f64, bits: Option<u8>) -> f64 {
    bits.map_or(v, |b| {
        let s = f64::from(1u32 << b);
        (v * s).round() / s
    })
}

fn one() -> f64 {
    1.0
}

impl Default for SigpropConfig {
    fn default() -> SigpropConfig {
        SigpropConfig {
            loss: Loss::Contrastive,
            beta: 1.0,
            target_updates: true,
            context_scale: 1.0,
            unit_widths: None,
            readout: Readout::Last,
            context: ContextForm::Random,
            sample_updates: false,
            contexts: None,
            contexts_per_class: 1,
            pooled_readout: false,
            own_class: OwnClass::Negatives,
        }
    }
}

/// The context projection and the last layer's context responses (for prediction).
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// `contexts[k]` = `S·c_k`, in the input space.
    contexts: Vec<Vec<f64>>,
    /// Per class, every layer's response to its context (`[k][l]`, `l = 0` the input).
    responses: Vec<Vec<Vec<f64>>>,
    /// [`Readout::Mean`]: per class, every layer's mean response to its training samples.
    means: Vec<Vec<Vec<f64>>>,
    pub(crate) beta: f64,
    /// Contexts per class (class-major rows).
    per_class: usize,
    pub(crate) pooled: bool,
}

impl State {
    pub fn new(cfg: &FfConfig, train: &Dataset, classes: usize) -> State {
        let contexts = cfg
            .sigprop
            .contexts
            .clone()
            .unwrap_or_else(|| contexts(cfg, train, classes));
        State {
            responses: vec![Vec::new(); contexts.len()],
            contexts,
            means: Vec::new(),
            beta: cfg.sigprop.beta,
            per_class: cfg.sigprop.contexts_per_class.max(1),
            pooled: cfg.sigprop.pooled_readout,
        }
    }

    /// The target context of a sample of class `class` whose network input is `x`.
    pub(crate) fn target(&self, class: usize, x: &[f64]) -> usize {
        super::prototypes::subclass(&self.contexts, self.per_class, class, x)
    }

    /// The chip's form of [`Self::learn`] (`sample_updates`): each sample's update is
    /// applied at once at `rate / batch`, against the context responses latched when
    /// the batch began; per class `k` and unit `j` the context-path term
    /// `G_kj = Σ β(δ_ky − p_k)(h_j − t_kj)` is summed over the batch. When it ends each
    /// class's context passes forward once more: its responses are latched for the next
    /// batch and, with `target_updates`, `W_l` moves by `rate/batch · (G_k ⊙ σ'(t_l,k))
    /// ⊗ t_{l−1},k` from the responses of that pass. (The chip's learning engine reads
    /// `pre` and `deriv` of the pass it runs in.)
    fn learn_sample_form(
        &mut self,
        mlp: &mut Mlp,
        cfg: &FfConfig,
        data: &Dataset,
        batch: &[usize],
        grads: &mut Grads,
    ) {
        if self.responses.iter().any(Vec::is_empty) {
            self.propagate(mlp);
        }
        let (classes, layers) = (self.contexts.len(), mlp.layers.len());
        let beta = self.beta;
        let mut g = vec![vec![Vec::<f64>::new(); layers + 1]; classes];
        let mut p = vec![0.0; classes];
        let unbias = |mlp: &mut Mlp| {
            if cfg.input_bias.is_some() {
                mlp.layers.iter_mut().for_each(|l| l.b.fill(0.0));
            }
        };
        for &i in batch {
            grads.zero(mlp);
            mlp.forward(&super::input(cfg, &data.inputs[i]), &mut grads.acts);
            let y = self.target(usize::from(data.labels[i]), &grads.acts[0]);
            for l in 1..=layers {
                let h = &grads.acts[l];
                let t = |k: usize| &self.responses[k][l];
                for (k, pk) in p.iter_mut().enumerate() {
                    *pk = -0.5
                        * beta
                        * h.iter()
                            .zip(t(k))
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f64>();
                }
                let own = (y / self.per_class) * self.per_class
                    ..(y / self.per_class + 1) * self.per_class;
                if cfg.sigprop.own_class == OwnClass::Excluded {
                    own.clone()
                        .filter(|&k| k != y)
                        .for_each(|k| p[k] = f64::NEG_INFINITY);
                }
                softmax(&mut p);
                // The pull's weights on the contexts: the target alone, or (pooled) the
                // own class's contexts by their share of its probability.
                let mut q = vec![0.0; classes];
                match cfg.sigprop.own_class {
                    OwnClass::Pooled if p[own.clone()].iter().sum::<f64>() > 0.0 => {
                        let py: f64 = p[own.clone()].iter().sum();
                        own.clone().for_each(|k| q[k] = p[k] / py);
                    }
                    _ => q[y] = 1.0,
                }
                let delta: Vec<f64> = (0..h.len())
                    .map(|j| {
                        let mean: f64 = (0..classes).map(|k| p[k] * t(k)[j]).sum();
                        let pull: f64 = match cfg.sigprop.own_class {
                            OwnClass::Pooled => own.clone().map(|k| q[k] * t(k)[j]).sum(),
                            _ => t(y)[j],
                        };
                        beta * (mean - pull) * h[j] * (1.0 - h[j])
                    })
                    .collect();
                for (k, gk) in g.iter_mut().enumerate() {
                    let coef = beta * (q[k] - p[k]);
                    gk[l].resize(h.len(), 0.0);
                    for ((a, &hj), &tj) in gk[l].iter_mut().zip(h).zip(t(k)) {
                        *a += coef * (hj - tj);
                    }
                }
                let below = grads.acts[l - 1].clone();
                grads.add(l - 1, &delta, &below);
            }
            grads.apply(mlp, cfg, cfg.batch);
            unbias(mlp);
        }
        for (k, gk) in g.iter().enumerate() {
            let mut r = Vec::new();
            mlp.forward(&self.contexts[k], &mut r);
            if cfg.sigprop.target_updates {
                grads.zero(mlp);
                for l in 1..=layers {
                    let d: Vec<f64> = (gk[l].iter().zip(&r[l]))
                        .map(|(&a, &t)| -a * t * (1.0 - t))
                        .collect();
                    grads.add(l - 1, &d, &r[l - 1]);
                }
                grads.apply(mlp, cfg, cfg.batch);
                unbias(mlp);
            }
            self.responses[k] = r;
        }
    }

    /// Contexts per class.
    pub(crate) fn per_class(&self) -> usize {
        self.per_class
    }

    /// Every context's latched responses (`[k][l]`, `l = 0` the input); a context not
    /// yet latched is passed through `mlp` here.
    pub(crate) fn latched(&self, mlp: &Mlp) -> Vec<Vec<Vec<f64>>> {
        (self.contexts.iter().zip(&self.responses))
            .map(|(c, r)| {
                if r.is_empty() {
                    let mut fresh = Vec::new();
                    mlp.forward(c, &mut fresh);
                    fresh
                } else {
                    r.clone()
                }
            })
            .collect()
    }

    /// The context projection `S·c_k` of every class.
    #[cfg(test)]
    pub fn contexts(&self) -> &[Vec<f64>] {
        &self.contexts
    }

    #[cfg(test)]
    pub fn set_responses(&mut self, responses: Vec<Vec<Vec<f64>>>) {
        self.responses = responses;
    }

    fn propagate(&mut self, mlp: &Mlp) {
        for (c, r) in self.contexts.iter().zip(&mut self.responses) {
            mlp.forward(c, r);
        }
    }

    /// The class whose context responses are nearest the sample's (`acts`: every
    /// layer's response, the input first), by `readout`.
    pub fn predict(&self, acts: &[Vec<f64>], readout: Readout) -> usize {
        let first = match readout {
            Readout::Sum => 1,
            _ => acts.len().saturating_sub(1).max(1),
        };
        // Class means have one anchor a class; context responses `per_class`.
        let (anchors, per_class) = match readout {
            Readout::Mean if !self.means.is_empty() => (&self.means, 1),
            _ => (&self.responses, self.per_class),
        };
        let neg_dist: Vec<f64> = anchors
            .iter()
            .map(|r| {
                -(first..acts.len())
                    .map(|l| {
                        r.get(l)
                            .map_or(f64::INFINITY, |t| super::prototypes::sq_dist(t, &acts[l]))
                    })
                    .sum::<f64>()
            })
            .collect();
        if per_class > 1 && self.pooled {
            let pooled: Vec<f64> = neg_dist
                .chunks(per_class)
                .map(|c| {
                    let s: Vec<f64> = c.iter().map(|d| 0.5 * self.beta * d).collect();
                    let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    m + s.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
                })
                .collect();
            return argmax(&pooled);
        }
        argmax(&neg_dist) / per_class
    }

    /// Sets the class means of every layer's responses to `data` ([`Readout::Mean`]).
    pub fn set_means(&mut self, mlp: &Mlp, cfg: &FfConfig, data: &Dataset) {
        let layers = mlp.layers.len() + 1;
        let sizes = mlp.sizes();
        let classes = self.responses.len();
        let mut sum: Vec<Vec<Vec<f64>>> = (0..classes)
            .map(|_| sizes.iter().map(|&n| vec![0.0; n]).collect())
            .collect();
        let mut count = vec![0usize; classes];
        let mut acts = Vec::new();
        for (x, &y) in data.inputs.iter().zip(&data.labels) {
            mlp.forward(&super::input(cfg, x), &mut acts);
            let y = usize::from(y);
            count[y] += 1;
            for l in 0..layers {
                sum[y][l]
                    .iter_mut()
                    .zip(&acts[l])
                    .for_each(|(s, a)| *s += a);
            }
        }
        for (s, &n) in sum.iter_mut().zip(&count) {
            s.iter_mut().flatten().for_each(|v| *v /= n.max(1) as f64);
        }
        self.means = sum;
    }

    /// One update of every layer from the samples `batch` of `data`.
    pub fn learn(
        &mut self,
        mlp: &mut Mlp,
        cfg: &FfConfig,
        data: &Dataset,
        batch: &[usize],
        grads: &mut Grads,
    ) {
        if cfg.sigprop.sample_updates {
            self.learn_sample_form(mlp, cfg, data, batch, grads);
            return;
        }
        self.propagate(mlp);
        grads.zero(mlp);
        let classes = self.contexts.len();
        let mut p = vec![0.0; classes];
        let mut ctx = vec![vec![Vec::<f64>::new(); mlp.layers.len() + 1]; classes];
        for &i in batch {
            let x = super::input(cfg, &data.inputs[i]);
            mlp.forward(&x, &mut grads.acts);
            let y = self.target(usize::from(data.labels[i]), &x);
            for l in 1..grads.acts.len() {
                let h = grads.acts[l].clone();
                if cfg.sigprop.loss != Loss::Contrastive {
                    let t = &self.responses[y][l];
                    let c = classes as f64;
                    let delta: Vec<f64> = (0..h.len())
                        .map(|j| {
                            let toward = match cfg.sigprop.loss {
                                Loss::Pull => h[j],
                                _ => (0..classes).map(|k| self.responses[k][l][j]).sum::<f64>() / c,
                            };
                            self.beta * (toward - t[j]) * h[j] * (1.0 - h[j])
                        })
                        .collect();
                    let below = grads.acts[l - 1].clone();
                    grads.add(l - 1, &delta, &below);
                    continue;
                }
                let widths = cfg.sigprop.unit_widths;
                let (rb, pb) = (widths.map(|w| w.response_bits), widths.map(|w| w.prob_bits));
                let seen = |v: f64| round_to(v, rb);
                for (k, pk) in p.iter_mut().enumerate() {
                    let t = &self.responses[k][l];
                    *pk = -0.5
                        * self.beta
                        * h.iter()
                            .zip(t)
                            .map(|(&a, &b)| (seen(a) - seen(b)).powi(2))
                            .sum::<f64>();
                }
                softmax(&mut p);
                p.iter_mut().for_each(|v| *v = round_to(*v, pb));
                let delta: Vec<f64> = (0..h.len())
                    .map(|j| {
                        let r = |k: usize| seen(self.responses[k][l][j]);
                        let mean: f64 = (0..classes).map(|k| p[k] * r(k)).sum();
                        self.beta * (mean - r(y)) * h[j] * (1.0 - h[j])
                    })
                    .collect();
                let below = grads.acts[l - 1].clone();
                grads.add(l - 1, &delta, &below);
                if cfg.sigprop.target_updates {
                    // δ_t,k is linear in the sample's terms and t_{l−1},k is fixed in the
                    // batch: sum the δs, form the outer products once per batch.
                    for (k, acc) in ctx.iter_mut().enumerate() {
                        let t = &self.responses[k][l];
                        let g = -self.beta * (f64::from(u8::from(k == y)) - p[k]);
                        acc[l].resize(t.len(), 0.0);
                        for ((a, &t), &h) in acc[l].iter_mut().zip(t).zip(&h) {
                            *a += g * (seen(h) - seen(t)) * t * (1.0 - t);
                        }
                    }
                }
            }
        }
        for (k, acc) in ctx.iter().enumerate() {
            for (l, d) in acc.iter().enumerate().skip(1) {
                if !d.is_empty() {
                    grads.add(l - 1, d, &self.responses[k][l - 1]);
                }
            }
        }
        grads.apply(mlp, cfg, batch.len());
        if cfg.input_bias.is_some() {
            mlp.layers.iter_mut().for_each(|l| l.b.fill(0.0));
        }
        self.propagate(mlp);
    }
}

/// The context projection `S·c_k` of every class as `cfg` forms it from `train`
/// ([`SigpropConfig::context`], `context_scale`), in the network's input space: followed
/// by its complements if [`FfConfig::complement_inputs`], then the constant input if any.
/// `amine template sigprop` writes these into a program (docs/sigprop.md).
pub fn contexts(cfg: &FfConfig, train: &Dataset, classes: usize) -> Vec<Vec<f64>> {
    let sp = &cfg.sigprop;
    let inputs = train.input_len();
    let raw: Vec<Vec<f64>> = match sp.context {
        ContextForm::Random => {
            let classes = classes * sp.contexts_per_class.max(1);
            let values = train.inputs.iter().flatten();
            let mean =
                values.clone().map(|&v| f64::from(v)).sum::<f64>() / values.count().max(1) as f64;
            let top = 2.0 * sp.context_scale * mean;
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5167_0000_C047_E7A1);
            (0..classes)
                .map(|_| (0..inputs).map(|_| rng.random::<f64>() * top).collect())
                .collect()
        }
        ContextForm::ClassMean if sp.contexts_per_class > 1 => {
            let mut by_class = vec![Vec::new(); classes];
            for (x, &y) in train.inputs.iter().zip(&train.labels) {
                if let Some(c) = by_class.get_mut(usize::from(y)) {
                    c.push(x.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>());
                }
            }
            let k = sp.contexts_per_class;
            let inputs = train.input_len();
            by_class
                .iter()
                .enumerate()
                .flat_map(|(c, pts)| {
                    let mut cs = super::prototypes::kmeans(pts, k, cfg.seed ^ c as u64);
                    cs.resize(k, vec![0.0; inputs]);
                    cs.into_iter()
                        .map(|v| v.into_iter().map(|x| x * sp.context_scale).collect())
                })
                .collect()
        }
        ContextForm::ClassMean => {
            let mut sum = vec![vec![0.0; inputs]; classes];
            let mut count = vec![0usize; classes];
            for (x, &y) in train.inputs.iter().zip(&train.labels) {
                let y = usize::from(y);
                if y >= classes {
                    continue;
                }
                count[y] += 1;
                sum[y]
                    .iter_mut()
                    .zip(x)
                    .for_each(|(s, &v)| *s += f64::from(v));
            }
            for (s, &n) in sum.iter_mut().zip(&count) {
                s.iter_mut()
                    .for_each(|v| *v *= sp.context_scale / n.max(1) as f64);
            }
            sum
        }
    };
    raw.into_iter().map(|c| super::input_of(cfg, c)).collect()
}

/// In place, `p ← softmax(p)` (shifted by the maximum).
fn softmax(p: &mut [f64]) {
    let m = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in p.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    p.iter_mut().for_each(|v| *v /= sum);
}
