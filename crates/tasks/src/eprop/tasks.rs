//! The three e-prop tasks, generated trial by trial from a seeded rng (dt = 1 ms), each
//! trial holding its input spikes, its target and the steps where the loss counts.
//!
//! Input spikes are stored per step as a list of the inputs that fire (CSR by step):
//! the inputs are sparse (about one spike per step over 40 inputs), and the network
//! consumes them as events, so this is both the compact and the fast form.

use crate::error::Error;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Which task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// Bellec et al.'s evidence accumulation: which side showed more of 7 cues.
    CueAccumulation,
    /// Delayed match-to-sample: were two binary cues 700 ms apart equal.
    DelayedMatch,
    /// Regression of a frozen 2 s sum of sines from frozen Poisson inputs.
    PatternGeneration,
}

impl TaskKind {
    /// Parses `cue-accumulation`, `delayed-match` or `pattern-generation`.
    pub fn parse(s: &str) -> Result<TaskKind, Error> {
        match s {
            "cue-accumulation" => Ok(TaskKind::CueAccumulation),
            "delayed-match" => Ok(TaskKind::DelayedMatch),
            "pattern-generation" => Ok(TaskKind::PatternGeneration),
            _ => Err(Error::config(format!(
                "task `{s}`: expected cue-accumulation, delayed-match or pattern-generation"
            ))),
        }
    }
}

/// What the network must produce.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// One class for the whole learning window (cross-entropy on the softmax output).
    Class(usize),
    /// One value per step of the learning window (MSE), `values[t - window.start]`.
    Series(Vec<f32>),
}

/// One trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub steps: usize,
    pub inputs: usize,
    /// `spikes[spike_start[t]..spike_start[t + 1]]` are the inputs firing at step `t`,
    /// in increasing order.
    pub spike_start: Vec<u32>,
    pub spikes: Vec<u16>,
    pub target: Target,
    /// The steps where the loss (hence the learning signal) counts.
    pub window: Range<usize>,
}

impl Trial {
    /// Checks that the trial fits a network of `inputs` inputs and `outputs` outputs,
    /// so simulating it cannot index out of range.
    pub fn check(&self, inputs: usize, outputs: usize) -> Result<(), Error> {
        let bad = |m: String| Err(Error::config(format!("trial: {m}")));
        if self.spike_start.len() != self.steps + 1
            || self.spike_start.windows(2).any(|w| w[0] > w[1])
            || self.spike_start.last().map(|&e| e as usize) != Some(self.spikes.len())
        {
            return bad("spike_start is not a step index of spikes".into());
        }
        if self.inputs != inputs || self.spikes.iter().any(|&i| usize::from(i) >= inputs) {
            return bad(format!("inputs must be below {inputs}"));
        }
        if self.window.start > self.window.end || self.window.end > self.steps {
            return bad(format!(
                "window {:?} is not within {} steps",
                self.window, self.steps
            ));
        }
        match &self.target {
            Target::Class(c) if outputs < 2 || *c >= outputs => {
                bad(format!("class {c} with {outputs} outputs"))
            }
            Target::Series(v) if outputs != 1 || v.len() < self.window.len() => bad(format!(
                "a series of {} values for a window of {} steps and {outputs} outputs",
                v.len(),
                self.window.len()
            )),
            _ => Ok(()),
        }
    }

    /// The inputs that fire at step `t`.
    pub fn spikes_at(&self, t: usize) -> &[u16] {
        &self.spikes[self.spike_start[t] as usize..self.spike_start[t + 1] as usize]
    }
}

/// Cue-accumulation timing (ms = steps) and rates, as in Bellec et al. 2020 / the
/// neuromodRNNs `original` input mode.
pub mod cue {
    pub const GROUP: usize = 10;
    pub const CUES: usize = 7;
    pub const CUE_MS: usize = 100;
    pub const SPACING_MS: usize = 150;
    pub const DELAY_MS: usize = 1000;
    pub const RECALL_MS: usize = 150;
    pub const STEPS: usize = CUES * SPACING_MS + DELAY_MS;
    pub const CUE_HZ: f64 = 40.0;
    pub const BACKGROUND_HZ: f64 = 10.0;
}

/// Delayed-match timing and rates.
pub mod dm {
    pub const GROUP: usize = 20;
    pub const FIXATION_MS: usize = 50;
    pub const CUE_MS: usize = 150;
    pub const DELAY_MS: usize = 700;
    pub const DECISION_MS: usize = 50;
    pub const STEPS: usize = FIXATION_MS + 2 * CUE_MS + DELAY_MS + DECISION_MS;
    pub const CUE_HZ: f64 = 40.0;
    pub const BACKGROUND_HZ: f64 = 10.0;
    /// First step of the second cue.
    pub const CUE2_START: usize = FIXATION_MS + CUE_MS + DELAY_MS;
}

/// Pattern-generation sizes.
pub mod pattern {
    pub const INPUTS: usize = 100;
    pub const STEPS: usize = 2000;
    pub const INPUT_HZ: f64 = 50.0;
    pub const FREQS_HZ: [f64; 5] = [0.5, 1.0, 2.0, 3.0, 4.0];
}

/// Builds a trial's spike lists step by step. Inputs come in groups of `group`
/// consecutive inputs sharing a rate; `rate(t, g)` is the firing probability of group
/// `g` at step `t` (Hz / 1000), asked once per step and group.
fn poisson(
    steps: usize,
    inputs: usize,
    group: usize,
    rng: &mut ChaCha8Rng,
    rate: impl Fn(usize, usize) -> f64,
) -> (Vec<u32>, Vec<u16>) {
    let mut start = Vec::with_capacity(steps + 1);
    let mut spikes = Vec::new();
    start.push(0);
    let group = group.max(1);
    let groups = inputs.div_ceil(group);
    let mut threshold = vec![0u64; groups];
    for t in 0..steps {
        for (g, th) in threshold.iter_mut().enumerate() {
            // P(u < p·2^32) = p for a uniform u32.
            *th = (rate(t, g) * 4_294_967_296.0) as u64;
        }
        // Draw for every (step, input) pair so the stream does not depend on which
        // inputs are silent.
        for i in 0..inputs {
            let u: u32 = rng.random();
            if u64::from(u) < threshold[i / group] {
                spikes.push(i as u16);
            }
        }
        start.push(spikes.len() as u32);
    }
    (start, spikes)
}

/// A trial maker for [`TaskGen::custom`].
pub type MakeTrial = fn(&mut ChaCha8Rng) -> Trial;

/// A task's trial source. Cue accumulation and delayed match draw a fresh trial each
/// call; pattern generation returns the same frozen trial (inputs and target fixed by
/// the seed given to [`TaskGen::new`]); a custom source calls its function.
#[derive(Debug, Clone)]
pub struct TaskGen {
    pub kind: TaskKind,
    frozen: Option<Trial>,
    custom: Option<Custom>,
}

/// The shape of a custom task.
#[derive(Debug, Clone)]
struct Custom {
    inputs: usize,
    outputs: usize,
    steps: usize,
    make: MakeTrial,
}

impl TaskGen {
    /// `seed` only matters for pattern generation (it fixes the frozen trial).
    pub fn new(kind: TaskKind, seed: u64) -> TaskGen {
        let frozen = (kind == TaskKind::PatternGeneration).then(|| {
            use rand::SeedableRng;
            pattern_trial(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x9A77_E2F0_0000_0003))
        });
        TaskGen {
            kind,
            frozen,
            custom: None,
        }
    }

    /// A source of trials from `make` (for small experiments and tests): every trial
    /// must have `inputs` inputs and `steps` steps, and a class target below `outputs`
    /// (classification, `outputs ≥ 2`) or a series (regression, `outputs = 1`).
    /// `kind` is reported as [`TaskKind::CueAccumulation`] for classification and
    /// [`TaskKind::PatternGeneration`] for regression.
    pub fn custom(inputs: usize, outputs: usize, steps: usize, make: MakeTrial) -> TaskGen {
        TaskGen {
            kind: if outputs == 1 {
                TaskKind::PatternGeneration
            } else {
                TaskKind::CueAccumulation
            },
            frozen: None,
            custom: Some(Custom {
                inputs,
                outputs,
                steps,
                make,
            }),
        }
    }

    pub fn inputs(&self) -> usize {
        if let Some(c) = &self.custom {
            return c.inputs;
        }
        match self.kind {
            TaskKind::CueAccumulation => 4 * cue::GROUP,
            TaskKind::DelayedMatch => 4 * dm::GROUP,
            TaskKind::PatternGeneration => pattern::INPUTS,
        }
    }

    /// Readout units: 2 classes, or 1 regression output.
    pub fn outputs(&self) -> usize {
        if let Some(c) = &self.custom {
            return c.outputs;
        }
        match self.kind {
            TaskKind::PatternGeneration => 1,
            _ => 2,
        }
    }

    pub fn steps(&self) -> usize {
        if let Some(c) = &self.custom {
            return c.steps;
        }
        match self.kind {
            TaskKind::CueAccumulation => cue::STEPS,
            TaskKind::DelayedMatch => dm::STEPS,
            TaskKind::PatternGeneration => pattern::STEPS,
        }
    }

    pub fn is_classification(&self) -> bool {
        self.outputs() > 1
    }

    /// The next trial from `rng` (untouched for pattern generation).
    pub fn trial(&self, rng: &mut ChaCha8Rng) -> Trial {
        if let Some(c) = &self.custom {
            return (c.make)(rng);
        }
        match (&self.frozen, self.kind) {
            (Some(t), _) => t.clone(),
            (None, TaskKind::DelayedMatch) => delayed_match_trial(rng).0,
            (None, _) => cue_trial(rng).0,
        }
    }
}

/// A cue-accumulation trial and its cue sides (`true` = right). Inputs `0..10` are the
/// left group, `10..20` right, `20..30` recall, `30..40` background. Cue `c` lasts
/// steps `150c..150c+100`; the recall group fires in the last 150 steps, which are the
/// learning window; label 1 = more right cues.
pub fn cue_trial(rng: &mut ChaCha8Rng) -> (Trial, [bool; cue::CUES]) {
    use cue::*;
    let mut sides = [false; CUES];
    for s in &mut sides {
        *s = rng.random::<bool>();
    }
    let recall = STEPS - RECALL_MS;
    let (on, bg) = (CUE_HZ / 1000.0, BACKGROUND_HZ / 1000.0);
    let (spike_start, spikes) = poisson(STEPS, 4 * GROUP, GROUP, rng, |t, g| match g {
        g @ (0 | 1) => {
            let c = t / SPACING_MS;
            let active = c < CUES && t % SPACING_MS < CUE_MS && usize::from(sides[c]) == g;
            if active {
                on
            } else {
                0.0
            }
        }
        2 => {
            if t >= recall {
                on
            } else {
                0.0
            }
        }
        _ => bg,
    });
    let right = sides.iter().filter(|&&s| s).count();
    let label = usize::from(2 * right > CUES);
    let trial = Trial {
        steps: STEPS,
        inputs: 4 * GROUP,
        spike_start,
        spikes,
        target: Target::Class(label),
        window: recall..STEPS,
    };
    (trial, sides)
}

/// A delayed-match trial and its two cue values. The coding follows the neuromodRNNs
/// generator: inputs `0..20` fire at 40 Hz during the first cue (steps 50..200) if the
/// first cue is 1 and stay silent if it is 0; inputs `20..40` likewise for the second
/// cue (steps 900..1050); inputs `40..60` fire at 40 Hz during the decision window
/// (the last 50 steps, the learning window); inputs `60..80` are 10 Hz background
/// throughout. Label 1 = the cues match.
pub fn delayed_match_trial(rng: &mut ChaCha8Rng) -> (Trial, [bool; 2]) {
    use dm::*;
    let cues = [rng.random::<bool>(), rng.random::<bool>()];
    let decision = STEPS - DECISION_MS;
    let (on, bg) = (CUE_HZ / 1000.0, BACKGROUND_HZ / 1000.0);
    let (spike_start, spikes) = poisson(STEPS, 4 * GROUP, GROUP, rng, |t, g| {
        let lit = match g {
            0 => cues[0] && (FIXATION_MS..FIXATION_MS + CUE_MS).contains(&t),
            1 => cues[1] && (CUE2_START..CUE2_START + CUE_MS).contains(&t),
            2 => t >= decision,
            _ => return bg,
        };
        if lit {
            on
        } else {
            0.0
        }
    });
    let trial = Trial {
        steps: STEPS,
        inputs: 4 * GROUP,
        spike_start,
        spikes,
        target: Target::Class(usize::from(cues[0] == cues[1])),
        window: decision..STEPS,
    };
    (trial, cues)
}

/// The frozen pattern-generation trial: 100 Poisson inputs at 50 Hz, and the target
/// `Σ_f a_f sin(2π f t + φ_f)` over f = 0.5, 1, 2, 3, 4 Hz with `a_f` uniform then
/// normalised to sum to 1, `φ_f` uniform in [0, 2π), minus its mean over the trial.
/// The learning window is the whole trial.
pub fn pattern_trial(rng: &mut ChaCha8Rng) -> Trial {
    use pattern::*;
    let mut amp: Vec<f64> = FREQS_HZ.iter().map(|_| rng.random::<f64>()).collect();
    let total: f64 = amp.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    amp.iter_mut().for_each(|a| *a /= total);
    let phase: Vec<f64> = FREQS_HZ
        .iter()
        .map(|_| rng.random::<f64>() * std::f64::consts::TAU)
        .collect();
    let mut y: Vec<f64> = (0..STEPS)
        .map(|t| {
            let s = t as f64 / 1000.0;
            FREQS_HZ
                .iter()
                .zip(&amp)
                .zip(&phase)
                .map(|((f, a), p)| a * (std::f64::consts::TAU * f * s + p).sin())
                .sum()
        })
        .collect();
    let mean = y.iter().sum::<f64>() / STEPS as f64;
    y.iter_mut().for_each(|v| *v -= mean);
    let (spike_start, spikes) = poisson(STEPS, INPUTS, INPUTS, rng, |_, _| INPUT_HZ / 1000.0);
    Trial {
        steps: STEPS,
        inputs: INPUTS,
        spike_start,
        spikes,
        target: Target::Series(y.into_iter().map(|v| v as f32).collect()),
        window: 0..STEPS,
    }
}
