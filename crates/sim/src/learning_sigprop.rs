//! The sigprop learning unit in the general simulator (`learning.sigprop` of the chip
//! configuration, docs/sigprop.md "Sigprop on the chip"): the context
//! register file, the per-layer distance/softmax unit and the pull registers the
//! learning engine reads as `m0`.
//!
//! The host drives it between steps, as it drives the input ports:
//!
//! - [`Simulator::sigprop_latch`] after a context's forward pass: every layer's graded
//!   outputs are latched into class `k`'s registers (one `latch` each). With `update`,
//!   the pull registers are loaded with the class's context-path sum `G_kj` (and `G_k`
//!   cleared), so the learning engine, ending its epoch in the next step, applies
//!   `dw = α·pre·deriv·G_kj` with `pre` and `deriv` of that context pass;
//! - [`Simulator::sigprop_sample`] after a sample's forward pass: per layer
//!   [`layer_signals`] (distances, softmax, pull), the pull registers loaded with
//!   `pull_j`, and `G_kj += coef_k·(h_j − t_kj)` (one more `pull_term` per class and
//!   unit); the engine then applies `dw = α·pre·deriv·pull_j`;
//! - [`Simulator::sigprop_predict`]: the class whose latched last-layer response is
//!   nearest the sample's (one `distance_term` per class and unit).
//!
//! The unit's events are priced with `learning.sigprop.costs` in the learning energy;
//! its cycles add to the simulated time (the unit works between steps, while the
//! cores wait). All the fixed-point arithmetic is `amine_chip::learning::sigprop`'s.

use crate::engine::Simulator;
use crate::error::Error;
use crate::state::SimState;
use amine_chip::config::sigprop::{SigpropEvents, SigpropUnitConfig};
use amine_chip::image::sigprop::{SigpropImage, SigpropReadout};
use amine_chip::image::ChipImage;
use amine_chip::learning::sigprop::{
    accumulate_context_terms, layer_signals, nearest_context_summed, requantise, OwnClass,
};
use serde::{Deserialize, Serialize};

/// The unit's static tables, decoded once from the image.
#[derive(Debug, Clone)]
pub(crate) struct SigpropTables {
    pub image: SigpropImage,
    pub unit: SigpropUnitConfig,
    /// Per layer, per unit: (core index, compartment).
    pub sites: Vec<Vec<(usize, u32)>>,
    /// Payload bits of the layers' graded outputs.
    pub payload_bits: u8,
}

impl SigpropTables {
    pub fn new(
        config: &amine_chip::ChipConfig,
        image: &ChipImage,
        sites: &[Vec<(usize, u32)>],
    ) -> Option<SigpropTables> {
        let s = image.sigprop.as_ref()?;
        let unit = config.learning.sigprop.clone()?;
        let index = |name: &str| image.populations.iter().position(|p| p.name == name);
        let sites = s
            .layers
            .iter()
            .map(|l| index(&l.population).map_or_else(Vec::new, |p| sites[p].clone()))
            .collect();
        Some(SigpropTables {
            image: s.clone(),
            unit,
            sites,
            payload_bits: 8,
        })
    }
}

/// The unit's registers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SigpropState {
    /// Per layer, the latched responses, `classes × units`, row by row.
    pub contexts: Vec<Vec<u16>>,
    /// Per layer, the context-path sums `G`, `classes × units`, Q.(P+F).
    pub sums: Vec<Vec<i64>>,
    /// Events so far.
    pub latches: u64,
    pub distance_terms: u64,
    pub softmax_classes: u64,
    pub pull_terms: u64,
}

impl SigpropState {
    pub(crate) fn new(t: &SigpropTables) -> SigpropState {
        let c = t.image.classes();
        SigpropState {
            contexts: t.sites.iter().map(|s| vec![0; c * s.len()]).collect(),
            sums: t.sites.iter().map(|s| vec![0; c * s.len()]).collect(),
            ..SigpropState::default()
        }
    }

    /// The events so far.
    pub fn events(&self) -> SigpropEvents {
        SigpropEvents {
            latches: self.latches,
            distance_terms: self.distance_terms,
            softmax_classes: self.softmax_classes,
            pull_terms: self.pull_terms,
        }
    }

    fn add(&mut self, e: SigpropEvents) {
        self.latches += e.latches;
        self.distance_terms += e.distance_terms;
        self.softmax_classes += e.softmax_classes;
        self.pull_terms += e.pull_terms;
    }
}

/// A graded output (payload) as a latched response of `response_bits`.
fn response(out: u16, payload_bits: u8, response_bits: u8) -> u16 {
    if payload_bits >= response_bits {
        out >> (payload_bits - response_bits)
    } else {
        out << (response_bits - payload_bits)
    }
}

impl Simulator {
    fn sigprop_parts(&self) -> Result<&SigpropTables, Error> {
        self.tables()
            .sigprop
            .as_ref()
            .ok_or_else(|| Error::options("the image has no sigprop section"))
    }

    /// The image's sigprop section, if it trains with sigprop.
    pub fn sigprop_image(&self) -> Option<&SigpropImage> {
        self.tables().sigprop.as_ref().map(|t| &t.image)
    }

    /// Every layer's current responses, at the unit's width.
    fn responses(&self, t: &SigpropTables, state: &SimState) -> Vec<Vec<u16>> {
        let rb = t.unit.context.response_bits;
        t.sites
            .iter()
            .map(|s| {
                s.iter()
                    .map(|&(k, c)| response(state.cores[k].out[c as usize], t.payload_bits, rb))
                    .collect()
            })
            .collect()
    }

    /// Load the pull registers of layer `l` with `values` (Q.`from`).
    fn load_pull(&self, t: &SigpropTables, state: &mut SimState, l: usize, values: &[i64]) {
        let from = u32::from(t.unit.distance.prob_bits) + u32::from(t.unit.context.response_bits);
        let to = self.tables().modulator_frac as u32;
        for (&(k, c), &v) in t.sites[l].iter().zip(values) {
            let core = &mut state.cores[k];
            if core.pull.len() < core.out.len() {
                core.pull.resize(core.out.len(), 0);
            }
            core.pull[c as usize] = requantise(v, from, to);
        }
    }

    /// Charge the unit's events `e` (energy in the learning component, cycles to the
    /// simulated time).
    fn charge(&self, t: &SigpropTables, state: &mut SimState, e: SigpropEvents) {
        let (_, cycles) = t.unit.price(&e);
        state.chip.cycles += cycles.0;
        state.chip.learning_cycles += cycles.0;
        if let Some(s) = state.sigprop.as_mut() {
            s.add(e);
        }
    }

    /// Latch every layer's responses as class `class`'s context; with `update`, load
    /// the pull registers with the class's context-path sums and clear them.
    pub fn sigprop_latch(
        &self,
        state: &mut SimState,
        class: usize,
        update: bool,
    ) -> Result<(), Error> {
        let t = self.sigprop_parts()?;
        if class >= t.image.classes() {
            return Err(Error::options(format!(
                "class {class}: the sigprop unit holds {}",
                t.image.classes()
            )));
        }
        let now = self.responses(t, state);
        let mut latches = 0;
        for (l, h) in now.iter().enumerate() {
            let u = h.len();
            let s = state.sigprop.get_or_insert_with(|| SigpropState::new(t));
            s.contexts[l][class * u..(class + 1) * u].copy_from_slice(h);
            latches += u as u64;
            if update {
                let g: Vec<i64> = s.sums[l][class * u..(class + 1) * u].to_vec();
                s.sums[l][class * u..(class + 1) * u].fill(0);
                self.load_pull(t, state, l, &g);
            }
        }
        self.charge(
            t,
            state,
            SigpropEvents {
                latches,
                ..Default::default()
            },
        );
        Ok(())
    }

    /// The learning signals of the sample now in the layers, of class `label`: the pull
    /// registers get `pull_j`, the context-path sums `coef_k·(h_j − t_kj)`.
    pub fn sigprop_sample(&self, state: &mut SimState, label: usize) -> Result<(), Error> {
        let t = self.sigprop_parts()?;
        if label >= t.image.classes() {
            return Err(Error::options(format!(
                "label {label}: the sigprop unit holds {} classes",
                t.image.classes()
            )));
        }
        let now = self.responses(t, state);
        let mut events = SigpropEvents::default();
        for (l, h) in now.iter().enumerate() {
            let s = state.sigprop.get_or_insert_with(|| SigpropState::new(t));
            let sig = layer_signals(
                h,
                &s.contexts[l],
                label,
                t.image.beta,
                (t.unit.context.response_bits, t.unit.distance.prob_bits),
                OwnClass {
                    per_class: t.image.per_class(),
                    treat: t.image.own_class,
                },
            );
            let extra = accumulate_context_terms(h, &s.contexts[l], &sig.coef, &mut s.sums[l]);
            // The responses were latched once per batch (`sigprop_latch` counts them).
            events += SigpropEvents {
                latches: 0,
                pull_terms: sig.events.pull_terms + extra,
                ..sig.events
            };
            self.load_pull(t, state, l, &sig.pull);
        }
        self.charge(t, state, events);
        Ok(())
    }

    /// The class whose latched responses are nearest the sample's: at the last layer,
    /// or summed over every layer (the image's `readout`).
    pub fn sigprop_predict(&self, state: &mut SimState) -> Result<usize, Error> {
        let t = self.sigprop_parts()?;
        let now = self.responses(t, state);
        let Some(s) = state.sigprop.as_ref() else {
            return Ok(0);
        };
        let first = match t.image.readout {
            SigpropReadout::Sum => 0,
            SigpropReadout::Last => now.len().saturating_sub(1),
        };
        let layers: Vec<(&[u16], &[u16])> = (first..now.len())
            .map(|l| (now[l].as_slice(), s.contexts[l].as_slice()))
            .collect();
        if layers.is_empty() {
            return Ok(0);
        }
        let (k, terms) = nearest_context_summed(&layers);
        let e = SigpropEvents {
            distance_terms: terms,
            ..Default::default()
        };
        self.charge(t, state, e);
        Ok(k)
    }
}
