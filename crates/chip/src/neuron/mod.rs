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

/// The one conversion from a time constant to a 12-bit decay field, used for every
/// decay on the chip (neuron currents, voltages and adaptation, learning traces, the
/// e-prop engine's readouts and filters): the part of 4096 an exact exponential decay
/// with time constant `tau_steps` loses per step, `round(4096·(1 − e^(−1/τ)))`.
///
/// It is the exact discretisation of `dx/dt = −x/τ` (the per-step factor
/// `1 − d/4096` is `e^(−1/τ)` to 12 bits), so a float model that decays by `e^(−1/τ)`
/// and the chip agree; Euler's `4096/τ` is off by 2.5 % at τ = 20 and by 58 % at
/// τ = 1. τ = 0 (no memory) gives 4096; so does any τ below 0.09 steps. A NaN or
/// negative τ gives 4096 too (callers check their ranges).
///
/// ```
/// use amine_chip::neuron::{decay_from_tau, kept};
/// assert_eq!(decay_from_tau(20.0), 200);     // α = 3896/4096 = 0.95117 vs e^(−1/20) = 0.95123
/// assert_eq!(decay_from_tau(2000.0), 2);
/// assert_eq!(decay_from_tau(0.0), 4096);
/// assert_eq!(kept(200), 3896.0 / 4096.0);
/// ```
pub fn decay_from_tau(tau_steps: f64) -> u16 {
    if tau_steps.is_nan() || tau_steps <= 0.0 {
        return lif::DECAY_ONE;
    }
    (f64::from(lif::DECAY_ONE) * -(-1.0 / tau_steps).exp_m1())
        .round()
        .clamp(0.0, f64::from(lif::DECAY_ONE)) as u16
}

/// The fraction a 12-bit decay field `d` keeps per step, `(4096 − d)/4096` (exact).
pub fn kept(d: u16) -> f64 {
    f64::from(lif::DECAY_ONE - d.min(lif::DECAY_ONE)) / f64::from(lif::DECAY_ONE)
}

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
                centring: None,
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
