//! The e-prop engine's part of a chip image ([`EpropImage`]): what the core's e-prop
//! learning engine (`learning.eprop` of the chip configuration) needs beyond the
//! network's compartments, synapse rows and e-prop learning slots — the trial and its
//! learning window, the readout units and their weights, the error units, how they
//! inject the learning signal into the modulator grid, the rate regulariser and the
//! update unit's registers.
//!
//! Every number is already in the engine's fixed point (the compiler converted the
//! program's units once); the simulator and the fast e-prop backend both read it from
//! here.

use super::{ChipImage, CoreImage};
use crate::config::eprop::{EligibilityUnit, EpropEngineConfig};
use crate::config::{ChipConfig, ModulatorConfig};
use crate::error::Problem;
use serde::{Deserialize, Serialize};

/// The e-prop engine of one core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropImage {
    /// The core holding the network and running its engine.
    pub core: u32,
    /// Fractional bits F of εv, ψ̂, εa, e and ē.
    pub frac_bits: u8,
    /// Skip rows that only decay and catch them up from a power table.
    pub lazy_decay: bool,
    /// Fractional bits of the power table.
    pub power_bits: u8,
    /// Steps of a trial; the learning window is trial steps `window.0..window.1`.
    pub trial_steps: u32,
    pub window: (u32, u32),
    /// ē and z̄ are kept from this trial step on (what earlier steps would carry into
    /// the window is below half an LSB).
    pub ebar_from: u32,
    pub readout: ReadoutImage,
    pub error: ErrorKind,
    pub feedback: FeedbackImage,
    /// The firing-rate regulariser (`None`: off).
    pub regulariser: Option<RegulariserImage>,
    pub update: UpdateImage,
}

/// The leaky readout units `y ← κ·y + (1 − κ)·Σ_j w_kj·z_j` (Q15.16).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutImage {
    pub units: u32,
    /// κ as a 12-bit decay field: `κ = 1 − decay/4096` (also the ē filter's κ).
    pub decay: u16,
    pub weight_bits: u8,
    /// A weight is `mantissa << exponent` in Q.16 real units.
    pub exponent: u8,
    /// Sorted by compartment, then unit.
    pub synapses: Vec<ReadoutSynapse>,
}

/// Compartment `compartment` of the engine's core drives readout `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadoutSynapse {
    pub compartment: u32,
    pub unit: u32,
    pub weight: i32,
}

/// What the error units compute from the readouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// `softmax(y) − onehot(label)` (classification; the host writes the label).
    Softmax,
    /// `y − target` (regression; the host writes each window step's target).
    Regression,
}

/// How the error units' outputs reach the neurons: each injector adds
/// `Σ_k B_k·err_k` (B Q.16) at its cell of the grid's `channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackImage {
    pub channel: u32,
    /// Sorted by compartment.
    pub injectors: Vec<Injector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injector {
    pub compartment: u32,
    pub cell: (u32, u32),
    /// `(readout unit, B in Q.16)`.
    pub weights: Vec<(u32, i32)>,
}

/// At the end of a trial `g += c_j·Σe` on every synapse onto neuron j, with
/// `c_j = round(K·(spikes_j·2^16 − target)/2^16)`, `K = k_mant·2^k_exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegulariserImage {
    pub k_mant: i64,
    pub k_exp: i32,
    /// The target spike count per trial, Q.16.
    pub target: i64,
}

/// The update unit's registers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateImage {
    /// Trials whose gradients one update applies (the rates below include 1/batch).
    pub batch: u32,
    /// Seed of the readout weights' rounding draws (synapses use their slot's seed).
    pub seed: u64,
    pub rule: UpdateRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UpdateRule {
    /// `Δw = −η·g`: each e-prop slot's η is its `EpropParams::eta`; the readout's is
    /// `readout_eta` (weight units of Q.16 per `g_out·2^-32`).
    Sgd {
        readout_eta: f64,
    },
    Adam(AdamImage),
}

/// Adam in fixed point (docs/eprop.md, "The update unit").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamImage {
    /// β1 and β2 in Q0.32.
    pub beta1: u32,
    pub beta2: u32,
    pub m_bits: u8,
    pub v_bits: u8,
    /// One per e-prop slot (image order), then one for the readout.
    pub groups: Vec<AdamGroup>,
}

/// Per group: the gradient `g >> shift` is what the moments see; a step moves a weight
/// by `step` weight units times Adam's ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamGroup {
    pub shift: u8,
    pub step: f64,
}

impl EpropImage {
    /// κ in Q0.16 (exact: `(4096 − decay)·16`).
    pub fn kappa_q16(&self) -> i64 {
        i64::from(4096 - self.readout.decay.min(4096)) << 4
    }
}

/// The readout rows of `n` compartments: row c is `synapses[start[c]..start[c + 1]]`,
/// `words[c]` the words it occupies, `sources` the compartments that have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadoutRows {
    pub start: Vec<usize>,
    pub words: Vec<u64>,
    pub sources: Vec<u32>,
}

impl ReadoutImage {
    /// The readout rows of the core's `n` compartments in memory of `word_bits` words.
    pub fn rows(&self, n: usize, word_bits: u32) -> ReadoutRows {
        let mut start = vec![0usize; n + 1];
        for s in &self.synapses {
            if let Some(x) = start.get_mut(s.compartment as usize + 1) {
                *x += 1;
            }
        }
        for c in 0..n {
            start[c + 1] += start[c];
        }
        ReadoutRows {
            words: (0..n)
                .map(|c| self.row_words(start[c + 1] - start[c], word_bits))
                .collect(),
            sources: (0..n as u32)
                .filter(|&c| start[c as usize + 1] > start[c as usize])
                .collect(),
            start,
        }
    }

    /// Memory words a neuron's `len` readout synapses occupy (and a spike reads): each
    /// entry is the unit's index and the weight, packed, the row padded to a word.
    pub fn row_words(&self, len: usize, word_bits: u32) -> u64 {
        let entry = u64::from(crate::config::bits_for(self.units)) + u64::from(self.weight_bits);
        (len as u64 * entry).div_ceil(u64::from(word_bits.max(1)))
    }
}

impl EpropImage {
    /// The update rule of e-prop slot `slot` (its index among the image's e-prop slots)
    /// for a row stored at `exponent`, whose SGD rate is `eta` (mantissa, exponent: the
    /// slot's `EpropConsts`) in weight units per `g·2^-(F+G)`; `grid_frac` is G.
    pub fn synapse_rule(
        &self,
        slot: usize,
        (eta_m, eta_e): (i64, i32),
        exponent: i32,
        grid_frac: u32,
    ) -> crate::learning::update_unit::WeightRule {
        use crate::learning::update_unit::WeightRule;
        match &self.update.rule {
            UpdateRule::Sgd { .. } => WeightRule::Sgd {
                eta_m,
                eta_e: eta_e - i32::from(self.frac_bits) - grid_frac as i32 - exponent,
            },
            UpdateRule::Adam(a) => adam_rule(a.groups.get(slot), exponent),
        }
    }

    /// The readout weights' update rule (weights are `mantissa·2^(exponent − 16)`, the
    /// gradient `g_out` Q.32).
    pub fn readout_rule(&self) -> crate::learning::update_unit::WeightRule {
        use crate::learning::update_unit::{mant_exp, WeightRule};
        let exponent = i32::from(self.readout.exponent) - 16;
        match &self.update.rule {
            UpdateRule::Sgd { readout_eta } => {
                let (eta_m, e) = mant_exp(*readout_eta, 16);
                WeightRule::Sgd {
                    eta_m,
                    eta_e: e - 32 - exponent,
                }
            }
            UpdateRule::Adam(a) => adam_rule(a.groups.last(), exponent),
        }
    }

    /// The Adam unit of the image's update rule, before its first update.
    pub fn adam(&self) -> Option<crate::learning::update_unit::Adam> {
        match &self.update.rule {
            UpdateRule::Adam(a) => Some(crate::learning::update_unit::Adam::new(
                a.beta1, a.beta2, a.m_bits, a.v_bits,
            )),
            UpdateRule::Sgd { .. } => None,
        }
    }
}

impl ChipImage {
    /// Per learning slot, its index among the e-prop slots (the Adam groups' order).
    pub fn eprop_ordinals(&self) -> Vec<usize> {
        self.learning
            .iter()
            .scan(0, |k, l| {
                let o = *k;
                *k += usize::from(l.eprop.is_some());
                Some(o)
            })
            .collect()
    }
}

impl super::ModulatorImage {
    /// The grid cell of each of the `n` compartments of core `core` (`(0, 0)` where the
    /// image binds none).
    pub fn cells_of(&self, core: u32, n: usize) -> Vec<(u32, u32)> {
        let mut cells = vec![(0, 0); n];
        for b in self.cells.iter().filter(|b| b.core == core) {
            if let Some(x) = cells.get_mut(b.compartment as usize) {
                *x = b.cell;
            }
        }
        cells
    }
}

fn adam_rule(g: Option<&AdamGroup>, exponent: i32) -> crate::learning::update_unit::WeightRule {
    let g = g.copied().unwrap_or(AdamGroup {
        shift: 0,
        step: 0.0,
    });
    let (step_m, step_e) = g.step_lsb(exponent);
    crate::learning::update_unit::WeightRule::Adam {
        shift: u32::from(g.shift),
        step_m,
        step_e,
    }
}

impl AdamGroup {
    /// The step in mantissa LSBs of a weight stored at `exponent` (`w = m·2^exponent`):
    /// a 16-bit mantissa and a power of two.
    pub fn step_lsb(&self, exponent: i32) -> (i64, i32) {
        let (m, e) = crate::learning::update_unit::mant_exp(self.step, 16);
        (m, e - exponent)
    }
}

/// Every problem of `image.eprop` on `config` (empty without one).
pub(super) fn problems(image: &ChipImage, config: &ChipConfig) -> Vec<Problem> {
    let Some(e) = &image.eprop else {
        return Vec::new();
    };
    let mut out = Found(Vec::new());
    let Some(hw) = &config.learning.eprop else {
        out.push(
            "core",
            format!(
                "chip `{}` has no e-prop learning engine (learning.eprop)",
                config.name
            ),
        );
        return out.0;
    };
    let Some(core) = image.cores.iter().find(|c| c.id == e.core) else {
        out.push("core", format!("core {} is not in the image", e.core));
        return out.0;
    };
    let n = core.compartments.len() as u32;
    trial_problems(e, &hw.eligibility, &mut out);
    readout_problems(&e.readout, hw, n, &mut out);
    let supported = match e.error {
        ErrorKind::Softmax => hw.error.softmax,
        ErrorKind::Regression => hw.error.regression,
    };
    if !supported {
        out.push(
            "error",
            format!("the engine has no {:?} error units", e.error),
        );
    }
    let grid = image.modulator.grid_config(&config.modulator);
    feedback_problems(e, &grid, n, &mut out);
    if e.regulariser.is_some() && !hw.trial.rate_regulariser {
        out.push("regulariser", "the engine has no rate regulariser".into());
    }
    if !hw.trial.window_gating || !hw.trial.trial_reset {
        out.push(
            "trial",
            "the engine needs window gating and the trial reset (learning.eprop.trial)".into(),
        );
    }
    if e.update.batch == 0 {
        out.push("update.batch", "must be at least 1".into());
    }
    let slots: Vec<usize> = image
        .learning
        .iter()
        .enumerate()
        .filter(|(_, s)| s.eprop.is_some())
        .map(|(i, _)| i)
        .collect();
    rule_problems(&e.update.rule, hw, slots.len(), &mut out);
    slot_problems(image, e, &slots, &mut out);
    core_problems(image, e, core, hw, &mut out);
    out.0
}

/// The problems found so far, each field under `eprop.`.
struct Found(Vec<Problem>);

impl Found {
    fn push(&mut self, field: &str, message: String) {
        self.0.push(Problem {
            field: format!("eprop.{field}"),
            message,
        })
    }
}

/// The traces' fractional bits, lazy decay and power table the eligibility unit has, and
/// a learning window inside the trial.
fn trial_problems(e: &EpropImage, el: &EligibilityUnit, out: &mut Found) {
    if !(el.min_frac_bits..=el.max_frac_bits).contains(&e.frac_bits) {
        out.push(
            "frac_bits",
            format!(
                "{} is outside the eligibility unit's {}..={}",
                e.frac_bits, el.min_frac_bits, el.max_frac_bits
            ),
        );
    }
    if e.lazy_decay && !el.lazy_decay {
        out.push(
            "lazy_decay",
            "the eligibility unit has no power table".into(),
        );
    }
    if e.power_bits != el.power_bits {
        out.push(
            "power_bits",
            format!("{}, the unit's table has {}", e.power_bits, el.power_bits),
        );
    }
    if !(e.window.0 < e.window.1 && e.window.1 <= e.trial_steps && e.ebar_from <= e.window.0) {
        out.push(
            "window",
            format!(
                "window {}..{} with ē from {} must lie in a {}-step trial",
                e.window.0, e.window.1, e.ebar_from, e.trial_steps
            ),
        );
    }
}

/// Readout units the engine has, weights it can hold, and synapses sorted, unique and
/// inside the core's `n` compartments, the units and the weight range.
fn readout_problems(r: &ReadoutImage, hw: &EpropEngineConfig, n: u32, out: &mut Found) {
    if r.units == 0 || r.units > hw.readout.units {
        out.push(
            "readout.units",
            format!("{}, the engine has 1..={}", r.units, hw.readout.units),
        );
    }
    if !(2..=hw.readout.weight_bits).contains(&r.weight_bits) || r.exponent > 24 || r.decay > 4096 {
        out.push(
            "readout",
            format!(
                "{}-bit weights at exponent {} (the unit has up to {} bits, exponents up to 24), decay {}",
                r.weight_bits, r.exponent, hw.readout.weight_bits, r.decay
            ),
        );
    }
    let wmax = (1i64 << (r.weight_bits.clamp(1, 31) - 1)) - 1;
    let sorted = r
        .synapses
        .windows(2)
        .all(|w| (w[0].compartment, w[0].unit) < (w[1].compartment, w[1].unit));
    if !sorted
        || r.synapses
            .iter()
            .any(|s| s.compartment >= n || s.unit >= r.units || i64::from(s.weight).abs() > wmax)
    {
        out.push(
            "readout.synapses",
            "must be sorted and unique, inside the core and the units, within the weight range"
                .into(),
        );
    }
}

/// The feedback's channel in the grid, and injectors sorted by compartment, inside the
/// core's `n` compartments, the grid and the readouts.
fn feedback_problems(e: &EpropImage, grid: &ModulatorConfig, n: u32, out: &mut Found) {
    let (f, r) = (&e.feedback, &e.readout);
    if f.channel >= grid.channels || grid.width == 0 {
        out.push(
            "feedback.channel",
            format!(
                "channel {} of a grid with {} channel(s)",
                f.channel, grid.channels
            ),
        );
    }
    let bad_injector = f.injectors.iter().any(|i| {
        i.compartment >= n
            || i.cell.0 >= grid.width
            || i.cell.1 >= grid.height
            || i.weights.iter().any(|&(k, _)| k >= r.units)
    });
    if bad_injector
        || f.injectors
            .windows(2)
            .any(|w| w[0].compartment >= w[1].compartment)
    {
        out.push(
            "feedback.injectors",
            "must be sorted by compartment, inside the core, the grid and the readouts".into(),
        );
    }
}

/// The update rule: a finite readout η ≥ 0, or Adam on an update unit with Adam of the
/// same moment widths, one group per e-prop slot (`slots`) and the readout.
fn rule_problems(rule: &UpdateRule, hw: &EpropEngineConfig, slots: usize, out: &mut Found) {
    match rule {
        UpdateRule::Sgd { readout_eta } => {
            if !(readout_eta.is_finite() && *readout_eta >= 0.0) {
                out.push(
                    "update.rule",
                    format!("readout η {readout_eta} must be finite and ≥ 0"),
                );
            }
        }
        UpdateRule::Adam(a) => match &hw.update.adam {
            None => out.push("update.rule", "the update unit has no Adam unit".into()),
            Some(unit) => {
                if (a.m_bits, a.v_bits) != (unit.m_bits, unit.v_bits) {
                    out.push(
                        "update.rule",
                        format!(
                            "Adam moments of {}/{} bits, the unit has {}/{}",
                            a.m_bits, a.v_bits, unit.m_bits, unit.v_bits
                        ),
                    );
                }
                if a.groups.len() != slots + 1
                    || a.groups
                        .iter()
                        .any(|g| g.shift > 100 || !(g.step.is_finite() && g.step >= 0.0))
                {
                    out.push(
                        "update.rule",
                        format!(
                            "{} Adam groups for {} e-prop slots and the readout, each a shift ≤ 100 and a finite step ≥ 0",
                            a.groups.len(),
                            slots
                        ),
                    );
                }
            }
        },
    }
}

/// Every e-prop slot has the engine's F, feedback channel and readout κ.
fn slot_problems(image: &ChipImage, e: &EpropImage, slots: &[usize], out: &mut Found) {
    let (r, f) = (&e.readout, &e.feedback);
    for &si in slots {
        let Some(p) = &image.learning[si].eprop else {
            continue;
        };
        let kappa = f64::from(4096 - r.decay.min(4096)) / 4096.0;
        if p.frac_bits != e.frac_bits || p.channel as u32 != f.channel || p.kappa != kappa {
            out.push(
                "frac_bits",
                format!(
                    "learning[{si}] has F = {}, channel {}, κ = {}; the engine F = {}, channel {}, κ = {kappa}",
                    p.frac_bits, p.channel, p.kappa, e.frac_bits, f.channel
                ),
            );
        }
    }
}

/// E-prop rows only on the engine's core, and their state (with Adam's moments) within
/// the eligibility unit's memory.
fn core_problems(
    image: &ChipImage,
    e: &EpropImage,
    core: &CoreImage,
    hw: &EpropEngineConfig,
    out: &mut Found,
) {
    let is_eprop = |slot: u16| {
        image
            .learning
            .get(slot as usize)
            .is_some_and(|s| s.eprop.is_some())
    };
    let rows_elsewhere = image
        .cores
        .iter()
        .any(|c| c.id != e.core && c.plastic_rows.iter().any(|pr| is_eprop(pr.slot)));
    if rows_elsewhere {
        out.push(
            "core",
            format!(
                "e-prop rows outside core {}: the engine serves one core",
                e.core
            ),
        );
    }
    let synapses: u64 = core
        .plastic_rows
        .iter()
        .filter(|pr| is_eprop(pr.slot))
        .filter_map(|pr| core.synapses.rows().get(pr.row as usize))
        .map(|row| u64::from(row.len))
        .sum();
    let adam_bits = match &e.update.rule {
        UpdateRule::Adam(a) => u64::from(a.m_bits) + u64::from(a.v_bits),
        UpdateRule::Sgd { .. } => 0,
    };
    let el = &hw.eligibility;
    let need = synapses * (hw.state_bits_per_synapse() + adam_bits);
    if need > el.state_memory_bits {
        out.push(
            "core",
            format!(
                "{synapses} plastic synapses need {need} bits of e-prop state, the core has {}",
                el.state_memory_bits
            ),
        );
    }
}
