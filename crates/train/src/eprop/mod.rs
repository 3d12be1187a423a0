//! e-prop with diffusing learning signals, trained on the chip from a program: the
//! protocol of "Diffusion of Neuromodulators for Temporal Credit Assignment" on
//! modelled hardware.
//!
//! A run compiles its e-prop program (its seed replaced by the run's) for the chip,
//! builds the fast backend from the image ([`amine_sim::eprop::EpropCore::from_image`],
//! bit-identical to the general simulator on the same image), checks that the task's
//! trials fit the program, and presents batches of generated trials: every trial runs
//! in the chip's fixed point with its eligibility traces, error units and modulator
//! grid, and every update is the image's update unit at the end of a batch.
//! [`EpropRunConfig::float`] trains the float reference (`amine_tasks::eprop`) on the
//! same network and trials to state what the chip's arithmetic costs.
//!
//! **Determinism:** trials come from seeded generators, the backend is integer
//! arithmetic, and a batch's gradients are integer sums: a run is bit-identical for any
//! thread count.
//!
//! ```
//! use amine_train::eprop::{template_program, train_eprop, EpropRunConfig, TemplateOptions};
//! use amine_tasks::eprop::{Condition, TaskKind};
//!
//! let task = TaskKind::CueAccumulation;
//! let options = TemplateOptions { batch: Some(4), ..TemplateOptions::default() };
//! let program = template_program(task, Condition::Diffusion, &options);
//! let mut cfg = EpropRunConfig::new(task, program, "template", 1)?;
//! cfg.trials = 4;
//! cfg.eval_trials = 2;
//! let run = train_eprop(&cfg, &amine_chip::presets::preset("loihi-eprop")?, &mut |_| {})?;
//! assert_eq!(run.curve.len(), 1);
//! assert!(run.per_training_trial.energy_pj > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod pictures;
mod program;
pub mod report;
mod study;

pub use program::{
    check_task, float_net, settings, task_file, template_program, Settings, TemplateOptions,
    FLOAT_THR,
};
pub use study::{run_study, run_study_resumable, ConditionSummary, EpropStudy, StudyConfig};

use crate::error::{Error, ErrorKind};
use amine_chip::image::ChipImage;
use amine_chip::ChipConfig;
use amine_chip::ChipIdentity;
use amine_compiler::program::Program;
use amine_sim::eprop::{core_cost, EpropCore, EpropState, TrialData, TrialResult, TrialTarget};
use amine_sim::{ChipCounts, Counts};
use amine_tasks::eprop::{Condition, EpropConfig, Optimizer, Target, TaskGen, TaskKind, Trial};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One run: a task, a program, a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropRunConfig {
    pub task: TaskKind,
    /// The learning-signal condition of the program (read from it).
    pub condition: Condition,
    /// Replaces the program's seed: the network, the trials and the rounding draws.
    pub seed: u64,
    /// Training trials (rounded up to whole batches).
    pub trials: usize,
    /// A curve point every this many training trials (rounded up to batches).
    pub eval_every: usize,
    /// Fresh trials evaluated at each curve point and at the end.
    pub eval_trials: usize,
    pub threads: usize,
    /// Also train the float reference on the same network and trials.
    pub float: bool,
    /// Snapshots of the modulator field in the strip (over the learning window).
    pub snapshots: usize,
    /// Where the program came from: its file, or `template` (built from flags).
    pub source: String,
    /// The network and its training.
    pub program: Program,
}

impl EpropRunConfig {
    /// The study's defaults for `task` with `program` (from `source`): 64,000 training
    /// trials (pattern generation 1,000), a curve point every 3,200 (100) with 256 (1)
    /// fresh trials. Fails if the program is not an e-prop program.
    pub fn new(
        task: TaskKind,
        program: Program,
        source: &str,
        seed: u64,
    ) -> Result<EpropRunConfig, Error> {
        let pattern = task == TaskKind::PatternGeneration;
        Ok(EpropRunConfig {
            task,
            condition: settings(&program)?.condition,
            seed,
            trials: if pattern { 1000 } else { 64_000 },
            eval_every: if pattern { 100 } else { 3200 },
            eval_trials: if pattern { 1 } else { 256 },
            threads: 1,
            float: false,
            snapshots: 8,
            source: source.into(),
            program,
        })
    }

    /// The program with the run's seed.
    pub fn seeded_program(&self) -> Program {
        Program {
            seed: self.seed,
            ..self.program.clone()
        }
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

/// What one trial costs on the chip (mean over the trials of its kind; training trials
/// carry their share of the updates).
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
    /// The chip configuration the run was compiled for and priced on: name, file,
    /// fingerprint of the whole configuration and of its structure, overrides.
    pub chip: ChipIdentity,
    pub settings: Settings,
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
    /// The float model trained on the same network and trials.
    pub float_final: Option<Stats>,
    /// What a training trial of the float model would cost on a CPU and a GPU
    /// (estimates: `amine_tasks::conventional`).
    #[serde(default)]
    pub conventional: Option<amine_tasks::conventional::Estimate>,
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
    weight_updates: u64,
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
        self.chip += r.chip;
    }

    fn stats(&self, groups: (usize, usize), classification: bool) -> Stats {
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
            rate_lif_hz: hz(self.spikes[0], groups.0),
            rate_alif_hz: hz(self.spikes[1], groups.1),
        }
    }

    fn cost(&self, chip: &ChipConfig) -> TrialCost {
        let n = self.trials.max(1) as f64;
        let c = core_cost(&self.counts, &self.chip, chip);
        TrialCost {
            energy_pj: c.total_pj() / n,
            latency_s: c.seconds / n,
            learning_pj: c.energy_pj.learning / n,
            static_pj: c.energy_pj.static_ / n,
            trace_updates: self.counts.trace_update as f64 / n,
            synaptic_ops: self.counts.synaptic_op as f64 / n,
            weight_updates: self.weight_updates as f64 / n,
        }
    }
}

/// A generated trial as the backend's input.
pub fn trial_data(trial: &Trial) -> TrialData<'_> {
    TrialData {
        steps: trial.steps,
        spike_start: &trial.spike_start,
        spikes: &trial.spikes,
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
    // Fixed chunks, one per state, on the process's pool: each state sums its own
    // chunk's gradients, so the split (not the scheduling) fixes the result.
    let chunk = seeds.len().div_ceil(threads);
    states
        .par_iter_mut()
        .zip(out.par_chunks_mut(chunk))
        .zip(seeds.par_chunks(chunk))
        .for_each(|((s, outs), seeds)| {
            for (r, &seed) in outs.iter_mut().zip(seeds) {
                one(s, seed, r);
            }
        });
}

/// The run's program compiled for `chip` with the run's seed, checked against the
/// task's trials.
pub fn compile_run(
    cfg: &EpropRunConfig,
    chip: &ChipConfig,
    gen: &TaskGen,
) -> Result<ChipImage, Error> {
    let compiled =
        amine_compiler::compile_program(cfg.seeded_program(), std::path::Path::new("."), chip)
            .map_err(|e| {
                Error::new(ErrorKind::Settings {
                    message: format!("compiling {} for chip `{}`: {e}", cfg.source, chip.name),
                })
            })?;
    check_task(cfg.task, gen, &compiled.image)?;
    Ok(compiled.image.into_image())
}

/// Where a run is, for progress output.
#[derive(Debug, Clone, Copy)]
pub enum RunProgress<'a> {
    /// A batch was trained: `trials` training trials are done.
    Batch { trials: usize },
    /// A curve point (after each evaluation).
    Point(&'a Point),
}

/// Trains one network on the chip; `on_progress` sees every batch and every curve point.
pub fn train_eprop(
    cfg: &EpropRunConfig,
    chip: &ChipConfig,
    on_progress: &mut dyn FnMut(RunProgress),
) -> Result<EpropRun, Error> {
    train_eprop_on(cfg, &TaskGen::new(cfg.task, cfg.seed), chip, on_progress)
}

/// [`train_eprop`] on the trials of `gen` (e.g. a reduced task from
/// [`TaskGen::custom`]), which must fit the program.
pub fn train_eprop_on(
    cfg: &EpropRunConfig,
    gen: &TaskGen,
    chip: &ChipConfig,
    on_progress: &mut dyn FnMut(RunProgress),
) -> Result<EpropRun, Error> {
    let bad = |message: String| Error::new(ErrorKind::Settings { message });
    if cfg.threads == 0 || cfg.trials == 0 {
        return Err(bad("trials and threads must be positive".into()));
    }
    let settings = settings(&cfg.program)?;
    let image = compile_run(cfg, chip, gen)?;
    let mut core = EpropCore::from_image(&image, chip)?;
    let batch = core.eprop().update.batch.max(1) as usize;
    let classification = gen.is_classification();
    let groups = core.groups();
    let mut train_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7EA1_0000_0000_0001);
    let mut eval_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xE7A1_0000_0000_0002);
    let threads = cfg.threads.min(batch.max(cfg.eval_trials)).max(1);
    let mut states: Vec<EpropState> = (0..threads).map(|_| EpropState::new(&core)).collect();
    let mut results = Vec::new();
    let batches = cfg.trials.div_ceil(batch);
    let every = cfg.eval_every.div_ceil(batch).max(1);
    let (mut tally, mut train_all, mut eval_all) =
        (Tally::default(), Tally::default(), Tally::default());
    let (mut clamps, mut changed) = (0u64, 0u64);
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
        t.stats(groups, classification)
    };
    for b in 0..batches {
        let seeds: Vec<u64> = (0..batch).map(|_| train_rng.random()).collect();
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
        let (u, counts, cycles) = core.apply(&mut first[0]);
        train_all.counts += counts;
        train_all.chip.cycles += cycles;
        train_all.chip.learning_cycles += cycles;
        train_all.weight_updates += u.updates;
        clamps += u.clamped;
        changed += u.changed;
        on_progress(RunProgress::Batch {
            trials: (b + 1) * batch,
        });
        if (b + 1) % every == 0 || b + 1 == batches {
            let eval = (cfg.eval_trials > 0 || !classification)
                .then(|| evaluate(&core, &mut states, &mut eval_rng, &mut eval_all));
            let point = Point {
                trials: (b + 1) * batch,
                train: tally.stats(groups, classification),
                eval,
            };
            tally = Tally::default();
            on_progress(RunProgress::Point(&point));
            curve.push(point);
        }
    }
    let final_eval = match curve.last().and_then(|p: &Point| p.eval.clone()) {
        Some(e) => e,
        None => evaluate(&core, &mut states, &mut eval_rng, &mut eval_all),
    };
    let strip = field_strip(&core, gen, &mut states[0], cfg.snapshots, cfg.seed);
    let float_final = if cfg.float {
        Some(float_reference(cfg, &settings, &image, gen, batch)?)
    } else {
        None
    };
    Ok(EpropRun {
        config: cfg.clone(),
        chip: ChipIdentity::of(chip, "(given in memory)", &[]),
        settings,
        curve,
        final_eval,
        per_training_trial: train_all.cost(chip),
        per_inference_trial: eval_all.cost(chip),
        weight_clamps: clamps,
        weights_changed: changed,
        synapses: core.synapses(),
        conventional: Some(amine_tasks::conventional::Estimate::of(
            amine_tasks::conventional::Work::eprop(
                core.synapses(),
                core.neurons(),
                gen.outputs(),
                gen.steps(),
                gen.steps().saturating_sub(core.ebar_from()),
                batch,
            ),
        )),
        strip,
        float_final,
    })
}

/// The float model (`amine_tasks::eprop`, f32) on the same network, trials and
/// optimiser: Adam with the readout's step, or the plain update at the program's rates
/// in the float model's units.
fn float_reference(
    cfg: &EpropRunConfig,
    s: &Settings,
    image: &ChipImage,
    gen: &TaskGen,
    batch: usize,
) -> Result<Stats, Error> {
    let bad = |message: String| Error::new(ErrorKind::Settings { message });
    let (np, net) = float_net(image, &cfg.program)
        .ok_or_else(|| bad("the program's network has no float counterpart".into()))?;
    let mut f = EpropConfig::new(cfg.task, s.condition);
    f.net = np;
    f.seed = cfg.seed;
    f.trials = cfg.trials;
    f.batch = batch;
    let scale = {
        let alpha = (-1.0 / f64::from(f.net.tau_m)).exp();
        (1.0 - alpha) * 1000.0 / FLOAT_THR
    };
    if s.update == "Adam" {
        f.optimizer = Optimizer::Adam;
        f.lr = s.rates[2] as f32;
    } else {
        f.optimizer = Optimizer::Sgd;
        let sq = scale * scale;
        f.lr_groups = Some([
            (s.rates[0] / sq) as f32,
            (s.rates[1] / sq) as f32,
            s.rates[2] as f32,
        ]);
    }
    let (c_reg, target) = s.regulariser.unwrap_or((0.0, 10.0));
    f.c_reg = c_reg as f32;
    f.f_target_hz = target as f32;
    f.k_diffusion = s.k as f32;
    f.eval_every = cfg.eval_every;
    f.eval_trials = cfg.eval_trials;
    f.threads = cfg.threads.max(1);
    let r = amine_tasks::eprop::train::train_net(&f, gen, net, &mut |_| {})
        .map_err(|e| bad(e.to_string()))?;
    let x = r.final_eval;
    Ok(Stats {
        trials: x.trials,
        accuracy: x.accuracy,
        loss: x.loss,
        nmse: x.nmse,
        rate_lif_hz: x.rate_lif_hz,
        rate_alif_hz: x.rate_alif_hz,
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
        side: core.grid_size().0,
        frames: std::mem::take(&mut state.snapshots),
        injectors: core.injector_cells(),
    }
}
