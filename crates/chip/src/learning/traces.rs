//! Pre- and post-synaptic traces: low-pass filters of spike trains that the learning
//! engine reads as x1, x2 (per input axon) and y1, y2, y3 (per compartment).
//!
//! Each step a trace decays like a Loihi LIF register, `x = (x · (4096 − decay)) >> 12`
//! (traces are non-negative, so the shift rounds toward zero), and a spike adds
//! `impulse`; the result saturates at `2^bits − 1` (7 bits on Loihi).

use serde::{Deserialize, Serialize};

/// Decay (12-bit, out of 4096 per step) and impulse of one trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceParams {
    pub decay: u16,
    pub impulse: u16,
}

impl TraceParams {
    /// A trace with time constant `tau` steps (`decay = `[`decay_from_tau`](crate::neuron::decay_from_tau)).
    pub fn from_tau(tau_steps: f64, impulse: u16) -> TraceParams {
        TraceParams {
            decay: crate::neuron::decay_from_tau(tau_steps),
            impulse,
        }
    }
}

/// Time constant (steps) of x1 and y1 unless a slot says otherwise.
pub const DEFAULT_TAU_FAST: f64 = 16.0;
/// Time constant (steps) of x2, y2 and y3.
pub const DEFAULT_TAU_SLOW: f64 = 64.0;
/// Impulse of every default trace (a quarter of a 7-bit trace's range).
pub const DEFAULT_IMPULSE: u16 = 32;

/// The default traces `[x1, x2, y1, y2, y3]`: x1 and y1 with `tau_plus` / `tau_minus`
/// steps (default [`DEFAULT_TAU_FAST`]), the others [`DEFAULT_TAU_SLOW`], all with
/// impulse [`DEFAULT_IMPULSE`].
pub fn default_traces(tau_plus: Option<f64>, tau_minus: Option<f64>) -> [TraceParams; 5] {
    let fast =
        |t: Option<f64>| TraceParams::from_tau(t.unwrap_or(DEFAULT_TAU_FAST), DEFAULT_IMPULSE);
    let slow = TraceParams::from_tau(DEFAULT_TAU_SLOW, DEFAULT_IMPULSE);
    [fast(tau_plus), slow, fast(tau_minus), slow, slow]
}

/// One step of a trace of `bits` width.
#[inline]
pub fn step(x: u16, spiked: bool, p: TraceParams, bits: u8) -> u16 {
    let max = (1u32 << bits.clamp(1, 16)) - 1;
    let keep = 4096 - u32::from(p.decay.min(4096));
    let decayed = (u32::from(x).min(max) * keep) >> 12;
    let next = decayed + if spiked { u32::from(p.impulse) } else { 0 };
    next.min(max) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_spike_adds_the_impulse_and_then_decays() {
        let p = TraceParams {
            decay: 1024,
            impulse: 40,
        };
        let x = step(0, true, p, 7);
        assert_eq!(x, 40);
        assert_eq!(step(x, false, p, 7), 30); // 40 · 3/4
        assert_eq!(step(30, false, p, 7), 22); // floor(22.5)
    }

    #[test]
    fn traces_saturate_at_their_width() {
        let p = TraceParams {
            decay: 0,
            impulse: 100,
        };
        assert_eq!(step(100, true, p, 7), 127);
    }

    #[test]
    fn tau_maps_to_a_12_bit_decay() {
        // 4096·(1 − e^(−1/4)) = 906.1
        assert_eq!(TraceParams::from_tau(4.0, 1).decay, 906);
        assert_eq!(TraceParams::from_tau(0.0, 1).decay, 4096);
    }

    proptest! {
        #[test]
        fn never_exceeds_its_width(x in any::<u16>(), s in any::<bool>(), d in any::<u16>(), i in any::<u16>(), bits in 1u8..=16) {
            let y = step(x, s, TraceParams { decay: d, impulse: i }, bits);
            prop_assert!(u32::from(y) < 1u32 << bits);
        }

        #[test]
        fn without_spikes_a_trace_never_grows(x in 0u16..128, d in 0u16..=4096) {
            let p = TraceParams { decay: d, impulse: 9 };
            prop_assert!(step(x, false, p, 7) <= x);
        }
    }
}
