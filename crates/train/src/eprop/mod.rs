//! e-prop with diffusing learning signals, trained on the chip's e-prop core
//! ([`amine_sim::eprop`]): the protocol of "Diffusion of Neuromodulators for Temporal
//! Credit Assignment" on modelled hardware.
//!
//! A run builds the float reference's network (`amine_tasks::eprop::Net`: placement,
//! local connectivity, initial weights, from the run's seed), lays it on the core, and
//! presents batches of generated trials; every trial runs in the core's fixed point
//! with its eligibility traces, error units and modulator grid, and every update is the
//! core's `Δw = −η·g` at the end of a batch. The trials and the network are exactly the
//! float reference's for the same seed, so [`EpropRunConfig::float`] can run the float
//! model alongside to state what fixed point costs.
//!
//! **Determinism:** trials come from seeded generators, the core is integer arithmetic,
//! and a batch's gradients are integer sums: a run is bit-identical for any thread count.
//!
//! ```
//! use amine_train::eprop::{train_eprop, EpropRunConfig};
//! use amine_tasks::eprop::{Condition, TaskKind};
//!
//! let mut cfg = EpropRunConfig::new(TaskKind::CueAccumulation, Condition::Diffusion, 1);
//! cfg.trials = 4;
//! cfg.batch = 4;
//! cfg.eval_trials = 2;
//! let run = train_eprop(&cfg, &amine_chip::presets::preset("loihi")?, &mut |_| {})?;
//! assert_eq!(run.curve.len(), 1);
//! assert!(run.per_training_trial.energy_pj > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod report;
mod study;

pub use study::{run_study, ConditionSummary, EpropStudy, StudyConfig};

use crate::error::{Error, ErrorKind};
use amine_chip::ChipConfig;
use amine_sim::eprop::{
    core_cost, CoreOptions, EpropCore, EpropNet, EpropState, Feedback, TrialData, TrialResult,
    TrialTarget,
};
use amine_sim::{ChipCounts, Counts};
use amine_tasks::eprop::{Condition, EpropConfig, Net, Target, TaskGen, TaskKind, Trial};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One run: a task, a condition, a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropRunConfig {
    pub task: TaskKind,
    pub condition: Condition,
    pub seed: u64,
    /// Training trials (rounded up to whole batches).
    pub trials: usize,
    pub batch: usize,
    /// SGD rates for input, recurrent and readout weights (float units, window-mean loss).
    pub lr: [f64; 3],
    pub c_reg: f64,
    pub f_target_hz: f64,
    /// Kernel factor of the `diffusion` condition.
    pub k: f64,
    /// A curve point every this many training trials (rounded up to batches).
    pub eval_every: usize,
    /// Fresh trials evaluated at each curve point and at the end.
    pub eval_trials: usize,
    pub threads: usize,
    pub weight_bits: u8,
    pub frac_bits: u8,
    pub lazy_decay: bool,
    /// Also train the float reference (`amine_tasks::eprop`, SGD, same rates, same
    /// trials) and report its final evaluation.
    pub float: bool,
    /// Snapshots of the modulator field in the strip (over the learning window).
    pub snapshots: usize,
    /// `Some(step)`: the update unit applies Adam with this step (docs/eprop.md)
    /// instead of `Δw = −η·g` with `lr`.
    #[serde(default)]
    pub adam: Option<f64>,
}

impl EpropRunConfig {
    /// The e-prop core's options for this run on the trials of `gen` (the window length
    /// and the longest trial from a probe trial).
    pub fn core_options(&self, gen: &TaskGen) -> CoreOptions {
        let probe = gen.trial(&mut ChaCha8Rng::seed_from_u64(0));
        CoreOptions {
            weight_bits: self.weight_bits,
            frac_bits: self.frac_bits,
            lazy_decay: self.lazy_decay,
            seed: self.seed,
            lr: self.lr,
            batch: self.batch,
            window: probe.window.len().max(1),
            c_reg: self.c_reg,
            f_target_hz: self.f_target_hz,
            max_steps: gen.steps().max(probe.steps),
            adam: self.adam,
        }
    }

    /// The study's defaults for `task` under `condition` (docs/eprop.md, "On the chip").
    pub fn new(task: TaskKind, condition: Condition, seed: u64) -> EpropRunConfig {
        let pattern = task == TaskKind::PatternGeneration;
        EpropRunConfig {
            task,
            condition,
            seed,
            trials: if pattern { 1000 } else { 64_000 },
            batch: if pattern { 1 } else { 64 },
            lr: default_lr(task, condition),
            c_reg: 0.005,
            f_target_hz: 10.0,
            k: 0.75,
            eval_every: if pattern { 100 } else { 3200 },
            eval_trials: if pattern { 1 } else { 256 },
            threads: 1,
            weight_bits: 16,
            frac_bits: 20,
            lazy_decay: true,
            float: false,
            snapshots: 8,
            adam: None,
        }
    }

    fn float_config(&self) -> EpropConfig {
        let mut f = EpropConfig::new(self.task, self.condition);
        f.seed = self.seed;
        f.trials = self.trials;
        f.batch = self.batch;
        match self.adam {
            Some(step) => {
                f.optimizer = amine_tasks::eprop::Optimizer::Adam;
                f.lr = step as f32;
            }
            None => {
                f.optimizer = amine_tasks::eprop::Optimizer::Sgd;
                f.lr_groups = Some(self.lr.map(|x| x as f32));
            }
        }
        f.c_reg = self.c_reg as f32;
        f.f_target_hz = self.f_target_hz as f32;
        f.k_diffusion = self.k as f32;
        f.eval_every = self.eval_every;
        f.eval_trials = self.eval_trials;
        f.threads = self.threads.max(1);
        f
    }
}

/// SGD rates matched to each condition's gradient scale at initialisation
/// (0.005 / RMS of the float reference's first batch, docs/eprop.md): cue
/// accumulation, seed 1, batch 64 — 7.7e-5 / 1.5e-5 / 2.0e-4 (input / recurrent /
/// readout) for diffusion, 5.1e-5 / 9.4e-6 / 2.0e-4 for sparse, 2.1e-4 / 5.2e-5 /
/// 2.0e-4 for full; delayed match uses the same rates.
pub fn default_lr(task: TaskKind, condition: Condition) -> [f64; 3] {
    match (task, condition) {
        // Pattern generation, seed 1, one trial: RMS 1.3e-4 / 3.4e-5 / 4.1e-4
        // (diffusion), 9.5e-5 / 2.7e-5 / 4.1e-4 (sparse), 3.5e-4 / 8.2e-5 / 4.1e-4 (full).
        (TaskKind::PatternGeneration, Condition::Diffusion) => [40.0, 146.0, 12.0],
        (TaskKind::PatternGeneration, Condition::Sparse) => [52.0, 189.0, 12.0],
        (TaskKind::PatternGeneration, Condition::Full) => [14.0, 61.0, 12.0],
        (_, Condition::Full) => [24.0, 96.0, 25.0],
        (_, Condition::Diffusion) => [65.0, 327.0, 25.0],
        (_, Condition::Sparse) => [98.0, 532.0, 25.0],
    }
}

/// Accuracy, loss and firing rates of a set of trials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub trials: usize,
    /// Classification accuracy (NaN for regression).
    #[serde(deserialize_with = "nan_if_null")]
    pub accuracy: f64,
    /// Loss per window step.
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    /// Regression: normalised MSE (NaN for classification).
    #[serde(deserialize_with = "nan_if_null")]
    pub nmse: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub rate_lif_hz: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub rate_alif_hz: f64,
}

/// JSON writes NaN as `null`; read it back as NaN, so a saved study loads again.
pub(crate) fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A learning-curve point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub trials: usize,
    /// The training trials since the previous point.
    pub train: Stats,
    /// Fresh trials after the last update.
    pub eval: Option<Stats>,
}

/// What one trial costs on the chip (mean over the trials of its kind).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialCost {
    pub energy_pj: f64,
    pub latency_s: f64,
    pub learning_pj: f64,
    pub static_pj: f64,
    pub trace_updates: f64,
    pub synaptic_ops: f64,
    pub weight_updates: f64,
}

/// The modulator field at a few steps of one training trial's learning window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldStrip {
    pub side: u32,
    /// `(step, cells row-major)`, in the grid's real units.
    pub frames: Vec<(usize, Vec<f64>)>,
    /// The cells of neurons that inject (feedback neurons).
    pub injectors: Vec<(u32, u32)>,
}

/// The outcome of [`train_eprop`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpropRun {
    pub config: EpropRunConfig,
    pub curve: Vec<Point>,
    /// The last point's evaluation (final, not best).
    pub final_eval: Stats,
    pub per_training_trial: TrialCost,
    pub per_inference_trial: TrialCost,
    pub weight_clamps: u64,
    /// Weight writes that changed a mantissa, over the run.
    pub weights_changed: u64,
    pub synapses: usize,
    pub strip: FieldStrip,
    /// The float model trained with the same rates on the same trials.
    pub float_final: Option<Stats>,
}

#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    correct: usize,
    loss: f64,
    window: usize,
    sq_err: f64,
    target_ss: f64,
    spikes: [u64; 2],
    steps: usize,
    counts: Counts,
    chip: ChipCounts,
}

impl Tally {
    fn add(&mut self, r: &TrialResult) {
        self.trials += 1;
        self.correct += usize::from(r.correct);
        self.loss += r.loss;
        self.window += r.window_steps;
        self.sq_err += r.sq_err;
        self.target_ss += r.target_ss;
        self.spikes[0] += r.spikes_lif;
        self.spikes[1] += r.spikes_alif;
        self.steps += r.steps;
        self.counts += r.counts;
        self.chip.modulator_cell_update += r.chip.modulator_cell_update;
        self.chip.barriers += r.chip.barriers;
    }

    fn stats(&self, n_lif: usize, n_alif: usize, classification: bool) -> Stats {
        let hz = |s: u64, n: usize| {
            if n == 0 {
                f64::NAN
            } else {
                1000.0 * s as f64 / (n * self.steps.max(1)) as f64
            }
        };
        Stats {
            trials: self.trials,
            accuracy: if classification {
                self.correct as f64 / self.trials.max(1) as f64
            } else {
                f64::NAN
            },
            loss: self.loss / self.window.max(1) as f64,
            nmse: if classification {
                f64::NAN
            } else {
                self.sq_err / self.target_ss.max(f64::MIN_POSITIVE)
            },
            rate_lif_hz: hz(self.spikes[0], n_lif),
            rate_alif_hz: hz(self.spikes[1], n_alif),
        }
    }

    /// `words_per_update`: synapse-memory words each weight update reads and writes —
    /// 1 for the plain update, 3 for Adam (the weight and its two moments; an amine
    /// assumption: the update unit's √ and ÷ are not priced separately).
    fn cost(&self, chip: &ChipConfig, weight_updates: u64, words_per_update: u64) -> TrialCost {
        let n = self.trials.max(1) as f64;
        let mut counts = self.counts;
        counts.synaptic_update += weight_updates * words_per_update;
        let c = core_cost(&counts, &self.chip, chip);
        TrialCost {
            energy_pj: c.total_pj() / n,
            latency_s: c.seconds / n,
            learning_pj: c.energy_pj.learning / n,
            static_pj: c.energy_pj.static_ / n,
            trace_updates: counts.trace_update as f64 / n,
            synaptic_ops: counts.synaptic_op as f64 / n,
            weight_updates: weight_updates as f64 / n,
        }
    }
}

/// The float reference's network as the core's input.
pub fn core_net(net: &Net, condition: Condition, k: f64) -> EpropNet {
    let p = &net.p;
    EpropNet {
        inputs: p.inputs,
        n_lif: p.n_lif,
        n_alif: p.n_alif,
        outputs: p.outputs,
        grid_side: p.grid_side as u32,
        cell: net.cell.clone(),
        tau_m: f64::from(p.tau_m),
        tau_a: f64::from(p.tau_a),
        tau_out: f64::from(p.tau_out),
        thr: f64::from(p.thr),
        beta: f64::from(p.beta),
        refractory: p.refractory.min(255) as u8,
        row_start: net.row_start.clone(),
        src: net.src.clone(),
        w: net.w.iter().map(|&x| f64::from(x)).collect(),
        w_out: net.w_out.iter().map(|&x| f64::from(x)).collect(),
        out_mask: net.out_mask.clone(),
        b: match condition {
            Condition::Full => &net.b_full,
            _ => &net.b_sparse,
        }
        .iter()
        .map(|&x| f64::from(x))
        .collect(),
        feedback: match condition {
            Condition::Full => Feedback::Full,
            Condition::Sparse => Feedback::Sparse,
            Condition::Diffusion => Feedback::Diffusion { k },
        },
    }
}

/// A generated trial as the core's input.
pub fn trial_data(trial: &Trial) -> TrialData<'_> {
    TrialData {
        steps: trial.steps,
        spike_start: &trial.spike_start,
        spikes: &trial.spikes,
        window: trial.window.clone(),
        target: match &trial.target {
            Target::Class(c) => TrialTarget::Class(*c),
            Target::Series(v) => TrialTarget::Series(v),
        },
    }
}

/// Runs the trials of `seeds` on up to `states.len()` threads; trial i's result goes to
/// `out[i]`, and each state accumulates its trials' gradients.
fn run_batch(
    core: &EpropCore,
    gen: &TaskGen,
    seeds: &[u64],
    states: &mut [EpropState],
    out: &mut Vec<TrialResult>,
    learn: bool,
) {
    out.clear();
    out.resize(seeds.len(), TrialResult::default());
    let one = |s: &mut EpropState, seed: u64, r: &mut TrialResult| {
        let trial = gen.trial(&mut ChaCha8Rng::seed_from_u64(seed));
        *r = core.run_trial(s, &trial_data(&trial), learn);
    };
    let threads = states.len().min(seeds.len()).max(1);
    if threads == 1 {
        for (r, &seed) in out.iter_mut().zip(seeds) {
            one(&mut states[0], seed, r);
        }
        return;
    }
    let chunk = seeds.len().div_ceil(threads);
    std::thread::scope(|sc| {
        for ((s, outs), seeds) in states
            .iter_mut()
            .zip(out.chunks_mut(chunk))
            .zip(seeds.chunks(chunk))
        {
            sc.spawn(move || {
                for (r, &seed) in outs.iter_mut().zip(seeds) {
                    one(s, seed, r);
                }
            });
        }
    });
}

/// Trains one network on the chip's e-prop core; `on_point` sees every curve point
/// (progress output).
pub fn train_eprop(
    cfg: &EpropRunConfig,
    chip: &ChipConfig,
    on_point: &mut dyn FnMut(&Point),
) -> Result<EpropRun, Error> {
    train_eprop_on(cfg, &TaskGen::new(cfg.task, cfg.seed), chip, on_point)
}

/// [`train_eprop`] on the trials of `gen` (e.g. a reduced task from
/// [`TaskGen::custom`]); the network's inputs and outputs follow `gen`.
pub fn train_eprop_on(
    cfg: &EpropRunConfig,
    gen: &TaskGen,
    chip: &ChipConfig,
    on_point: &mut dyn FnMut(&Point),
) -> Result<EpropRun, Error> {
    let bad = |message: String| Error::new(ErrorKind::Settings { message });
    if cfg.batch == 0 || cfg.threads == 0 || cfg.trials == 0 {
        return Err(bad("trials, batch and threads must be positive".into()));
    }
    if !(cfg.k.is_finite() && (0.0..=1.0).contains(&cfg.k)) {
        return Err(bad(format!("k = {}: must be in [0, 1]", cfg.k)));
    }
    let mut fcfg = cfg.float_config();
    fcfg.net.inputs = gen.inputs();
    fcfg.net.outputs = gen.outputs();
    let classification = gen.is_classification();
    let net = Net::new(&fcfg.net, &mut ChaCha8Rng::seed_from_u64(cfg.seed))
        .map_err(|e| bad(e.to_string()))?;
    let opts = cfg.core_options(gen);
    let mut core = EpropCore::new(&core_net(&net, cfg.condition, cfg.k), &opts)
        .map_err(|e| bad(e.to_string()))?;
    let (n_lif, n_alif) = (net.p.n_lif, net.p.n_alif);
    let mut train_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7EA1_0000_0000_0001);
    let mut eval_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xE7A1_0000_0000_0002);
    let threads = cfg.threads.min(cfg.batch.max(cfg.eval_trials)).max(1);
    let mut states: Vec<EpropState> = (0..threads).map(|_| EpropState::new(&core)).collect();
    let mut results = Vec::new();
    let batches = cfg.trials.div_ceil(cfg.batch);
    let every = cfg.eval_every.div_ceil(cfg.batch).max(1);
    let (mut tally, mut train_all, mut eval_all) =
        (Tally::default(), Tally::default(), Tally::default());
    let (mut weight_updates, mut clamps, mut changed) = (0u64, 0u64, 0u64);
    let words_per_update = if cfg.adam.is_some() { 3 } else { 1 };
    let mut curve = Vec::new();
    let evaluate = |core: &EpropCore,
                    states: &mut [EpropState],
                    rng: &mut ChaCha8Rng,
                    eval_all: &mut Tally| {
        let count = if classification {
            cfg.eval_trials.max(1)
        } else {
            1
        };
        let seeds: Vec<u64> = (0..count).map(|_| rng.random()).collect();
        let mut res = Vec::new();
        run_batch(core, gen, &seeds, states, &mut res, false);
        let mut t = Tally::default();
        for r in &res {
            t.add(r);
            eval_all.add(r);
        }
        t.stats(n_lif, n_alif, classification)
    };
    for b in 0..batches {
        let seeds: Vec<u64> = (0..cfg.batch).map(|_| train_rng.random()).collect();
        run_batch(&core, gen, &seeds, &mut states, &mut results, true);
        for r in &results {
            tally.add(r);
            train_all.add(r);
        }
        let (first, rest) = states.split_at_mut(1);
        for s in rest.iter_mut() {
            first[0].absorb(s);
            s.clear_gradients();
        }
        let u = core.apply(&mut first[0]);
        weight_updates += u.updates;
        clamps += u.clamped;
        changed += u.changed;
        if (b + 1) % every == 0 || b + 1 == batches {
            let eval = (cfg.eval_trials > 0 || !classification)
                .then(|| evaluate(&core, &mut states, &mut eval_rng, &mut eval_all));
            let point = Point {
                trials: (b + 1) * cfg.batch,
                train: tally.stats(n_lif, n_alif, classification),
                eval,
            };
            tally = Tally::default();
            on_point(&point);
            curve.push(point);
        }
    }
    let final_eval = match curve.last().and_then(|p: &Point| p.eval.clone()) {
        Some(e) => e,
        None => evaluate(&core, &mut states, &mut eval_rng, &mut eval_all),
    };
    let strip = field_strip(&core, gen, &mut states[0], cfg.snapshots, cfg.seed);
    let float_final = if cfg.float {
        let r = amine_tasks::eprop::train_on(&fcfg, gen, &mut |_| {})
            .map_err(|e| bad(e.to_string()))?;
        let f = r.final_eval;
        Some(Stats {
            trials: f.trials,
            accuracy: f.accuracy,
            loss: f.loss,
            nmse: f.nmse,
            rate_lif_hz: f.rate_lif_hz,
            rate_alif_hz: f.rate_alif_hz,
        })
    } else {
        None
    };
    Ok(EpropRun {
        config: cfg.clone(),
        curve,
        final_eval,
        per_training_trial: train_all.cost(chip, weight_updates, words_per_update),
        per_inference_trial: eval_all.cost(chip, 0, 1),
        weight_clamps: clamps,
        weights_changed: changed,
        synapses: core.synapses(),
        strip,
        float_final,
    })
}

/// The field over one more training trial (its gradient discarded), `count` frames
/// spread over the learning window.
fn field_strip(
    core: &EpropCore,
    gen: &TaskGen,
    state: &mut EpropState,
    count: usize,
    seed: u64,
) -> FieldStrip {
    let trial = gen.trial(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5717_0000_0000_0003));
    let w = trial.window.clone();
    let count = count.min(w.len());
    state.record_at = (0..count)
        .map(|i| w.start + i * w.len().saturating_sub(1) / count.saturating_sub(1).max(1))
        .collect();
    let saved = (state.g.clone(), state.g_out.clone());
    core.run_trial(state, &trial_data(&trial), true);
    state.g = saved.0;
    state.g_out = saved.1;
    state.record_at.clear();
    FieldStrip {
        side: core.grid_side(),
        frames: std::mem::take(&mut state.snapshots),
        injectors: core.injector_cells(),
    }
}
