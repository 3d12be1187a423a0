//! Fixed-point neuron compartments, one file per model:
//!
//! - [`lif`]: Loihi's current-based LIF, bit-exact — 24-bit wrapping current `u`,
//!   saturating voltage `v`, 12-bit decays rounding toward zero, threshold `vth << 6`,
//!   plus an optional refractory period (an amine extension, off by default).
//! - [`alif`]: the same LIF with an adaptive threshold `(vth << 6) + a` and a choice of
//!   reset to zero (Loihi) or by subtraction (e-prop); it calls the LIF arithmetic rather
//!   than copying it, so with no adaptation it is bit-identical to LIF.
//! - [`graded`]: a non-spiking unit whose leaky input goes through a tabulated sigmoid and
//!   is sent as an unsigned graded payload, for rate-based rules such as Error Diffusion.
//!
//! Every model keeps its state as plain `Copy` data and steps by a method taking the
//! parameters and the dendritic input (in u units, Loihi's `a_in << 6`). No step panics
//! on any parameter, state or input value: hardware field widths are checked separately
//! by the `problems()` methods, and out-of-range values only saturate.
//! [`NeuronParams`] and [`NeuronState`] tag a compartment with its model for the
//! configuration and the chip image.

pub mod alif;
pub mod graded;
pub mod lif;

use crate::config::NeuronModelKind;
use alif::{AlifParams, AlifState};
use graded::{GradedParams, GradedState};
use lif::{LifParams, LifState};
use serde::{Deserialize, Serialize};

/// The parameters of one compartment profile, tagged by model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeuronParams {
    Lif(LifParams),
    Alif(AlifParams),
    Graded(GradedParams),
}

/// The state of one compartment, tagged by model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeuronState {
    Lif(LifState),
    Alif(AlifState),
    Graded(GradedState),
}

impl NeuronParams {
    /// The model these parameters are for.
    pub fn kind(&self) -> NeuronModelKind {
        match self {
            NeuronParams::Lif(_) => NeuronModelKind::Lif,
            NeuronParams::Alif(_) => NeuronModelKind::Alif,
            NeuronParams::Graded(_) => NeuronModelKind::Graded,
        }
    }

    /// Every field outside its hardware range; empty when valid.
    pub fn problems(&self) -> Vec<String> {
        match self {
            NeuronParams::Lif(p) => p.problems(),
            NeuronParams::Alif(p) => p.problems(),
            NeuronParams::Graded(p) => p.problems(),
        }
    }

    /// The reset state of a compartment of this model: everything zero.
    pub fn initial_state(&self) -> NeuronState {
        match self {
            NeuronParams::Lif(_) => NeuronState::Lif(LifState::default()),
            NeuronParams::Alif(_) => NeuronState::Alif(AlifState::default()),
            NeuronParams::Graded(_) => NeuronState::Graded(GradedState::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::graded::SigmoidTable;
    use super::*;

    fn all() -> [NeuronParams; 3] {
        let lif = LifParams {
            du: 100,
            dv: 200,
            vth: 1000,
            bias_mant: -5,
            bias_exp: -2,
            refractory: 2,
        };
        [
            NeuronParams::Lif(lif),
            NeuronParams::Alif(AlifParams {
                lif,
                da: 30,
                a_inc: 640,
                reset: alif::Reset::Subtract,
            }),
            NeuronParams::Graded(GradedParams {
                du: 4095,
                bias: -3,
                table: SigmoidTable::logistic(1000.0, 5.0, 16, 8),
                event_driven: false,
            }),
        ]
    }

    #[test]
    fn kind_and_initial_state_agree() {
        let kinds = all().map(|p| p.kind());
        assert_eq!(
            kinds,
            [
                NeuronModelKind::Lif,
                NeuronModelKind::Alif,
                NeuronModelKind::Graded
            ]
        );
        for p in all() {
            let ok = matches!(
                (&p, p.initial_state()),
                (NeuronParams::Lif(_), NeuronState::Lif(s)) if s == LifState::default()
            ) || matches!(
                (&p, p.initial_state()),
                (NeuronParams::Alif(_), NeuronState::Alif(s)) if s == AlifState::default()
            ) || matches!(
                (&p, p.initial_state()),
                (NeuronParams::Graded(_), NeuronState::Graded(s)) if s == GradedState::default()
            );
            assert!(ok, "{p:?}");
        }
    }

    #[test]
    fn problems_dispatch_to_the_model() {
        for p in all() {
            assert!(p.problems().is_empty(), "{p:?}");
        }
        let [NeuronParams::Lif(mut lif), NeuronParams::Alif(mut al), NeuronParams::Graded(mut gr)] =
            all()
        else {
            unreachable!()
        };
        lif.du = 4096;
        al.a_inc = -1;
        gr.table.payload_bits = 17;
        assert_eq!(NeuronParams::Lif(lif).problems().len(), 1);
        assert_eq!(NeuronParams::Alif(al).problems().len(), 1);
        assert_eq!(NeuronParams::Graded(gr).problems().len(), 1);
    }

    #[test]
    fn params_and_state_round_trip_through_ron() {
        for p in all() {
            let text = ron::to_string(&p).unwrap();
            let back: NeuronParams = ron::from_str(&text).unwrap();
            assert_eq!(back, p);
            let mut s = p.initial_state();
            if let (NeuronParams::Alif(ap), NeuronState::Alif(st)) = (&p, &mut s) {
                st.step(ap, 5000);
            }
            let back: NeuronState = ron::from_str(&ron::to_string(&s).unwrap()).unwrap();
            assert_eq!(back, s);
        }
    }
}
