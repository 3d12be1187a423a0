//! amine-train: learning on the modelled chip, sample by sample.
//!
//! A training protocol presents a task's samples to a [`Simulator`] through its graded
//! input ports, lets the chip's own learning engine change the weights (in the chip's
//! fixed point, driven by what the modulator grid carries), reads the outputs, and
//! prices every phase with the simulator's energy and latency accounting. The chip is
//! never bypassed: accuracy, energy and time all come from the same simulated run.
//!
//! - [`ed`]: Error Diffusion classification (Kaneko's dual-stream rule);
//!   [`train_ed`] runs it for a number of epochs and returns a [`TrainReport`].
//! - [`report`]: the report — learning curve, confusion matrix, energy and latency per
//!   training sample and per inference, the float reference — as JSON, CSV, SVG and a
//!   terminal summary.
//!
//! **Determinism:** the sample order comes from a seeded generator and the simulator is
//! bit-identical for any thread count, so a report depends only on the image, the task
//! and the seed.
//!
//! ```
//! use amine_compiler::templates::{error_diffusion, EdNetwork};
//! use amine_train::{train_ed, TrainOptions};
//!
//! let chip = amine_chip::presets::preset("loihi").unwrap();
//! let net = EdNetwork { hidden_per_class: 4, ..EdNetwork::default() };
//! let program = error_diffusion(&net).to_ron();
//! let image = amine_compiler::compile_str(&program, "ed.ron", std::path::Path::new("."), &chip)?.image;
//! let mut split = amine_tasks::parse_task("digits")?.load()?;
//! split.train.inputs.truncate(50);
//! split.train.labels.truncate(50);
//! split.test.inputs.truncate(20);
//! split.test.labels.truncate(20);
//! let opts = TrainOptions { epochs: 1, ..TrainOptions::default() };
//! let report = train_ed(&chip, &image, &split, &opts, &mut |_| {})?;
//! assert_eq!(report.curve.len(), 1);
//! assert!(report.per_training_sample.energy_pj > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod dual_ed;
pub mod ed;
pub mod eprop;
pub mod error;
pub mod report;
pub mod sigprop;

pub use error::{Error, ErrorKind};
pub use report::{Cost, EpochPoint, TrainReport};

use amine_chip::image::ChipImage;
use amine_chip::ChipConfig;
use amine_sim::checkpoint::{self, Identity};
use amine_sim::SimState;
use amine_sim::{energy_so_far, Components, SimOptions, Simulator, Timing};
use amine_tasks::{Dataset, Split};
use ed::{EdLayout, EdRunner};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub epochs: usize,
    /// Seeds the sample order (the weights come from the program's seed).
    pub seed: u64,
    /// Simulator threads (results do not depend on it).
    pub threads: usize,
    pub timing: Timing,
    /// Measure test accuracy after every epoch (the learning curve); off, only at the end.
    pub test_every_epoch: bool,
    /// When set, the learning rate falls linearly from the image's in the first epoch to
    /// this fraction of it in the last ([`amine_tasks::dual_ed::linear_rate`]): the host
    /// rewrites every rule's scale registers before each epoch
    /// ([`Simulator::set_learning_rate`], priced as `costs.rule_write`).
    pub final_rate: Option<f64>,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            epochs: 20,
            seed: 1,
            threads: 1,
            timing: Timing::Analytic,
            test_every_epoch: true,
            final_rate: None,
        }
    }
}

/// Where a run is, for progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// `done` of `total` samples of training epoch `epoch` (0-based).
    Training {
        epoch: usize,
        done: usize,
        total: usize,
    },
    /// Measuring accuracy on `set` (`"train"` or `"test"`).
    Testing { set: &'static str },
}

/// Accumulates a phase's energy and simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meter {
    energy: Components,
    cycles: u64,
    learning_cycles: u64,
    samples: u64,
}

/// Where a measured phase started: the energy, cycles and learning cycles so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Mark(Components, u64, u64);

impl Mark {
    fn now(runner: &EdRunner) -> Mark {
        Mark(
            energy_so_far(runner.sim, &runner.state),
            runner.state.chip.cycles,
            runner.state.chip.learning_cycles,
        )
    }
}

impl Meter {
    fn new() -> Meter {
        Meter {
            energy: Components::default(),
            cycles: 0,
            learning_cycles: 0,
            samples: 0,
        }
    }

    /// Add what the chip did since `from` for `samples` samples.
    fn add(&mut self, runner: &EdRunner, from: Mark, samples: u64) {
        let Mark(e0, c0, l0) = from;
        let e1 = energy_so_far(runner.sim, &runner.state);
        self.energy += report::diff(e1, e0);
        self.cycles += runner.state.chip.cycles - c0;
        self.learning_cycles += runner.state.chip.learning_cycles - l0;
        self.samples += samples;
    }

    fn measure<T>(
        &mut self,
        runner: &mut EdRunner,
        samples: u64,
        f: impl FnOnce(&mut EdRunner) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let from = Mark::now(runner);
        let out = f(runner)?;
        self.add(runner, from, samples);
        Ok(out)
    }

    fn per_sample(&self, clock_hz: f64) -> Cost {
        let n = self.samples.max(1) as f64;
        let mut cost = Cost::new(self.energy, self.cycles as f64 / n, clock_hz, n);
        cost.learning_latency_s = self.learning_cycles as f64 / n / clock_hz.max(1.0);
        cost
    }
}

/// FNV-1a of a data set's samples and labels (a checkpoint names the data it trained on).
fn fnv1a_data(data: &Dataset) -> String {
    let mut bytes = Vec::new();
    for (x, &l) in data.inputs.iter().zip(&data.labels) {
        bytes.extend(x.iter().flat_map(|v| v.to_le_bytes()));
        bytes.push(l);
    }
    format!("{:016x}", amine_chip::image::fnv1a(&bytes))
}

/// Accuracy and confusion matrix (`[true][predicted]`) of `data` with learning off.
fn evaluate(
    runner: &mut EdRunner,
    data: &Dataset,
    classes: usize,
) -> Result<(f64, Vec<Vec<u32>>), Error> {
    let mut confusion = vec![vec![0u32; classes]; classes];
    let mut correct = 0usize;
    for (x, &label) in data.inputs.iter().zip(&data.labels) {
        let p = runner.infer(x)?;
        correct += usize::from(p == label as usize);
        if let Some(row) = confusion.get_mut(label as usize) {
            row[p] += 1;
        }
    }
    Ok((correct as f64 / data.len().max(1) as f64, confusion))
}

/// Checkpointing of an Error Diffusion run (see [`train_ed_with`]).
pub struct Checkpointing<'a> {
    /// Write the run's state here (atomically) every `every` epochs and when `stop`
    /// ends the run.
    pub path: Option<&'a Path>,
    pub every: usize,
    /// Continue the run saved in this checkpoint.
    pub resume: Option<&'a Path>,
    /// Polled after every sample: `true` ends the run (after writing the checkpoint)
    /// with [`ErrorKind::Interrupted`].
    pub stop: &'a dyn Fn() -> bool,
}

impl Default for Checkpointing<'_> {
    fn default() -> Self {
        Checkpointing {
            path: None,
            every: 1,
            resume: None,
            stop: &|| false,
        }
    }
}

/// What an Error Diffusion checkpoint holds: the simulator's state and the run's
/// position and accumulators. The sample order is not stored: it is the seeded
/// generator's, replayed on resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EdBody {
    state: SimState,
    /// The epoch under way and the samples of it done (0: not started).
    epoch: usize,
    done: usize,
    correct: usize,
    /// Where the current epoch's training measurement started.
    epoch_mark: Option<Mark>,
    training: Meter,
    inference: Meter,
    curve: Vec<EpochPoint>,
    confusion: Vec<Vec<u32>>,
    test_accuracy: f64,
}

/// The float reference's work per training sample: DFA (`amine template dfa`: one
/// hidden population `h`, fed back directly), dual-stream Error Diffusion with modulo
/// routing (`amine template ed --routing modulo`: hidden layers `l1e`, `l1i`, …; its
/// plastic weights counted in the image, so patch wiring counts as wired) or per-class
/// Error Diffusion (hidden groups `h0e`, `h0i`, …).
fn float_work(sim: &Simulator, inputs: usize, classes: usize) -> amine_tasks::conventional::Work {
    use amine_tasks::conventional::{Backward, Work};
    let size = |n: &str| {
        sim.population_index(n)
            .map(|p| sim.population_sizes()[p] as usize)
    };
    let dual_units: usize = (1..)
        .map_while(|l| Some(size(&format!("l{l}e"))? + size(&format!("l{l}i"))?))
        .sum();
    match size("h") {
        Some(h) => Work::layered(&[inputs + 1, h, classes], Backward::Direct, 1),
        None if dual_units > 0 => {
            let state = sim.initial_state();
            let weights = sim.plastic_rows(&state).map(|(_, m, _)| m.len()).sum();
            Work::dual_error_diffusion(weights, dual_units + classes, classes)
        }
        None => Work::error_diffusion(
            inputs,
            size("h0e").unwrap_or(0) + size("h0i").unwrap_or(0),
            classes,
        ),
    }
}

/// Train `image` (Error Diffusion layout, see [`ed`]) on `split` on the chip `config`.
pub fn train_ed(
    config: &ChipConfig,
    image: &ChipImage,
    split: &Split,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainReport, Error> {
    train_ed_with(
        config,
        image,
        split,
        opts,
        &Checkpointing::default(),
        progress,
    )
}

/// [`train_ed`] with checkpoints: a run resumed from a checkpoint ends bit-identical
/// to an uninterrupted one (the checkpoint names the image, chip, task and options).
pub fn train_ed_with(
    config: &ChipConfig,
    image: &ChipImage,
    split: &Split,
    opts: &TrainOptions,
    ckpt: &Checkpointing,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainReport, Error> {
    let options = SimOptions {
        threads: opts.threads.max(1),
        timing: opts.timing,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(config, image, options)?;
    let layout = EdLayout::of(&sim, image)?;
    layout.check(&split.train)?;
    layout.check(&split.test)?;
    let classes = layout.classes();
    let steps = layout.steps;
    let work = float_work(&sim, layout.inputs, classes);
    let identity = ed_identity(config, image, split, opts);
    let mut body = ed_body(&sim, ckpt.resume, &identity)?;
    let mut runner = EdRunner::new(&mut sim, layout);
    runner.state = std::mem::take(&mut body.state);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<usize> = (0..split.train.len()).collect();
    // Replay the shuffles of the epochs begun so far.
    for _ in 0..body.epoch + usize::from(body.done > 0) {
        order.shuffle(&mut rng);
    }
    let save = |runner: &EdRunner, body: &mut EdBody| -> Result<(), Error> {
        if let Some(path) = ckpt.path {
            body.state = runner.state.clone();
            let written = checkpoint::write(path, &identity, &*body);
            body.state = SimState::default();
            written?;
        }
        Ok(())
    };
    while body.epoch < opts.epochs {
        let epoch = body.epoch;
        if let Some(end) = opts.final_rate {
            let factor = amine_tasks::dual_ed::linear_rate(1.0, Some(end), epoch + 1, opts.epochs);
            runner.sim.set_learning_rate(&mut runner.state, factor)?;
        }
        if body.done == 0 {
            order.shuffle(&mut rng);
            body.correct = 0;
            body.epoch_mark = Some(Mark::now(&runner));
        }
        let total = order.len();
        while body.done < total {
            let i = order[body.done];
            let label = split.train.labels[i] as usize;
            let predicted = runner.train_sample(&split.train.inputs[i], label)?;
            body.correct += usize::from(predicted == label);
            body.done += 1;
            if body.done % 64 == 0 || body.done == total {
                progress(Progress::Training {
                    epoch,
                    done: body.done,
                    total,
                });
            }
            if (ckpt.stop)() {
                save(&runner, &mut body)?;
                return Err(interrupted(body.done, epoch, opts.epochs, ckpt.path));
            }
        }
        end_epoch(&mut runner, &mut body, split, opts, progress)?;
        let last = body.epoch == opts.epochs;
        if !last && body.epoch % ckpt.every.max(1) == 0 {
            save(&runner, &mut body)?;
        }
    }
    progress(Progress::Testing { set: "train" });
    let (train_accuracy, _) =
        body.inference
            .measure(&mut runner, split.train.len() as u64, |r| {
                evaluate(r, &split.train, classes)
            })?;
    let dale_violations = report::dale_violations(&*runner.sim, &runner.state);
    let synaptic_updates = runner.state.total_counts().synaptic_update;
    let measured = EdMeasured {
        steps,
        train_accuracy,
        synaptic_updates,
        dale_violations,
        work,
    };
    Ok(ed_report(config, image, split, opts, body, measured))
}

/// The end of epoch `body.epoch` (every training sample done): its training energy,
/// the test set's accuracy (every epoch if asked, else after the last), its point of the
/// learning curve; `body` moves on to the next epoch.
fn end_epoch(
    runner: &mut EdRunner,
    body: &mut EdBody,
    split: &Split,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), Error> {
    let epoch = body.epoch;
    let total = split.train.len();
    let classes = runner.layout.classes();
    if let Some(mark) = body.epoch_mark.take() {
        body.training.add(runner, mark, total as u64);
    }
    let last = epoch + 1 == opts.epochs;
    let test = if opts.test_every_epoch || last {
        progress(Progress::Testing { set: "test" });
        let (acc, conf) = body
            .inference
            .measure(runner, split.test.len() as u64, |r| {
                evaluate(r, &split.test, classes)
            })?;
        (body.test_accuracy, body.confusion) = (acc, conf);
        Some(acc)
    } else {
        None
    };
    body.curve.push(EpochPoint {
        epoch: epoch + 1,
        samples_seen: (epoch + 1) * total,
        online_train_accuracy: body.correct as f64 / total.max(1) as f64,
        test_accuracy: test,
    });
    body.epoch += 1;
    body.done = 0;
    Ok(())
}

/// What a finished run measured beyond its [`EdBody`], for [`ed_report`].
struct EdMeasured {
    steps: u32,
    train_accuracy: f64,
    synaptic_updates: u64,
    dale_violations: u64,
    work: amine_tasks::conventional::Work,
}

/// The identity a checkpoint of this run carries: the image, the chip, the task's data
/// and every option that changes the result.
fn ed_identity(
    config: &ChipConfig,
    image: &ChipImage,
    split: &Split,
    opts: &TrainOptions,
) -> Identity {
    Identity::new(
        "train-ed",
        image,
        format!(
            "task={} train={} test={} epochs={} seed={} timing={} test_every_epoch={} final_rate={:?} chip_config={:016x}",
            split.train.name,
            fnv1a_data(&split.train),
            fnv1a_data(&split.test),
            opts.epochs,
            opts.seed,
            opts.timing,
            opts.test_every_epoch,
            opts.final_rate,
            amine_chip::identity::fingerprint(config)
        ),
    )
}

/// The run's state: read from the checkpoint `resume` (checked against `sim`), or fresh.
fn ed_body(sim: &Simulator, resume: Option<&Path>, identity: &Identity) -> Result<EdBody, Error> {
    Ok(match resume {
        Some(path) => {
            let body: EdBody = checkpoint::read(path, identity)?;
            sim.check_state(&body.state, &path.display().to_string())?;
            body
        }
        None => EdBody {
            state: sim.initial_state(),
            epoch: 0,
            done: 0,
            correct: 0,
            epoch_mark: None,
            training: Meter::new(),
            inference: Meter::new(),
            curve: Vec::new(),
            confusion: Vec::new(),
            test_accuracy: 0.0,
        },
    })
}

/// The error of a run stopped after sample `done` of `epoch` (0-based), naming the
/// checkpoint that continues it, if one was written.
fn interrupted(done: usize, epoch: usize, epochs: usize, path: Option<&Path>) -> Error {
    let saved = match path {
        Some(p) => format!("; the checkpoint {} continues it (--resume)", p.display()),
        None => String::new(),
    };
    Error::new(ErrorKind::Interrupted {
        message: format!(
            "interrupted after sample {done} of epoch {} of {epochs}{saved}",
            epoch + 1,
        ),
    })
}

/// The report of a finished run from its state and what it measured.
fn ed_report(
    config: &ChipConfig,
    image: &ChipImage,
    split: &Split,
    opts: &TrainOptions,
    body: EdBody,
    measured: EdMeasured,
) -> TrainReport {
    let EdBody {
        inference,
        training,
        curve,
        confusion,
        test_accuracy,
        ..
    } = body;
    let EdMeasured {
        steps,
        train_accuracy,
        synaptic_updates,
        dale_violations,
        work,
    } = measured;
    let clock = config.clock().0 as f64;
    TrainReport {
        program: image.program.clone(),
        chip: config.name.clone(),
        chip_config: amine_chip::ChipIdentity::of(config, "(given in memory)", &[]),
        // `digits/train` names the split; the report is about the task.
        task: split
            .train
            .name
            .strip_suffix("/train")
            .unwrap_or(&split.train.name)
            .to_string(),
        seed: opts.seed,
        epochs: opts.epochs,
        final_rate: opts.final_rate,
        steps_per_sample: steps,
        train_samples: split.train.len(),
        test_samples: split.test.len(),
        curve,
        train_accuracy,
        test_accuracy,
        confusion,
        per_training_sample: training.per_sample(clock),
        per_inference: inference.per_sample(clock),
        synaptic_updates,
        dale_violations,
        float_reference: None,
        conventional: Some(amine_tasks::conventional::Estimate::of(work)),
    }
}
