//! Error Diffusion classification on the chip: the sample protocol.
//!
//! An image trains with this protocol when it has the layout of
//! `amine_compiler::templates::error_diffusion` (see `docs/training.md`):
//!
//! - graded input ports `x_e` and `x_i` of `inputs + 1` values (the sample, then the
//!   bias unit, constant [`BIAS`]) and `target` of `classes` values (one-hot);
//! - one graded output unit per class, populations `out0`, `out1`, …;
//! - learning slots that all share one epoch: the steps of one sample.
//!
//! One training sample is `steps` steps, starting at a step that is a multiple of
//! `steps` so that the learning epoch ends with the sample: the host sends `x` to both
//! streams before step 0 and the target before step 2; hidden units update in step 1,
//! outputs in step 2 (the prediction is the output with the largest `u`, read after that
//! step), the error units and the grid in step 3, and the learning engine runs at the
//! end of the sample's last step. Inference is the first three steps with the learning
//! engine off and no target.
//!
//! Everything the chip does is counted by the simulator as usual, so the energy and
//! latency of a phase are differences of [`amine_sim::energy_so_far`] and of the
//! simulated cycles before and after it.

use crate::error::Error;
use amine_chip::image::{ChipImage, InputSource};
use amine_sim::{SimState, Simulator};
use amine_tasks::Dataset;

/// The bias units' constant output (Kaneko's 0.8).
pub const BIAS: f64 = 0.8;
/// Steps from sending a sample to the prediction being readable.
pub const INFERENCE_STEPS: u32 = 3;
/// Steps from sending a sample to its error being in the grid.
pub const PIPELINE_STEPS: u32 = 4;

const PROTOCOL: &str = "Error Diffusion";

/// Where the protocol's ports and units are in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdLayout {
    pub x_e: usize,
    pub x_i: usize,
    pub target: usize,
    /// Population index of each class's output unit.
    pub outputs: Vec<usize>,
    /// Values per sample (the ports hold one more: the bias).
    pub inputs: usize,
    /// Steps per training sample (the learning epoch).
    pub steps: u32,
    /// Largest payload of the ports (`2^payload_bits − 1`).
    pub payload_max: u16,
    /// Hidden layers between the ports and the outputs, one step each: the populations
    /// `l1e`, `l2e`, … of a deep network (`amine template ed --routing modulo`), 1
    /// when there are none (the per-class network).
    pub depth: u32,
}

impl EdLayout {
    /// Find the protocol's parts in `image` (as loaded into `sim`); every missing or
    /// misshapen part is named.
    pub fn of(sim: &Simulator, image: &ChipImage) -> Result<EdLayout, Error> {
        let port = |name: &str| -> Result<(usize, u32, u8), Error> {
            let i = sim
                .port_index(name)
                .ok_or_else(|| Error::layout(PROTOCOL, format!("no input port `{name}`")))?;
            let p = &image.inputs[i];
            match p.source {
                InputSource::Graded { payload_bits } => Ok((i, p.size, payload_bits)),
                _ => Err(Error::layout(
                    PROTOCOL,
                    format!("input `{name}` must be a Graded port"),
                )),
            }
        };
        let (x_e, ne, be) = port("x_e")?;
        let (x_i, ni, bi) = port("x_i")?;
        let (target, classes, bt) = port("target")?;
        if ne != ni || ne < 2 {
            return Err(Error::layout(
                PROTOCOL,
                format!("`x_e` ({ne}) and `x_i` ({ni}) must have the same size, inputs + 1 bias"),
            ));
        }
        if be != bi || be != bt {
            return Err(Error::layout(
                PROTOCOL,
                "`x_e`, `x_i` and `target` must have the same payload_bits",
            ));
        }
        let outputs = (0..classes)
            .map(|c| {
                let name = format!("out{c}");
                let p = sim
                    .population_index(&name)
                    .ok_or_else(|| Error::layout(PROTOCOL, format!("no population `{name}`")))?;
                if sim.population_sizes()[p] != 1 {
                    return Err(Error::layout(
                        PROTOCOL,
                        format!("population `{name}` must be one unit"),
                    ));
                }
                Ok(p)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut epochs: Vec<u32> = image.learning.iter().map(|s| s.epoch).collect();
        epochs.dedup();
        let steps = match epochs[..] {
            [] => return Err(Error::layout(PROTOCOL, "the image has no learning rules")),
            [e] => e,
            _ => {
                return Err(Error::layout(
                    PROTOCOL,
                    format!(
                        "learning epochs differ ({epochs:?}); all must be the steps per sample"
                    ),
                ))
            }
        };
        let depth = (1..)
            .take_while(|l| sim.population_index(&format!("l{l}e")).is_some())
            .count()
            .max(1) as u32;
        let needed = PIPELINE_STEPS + depth - 1;
        if steps < needed {
            return Err(Error::layout(
                PROTOCOL,
                format!("the learning epoch is {steps} steps; a sample through {depth} hidden layer(s) needs at least {needed} (input, hidden, output, error)"),
            ));
        }
        Ok(EdLayout {
            x_e,
            x_i,
            target,
            outputs,
            inputs: ne as usize - 1,
            steps,
            payload_max: ((1u32 << be.clamp(1, 16)) - 1) as u16,
            depth,
        })
    }

    pub fn classes(&self) -> usize {
        self.outputs.len()
    }

    /// Steps from sending a sample to the prediction being readable (input, hidden
    /// layers, output): [`INFERENCE_STEPS`] for one hidden layer.
    pub fn inference_steps(&self) -> u32 {
        INFERENCE_STEPS + self.depth - 1
    }

    /// Check that `data` fits: as many values per sample, no more classes.
    pub fn check(&self, data: &Dataset) -> Result<(), Error> {
        let task = |message: String| {
            Error::new(crate::ErrorKind::Task {
                task: data.name.clone(),
                message,
            })
        };
        if data.input_len() != self.inputs {
            return Err(task(format!(
                "{} values per sample; the image takes {}",
                data.input_len(),
                self.inputs
            )));
        }
        if data.classes > self.classes() {
            return Err(task(format!(
                "{} classes; the image has {} outputs",
                data.classes,
                self.classes()
            )));
        }
        Ok(())
    }

    /// The payloads of one sample on a stream port: each value, then the bias.
    pub fn payloads(&self, x: &[f32], out: &mut Vec<u16>) {
        let max = f64::from(self.payload_max);
        out.clear();
        out.extend(
            x.iter()
                .map(|&v| (f64::from(v).clamp(0.0, 1.0) * max).round() as u16),
        );
        out.push((BIAS * max).round() as u16);
    }
}

/// Drives one simulator through samples.
#[derive(Debug)]
pub struct EdRunner<'a> {
    pub sim: &'a mut Simulator,
    pub state: SimState,
    pub layout: EdLayout,
    buf: Vec<u16>,
    target: Vec<u16>,
}

impl<'a> EdRunner<'a> {
    pub fn new(sim: &'a mut Simulator, layout: EdLayout) -> EdRunner<'a> {
        let state = sim.initial_state();
        let classes = layout.classes();
        EdRunner {
            sim,
            state,
            layout,
            buf: Vec::new(),
            target: vec![0; classes],
        }
    }

    fn send_sample(&mut self, x: &[f32]) -> Result<(), Error> {
        self.layout.payloads(x, &mut self.buf);
        self.sim
            .send_graded(&mut self.state, self.layout.x_e, &self.buf)?;
        self.sim
            .send_graded(&mut self.state, self.layout.x_i, &self.buf)?;
        Ok(())
    }

    /// The class whose output has the largest `u` (the lowest index on ties).
    fn predict(&self) -> usize {
        let mut best = (0, i32::MIN);
        for (c, &p) in self.layout.outputs.iter().enumerate() {
            let u = self
                .sim
                .graded_value(&self.state, p, 0)
                .map_or(i32::MIN, |v| v.0);
            if u > best.1 {
                best = (c, u);
            }
        }
        best.0
    }

    /// Step until the step count is a multiple of the sample length (so the next
    /// learning epoch ends with the next sample).
    fn align(&mut self) {
        while !self.state.step.is_multiple_of(self.layout.steps) {
            self.sim.step(&mut self.state);
        }
    }

    /// Get ready for a training sample: step to the next sample boundary with the
    /// learning engine as it is (off after an evaluation: the steps that finish an
    /// inference's slot must not learn nor move a centring register), then turn it on.
    /// Called by [`Self::train_sample`]; public so a test can check that it learns
    /// nothing.
    pub fn begin_training(&mut self) {
        self.align();
        self.sim.set_learning(&mut self.state, true);
    }

    /// One training sample; returns the prediction made before learning from it.
    pub fn train_sample(&mut self, x: &[f32], label: usize) -> Result<usize, Error> {
        self.begin_training();
        self.send_sample(x)?;
        // The target goes out one step before the outputs update.
        for _ in 0..self.layout.inference_steps() - 1 {
            self.sim.step(&mut self.state);
        }
        self.target.iter_mut().for_each(|t| *t = 0);
        if let Some(t) = self.target.get_mut(label) {
            *t = self.layout.payload_max;
        }
        self.sim
            .send_graded(&mut self.state, self.layout.target, &self.target)?;
        self.sim.step(&mut self.state);
        let predicted = self.predict();
        for _ in self.layout.inference_steps()..self.layout.steps {
            self.sim.step(&mut self.state);
        }
        Ok(predicted)
    }

    /// One inference: the prediction, with the learning engine off.
    pub fn infer(&mut self, x: &[f32]) -> Result<usize, Error> {
        self.sim.set_learning(&mut self.state, false);
        self.send_sample(x)?;
        for _ in 0..self.layout.inference_steps() {
            self.sim.step(&mut self.state);
        }
        Ok(self.predict())
    }
}
