//! Loihi's current-based leaky integrate-and-fire (CUBA LIF) compartment, bit-exact.
//!
//! State is a synaptic current `u` and a membrane voltage `v`, both signed integers in
//! "u units": the dendrite delivers each synaptic weight as `mantissa << (6 + exponent)`,
//! so the `input` of [`LifState::step`] is Loihi's `a_in << 6`, already summed.
//!
//! One step, in this order, with all intermediates in `i64` so nothing overflows:
//!
//! 1. `u = decay(u, du + 1) + input`, then `u` wraps into the 24-bit two's-complement
//!    window `(-2^23, 2^23]`: a value `x` becomes the unique `x - k·2^24` in that
//!    half-open interval (so `2^23` is kept and `-2^23` becomes `+2^23`).
//! 2. If the neuron is refractory (`refractory_left > 0`): decrement the counter, hold
//!    `v = 0`, no spike. `u` has already integrated in step 1.
//! 3. `v = clip(decay(v, dv) + u + bias, -(2^23 - 1), 2^23 - 1)`.
//! 4. Spike iff `v > vth << 6`; on a spike `v = 0` and `refractory_left = refractory`.
//!
//! where `decay(x, d) = sign(x) · ((|x| · (4096 - d)) >> 12)`, which rounds toward zero
//! (the magnitude is floored, the sign restored), and `bias = bias_mant << bias_exp`
//! (for a negative exponent, `bias_mant >> -bias_exp`, an arithmetic shift that floors
//! toward minus infinity, so `-100 >> 3 = -13`).
//!
//! The `+ 1` on `du` is Loihi's, not a typo: the current decrement is `du + 1`, so
//! `du = 0` still leaks one part in 4096 and `du = 4095` clears `u` every step (u equals
//! exactly this step's input). The voltage decrement is `dv` itself, so `dv = 0` means
//! no leak and `dv = 4095` multiplies `v` by 1/4096 without clearing it.
//!
//! The refractory period is an amine extension, off by default (`refractory = 0`): after
//! a spike, the next `refractory` steps hold `v` at 0 and cannot spike.
//!
//! Field widths are Loihi's: `du`, `dv` 12 bits (0..=4095), `vth` 17 bits unsigned,
//! `bias_mant` 13 bits signed (-4096..=4095). Loihi's `bias_exp` is a 3-bit field; amine
//! accepts -7..=7 so that small biases can be expressed by right shifts.
//! [`LifParams::problems`] lists fields outside these ranges. Out-of-range values never
//! panic: decrements above 4096 clear like 4096, shifts are clamped and the bias and
//! threshold saturate to `i32`, so a bad configuration misbehaves predictably instead of
//! crashing a simulation.

use serde::{Deserialize, Serialize};

/// Largest magnitude of `u` (the window is `(-U_WRAP, U_WRAP]`) — 2^23.
pub const U_WRAP: i32 = 1 << 23;
/// Largest magnitude of `v` — 2^23 - 1; `v` saturates at `±V_MAX`.
pub const V_MAX: i32 = (1 << 23) - 1;
/// The decay fixed-point unity: decrements are out of 4096.
pub const DECAY_ONE: u16 = 4096;
/// Largest valid 12-bit decay (`du`, `dv`, and the ALIF `da`).
pub const DECAY_MAX: u16 = 4095;
/// Largest valid 17-bit threshold mantissa.
pub const VTH_MAX: u32 = (1 << 17) - 1;
/// Threshold mantissas are in units of 2^6 of `v`.
pub const VTH_SHIFT: u32 = 6;

/// Parameters of one CUBA LIF compartment (shared by all compartments of a profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifParams {
    /// Current decay, 12 bits; the per-step decrement is `du + 1` out of 4096.
    pub du: u16,
    /// Voltage decay, 12 bits; the per-step decrement is `dv` out of 4096.
    pub dv: u16,
    /// Threshold mantissa, 17 bits; the threshold on `v` is `vth << 6`.
    pub vth: u32,
    /// Bias mantissa, 13 bits signed.
    pub bias_mant: i16,
    /// Bias exponent, -7..=7 (negative means an arithmetic right shift).
    pub bias_exp: i8,
    /// Steps after a spike during which `v` is held at 0 (amine extension; 0 = Loihi).
    pub refractory: u8,
}

/// The state of one CUBA LIF compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LifState {
    /// Synaptic current, in `(-2^23, 2^23]` after any step.
    pub u: i32,
    /// Membrane voltage, in `[-(2^23 - 1), 2^23 - 1]` after any step.
    pub v: i32,
    /// Remaining refractory steps.
    pub refractory_left: u8,
}

/// `sign(x) · ((|x| · (4096 - d)) >> 12)`: one step of 12-bit exponential decay with
/// decrement `d`, rounding toward zero. Decrements above 4096 act as 4096 (clear).
///
/// The magnitude never grows (`|decay(x, d)| <= |x|`), so the result always fits `i32`.
#[inline]
pub fn decay(x: i32, d: u16) -> i32 {
    // |result| <= |x| <= 2^31 and the sign is restored, so the cast is lossless.
    decay_i64(i64::from(x), d) as i32
}

/// [`decay`] for values already widened; `x` must be within ±2^50 (true for any `i32`).
#[inline]
pub(crate) fn decay_i64(x: i64, d: u16) -> i64 {
    let keep = i64::from(DECAY_ONE - d.min(DECAY_ONE));
    let m = (x.abs() * keep) >> 12;
    if x < 0 {
        -m
    } else {
        m
    }
}

/// Wrap into the 24-bit window `(-2^23, 2^23]` as Loihi's current register does.
#[inline]
pub fn wrap_u(x: i64) -> i32 {
    let w = i64::from(U_WRAP);
    // (w - x) mod 2^24 lies in [0, 2^24), so w minus it lies in (-2^23, 2^23].
    (w - (w - x).rem_euclid(2 * w)) as i32
}

/// Saturate into `[-(2^23 - 1), 2^23 - 1]` as Loihi's voltage register does.
#[inline]
pub fn clip_v(x: i64) -> i32 {
    x.clamp(-i64::from(V_MAX), i64::from(V_MAX)) as i32
}

impl LifParams {
    /// Every field outside its hardware width, as `"field = value: reason"`; empty when valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.du > DECAY_MAX {
            p.push(format!("du = {}: outside 0..=4095 (12 bits)", self.du));
        }
        if self.dv > DECAY_MAX {
            p.push(format!("dv = {}: outside 0..=4095 (12 bits)", self.dv));
        }
        if self.vth > VTH_MAX {
            p.push(format!("vth = {}: outside 0..=131071 (17 bits)", self.vth));
        }
        if !(-4096..=4095).contains(&self.bias_mant) {
            p.push(format!(
                "bias_mant = {}: outside -4096..=4095 (13 bits signed)",
                self.bias_mant
            ));
        }
        if !(-7..=7).contains(&self.bias_exp) {
            p.push(format!("bias_exp = {}: outside -7..=7", self.bias_exp));
        }
        p
    }

    /// `bias_mant << bias_exp`, or `bias_mant >> -bias_exp` (arithmetic) for a negative
    /// exponent. Out-of-range exponents are clamped and the result saturates to `i32`.
    #[inline]
    pub fn bias(&self) -> i32 {
        let m = i64::from(self.bias_mant);
        let b = if self.bias_exp >= 0 {
            // i16 << 32 still fits i64; larger shifts would only saturate anyway.
            m << self.bias_exp.min(32)
        } else {
            // Shifting an i16 right by 15 already yields 0 or -1.
            m >> (-i32::from(self.bias_exp)).min(15)
        };
        b.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    /// The spike threshold on `v`: `vth << 6`, saturating to `i32` for out-of-range `vth`.
    #[inline]
    pub fn threshold(&self) -> i32 {
        (i64::from(self.vth) << VTH_SHIFT).min(i64::from(i32::MAX)) as i32
    }
}

impl LifState {
    /// Advance one time step with dendritic input `input` (in u units, `a_in << 6`).
    /// Returns whether the compartment spiked.
    pub fn step(&mut self, p: &LifParams, input: i32) -> bool {
        self.integrate_u(p, input);
        if self.take_refractory_step() {
            self.v = 0;
            return false;
        }
        self.v = self.integrated_v(p);
        if self.v > p.threshold() {
            self.v = 0;
            self.refractory_left = p.refractory;
            true
        } else {
            false
        }
    }

    /// Step 1 of the header: decay, add input, wrap to 24 bits.
    #[inline]
    pub(crate) fn integrate_u(&mut self, p: &LifParams, input: i32) {
        let u = decay_i64(i64::from(self.u), p.du.saturating_add(1)) + i64::from(input);
        self.u = wrap_u(u);
    }

    /// Step 2 of the header: consume one refractory step if any is left. The caller
    /// decides what `v` does meanwhile (LIF holds 0; ALIF may keep a subtract-reset rest).
    #[inline]
    pub(crate) fn take_refractory_step(&mut self) -> bool {
        if self.refractory_left > 0 {
            self.refractory_left -= 1;
            true
        } else {
            false
        }
    }

    /// Step 3 of the header, from the already-updated `u`; does not store `v`.
    #[inline]
    pub(crate) fn integrated_v(&self, p: &LifParams) -> i32 {
        clip_v(decay_i64(i64::from(self.v), p.dv) + i64::from(self.u) + i64::from(p.bias()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params(du: u16, dv: u16, vth: u32, bias_mant: i16, bias_exp: i8) -> LifParams {
        LifParams {
            du,
            dv,
            vth,
            bias_mant,
            bias_exp,
            refractory: 0,
        }
    }

    /// A tiny seeded LCG so test inputs are reproducible without a RNG dependency.
    fn lcg_inputs(seed: u64, n: usize, amplitude: i64) -> Vec<i32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as i64 % (2 * amplitude + 1) - amplitude) as i32
            })
            .collect()
    }

    #[test]
    fn wrap_window_is_half_open() {
        assert_eq!(wrap_u(1 << 23), 1 << 23, "2^23 itself is kept");
        assert_eq!(wrap_u(-(1 << 23)), 1 << 23, "-2^23 maps to +2^23");
        assert_eq!(wrap_u(-(1 << 23) + 1), -(1 << 23) + 1);
        assert_eq!(wrap_u((1 << 23) + 1), -(1 << 23) + 1);
        assert_eq!(wrap_u(3 * (1 << 24) + 5), 5, "several periods away");
        assert_eq!(wrap_u(-3 * (1 << 24) - 5), -5);
    }

    #[test]
    fn u_wraps_when_input_crosses_2_pow_23() {
        // du = 0 still leaks 1/4096: 8_000_000 * 4095 >> 12 = 7_998_046 (floor of .875).
        let p = params(0, 0, VTH_MAX, 0, 0);
        let mut s = LifState {
            u: 8_000_000,
            ..LifState::default()
        };
        s.step(&p, 400_000);
        // 7_998_046 + 400_000 = 8_398_046 > 2^23 = 8_388_608, so subtract 2^24.
        assert_eq!(s.u, 8_398_046 - 16_777_216);
        assert!(s.u < 0);

        // With du = 4095, u is exactly the input, so the window edges are visible directly.
        let p = params(4095, 0, VTH_MAX, 0, 0);
        let mut s = LifState::default();
        s.step(&p, 1 << 23);
        assert_eq!(s.u, 1 << 23);
        s.step(&p, -(1 << 23));
        assert_eq!(s.u, 1 << 23);
        s.step(&p, (1 << 23) + 1);
        assert_eq!(s.u, -(1 << 23) + 1);
    }

    #[test]
    fn v_saturates_at_plus_minus_2_pow_23_minus_1() {
        let p = params(4095, 0, 0, 0, 0);
        let mut s = LifState {
            v: -(1 << 23) + 10,
            ..LifState::default()
        };
        s.step(&p, -1000);
        assert_eq!(s.v, -V_MAX, "clipped to -(2^23 - 1), not -2^23");
        s.step(&p, -(1 << 23) + 1);
        assert_eq!(s.v, -V_MAX);

        // A valid vth (<= 2^23 - 64 after the shift) always fires before saturation shows,
        // so use an out-of-range threshold to observe the positive rail.
        let p = params(4095, 0, 1 << 18, 0, 0);
        assert!(!p.problems().is_empty());
        let mut s = LifState {
            v: (1 << 23) - 10,
            ..LifState::default()
        };
        assert!(!s.step(&p, 1000));
        assert_eq!(s.v, V_MAX);
    }

    #[test]
    fn du_4095_clears_u_but_dv_4095_only_divides_v() {
        let p = params(4095, 4095, VTH_MAX, 0, 0);
        let mut s = LifState {
            u: 123_456,
            v: 4096 * 1000,
            refractory_left: 0,
        };
        s.step(&p, 7);
        assert_eq!(s.u, 7, "u is exactly this step's input");
        assert_eq!(s.v, 1000 + 7, "v kept 1/4096 of itself, then added u");

        // du = 0 still leaks (decrement 1) while dv = 0 does not leak at all.
        let p = params(0, 0, VTH_MAX, 0, 0);
        let mut s = LifState {
            u: 4096,
            v: 4096,
            refractory_left: 0,
        };
        s.step(&p, 0);
        assert_eq!(s.u, 4095);
        assert_eq!(s.v, 4096 + 4095);
    }

    #[test]
    fn decay_rounds_toward_zero() {
        assert_eq!(decay(4095, 1), 4094); // 4095*4095/4096 = 4094.0002
        assert_eq!(decay(-4095, 1), -4094); // not -4095 as floor would give
        assert_eq!(decay(100, 4096), 0);
        assert_eq!(decay(100, u16::MAX), 0, "decrements beyond 4096 clear");
        assert_eq!(decay(i32::MIN, 0), i32::MIN);
    }

    #[test]
    fn negative_bias_exponent_is_an_arithmetic_shift() {
        assert_eq!(params(0, 0, 0, 100, -3).bias(), 12);
        assert_eq!(
            params(0, 0, 0, -100, -3).bias(),
            -13,
            "floors, not truncates"
        );
        assert_eq!(params(0, 0, 0, -4096, 7).bias(), -524_288);
        assert_eq!(params(0, 0, 0, i16::MAX, i8::MAX).bias(), i32::MAX);
        assert_eq!(params(0, 0, 0, i16::MIN, i8::MIN).bias(), -1);

        let p = params(4095, 0, VTH_MAX, 100, -3);
        let mut s = LifState::default();
        for k in 1..=10 {
            s.step(&p, 0);
            assert_eq!(s.v, 12 * k);
        }
    }

    #[test]
    fn first_spike_with_constant_bias_and_no_leak_is_closed_form() {
        for (vth, mant, exp) in [
            (10, 100, 0),
            (10, 1, 6),
            (1000, 37, 2),
            (0, 1, 0),
            (5, 3, -1),
        ] {
            let p = params(4095, 0, vth, mant, exp);
            let b = i64::from(p.bias());
            // v after n steps is n·b; the first n with n·b > vth·64 is ceil((vth·64+1)/b).
            let expect = (i64::from(vth) * 64 + 1 + b - 1) / b;
            let mut s = LifState::default();
            let first = (1..=100_000).find(|_| s.step(&p, 0)).unwrap();
            assert_eq!(first as i64, expect, "vth={vth} bias={b}");
        }
    }

    /// The same model written with truncating division instead of sign/abs/shift.
    fn reference_trace(p: &LifParams, inputs: &[i32]) -> Vec<(i64, i64, bool)> {
        let (mut u, mut v) = (0i64, 0i64);
        let bias = if p.bias_exp >= 0 {
            i64::from(p.bias_mant) * (1 << p.bias_exp)
        } else {
            (i64::from(p.bias_mant)).div_euclid(1 << -p.bias_exp)
        };
        let thr = i64::from(p.vth) * 64;
        let m = 1i64 << 24;
        inputs
            .iter()
            .map(|&x| {
                u = u * (4096 - i64::from(p.du) - 1) / 4096 + i64::from(x);
                while u > m / 2 {
                    u -= m;
                }
                while u <= -m / 2 {
                    u += m;
                }
                v = (v * (4096 - i64::from(p.dv)) / 4096 + u + bias).clamp(-(m / 2 - 1), m / 2 - 1);
                let spike = v > thr;
                if spike {
                    v = 0;
                }
                (u, v, spike)
            })
            .collect()
    }

    #[test]
    fn leaky_neuron_matches_an_independent_reimplementation() {
        let cases = [
            params(410, 205, 100, 300, 2),
            params(0, 1, 50, 1000, 0),
            params(4095, 4095, 1, 4095, 7),
            params(1000, 37, 2000, -20, 1),
            params(300, 3000, 131_071, 4095, 7),
        ];
        for (i, p) in cases.iter().enumerate() {
            let inputs = lcg_inputs(i as u64, 2000, 1 << 20);
            let want = reference_trace(p, &inputs);
            let mut s = LifState::default();
            for (t, (&x, &(u, v, spike))) in inputs.iter().zip(&want).enumerate() {
                assert_eq!(s.step(p, x), spike, "case {i} step {t}");
                assert_eq!(
                    (i64::from(s.u), i64::from(s.v)),
                    (u, v),
                    "case {i} step {t}"
                );
            }
        }
        // And the first spike under constant bias with leak, input 0 throughout.
        let p = params(0, 1024, 20, 100, 2);
        let want = reference_trace(&p, &[0; 500]);
        let first_ref = want.iter().position(|t| t.2).unwrap();
        let mut s = LifState::default();
        let first = (0..500).position(|_| s.step(&p, 0)).unwrap();
        assert_eq!(first, first_ref);
        assert!(
            first > (20 * 64 + 1) / 400,
            "leak delays the spike past the no-leak step"
        );
    }

    #[test]
    fn refractory_holds_v_while_u_integrates() {
        let p = LifParams {
            refractory: 3,
            ..params(0, 0, 1, 200, 0)
        };
        let mut s = LifState::default();
        assert!(s.step(&p, 0), "200 > 64 on the first step");
        for k in 0..3 {
            let u_before = s.u;
            assert!(!s.step(&p, 1000), "refractory step {k} cannot spike");
            assert_eq!(s.v, 0);
            assert_eq!(s.u, decay(u_before, 1) + 1000, "u keeps integrating");
        }
        assert_eq!(s.refractory_left, 0);
        assert!(s.step(&p, 0), "free again after exactly 3 held steps");
    }

    #[test]
    fn problems_lists_every_bad_field() {
        assert!(params(4095, 4095, VTH_MAX, -4096, -7).problems().is_empty());
        assert!(params(0, 0, 0, 4095, 7).problems().is_empty());
        let bad = params(4096, 5000, VTH_MAX + 1, 4096, 8).problems();
        assert_eq!(bad.len(), 5, "{bad:?}");
        for field in ["du", "dv", "vth", "bias_mant", "bias_exp"] {
            assert!(bad.iter().any(|m| m.starts_with(&format!("{field} ="))));
        }
        assert_eq!(params(0, 0, 0, -4097, -8).problems().len(), 2);
    }

    #[test]
    fn threshold_is_vth_shifted_by_6() {
        assert_eq!(params(0, 0, 10, 0, 0).threshold(), 640);
        assert_eq!(params(0, 0, VTH_MAX, 0, 0).threshold(), (1 << 23) - 64);
        assert_eq!(params(0, 0, u32::MAX, 0, 0).threshold(), i32::MAX);
    }

    fn any_params() -> impl Strategy<Value = LifParams> {
        (any::<(u16, u16, u32, i16, i8, u8)>()).prop_map(|(du, dv, vth, m, e, r)| LifParams {
            du,
            dv,
            vth,
            bias_mant: m,
            bias_exp: e,
            refractory: r,
        })
    }

    fn any_state() -> impl Strategy<Value = LifState> {
        any::<(i32, i32, u8)>().prop_map(|(u, v, r)| LifState {
            u,
            v,
            refractory_left: r,
        })
    }

    proptest! {
        #[test]
        fn step_never_panics_and_keeps_registers_in_range(
            p in any_params(), s0 in any_state(), input in any::<i32>()
        ) {
            let mut s = s0;
            let spike = s.step(&p, input);
            prop_assert!(s.v.abs() <= V_MAX);
            prop_assert!(s.u > -U_WRAP && s.u <= U_WRAP);
            if spike {
                prop_assert_eq!(s.v, 0);
                prop_assert_eq!(s.refractory_left, p.refractory);
            }
        }

        #[test]
        fn spikes_always_reset_v(p in any_params(), inputs in prop::collection::vec(any::<i32>(), 1..50)) {
            let mut s = LifState::default();
            for x in inputs {
                if s.step(&p, x) {
                    prop_assert_eq!(s.v, 0);
                }
            }
        }

        #[test]
        fn without_drive_v_never_grows(
            mut p in any_params(), v0 in any::<i32>(), dv in 0u16..4096, steps in 1usize..200
        ) {
            p.dv = dv;
            p.bias_mant = 0;
            let mut s = LifState { u: 0, v: v0, refractory_left: 0 };
            let mut last = i64::from(v0).abs();
            for _ in 0..steps {
                s.step(&p, 0);
                prop_assert!(i64::from(s.v).abs() <= last);
                last = i64::from(s.v).abs();
            }
        }

        #[test]
        fn decay_is_odd_and_shrinks(x in any::<i32>(), d in any::<u16>()) {
            let y = decay(x, d);
            prop_assert!(i64::from(y).abs() <= i64::from(x).abs());
            if x != i32::MIN {
                prop_assert_eq!(decay(-x, d), -y);
            }
        }
    }
}
