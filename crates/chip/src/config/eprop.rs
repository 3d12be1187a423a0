//! The e-prop learning engine of a core (`learning.eprop` of a chip configuration):
//! the hardware that trains a recurrent LIF/ALIF network with e-prop and diffusing
//! learning signals, described as data so a user can study what each part costs and
//! what accuracy its widths leave.
//!
//! | block | what it holds or does |
//! | --- | --- |
//! | [`EligibilityUnit`] | per-source εv and per-synapse εa, ē (signed `trace_bits` words with a program-chosen number of fractional bits), Σe and the gradient g (`gradient_bits`), in a per-core state memory; optionally skips rows that only decay (`lazy_decay`) |
//! | [`UpdateUnit`] | `Δw = −η·g` with stochastic rounding (always), η a mantissa of `eta_bits`; optionally Adam with per-synapse moments of `m_bits` and `v_bits`, priced as the memory words they touch |
//! | [`ReadoutUnit`] | leaky readouts `y ← κ·y + (1 − κ)·Σ w·z` with their own weights (`weight_bits`) |
//! | [`ErrorUnits`] | `softmax(y) − onehot` and/or `y − target`, one unit per readout |
//! | [`TrialUnit`] | learning-window gating, the trial reset, the firing-rate regulariser |
//!
//! A chip without `learning.eprop` has none of it: an e-prop program does not compile
//! for it, and the error names every missing block and width.

use crate::error::Problem;
use serde::{Deserialize, Serialize};

/// The e-prop learning engine of each core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpropEngineConfig {
    pub eligibility: EligibilityUnit,
    pub update: UpdateUnit,
    pub readout: ReadoutUnit,
    pub error: ErrorUnits,
    pub trial: TrialUnit,
}

/// The eligibility unit: e-prop's traces and gradient accumulators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EligibilityUnit {
    /// Width of εv, εa and ē (signed words; a value saturates at the word's range).
    pub trace_bits: u8,
    /// The fractional bits F a program may set the traces to: `min_frac_bits..=max_frac_bits`.
    pub min_frac_bits: u8,
    pub max_frac_bits: u8,
    /// Width of the per-synapse gradient g and the sum of eligibilities Σe (signed).
    pub gradient_bits: u8,
    /// Per-core memory for the per-synapse state (εa, ē, Σe, g), in bits.
    pub state_memory_bits: u64,
    /// Whether the unit skips rows that only decay and catches them up with a power
    /// table when they next have work (`false`: every row steps every step).
    pub lazy_decay: bool,
    /// Fractional bits of the power table's entries.
    pub power_bits: u8,
}

/// The update unit: what turns a batch's gradient into weight changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUnit {
    /// Mantissa bits of the learning rate η of `Δw = −η·g` (stochastically rounded).
    pub eta_bits: u8,
    /// An Adam unit beside the plain update (`None`: plain updates only).
    #[serde(default)]
    pub adam: Option<AdamUnit>,
}

/// Adam in the update unit's fixed point: per weight a first moment `m` (signed,
/// `m_bits`) and a second moment `v` (unsigned, `v_bits`) in the synapse-state memory.
/// An update reads and writes the weight and both moments: it costs one
/// `synaptic_update` per memory word touched (`1 + ⌈m_bits/word⌉ + ⌈v_bits/word⌉`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamUnit {
    pub m_bits: u8,
    pub v_bits: u8,
}

/// The readout units: leaky integrators of the network's spikes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutUnit {
    /// Readout units per core.
    pub units: u32,
    /// Widest readout weight mantissa (sign included).
    pub weight_bits: u8,
}

/// The error units, one per readout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorUnits {
    /// `softmax(y) − onehot(label)` over the readouts (classification).
    pub softmax: bool,
    /// `y − target` per readout (regression).
    pub regression: bool,
}

/// The trial controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialUnit {
    /// Error units, the grid and the gradient run only inside a learning window.
    pub window_gating: bool,
    /// Neurons, traces, readouts and the grid return to zero between trials.
    pub trial_reset: bool,
    /// A per-neuron spike counter and `g += c·(f − f_target)·Σe` at the end of a trial.
    pub rate_regulariser: bool,
}

/// Widest trace word the unit's arithmetic supports.
pub const MAX_TRACE_BITS: u8 = 32;
/// Fractional bits a trace may have at most (ψ̂'s numerator must stay within 64 bits).
pub const MAX_FRAC_BITS: u8 = 24;
/// Fewest fractional bits (the rounding shifts need at least one).
pub const MIN_FRAC_BITS: u8 = 1;

impl EpropEngineConfig {
    /// Every problem of the engine's description, with dotted field paths under
    /// `learning.eprop`.
    pub fn problems(&self, word_bits: u32) -> Vec<Problem> {
        let mut p = Vec::new();
        let mut need = |ok: bool, field: &str, message: String| {
            if !ok {
                p.push(Problem {
                    field: format!("learning.eprop.{field}"),
                    message,
                });
            }
        };
        let e = &self.eligibility;
        need(
            (8..=MAX_TRACE_BITS).contains(&e.trace_bits),
            "eligibility.trace_bits",
            format!("{} is outside 8..={MAX_TRACE_BITS}", e.trace_bits),
        );
        need(
            MIN_FRAC_BITS <= e.min_frac_bits && e.min_frac_bits <= e.max_frac_bits,
            "eligibility.min_frac_bits",
            format!(
                "{} must be at least {MIN_FRAC_BITS} and at most max_frac_bits ({})",
                e.min_frac_bits, e.max_frac_bits
            ),
        );
        need(
            e.max_frac_bits <= MAX_FRAC_BITS && e.max_frac_bits + 2 <= e.trace_bits,
            "eligibility.max_frac_bits",
            format!(
                "{} must be at most {MAX_FRAC_BITS} and leave a sign and an integer bit in the \
                 {}-bit trace",
                e.max_frac_bits, e.trace_bits
            ),
        );
        need(
            (32..=64).contains(&e.gradient_bits),
            "eligibility.gradient_bits",
            format!("{} is outside 32..=64", e.gradient_bits),
        );
        need(
            e.state_memory_bits >= u64::from(word_bits),
            "eligibility.state_memory_bits",
            format!("{} bits cannot hold one word", e.state_memory_bits),
        );
        need(
            (8..=30).contains(&e.power_bits),
            "eligibility.power_bits",
            format!("{} is outside 8..=30", e.power_bits),
        );
        let u = &self.update;
        need(
            (2..=24).contains(&u.eta_bits),
            "update.eta_bits",
            format!("{} is outside 2..=24", u.eta_bits),
        );
        if let Some(a) = &u.adam {
            need(
                (8..=32).contains(&a.m_bits),
                "update.adam.m_bits",
                format!("{} is outside 8..=32", a.m_bits),
            );
            need(
                (8..=64).contains(&a.v_bits),
                "update.adam.v_bits",
                format!("{} is outside 8..=64", a.v_bits),
            );
        }
        let r = &self.readout;
        need(
            (1..=1024).contains(&r.units),
            "readout.units",
            format!("{} is outside 1..=1,024", r.units),
        );
        need(
            (2..=16).contains(&r.weight_bits),
            "readout.weight_bits",
            format!("{} is outside 2..=16", r.weight_bits),
        );
        need(
            self.error.softmax || self.error.regression,
            "error",
            "an engine needs at least one kind of error unit (softmax or regression)".into(),
        );
        p
    }

    /// Bits of per-synapse state the eligibility unit keeps (εa, ē, Σe, g).
    pub fn state_bits_per_synapse(&self) -> u64 {
        let e = &self.eligibility;
        2 * u64::from(e.trace_bits) + 2 * u64::from(e.gradient_bits)
    }

    /// Memory words one weight update touches: the weight, and with Adam its moments.
    pub fn words_per_update(&self, adam: bool, word_bits: u32) -> u64 {
        let words = |bits: u8| u64::from(bits).div_ceil(u64::from(word_bits.max(1)));
        match (&self.update.adam, adam) {
            (Some(a), true) => 1 + words(a.m_bits) + words(a.v_bits),
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::presets::preset;

    #[test]
    fn loihi_has_no_engine_and_loihi_eprop_has_one() {
        assert!(preset("loihi").unwrap().learning.eprop.is_none());
        let c = preset("loihi-eprop").unwrap();
        let e = c.learning.eprop.as_ref().unwrap();
        assert_eq!(e.state_bits_per_synapse(), 192);
        // The weight and Adam's 32- and 64-bit moments: three 64-bit words.
        assert_eq!(e.words_per_update(true, c.core.word_bits), 3);
        assert_eq!(e.words_per_update(false, c.core.word_bits), 1);
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut c = preset("loihi-eprop").unwrap();
        let e = c.learning.eprop.as_mut().unwrap();
        e.eligibility.trace_bits = 40;
        e.eligibility.min_frac_bits = 0;
        e.update.adam.as_mut().unwrap().v_bits = 70;
        e.error.softmax = false;
        e.error.regression = false;
        let fields: Vec<String> = c.problems().into_iter().map(|p| p.field).collect();
        for f in [
            "learning.eprop.eligibility.trace_bits",
            "learning.eprop.eligibility.min_frac_bits",
            "learning.eprop.update.adam.v_bits",
            "learning.eprop.error",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_place() {
        let text = crate::presets::PRESETS
            .iter()
            .find(|(n, _)| *n == "loihi-eprop")
            .unwrap()
            .1
            .replace("lazy_decay: true,", "lazy_decay: true, lazy_decy: true,");
        let e = crate::ChipConfig::from_ron(&text, "x.ron")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.ron:") && e.contains("lazy_decy"), "{e}");
    }
}
