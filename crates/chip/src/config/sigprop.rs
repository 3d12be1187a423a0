//! The sigprop learning unit of a core (`learning.sigprop` of a chip configuration):
//! the hardware that supervised signal propagation's contrastive layer loss needs and
//! the chip's sum-of-products engine lacks (docs/sigprop.md, "Sigprop on the
//! chip").
//!
//! | block | what it holds or does |
//! | --- | --- |
//! | [`ContextRegisterFile`] | per compartment, the graded responses to each class's context, latched as the context passes go through the layer (`classes` words of `response_bits`) |
//! | [`DistanceUnit`] | per layer, the squared distance of the sample's response to each class's latched response, the softmax over `−(β/2)·d_k`, and per unit the pull `β(t_y − Σ_k p_k t_k)` the learning rule reads |
//! | [`SigpropCosts`] | what each of those events costs |
//!
//! The unit's arithmetic lives once, in [`crate::learning::sigprop`]; its events are
//! priced here ([`SigpropUnitConfig::price`]). A chip without `learning.sigprop` has
//! none of it: [`SigpropNeeds::problems`] names what a sigprop network would need.

use crate::config::{ChipConfig, Cost};
use crate::error::Problem;
use crate::image::sigprop::SigpropOwnClass;
use crate::units::{Cycles, Picojoules};
use serde::{Deserialize, Serialize};

/// The sigprop learning unit of each core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigpropUnitConfig {
    pub context: ContextRegisterFile,
    pub distance: DistanceUnit,
    pub costs: SigpropCosts,
}

/// Latched context responses, per compartment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextRegisterFile {
    /// Most classes: registers per compartment.
    pub classes: u32,
    /// Width of a latched response (unsigned, all bits fractional: a graded output in
    /// [0, 1)).
    pub response_bits: u8,
}

/// The per-layer distance and softmax unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistanceUnit {
    /// Most units in one layer the unit reduces over.
    pub max_units: u32,
    /// Width of a squared-distance accumulator (unsigned).
    pub accumulator_bits: u8,
    /// Fractional bits of a softmax probability.
    pub prob_bits: u8,
    /// Width of the integer contrast β.
    pub beta_bits: u8,
    /// The treatments of a sample's own class's other contexts the unit implements
    /// (`negatives`: the plain softmax; `excluded`: a mask on it; `pooled`: a second
    /// normalisation over the class's contexts and their weighted pull).
    pub own_class: Vec<SigpropOwnClass>,
}

/// What each event of the unit costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigpropCosts {
    /// One context response latched into a compartment's register.
    pub latch: Cost,
    /// One unit's term of one class's squared distance (subtract, square, accumulate).
    pub distance_term: Cost,
    /// One class of one layer's softmax (an exponential, a share of the normalisation).
    pub softmax_class: Cost,
    /// One class's term of one unit's pull (`p_k · t_k`, accumulated).
    pub pull_term: Cost,
}

/// Widest latched response.
pub const MAX_RESPONSE_BITS: u8 = 16;
/// Widest probability fraction (the exponential's Q.32 result is rounded to it).
pub const MAX_PROB_BITS: u8 = 24;

/// Events of the sigprop unit, counted by [`crate::learning::sigprop`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigpropEvents {
    pub latches: u64,
    pub distance_terms: u64,
    pub softmax_classes: u64,
    pub pull_terms: u64,
}

impl std::ops::AddAssign for SigpropEvents {
    fn add_assign(&mut self, o: SigpropEvents) {
        self.latches += o.latches;
        self.distance_terms += o.distance_terms;
        self.softmax_classes += o.softmax_classes;
        self.pull_terms += o.pull_terms;
    }
}

impl SigpropUnitConfig {
    /// Every problem of the unit's description, with dotted field paths under
    /// `learning.sigprop`.
    pub fn problems(&self, compartments: u32) -> Vec<Problem> {
        let mut p = Vec::new();
        let mut need = |ok: bool, field: &str, message: String| {
            if !ok {
                p.push(Problem {
                    field: format!("learning.sigprop.{field}"),
                    message,
                });
            }
        };
        let c = &self.context;
        need(
            (2..=256).contains(&c.classes),
            "context.classes",
            format!("{} is outside 2..=256", c.classes),
        );
        need(
            (1..=MAX_RESPONSE_BITS).contains(&c.response_bits),
            "context.response_bits",
            format!("{} is outside 1..={MAX_RESPONSE_BITS}", c.response_bits),
        );
        let d = &self.distance;
        need(
            (1..=compartments).contains(&d.max_units),
            "distance.max_units",
            format!(
                "{} is outside 1..={compartments} (core.compartments)",
                d.max_units
            ),
        );
        need(
            (16..=64).contains(&d.accumulator_bits),
            "distance.accumulator_bits",
            format!("{} is outside 16..=64", d.accumulator_bits),
        );
        need(
            (4..=MAX_PROB_BITS).contains(&d.prob_bits),
            "distance.prob_bits",
            format!("{} is outside 4..={MAX_PROB_BITS}", d.prob_bits),
        );
        need(
            (1..=16).contains(&d.beta_bits),
            "distance.beta_bits",
            format!("{} is outside 1..=16", d.beta_bits),
        );
        let repeated = (d.own_class.iter().enumerate()).any(|(i, t)| d.own_class[..i].contains(t));
        need(
            !d.own_class.is_empty() && !repeated,
            "distance.own_class",
            format!(
                "{:?}: at least one treatment, each listed once",
                d.own_class
            ),
        );
        for (name, cost) in self.costs.entries() {
            need(
                cost.energy_pj.is_finite() && (0.0..=1e9).contains(&cost.energy_pj),
                &format!("costs.{name}.energy_pj"),
                format!("{} is outside 0..=1e9", cost.energy_pj),
            );
        }
        p
    }

    /// Energy and time of `events`, the events running one after the other. The only
    /// place the unit is priced.
    pub fn price(&self, events: &SigpropEvents) -> (Picojoules, Cycles) {
        let c = &self.costs;
        let pairs = [
            (events.latches, &c.latch),
            (events.distance_terms, &c.distance_term),
            (events.softmax_classes, &c.softmax_class),
            (events.pull_terms, &c.pull_term),
        ];
        let energy = pairs.iter().map(|(n, c)| c.energy() * *n).sum();
        let cycles = pairs.iter().map(|(n, c)| c.time() * *n).sum();
        (energy, cycles)
    }

    /// Bits of context registers a core holds (every compartment, every class).
    pub fn register_bits_per_core(&self, compartments: u32) -> u64 {
        u64::from(compartments)
            * u64::from(self.context.classes)
            * u64::from(self.context.response_bits)
    }
}

impl SigpropCosts {
    /// Every entry with its field name.
    pub fn entries(&self) -> [(&'static str, &Cost); 4] {
        [
            ("latch", &self.latch),
            ("distance_term", &self.distance_term),
            ("softmax_class", &self.softmax_class),
            ("pull_term", &self.pull_term),
        ]
    }
}

/// What a sigprop network asks of a chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigpropNeeds {
    /// Classes, so context responses per compartment.
    pub classes: u32,
    /// Units of the widest layer.
    pub widest_layer: u32,
    /// Bits of a graded response the contexts are latched at.
    pub response_bits: u8,
    /// The contrast β.
    pub beta: u32,
    /// What the loss makes of a sample's own class's other contexts.
    pub own_class: SigpropOwnClass,
}

impl SigpropNeeds {
    /// Every reason `config` cannot run the network (empty: it can), each naming the
    /// field it exceeds or the block the chip lacks.
    pub fn problems(&self, config: &ChipConfig) -> Vec<Problem> {
        let Some(u) = &config.learning.sigprop else {
            return vec![Problem {
                field: "learning.sigprop".into(),
                message: format!(
                    "chip `{}` has no sigprop learning unit: sigprop's contrastive loss needs \
                     a context register file of {} latched responses per compartment and a \
                     per-layer distance/softmax unit over {} units",
                    config.name, self.classes, self.widest_layer
                ),
            }];
        };
        let mut p = Vec::new();
        let mut need = |ok: bool, field: &str, message: String| {
            if !ok {
                p.push(Problem {
                    field: format!("learning.sigprop.{field}"),
                    message,
                });
            }
        };
        need(
            self.classes <= u.context.classes,
            "context.classes",
            format!(
                "the network has {} classes; the register file holds {}",
                self.classes, u.context.classes
            ),
        );
        need(
            self.response_bits <= u.context.response_bits,
            "context.response_bits",
            format!(
                "responses of {} bits do not fit registers of {}",
                self.response_bits, u.context.response_bits
            ),
        );
        need(
            self.widest_layer <= u.distance.max_units,
            "distance.max_units",
            format!(
                "a layer of {} units exceeds the unit's {}",
                self.widest_layer, u.distance.max_units
            ),
        );
        let beta_bits = 32 - self.beta.leading_zeros();
        need(
            self.beta >= 1 && beta_bits <= u32::from(u.distance.beta_bits),
            "distance.beta_bits",
            format!(
                "β = {} needs {beta_bits} bits and must be at least 1; the unit has {}",
                self.beta, u.distance.beta_bits
            ),
        );
        need(
            u.distance.own_class.contains(&self.own_class),
            "distance.own_class",
            format!(
                "the network treats its own class's other contexts as `{}`; the unit implements {}",
                self.own_class.name(),
                u.distance
                    .own_class
                    .iter()
                    .map(|t| format!("`{}`", t.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        // A distance is at most `units · (2^F − 1)^2` in units of 2^−2F.
        let max_d = u128::from(self.widest_layer) * ((1u128 << self.response_bits) - 1).pow(2);
        let acc = u32::from(u.distance.accumulator_bits);
        need(
            acc >= 64 || max_d < (1u128 << acc),
            "distance.accumulator_bits",
            format!(
                "a distance over {} units of {} bits needs {} bits; the accumulator has {acc}",
                self.widest_layer,
                self.response_bits,
                128 - max_d.leading_zeros()
            ),
        );
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;

    fn digits() -> SigpropNeeds {
        SigpropNeeds {
            classes: 10,
            widest_layer: 128,
            response_bits: 8,
            beta: 16,
            own_class: SigpropOwnClass::Negatives,
        }
    }

    #[test]
    fn loihi_refuses_naming_what_it_lacks() {
        let p = digits().problems(&preset("loihi").unwrap());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field, "learning.sigprop");
        assert!(
            p[0].message.contains("context register file of 10"),
            "{p:?}"
        );
        assert!(p[0].message.contains("distance/softmax unit"), "{p:?}");
    }

    #[test]
    fn loihi_sigprop_runs_digits_and_refuses_what_exceeds_it() {
        let c = preset("loihi-sigprop").unwrap();
        assert_eq!(digits().problems(&c), vec![]);
        let big = SigpropNeeds {
            classes: 300,
            widest_layer: 2000,
            response_bits: 20,
            beta: 1 << 20,
            own_class: SigpropOwnClass::Negatives,
        };
        let fields: Vec<String> = big.problems(&c).into_iter().map(|p| p.field).collect();
        for f in [
            "learning.sigprop.context.classes",
            "learning.sigprop.context.response_bits",
            "learning.sigprop.distance.max_units",
            "learning.sigprop.distance.beta_bits",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
        }
    }

    #[test]
    fn a_narrow_accumulator_is_refused() {
        let mut c = preset("loihi-sigprop").unwrap();
        c.learning
            .sigprop
            .as_mut()
            .unwrap()
            .distance
            .accumulator_bits = 16;
        // 128 · 255² = 8,323,200 needs 23 bits.
        let p = digits().problems(&c);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("needs 23 bits"), "{p:?}");
    }

    #[test]
    fn every_problem_names_its_field() {
        let mut c = preset("loihi-sigprop").unwrap();
        let u = c.learning.sigprop.as_mut().unwrap();
        u.context.classes = 1;
        u.context.response_bits = 17;
        u.distance.max_units = 5000;
        u.distance.prob_bits = 30;
        u.costs.latch.energy_pj = f64::NAN;
        let fields: Vec<String> = c.problems().into_iter().map(|p| p.field).collect();
        for f in [
            "learning.sigprop.context.classes",
            "learning.sigprop.context.response_bits",
            "learning.sigprop.distance.max_units",
            "learning.sigprop.distance.prob_bits",
            "learning.sigprop.costs.latch.energy_pj",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} not in {fields:?}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_place() {
        let text = crate::presets::PRESETS
            .iter()
            .find(|(n, _)| *n == "loihi-sigprop")
            .unwrap()
            .1
            .replace("prob_bits: 16,", "prob_bits: 16, prob_bit: 16,");
        let e = crate::ChipConfig::from_ron(&text, "x.ron")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.ron:") && e.contains("prob_bit"), "{e}");
    }

    #[test]
    fn pricing_counts_each_event_at_its_cost() {
        let c = preset("loihi-sigprop").unwrap();
        let u = c.learning.sigprop.as_ref().unwrap();
        let ev = SigpropEvents {
            latches: 3,
            distance_terms: 5,
            softmax_classes: 7,
            pull_terms: 11,
        };
        let (e, t) = u.price(&ev);
        // Costs stated in chip-configs/loihi_sigprop.ron.
        let want_e = 3.0 * 1.7 + 5.0 * 0.5 + 7.0 * 10.0 + 11.0 * 0.5;
        assert!((e.0 - want_e).abs() < 1e-9, "{} vs {want_e}", e.0);
        assert_eq!(t.0, 3 * 21 + 5 * 5 + 7 * 100 + 11 * 5);
        assert_eq!(u.register_bits_per_core(c.core.compartments), 1024 * 64 * 8);
    }

    /// `loihi-sigprop-128` is `loihi-sigprop` with twice the registers: the MNIST
    /// subset's 10 × 12 contexts fit it and not the smaller file, its file is as large
    /// as the core's synapse memory (stated in its header), and its static power pays
    /// for that (128 × 1.05 + 32 × 0.4 + 1.6 mW, stated there too).
    #[test]
    fn loihi_sigprop_128_holds_twelve_contexts_a_class_and_pays_for_them() {
        let small = preset("loihi-sigprop").unwrap();
        let big = preset("loihi-sigprop-128").unwrap();
        let twelve = SigpropNeeds {
            classes: 120,
            ..digits()
        };
        assert_eq!(twelve.problems(&big), vec![]);
        assert_eq!(twelve.problems(&small).len(), 1);
        let u = big.learning.sigprop.as_ref().unwrap();
        assert_eq!(u.context.classes, 128);
        let bits = u.register_bits_per_core(big.core.compartments);
        assert_eq!(bits, 128 * 1024 * 8);
        assert_eq!(bits, big.core.synapse_memory_bits);
        assert!((big.static_power().0 - 148.8).abs() < 1e-9);
        assert!((small.static_power().0 - 104.0).abs() < 1e-9);
        let mut same = big.learning.sigprop.clone().unwrap();
        same.context.classes = 64;
        assert_eq!(Some(same), small.learning.sigprop);
    }

    /// A pooled (or excluded) network needs a unit that implements that treatment; the
    /// presets implement all three, and a list must be non-empty and without repeats.
    #[test]
    fn the_own_class_treatment_must_be_one_the_unit_implements() {
        let mut c = preset("loihi-sigprop").unwrap();
        let pooled = SigpropNeeds {
            own_class: SigpropOwnClass::Pooled,
            ..digits()
        };
        assert_eq!(pooled.problems(&c), vec![]);
        let u = c.learning.sigprop.as_mut().unwrap();
        u.distance.own_class = vec![SigpropOwnClass::Negatives, SigpropOwnClass::Excluded];
        let p = pooled.problems(&c);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "learning.sigprop.distance.own_class");
        assert!(
            p[0].message
                == "the network treats its own class's other contexts as `pooled`; \
                    the unit implements `negatives`, `excluded`",
            "{p:?}"
        );
        assert_eq!(digits().problems(&c), vec![]);
        for bad in [
            vec![],
            vec![SigpropOwnClass::Pooled, SigpropOwnClass::Pooled],
        ] {
            let u = c.learning.sigprop.as_mut().unwrap();
            u.distance.own_class = bad;
            let fields: Vec<String> = c.problems().into_iter().map(|p| p.field).collect();
            assert_eq!(fields, ["learning.sigprop.distance.own_class"]);
        }
    }
}
