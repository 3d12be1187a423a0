//! The float reference of e-prop with diffusing neuromodulators ("Diffusion of
//! Neuromodulators for Temporal Credit Assignment", Barretto-Bittar, Levina et al.;
//! e-prop after Bellec et al. 2020), so the on-chip version has a target to match.
//!
//! - [`tasks`]: cue accumulation, delayed match-to-sample and pattern generation,
//!   generated per trial from a seeded rng.
//! - [`net`]: the LIF/ALIF network on a G×G grid with local toroidal connectivity,
//!   synapses in CSR order by postsynaptic neuron.
//! - [`sim`]: one trial with eligibility traces and the per-trial gradient.
//! - [`adjoint`]: the same gradient computed backward in time per neuron (the fast
//!   path long runs use).
//! - [`grid`]: the neuromodulator grid of the `sparse` and `diffusion` conditions.
//! - [`mod@train`]: batches, SGD/Adam, learning curve and evaluation, on any number of
//!   threads with identical results.
//!
//! docs/eprop.md states every equation and the measured figures.

pub mod adjoint;
pub mod grid;
pub mod net;
pub mod sim;
pub mod tasks;
pub mod train;

pub use grid::ModGrid;
pub use net::{Net, NetParams};
pub use tasks::{Target, TaskGen, TaskKind, Trial};
pub use train::{train, train_net, train_on, CurvePoint, EpropResult, EvalStats};

use crate::error::Error;
use serde::{Deserialize, Serialize};

/// How the learning signal reaches the recurrent neurons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// Every neuron gets `Σ_k B_kj·err_k` through a dense random B.
    Full,
    /// Only the neurons with a readout weight get their signal (grid with k = 0).
    Sparse,
    /// Those neurons inject their signal into the grid, which spreads it (k = 0.75).
    Diffusion,
}

impl Condition {
    pub fn parse(s: &str) -> Result<Condition, Error> {
        match s {
            "full" => Ok(Condition::Full),
            "sparse" => Ok(Condition::Sparse),
            "diffusion" => Ok(Condition::Diffusion),
            _ => Err(Error::config(format!(
                "condition `{s}`: expected full, sparse or diffusion"
            ))),
        }
    }
}

/// The optimiser applied to the batch-mean gradient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// `w ← w − lr_group·g`.
    Sgd,
    /// Adam (β1 = 0.9, β2 = 0.999, ε = 1e-8) with step `lr`.
    Adam,
}

/// Everything that determines a run; the same config gives bit-identical results for
/// any thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropConfig {
    pub task: TaskKind,
    pub condition: Condition,
    pub net: NetParams,
    /// Seeds the network, the trials and the frozen pattern.
    pub seed: u64,
    /// Training trials (rounded up to whole batches).
    pub trials: usize,
    pub batch: usize,
    pub optimizer: Optimizer,
    /// Adam step, or the SGD rate of every group without its own.
    pub lr: f32,
    /// SGD only: rates for input, recurrent and readout weights.
    pub lr_groups: Option<[f32; 3]>,
    /// Firing-rate regulariser strength and target (Hz).
    pub c_reg: f32,
    pub f_target_hz: f32,
    /// Grid kernel factor of the `diffusion` condition.
    pub k_diffusion: f32,
    /// Learning-curve point every this many training trials (rounded up to batches).
    pub eval_every: usize,
    /// Fresh trials evaluated at each curve point and at the end (0: none at points).
    pub eval_trials: usize,
    pub threads: usize,
    /// Keep ē only from ⌈τ_out·24 ln 2⌉ steps before the window (below f32
    /// resolution of the full sum; [`sim::ebar_start`]). `false`: from step 0.
    pub truncate_ebar: bool,
    /// Compute the gradient backward in time ([`adjoint`], fast) rather than with the
    /// online per-synapse traces (what the chip does); equal to f32 rounding.
    pub adjoint: bool,
}

impl EpropConfig {
    /// The paper's setting for `task` under `condition`: Adam at 0.005, batch 64
    /// (1 for pattern generation, whose every trial is the same frozen one), c_reg =
    /// 0.005 toward 10 Hz, k = 0.75, networks as in docs/eprop.md.
    pub fn new(task: TaskKind, condition: Condition) -> EpropConfig {
        let gen = TaskGen::new(task, 0);
        let base = NetParams {
            n_lif: 50,
            n_alif: 50,
            inputs: gen.inputs(),
            outputs: gen.outputs(),
            grid_side: 10,
            tau_m: 20.0,
            tau_out: 20.0,
            tau_a: 2000.0,
            thr: 0.03,
            beta: 1.8,
            gamma: 0.3,
            refractory: 5,
            sigma: 0.012,
            input_density: 0.1,
            readout_density: 0.1,
        };
        let net = match task {
            TaskKind::CueAccumulation => base,
            TaskKind::DelayedMatch => NetParams {
                tau_a: 1400.0,
                ..base
            },
            TaskKind::PatternGeneration => NetParams {
                n_lif: 400,
                n_alif: 0,
                grid_side: 20,
                tau_m: 30.0,
                tau_out: 30.0,
                ..base
            },
        };
        EpropConfig {
            task,
            condition,
            net,
            seed: 1,
            trials: 64 * 100,
            batch: if task == TaskKind::PatternGeneration {
                1
            } else {
                64
            },
            optimizer: Optimizer::Adam,
            lr: 0.005,
            lr_groups: None,
            c_reg: 0.005,
            f_target_hz: 10.0,
            k_diffusion: 0.75,
            eval_every: if task == TaskKind::PatternGeneration {
                100
            } else {
                64 * 10
            },
            eval_trials: 256,
            threads: 1,
            truncate_ebar: true,
            adjoint: true,
        }
    }

    fn check(&self, gen: &TaskGen) -> Result<(), Error> {
        self.net.check()?;
        if self.net.inputs != gen.inputs() || self.net.outputs != gen.outputs() {
            return Err(Error::config(format!(
                "the task has {} inputs and {} outputs, the network {} and {}",
                gen.inputs(),
                gen.outputs(),
                self.net.inputs,
                self.net.outputs
            )));
        }
        if self.batch == 0 || self.threads == 0 {
            return Err(Error::config("batch and threads must be positive"));
        }
        let mut rates = vec![("lr", self.lr)];
        if let Some(g) = self.lr_groups {
            rates.extend([("lr_in", g[0]), ("lr_rec", g[1]), ("lr_out", g[2])]);
        }
        rates.extend([
            ("c_reg", self.c_reg),
            ("f_target_hz", self.f_target_hz),
            ("k_diffusion", self.k_diffusion),
        ]);
        for (name, v) in rates {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(format!(
                    "{name} = {v}: must be finite and >= 0"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tasks;
