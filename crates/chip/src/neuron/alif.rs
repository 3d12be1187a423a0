//! Adaptive-threshold LIF (ALIF): the CUBA LIF of [`super::lif`] plus a threshold
//! adaptation variable `a`, as used by e-prop-style recurrent networks (LSNNs).
//!
//! `u` and `v` follow exactly the LIF arithmetic (the same functions are called, so the
//! two cannot drift apart). `a` is in v units, non-negative, and saturates at 2^23 - 1.
//! One step, in this order, all intermediates in `i64`:
//!
//! 1. `u = wrap24(decay(u, du + 1) + input)` — LIF step 1.
//! 2. `a = clamp(a, 0, 2^23 - 1)`, then `a = (a · (4096 - da)) >> 12`. The decay comes
//!    *before* the threshold comparison, so an increment from the previous step's spike is
//!    seen decayed once. (`a >= 0`, so the shift is the same round-toward-zero as LIF.)
//! 3. If refractory (`refractory_left > 0`): decrement the counter and no spike. With
//!    [`Reset::Zero`] `v` is held at 0 as in LIF; with [`Reset::Subtract`] `v` is frozen
//!    at its post-reset value (clipped to the v range), so the overshoot kept by the
//!    subtractive reset is not thrown away by the refractory period; with
//!    [`Reset::SubtractBase`] `v` keeps integrating (step 4) and only the spike is
//!    blocked.
//! 4. `v = clip(decay(v, dv) + u + bias, ±(2^23 - 1))` — LIF step 3.
//! 5. `thr_eff = (vth << 6) + a` (with the decayed `a` of step 2). Spike iff
//!    `v > thr_eff`. On a spike, in this order: `v = 0` ([`Reset::Zero`], Loihi),
//!    `v = v - thr_eff` ([`Reset::Subtract`]; uses the pre-increment `thr_eff`, and lies
//!    in `(0, v]` because `thr_eff >= 0`) or `v = v - (vth << 6)` ([`Reset::SubtractBase`],
//!    the LSNN/e-prop neuron: only the base threshold is removed, so an adapted neuron
//!    keeps `a` of overshoot); then `a = clamp(a + a_inc, 0, 2^23 - 1)`; then
//!    `refractory_left = refractory`.
//!
//! With `a_inc = 0` (and `a` starting at 0) the model is bit-identical to LIF with
//! [`Reset::Zero`]. `da = 4095` keeps `a >> 12` per step, so increments below 4096 never
//! reach the comparison; `da = 0` means no decay at all (a pure spike counter).
//! `da` is a 12-bit field; `a_inc` must lie in `0..=2^23 - 1`. [`AlifParams::problems`]
//! reports violations; stepping with them still never panics (negative increments are
//! applied and `a` is clamped at 0).

use super::lif::{clip_v, decay_i64, LifParams, LifState, DECAY_MAX, V_MAX};
use serde::{Deserialize, Serialize};

/// How `v` is reset after a spike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Reset {
    /// `v = 0` (Loihi).
    #[default]
    Zero,
    /// `v -= thr_eff`, keeping the overshoot; `v` frozen while refractory.
    Subtract,
    /// `v -= vth << 6` (the base threshold, not the adapted one), and `v` integrates
    /// while refractory: the LSNN neuron that e-prop is defined on,
    /// `v ← α·v + I − z·thr` with spikes blocked during the refractory period.
    SubtractBase,
}

/// Parameters of an ALIF compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlifParams {
    /// The underlying LIF parameters (`u`, `v`, bias, base threshold, refractory).
    pub lif: LifParams,
    /// Adaptation decay, 12 bits: `a = (a · (4096 - da)) >> 12` each step.
    pub da: u16,
    /// Added to `a` on each spike, in v units; `0..=2^23 - 1`.
    pub a_inc: i32,
    /// Reset rule after a spike.
    pub reset: Reset,
}

/// The state of an ALIF compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlifState {
    pub lif: LifState,
    /// Threshold adaptation in v units, in `0..=2^23 - 1` after any step.
    pub a: i32,
}

impl AlifParams {
    /// Every field outside its hardware width; empty when valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = self.lif.problems();
        if self.da > DECAY_MAX {
            p.push(format!("da = {}: outside 0..=4095 (12 bits)", self.da));
        }
        if !(0..=V_MAX).contains(&self.a_inc) {
            p.push(format!("a_inc = {}: outside 0..={V_MAX}", self.a_inc));
        }
        p
    }
}

impl AlifState {
    /// After a step that spiked, `v − thr_eff` as it was just before the reset (the
    /// pre-increment `thr_eff`), rebuilt from the registers: 0 for [`Reset::Zero`] (the
    /// overshoot is lost), `v` for [`Reset::Subtract`], `v − (a − a_inc)` for
    /// [`Reset::SubtractBase`] (exact unless `a` saturated). The e-prop units read the
    /// pseudo-derivative of the spiking step from it.
    pub fn overshoot_at_spike(&self, p: &AlifParams) -> i64 {
        match p.reset {
            Reset::Zero => 0,
            Reset::Subtract => i64::from(self.lif.v),
            Reset::SubtractBase => i64::from(self.lif.v) - (i64::from(self.a) - i64::from(p.a_inc)),
        }
    }

    /// The threshold the next comparison would use if `a` did not decay first:
    /// `(vth << 6) + a`. Handy for plotting; [`AlifState::step`] uses the decayed `a`.
    pub fn threshold(&self, p: &AlifParams) -> i64 {
        i64::from(p.lif.threshold()) + i64::from(self.a)
    }

    /// Advance one step with dendritic input `input` (u units). Returns whether it spiked.
    #[inline]
    pub fn step(&mut self, p: &AlifParams, input: i32) -> bool {
        self.lif.integrate_u(&p.lif, input);
        // The clamp only matters for hand-built states; a step never leaves a out of range.
        let a = i64::from(self.a).clamp(0, i64::from(V_MAX));
        let a = decay_i64(a, p.da);
        self.a = a as i32;

        if self.lif.take_refractory_step() {
            self.lif.v = match p.reset {
                Reset::Zero => 0,
                Reset::Subtract => clip_v(i64::from(self.lif.v)),
                Reset::SubtractBase => self.lif.integrated_v(&p.lif),
            };
            return false;
        }

        self.lif.v = self.lif.integrated_v(&p.lif);
        let thr_eff = i64::from(p.lif.threshold()) + a;
        if i64::from(self.lif.v) <= thr_eff {
            return false;
        }
        self.lif.v = match p.reset {
            Reset::Zero => 0,
            // v > thr_eff >= 0, so the difference is in (0, v] and needs no clipping.
            Reset::Subtract => (i64::from(self.lif.v) - thr_eff) as i32,
            // v > thr_eff >= vth << 6, so the difference is positive and below v.
            Reset::SubtractBase => (i64::from(self.lif.v) - i64::from(p.lif.threshold())) as i32,
        };
        self.a = (a + i64::from(p.a_inc)).clamp(0, i64::from(V_MAX)) as i32;
        self.lif.refractory_left = p.lif.refractory;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::lif::U_WRAP;
    use super::*;
    use proptest::prelude::*;

    /// No leak on v, u = input: v grows by exactly `bias` per step.
    fn alif(vth: u32, bias: i16, da: u16, a_inc: i32, reset: Reset) -> AlifParams {
        AlifParams {
            lif: LifParams {
                du: 4095,
                dv: 0,
                vth,
                bias_mant: bias,
                bias_exp: 0,
                refractory: 0,
            },
            da,
            a_inc,
            reset,
        }
    }

    fn spikes(p: &AlifParams, steps: usize) -> Vec<usize> {
        let mut s = AlifState::default();
        (0..steps).filter(|_| s.step(p, 0)).collect()
    }

    #[test]
    fn adaptation_lengthens_inter_spike_intervals() {
        let plain = spikes(&alif(10, 100, 128, 0, Reset::Zero), 1000);
        let adapt = spikes(&alif(10, 100, 128, 640, Reset::Zero), 1000);
        assert_eq!(
            plain.len(),
            1000 / 7,
            "v: 100, 200, ..., 700 > 640 every 7 steps"
        );
        assert!(
            adapt.len() < plain.len(),
            "{} vs {}",
            adapt.len(),
            plain.len()
        );
        let isi: Vec<usize> = adapt.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(
            adapt[0], plain[0],
            "a starts at 0, so the first spike is unchanged"
        );
        assert!(
            isi[0] > 7,
            "the second spike already sees the raised threshold"
        );
        assert!(
            isi[5] >= isi[0],
            "adaptation accumulates over a burst: {isi:?}"
        );
    }

    #[test]
    fn adaptation_decays_back_to_zero_without_spikes() {
        let p = alif(10, 0, 256, 640, Reset::Zero);
        let mut s = AlifState {
            a: 1_000_000,
            ..AlifState::default()
        };
        let mut last = s.a;
        for _ in 0..1000 {
            assert!(!s.step(&p, 0));
            assert!(s.a <= last);
            last = s.a;
        }
        // floor(a · 15/16) < a for every a >= 1, so it must reach exactly 0.
        assert_eq!(s.a, 0);

        // da = 0 is no decay: a spike counter that only grows.
        let p = alif(10, 0, 0, 640, Reset::Zero);
        let mut s = AlifState {
            a: 12_345,
            ..AlifState::default()
        };
        s.step(&p, 0);
        assert_eq!(s.a, 12_345);
    }

    #[test]
    fn subtract_reset_keeps_the_overshoot() {
        let trace = |reset| {
            let p = alif(10, 300, 0, 0, reset);
            let mut s = AlifState::default();
            (0..9)
                .map(|_| {
                    s.step(&p, 0);
                    s.lif.v
                })
                .collect::<Vec<_>>()
        };
        // Threshold 640: 900 - 640 = 260, 260 + 600 - 640 = 220, ...
        assert_eq!(
            trace(Reset::Subtract),
            [300, 600, 260, 560, 220, 520, 180, 480, 140]
        );
        assert_eq!(trace(Reset::Zero), [300, 600, 0, 300, 600, 0, 300, 600, 0]);
    }

    #[test]
    fn subtract_base_removes_only_the_base_threshold_and_integrates_while_refractory() {
        // Threshold 640, bias 300, no leak, a_inc 100, refractory 1.
        let mut p = alif(10, 300, 0, 100, Reset::SubtractBase);
        p.lif.refractory = 1;
        let mut s = AlifState::default();
        let mut seen = Vec::new();
        for _ in 0..6 {
            let fired = s.step(&p, 0);
            seen.push((fired, s.lif.v, s.a));
            if fired {
                // The overshoot over the pre-increment threshold, rebuilt.
                let before = s.lif.v + 640;
                assert_eq!(
                    s.overshoot_at_spike(&p),
                    i64::from(before) - (640 + i64::from(s.a) - 100)
                );
            }
        }
        // 300, 600, 900 > 640 → 260 (a = 100); refractory: 560 (integrates, no spike);
        // 860 > 740 → 220 (a = 200); refractory: 520.
        assert_eq!(
            seen,
            [
                (false, 300, 0),
                (false, 600, 0),
                (true, 260, 100),
                (false, 560, 100),
                (true, 220, 200),
                (false, 520, 200),
            ]
        );
    }

    #[test]
    fn subtract_uses_the_threshold_before_the_increment() {
        let p = alif(10, 300, 0, 100, Reset::Subtract);
        let mut s = AlifState::default();
        let fired: Vec<bool> = (0..5).map(|_| s.step(&p, 0)).collect();
        assert_eq!(fired, [false, false, true, false, true]);
        // Step 3: 900 > 640 -> v = 260, a = 100. Step 5: 860 > 740 -> v = 120, a = 200.
        assert_eq!((s.lif.v, s.a), (120, 200));
    }

    #[test]
    fn a_decays_before_the_comparison() {
        // da = 4095 keeps a >> 12 per step. With threshold 0 and bias 100 plain LIF fires
        // every step; an increment of 4095 is gone by the next comparison, one of
        // 4096 · 200 leaves exactly 200 there and suppresses every other spike.
        let plain = spikes(&alif(0, 100, 4095, 0, Reset::Zero), 300);
        assert_eq!(plain.len(), 300);
        assert_eq!(spikes(&alif(0, 100, 4095, 4095, Reset::Zero), 300), plain);
        let alternating = spikes(&alif(0, 100, 4095, 4096 * 200, Reset::Zero), 300);
        assert_eq!(alternating, (0..300).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn a_saturates_and_problems_are_reported() {
        let mut p = alif(0, 100, 0, V_MAX, Reset::Zero);
        let mut s = AlifState {
            a: 5,
            ..AlifState::default()
        };
        assert!(s.step(&p, 0), "100 > 0 + 5");
        assert_eq!(s.a, V_MAX, "5 + (2^23 - 1) saturates");
        assert!(!s.step(&p, 0));
        assert_eq!(s.a, V_MAX);
        assert!(p.problems().is_empty());
        p.da = 4096;
        p.a_inc = -1;
        assert_eq!(p.problems().len(), 2);
    }

    #[test]
    fn refractory_subtract_keeps_the_remainder() {
        let mut p = alif(10, 300, 0, 0, Reset::Subtract);
        p.lif.refractory = 2;
        let mut s = AlifState::default();
        let vs: Vec<i32> = (0..6)
            .map(|_| {
                s.step(&p, 0);
                s.lif.v
            })
            .collect();
        assert_eq!(vs, [300, 600, 260, 260, 260, 560]);
    }

    fn any_alif() -> impl Strategy<Value = AlifParams> {
        (
            any::<(u16, u16, u32, i16, i8, u8)>(),
            any::<(u16, i32, bool)>(),
        )
            .prop_map(|((du, dv, vth, m, e, r), (da, a_inc, sub))| AlifParams {
                lif: LifParams {
                    du,
                    dv,
                    vth,
                    bias_mant: m,
                    bias_exp: e,
                    refractory: r,
                },
                da,
                a_inc,
                reset: if sub { Reset::Subtract } else { Reset::Zero },
            })
    }

    proptest! {
        #[test]
        fn step_never_panics_and_keeps_ranges(
            p in any_alif(), st in any::<(i32, i32, u8, i32)>(),
            inputs in prop::collection::vec(any::<i32>(), 1..40)
        ) {
            let mut s = AlifState {
                lif: LifState { u: st.0, v: st.1, refractory_left: st.2 },
                a: st.3,
            };
            for x in inputs {
                s.step(&p, x);
                prop_assert!((0..=V_MAX).contains(&s.a));
                prop_assert!(s.lif.v.abs() <= V_MAX);
                prop_assert!(s.lif.u > -U_WRAP && s.lif.u <= U_WRAP);
            }
        }

        #[test]
        fn without_increment_alif_is_lif(
            mut p in any_alif(), inputs in prop::collection::vec(any::<i32>(), 1..60)
        ) {
            p.a_inc = 0;
            p.reset = Reset::Zero;
            let (mut a, mut l) = (AlifState::default(), LifState::default());
            for x in inputs {
                prop_assert_eq!(a.step(&p, x), l.step(&p.lif, x));
                prop_assert_eq!(a.lif, l);
            }
        }
    }
}
