//! Sigprop classification on the chip: the protocol of `amine template sigprop`
//! (docs/sigprop.md, "Sigprop on the chip").
//!
//! An image trains with this protocol when it has a sigprop section (the compiler's
//! sigprop pass made it for a chip with a sigprop learning unit). With `L` layers a
//! pass is `L + 2` steps, starting at a multiple of that (the learning epoch): the host
//! sends the sample or a class context on the port before step 0, layer `l` updates in
//! step `l`, the host drives the sigprop unit after step `L`, and the learning engine
//! runs at the end of step `L + 1` with the unit's pull registers as `m0`.
//!
//! - **Latch round** (once before training, and after every mini-batch): per class `k`
//!   a pass of the context `S·c_k`; the unit latches every layer's responses. After a
//!   mini-batch the passes run with learning on and the unit loads the class's
//!   context-path sums, so the engine applies the context-path update with the pass's
//!   `pre` and `deriv`.
//! - **Training sample**: a pass of the sample with learning on; the unit computes every
//!   layer's signals from the latched responses (`amine_chip::learning::sigprop`) and
//!   the engine applies `dw = α·pre·deriv·pull_j`. With several contexts per class
//!   (sub-class prototypes) the unit is told the sample's target context, the nearest
//!   context of its class, which the host computes once per training sample
//!   (`amine_tasks::ff::prototypes::subclass`, as the f64 reference does).
//! - **Inference**: a pass with learning off; the prediction is the class of the context
//!   whose latched response is nearest (the unit's distance terms).
//!
//! Everything runs in the simulator and is priced by it: the context passes cost
//! neuron, synapse and NoC events like any pass, the unit its `learning.sigprop` costs.

use crate::error::{Error, ErrorKind};
use crate::report::{self, Cost, EpochPoint, TrainReport};
use crate::{Progress, TrainOptions};
use amine_chip::image::sigprop::SigpropImage;
use amine_chip::image::ChipImage;
use amine_chip::ChipConfig;
use amine_sim::{energy_so_far, Components, SimOptions, SimState, Simulator};
use amine_tasks::datasets::augment::Augment;
use amine_tasks::{Dataset, Split};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const PROTOCOL: &str = "sigprop";
/// A graded payload's largest value (8 bits).
const PAYLOAD_MAX: f64 = 255.0;

/// Drives one simulator through sigprop's passes.
#[derive(Debug)]
pub struct SigpropRunner<'a> {
    pub sim: &'a mut Simulator,
    pub state: SimState,
    spec: SigpropImage,
    port: usize,
    /// Steps of one pass (the learning epoch).
    steps: u32,
    buf: Vec<u16>,
    /// The contexts as the f64 reference reads them (payload / 255), for the host's
    /// sub-class targets.
    contexts: Vec<Vec<f64>>,
}

impl<'a> SigpropRunner<'a> {
    /// The runner of `image` loaded into `sim`; the image must have a sigprop section
    /// whose learning epoch is `layers + 2` steps.
    pub fn new(sim: &'a mut Simulator, image: &ChipImage) -> Result<SigpropRunner<'a>, Error> {
        let spec = image
            .sigprop
            .clone()
            .ok_or_else(|| Error::layout(PROTOCOL, "the image has no sigprop section"))?;
        let port = sim
            .port_index(&spec.port)
            .ok_or_else(|| Error::layout(PROTOCOL, format!("no input port `{}`", spec.port)))?;
        let steps = spec.layers.len() as u32 + 2;
        if image.learning.iter().any(|s| s.epoch != steps) {
            return Err(Error::layout(
                PROTOCOL,
                format!("every learning epoch must be {steps} steps (the layers + 2)"),
            ));
        }
        if spec.contexts.len() % spec.per_class() != 0 {
            return Err(Error::layout(
                PROTOCOL,
                format!(
                    "{} contexts are not whole classes of {} contexts",
                    spec.contexts.len(),
                    spec.per_class()
                ),
            ));
        }
        let state = sim.initial_state();
        let contexts = spec
            .contexts
            .iter()
            .map(|r| r.iter().map(|&p| f64::from(p) / PAYLOAD_MAX).collect())
            .collect();
        Ok(SigpropRunner {
            sim,
            state,
            spec,
            port,
            steps,
            buf: Vec::new(),
            contexts,
        })
    }

    /// The task's classes (contexts over contexts per class).
    pub fn classes(&self) -> usize {
        self.spec.task_classes()
    }

    /// The target context of a training sample `x` of class `label`: the nearest
    /// context of its class (the class itself with one context a class).
    pub fn target(&self, x: &[f32], label: usize) -> usize {
        let k = self.spec.per_class();
        if k == 1 {
            return label;
        }
        let input = amine_tasks::ff::network_input(
            x.iter().map(|&v| f64::from(v)).collect(),
            self.spec.complement,
            Some(crate::ed::BIAS),
        );
        amine_tasks::ff::prototypes::subclass(&self.contexts, k, label, &input)
    }

    /// The target context of every sample of `data` ([`Self::target`]).
    pub fn targets(&self, data: &Dataset) -> Vec<usize> {
        (data.inputs.iter().zip(&data.labels))
            .map(|(x, &l)| self.target(x, usize::from(l)))
            .collect()
    }

    /// Values per sample (the port holds the complements too, if any, and the bias).
    pub fn inputs(&self) -> usize {
        self.spec.inputs()
    }

    /// Check that `data` fits: as many values per sample, no more classes.
    pub fn check(&self, data: &Dataset) -> Result<(), Error> {
        let task = |message: String| {
            Error::new(crate::ErrorKind::Task {
                task: data.name.clone(),
                message,
            })
        };
        if data.input_len() != self.inputs() {
            return Err(task(format!(
                "{} values per sample; the image takes {}",
                data.input_len(),
                self.inputs()
            )));
        }
        if data.classes > self.classes() {
            return Err(task(format!(
                "{} classes; the image has {} class contexts",
                data.classes,
                self.classes()
            )));
        }
        Ok(())
    }

    /// Send `payloads` and run the pass up to the unit's turn (after step `L`).
    fn forward(&mut self, learning: bool) -> Result<(), Error> {
        self.sim.set_learning(&mut self.state, learning);
        while !self.state.step.is_multiple_of(self.steps) {
            self.sim.step(&mut self.state);
        }
        self.sim
            .send_graded(&mut self.state, self.port, &self.buf)?;
        for _ in 0..self.steps - 1 {
            self.sim.step(&mut self.state);
        }
        Ok(())
    }

    /// The pass's last step: the learning epoch ends in it.
    fn finish(&mut self) {
        self.sim.step(&mut self.state);
    }

    /// The port's payloads of sample `x`: the sample, its complements (with the
    /// image's `complement`), the bias.
    fn sample_payloads(&mut self, x: &[f32]) {
        let max = PAYLOAD_MAX;
        self.buf.clear();
        self.buf.extend(
            x.iter()
                .map(|&v| (f64::from(v).clamp(0.0, 1.0) * max).round() as u16),
        );
        if self.spec.complement {
            let n = self.buf.len();
            self.buf.extend_from_within(..n);
            self.buf[n..].iter_mut().for_each(|p| *p = 255 - *p);
        }
        self.buf.push((crate::ed::BIAS * max).round() as u16);
    }

    /// Scale every layer's learning rate for epoch `epoch` (from 0) by the image's
    /// `rate_decay^epoch` (the host rewrites the rules' constants).
    pub fn set_epoch(&mut self, epoch: usize) -> Result<(), Error> {
        let factor = self
            .spec
            .rate_decay
            .powi(i32::try_from(epoch).unwrap_or(i32::MAX));
        if factor > 0.0 {
            self.sim.set_learning_rate(&mut self.state, factor)?;
        }
        Ok(())
    }

    /// One pass of every context: the unit latches the responses; with `update`, the
    /// engine applies each context's context-path update in its pass.
    pub fn latch_round(&mut self, update: bool) -> Result<(), Error> {
        for k in 0..self.spec.classes() {
            self.buf.clone_from(&self.spec.contexts[k]);
            self.forward(update)?;
            self.sim.sigprop_latch(&mut self.state, k, update)?;
            self.finish();
        }
        Ok(())
    }

    /// One training sample pulled toward context `target` ([`Self::target`]); returns
    /// the class predicted before learning from it.
    pub fn train_sample(&mut self, x: &[f32], target: usize) -> Result<usize, Error> {
        self.sample_payloads(x);
        self.forward(true)?;
        let predicted = self.sim.sigprop_predict(&mut self.state)?;
        self.sim.sigprop_sample(&mut self.state, target)?;
        self.finish();
        Ok(predicted / self.spec.per_class())
    }

    /// One inference, learning off; returns the class.
    pub fn infer(&mut self, x: &[f32]) -> Result<usize, Error> {
        self.sample_payloads(x);
        self.forward(false)?;
        let p = self.sim.sigprop_predict(&mut self.state)?;
        self.finish();
        Ok(p / self.spec.per_class())
    }

    /// The payloads of the last sample or context sent.
    pub fn last_payloads(&self) -> &[u16] {
        &self.buf
    }

    /// The mini-batch.
    pub fn batch(&self) -> usize {
        self.spec.batch.max(1) as usize
    }

    fn mark(&self) -> Mark {
        Mark(
            energy_so_far(self.sim, &self.state),
            self.state.chip.cycles,
            self.state.chip.learning_cycles,
        )
    }
}

/// Energy, cycles and learning cycles so far.
#[derive(Debug, Clone, Copy)]
struct Mark(Components, u64, u64);

/// A phase's energy and simulated time, summed over its stretches.
#[derive(Debug, Default)]
struct Meter {
    energy: Components,
    cycles: u64,
    learning_cycles: u64,
    samples: usize,
}

impl Meter {
    fn add(&mut self, r: &SigpropRunner, from: Mark, samples: usize) {
        let Mark(e1, c1, l1) = r.mark();
        self.energy += report::diff(e1, from.0);
        self.cycles += c1 - from.1;
        self.learning_cycles += l1 - from.2;
        self.samples += samples;
    }

    fn per_sample(&self, clock: f64) -> Cost {
        let n = self.samples.max(1) as f64;
        let mut cost = Cost::new(self.energy, self.cycles as f64 / n, clock, n);
        cost.learning_latency_s = self.learning_cycles as f64 / n / clock.max(1.0);
        cost
    }
}

/// The error of a run stopped by `stop` (SIGINT or SIGTERM from the CLI): a sigprop
/// program trains without checkpoints, so nothing is saved and no report is written.
fn interrupted(during: &str) -> Error {
    Error::new(ErrorKind::Interrupted {
        message: format!("interrupted {during} (a sigprop run keeps no checkpoint: nothing saved)"),
    })
}

/// Accuracy and confusion matrix of `data`, learning off; `stop` is asked after every
/// sample.
fn evaluate(
    r: &mut SigpropRunner,
    data: &Dataset,
    stop: &dyn Fn() -> bool,
) -> Result<(f64, Vec<Vec<u32>>), Error> {
    let c = r.classes();
    let mut confusion = vec![vec![0u32; c]; c];
    let mut correct = 0usize;
    for (x, &label) in data.inputs.iter().zip(&data.labels) {
        if stop() {
            return Err(interrupted("while testing"));
        }
        let p = r.infer(x)?;
        correct += usize::from(p == usize::from(label));
        if let Some(row) = confusion.get_mut(usize::from(label)) {
            row[p] += 1;
        }
    }
    Ok((correct as f64 / data.len().max(1) as f64, confusion))
}

/// One epoch: the samples of `data` in `order`, each with its target context, a latch
/// round after every mini-batch; `done` gets the samples trained so far and `stop` is
/// asked after every mini-batch. Returns how many were predicted right before their
/// update.
fn train_epoch(
    r: &mut SigpropRunner,
    data: &Dataset,
    targets: &[usize],
    order: &[usize],
    done: &mut dyn FnMut(usize),
    stop: &dyn Fn() -> bool,
) -> Result<usize, Error> {
    let mut correct = 0;
    for (b, chunk) in order.chunks(r.batch()).enumerate() {
        for &i in chunk {
            let label = usize::from(data.labels[i]);
            let predicted = r.train_sample(&data.inputs[i], targets[i])?;
            correct += usize::from(predicted == label);
        }
        r.latch_round(true)?;
        let trained = (b * r.batch() + chunk.len()).min(order.len());
        done(trained);
        if stop() {
            return Err(interrupted(&format!("after sample {trained} of the epoch")));
        }
    }
    Ok(correct)
}

/// Train `image` (a sigprop section, see the module docs) on `split` on `config`.
/// Training energy and time per sample include the latch rounds.
pub fn train_sigprop(
    config: &ChipConfig,
    image: &ChipImage,
    split: &Split,
    opts: &TrainOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<TrainReport, Error> {
    train_sigprop_augmented(config, image, split, opts, None, progress, &|| false)
}

/// [`train_sigprop`] with a per-epoch augmentation of the training set
/// ([`Augment::epoch`], seeded with `opts.seed`, as the f64 reference's
/// `amine_tasks::ff::train_augmented` is): each epoch trains on that epoch's set, each
/// sample's target context chosen from its moved image. The training accuracy is
/// measured on `split.train` itself. `stop` is asked after every mini-batch and every
/// test sample: when it says so the run ends with [`ErrorKind::Interrupted`].
pub fn train_sigprop_augmented(
    config: &ChipConfig,
    image: &ChipImage,
    split: &Split,
    opts: &TrainOptions,
    augment: Option<Augment>,
    progress: &mut dyn FnMut(Progress),
    stop: &dyn Fn() -> bool,
) -> Result<TrainReport, Error> {
    let options = SimOptions {
        threads: opts.threads.max(1),
        timing: opts.timing,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(config, image, options)?;
    let mut r = SigpropRunner::new(&mut sim, image)?;
    r.check(&split.train)?;
    r.check(&split.test)?;
    let clock = config.clock().0 as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<usize> = (0..split.train.len()).collect();
    let (mut curve, mut confusion, mut test_accuracy) = (Vec::new(), Vec::new(), 0.0);
    let (mut training, mut inference) = (Meter::default(), Meter::default());
    // Each training sample's target context, computed once (again for a moved set).
    let mut targets = r.targets(&split.train);
    let start = r.mark();
    r.latch_round(false)?;
    training.add(&r, start, 0);
    let total = order.len();
    for epoch in 0..opts.epochs {
        r.set_epoch(epoch)?;
        order.shuffle(&mut rng);
        let moved = match augment {
            Some(a) => a.epoch(&split.train, opts.seed, epoch)?,
            None => None,
        };
        if let Some(m) = &moved {
            targets = r.targets(m);
        }
        let data = moved.as_ref().unwrap_or(&split.train);
        let from = r.mark();
        let correct = train_epoch(
            &mut r,
            data,
            &targets,
            &order,
            &mut |done| progress(Progress::Training { epoch, done, total }),
            stop,
        )?;
        training.add(&r, from, total);
        let last = epoch + 1 == opts.epochs;
        let test = if opts.test_every_epoch || last {
            progress(Progress::Testing { set: "test" });
            let from = r.mark();
            let (acc, conf) = evaluate(&mut r, &split.test, stop)?;
            inference.add(&r, from, split.test.len());
            (test_accuracy, confusion) = (acc, conf);
            Some(acc)
        } else {
            None
        };
        curve.push(EpochPoint {
            epoch: epoch + 1,
            samples_seen: (epoch + 1) * total,
            online_train_accuracy: correct as f64 / total.max(1) as f64,
            test_accuracy: test,
        });
    }
    progress(Progress::Testing { set: "train" });
    let from = r.mark();
    let (train_accuracy, _) = evaluate(&mut r, &split.train, stop)?;
    inference.add(&r, from, split.train.len());
    // The port's width: the sample, its complements if any, the bias.
    let port = r.spec.contexts.first().map_or(1, Vec::len);
    let sizes: Vec<usize> = std::iter::once(port)
        .chain(r.spec.layers.iter().map(|l| l.units as usize))
        .collect();
    // Each layer's weights as wired on the chip (a patch-wired layer has only its
    // patches'); the float implementation passes every context, as the chip does.
    let per_slot = r.sim.plastic_synapses_per_slot(image.learning.len());
    let weights: Vec<usize> = (r.spec.layers.iter())
        .map(|l| l.slots.iter().filter_map(|&s| per_slot.get(s)).sum())
        .collect();
    let work = amine_tasks::conventional::Work::sigprop_wired(
        &sizes,
        &weights,
        r.spec.classes(),
        r.batch(),
        true,
    );
    let dale_violations = report::dale_violations(r.sim, &r.state);
    Ok(TrainReport {
        program: image.program.clone(),
        chip: config.name.clone(),
        chip_config: amine_chip::ChipIdentity::of(config, "(given in memory)", &[]),
        task: split
            .train
            .name
            .strip_suffix("/train")
            .unwrap_or(&split.train.name)
            .to_string(),
        seed: opts.seed,
        epochs: opts.epochs,
        steps_per_sample: r.steps,
        train_samples: split.train.len(),
        test_samples: split.test.len(),
        curve,
        train_accuracy,
        test_accuracy,
        confusion,
        per_training_sample: training.per_sample(clock),
        per_inference: inference.per_sample(clock),
        synaptic_updates: r.state.total_counts().synaptic_update,
        dale_violations,
        float_reference: None,
        final_rate: None,
        conventional: Some(amine_tasks::conventional::Estimate::of(work)),
    })
}
