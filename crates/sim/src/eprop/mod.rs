//! The e-prop core: one neurocore laid out for e-prop with diffusing learning signals
//! — recurrent LIF/ALIF compartments, their synapse memory in postsynaptic-row order,
//! the eligibility unit's per-synapse traces as dense arrays beside it, leaky readout
//! units, one error unit per readout and the modulator grid — simulated step by step
//! in the chip's fixed point. It is the fast path of the general [`crate::Simulator`]
//! for this one network shape: the same arithmetic, no packet objects, and a regular
//! per-row loop over the traces.
//!
//! # What runs in a step `t` (inputs `x(t)`, spikes `z(t−1)` of the last step)
//!
//! 1. **εv** per source: `εv ← α·εv + (1−α)·pre` ([`EpropRow::step_pre`](amine_chip::learning::eprop::EpropRow::step_pre)'s arithmetic).
//! 2. **Neurons**: each compartment's input is the sum of the weights (mantissa <<
//!    group exponent, v units) of the sources that fired; the chip's
//!    [`AlifState::step`](amine_chip::neuron::alif::AlifState::step) integrates it (LIF = ALIF with no adaptation; subtractive
//!    reset; 5-step refractory). ψ̂ is the chip's [`psi`](amine_chip::learning::eprop::psi), from the overshoot for a
//!    neuron that just fired (as the general simulator does).
//! 3. **Readout units**: `y ← κ·y + (1−κ)·Σ_j w_out,kj·z_j` in Q15.16, and per
//!    neuron `z̄ ← κ·z̄ + (1−κ)·z`.
//! 4. **Learning window only**: the [`ErrorUnit`](amine_chip::learning::error_unit::ErrorUnit) computes `err` (softmax − one-hot,
//!    or y − target), the readout accumulates its own gradient `err_k·z̄_j`; the grid
//!    steps (k/9 kernel on a torus, or no memory), each feedback neuron injects
//!    `Σ_k B_kj·err_k` at its cell, and every neuron reads its cell: `m_j`.
//! 5. **Eligibility unit**, per postsynaptic row j (the chip's per-synapse functions
//!    [`eps_a_next`](amine_chip::learning::eprop::eps_a_next), [`e_alif`](amine_chip::learning::eprop::e_alif), [`ebar_next`](amine_chip::learning::eprop::ebar_next)): `εa` (ALIF rows), `e`, `Σe` (for the
//!    rate regulariser), `ē` (from [`EpropCore::ebar_from`] on: the trace gate) and, in
//!    the window, `g += m_j·ē`.
//!
//! At the end of a trial the rate unit adds `c_j·Σe` (the regulariser) to `g`; `g`
//! accumulates over a batch, and [`EpropCore::apply`] turns it into weight changes
//! `Δw = −η·g`, stochastically rounded with counter-based draws.
//!
//! # Lazy decay
//!
//! A row whose neuron has ψ̂ = 0 (now, and for ALIF at the previous step) and no
//! learning signal changes only by decay (`εa ← ρ·εa`, `ē ← κ·ē`). With
//! [`CoreOptions::lazy_decay`] (the default) the unit does not touch such a row; it
//! counts the idle steps and, when the row next has work, multiplies its traces once by
//! `ρ^n` and `κ^n` from a Q0.24 power table. That skips most of the work and energy
//! of quiet neurons, and rounds once instead of n times (so no trace sticks at the
//! few-LSB floor where per-step rounding to nearest stops decaying). Off, every row
//! steps every step exactly as the general eligibility unit does (tested bit-equal).
//!
//! Everything is integer arithmetic: a trial's result is bit-identical on any machine,
//! and a batch's summed `g` does not depend on how its trials were split over threads.

mod bank;
mod build;
mod cost;
mod rows;
mod run;

pub use crate::learning_eprop::UpdateStats;
pub use build::EpropCore;
pub use cost::{core_cost, CoreCost};
pub use run::{EpropState, StepLog, TrialData, TrialResult, TrialTarget};
