//! The e-prop engine's update unit: a batch's accumulated gradient `g` (an exact
//! integer per weight) becomes a change of the weight's mantissa, in integer
//! arithmetic only, rounded stochastically with a counter-based draw.
//!
//! - **Plain**: `Δmant = −η·g`, η a mantissa times a power of two
//!   ([`sgd_delta`]).
//! - **Adam** ([`Adam`]): per weight a first moment `m` (signed, `m_bits`) and a second
//!   moment `v` (unsigned, `v_bits`), and per update the bias corrections, all fixed
//!   point:
//!
//!   ```text
//!   q   = g >> shift                      (rounded, saturated to m's range)
//!   m  ← (β1·m + (1 − β1)·q) / 2^32       (β in Q0.32, rounded)
//!   v  ← (β2·v + (1 − β2)·(q² >> vs)) / 2^32
//!   Δw  = −step · (m / d1) / (√(v·2^vs / d2) + 1)
//!   ```
//!
//!   with `d1 = 1 − β1^t`, `d2 = 1 − β2^t` (Q0.32 registers multiplied by β at every
//!   update, so no power is ever computed), `vs` the shift that keeps `q²` within
//!   `v_bits`, `√` the integer square root, and ε one unit of `q` (the `+ 1`). The
//!   ratio is formed in Q.30, multiplied by the step (a 16-bit mantissa times a power of
//!   two, in mantissa LSBs) and stochastically rounded. Integer throughout, so an
//!   update is bit-identical on every machine; [`tests`] hold it to f64 Adam.
//!
//! Both the general simulator and the fast e-prop backend call these functions, so
//! they cannot drift apart.

use super::stochastic_round;

/// `Δmant = −η·g` with `η = eta_m·2^eta_e` mantissa LSBs per unit of `g`, stochastically
/// rounded (`draw` uniform in `u64`), saturated to `i64`.
pub fn sgd_delta(g: i64, eta_m: i64, eta_e: i32, draw: u64) -> i64 {
    let n = -(i128::from(eta_m)) * i128::from(g);
    if n == 0 {
        return 0;
    }
    if eta_e >= 0 {
        let s = eta_e.min(100) as u32;
        return n
            .saturating_mul(1i128 << s)
            .clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    }
    let bits = (-eta_e) as u32;
    // Below 2^-63 LSB the draw cannot matter: pre-shift (floor) to 63 bits.
    let (n, bits) = if bits > 63 {
        (n >> (bits - 63).min(127), 63)
    } else {
        (n, bits)
    };
    stochastic_round(n, bits, draw)
}

/// `x` as a `bits`-bit mantissa times a power of two (`(0, 0)` for 0, negative or
/// non-finite `x`).
pub fn mant_exp(x: f64, bits: u32) -> (i64, i32) {
    if !(x > 0.0 && x.is_finite()) {
        return (0, 0);
    }
    let e = x.log2().floor() as i32 - (bits as i32 - 1);
    let m = (x / 2f64.powi(e)).round() as i64;
    // Rounding can carry into one bit more: renormalise.
    if m >= 1i64 << bits {
        ((m + 1) >> 1, e + 1)
    } else {
        (m, e)
    }
}

/// One in Q0.32.
const ONE: u64 = 1 << 32;

/// Adam's format and per-update registers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Adam {
    /// β1 and β2 in Q0.32.
    pub beta1: u64,
    pub beta2: u64,
    pub m_bits: u32,
    pub v_bits: u32,
    /// `q² >> vs` is what `v` accumulates (even, so `√` halves it exactly).
    pub vs: u32,
    /// `β1^t` and `β2^t` in Q0.32 after `t` updates.
    p1: u64,
    p2: u64,
}

/// What one update's weights share: the bias corrections `d1 = 1 − β1^t` and `√d2`
/// (Q0.32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdamStep {
    pub d1: u64,
    pub sqrt_d2: u64,
}

/// Per weight: Adam's moments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    pub m: i64,
    pub v: u64,
}

/// Fractional bits of Adam's ratio before the step multiplies it.
const RATIO_BITS: u32 = 30;

impl Adam {
    /// The unit with `beta1`, `beta2` (Q0.32) and moments of `m_bits` (≤ 32) and
    /// `v_bits` (≤ 64), before its first update.
    pub fn new(beta1: u32, beta2: u32, m_bits: u8, v_bits: u8) -> Adam {
        let m_bits = u32::from(m_bits.clamp(2, 32));
        let v_bits = u32::from(v_bits.clamp(2, 64));
        let need = 2 * (m_bits - 1);
        let vs = need.saturating_sub(v_bits);
        Adam {
            beta1: u64::from(beta1),
            beta2: u64::from(beta2),
            m_bits,
            v_bits,
            vs: vs + (vs & 1),
            p1: ONE,
            p2: ONE,
        }
    }

    /// Advances the bias-correction registers by one update and returns them.
    pub fn tick(&mut self) -> AdamStep {
        let mul = |p: u64, b: u64| ((u128::from(p) * u128::from(b) + (1 << 31)) >> 32) as u64;
        self.p1 = mul(self.p1, self.beta1);
        self.p2 = mul(self.p2, self.beta2);
        let d2 = ONE - self.p2.min(ONE);
        AdamStep {
            d1: (ONE - self.p1.min(ONE)).max(1),
            sqrt_d2: isqrt_u128(u128::from(d2) << 32) as u64,
        }
    }

    /// Updates `mo` with the gradient `g` (seen as `g >> shift`) and returns the change
    /// of the weight's mantissa for a step of `step.0·2^step.1` mantissa LSBs,
    /// stochastically rounded with `draw`.
    pub fn delta(
        &self,
        mo: &mut Moments,
        (g, shift): (i64, u32),
        (step_m, step_e): (i64, i32),
        at: AdamStep,
        draw: u64,
    ) -> i64 {
        let qmax = (1i64 << (self.m_bits - 1)) - 1;
        let q = if shift == 0 {
            g
        } else {
            ((i128::from(g) + (1i128 << (shift.min(126) - 1))) >> shift.min(126)) as i64
        }
        .clamp(-qmax, qmax);
        let (b1, b2) = (i128::from(self.beta1), i128::from(self.beta2));
        let one = i128::from(ONE);
        let m = (b1 * i128::from(mo.m) + (one - b1) * i128::from(q) + (1 << 31)) >> 32;
        mo.m = m.clamp(-i128::from(qmax), i128::from(qmax)) as i64;
        let q2 = (i128::from(q) * i128::from(q)) >> self.vs;
        let vmax = if self.v_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.v_bits) - 1
        };
        let v = (b2 as u128 * u128::from(mo.v) + (one - b2) as u128 * q2 as u128 + (1 << 31)) >> 32;
        mo.v = v.min(u128::from(vmax)) as u64;
        // √v in units of q, plus ε = one unit of q.
        let s = (isqrt_u128(u128::from(mo.v)) << (self.vs / 2)) + 1;
        // r = (m/d1) / (s/√d2) = m·√d2 / (d1·s), in Q.RATIO_BITS.
        let num = i128::from(mo.m) * i128::from(at.sqrt_d2);
        let den = i128::from(at.d1) * s as i128;
        let r = div_floor(num << RATIO_BITS, den);
        let x = -i128::from(step_m) * r;
        let frac = RATIO_BITS as i32 - step_e;
        if frac <= 0 {
            let s = (-frac).min(100) as u32;
            return x
                .saturating_mul(1i128 << s)
                .clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        }
        let (x, frac) = if frac > 63 {
            (x >> (frac - 63).min(127), 63)
        } else {
            (x, frac as u32)
        };
        stochastic_round(x, frac, draw)
    }
}

/// How the update unit changes one weight: the rule of its group, at its row's
/// exponent, in mantissa LSBs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightRule {
    /// `Δmant = −eta_m·g·2^eta_e`.
    Sgd { eta_m: i64, eta_e: i32 },
    /// Adam on `g >> shift`, a step of `step_m·2^step_e` mantissa LSBs.
    Adam {
        shift: u32,
        step_m: i64,
        step_e: i32,
    },
}

impl WeightRule {
    /// The change of one weight's mantissa for its batch gradient `g`, rounded with
    /// `draw`; an Adam rule updates the weight's moments `mo` with `unit` at `at`.
    pub fn delta(
        &self,
        g: i64,
        mo: &mut Moments,
        unit: Option<(&Adam, AdamStep)>,
        draw: u64,
    ) -> i64 {
        match (*self, unit) {
            (WeightRule::Sgd { eta_m, eta_e }, _) => sgd_delta(g, eta_m, eta_e, draw),
            (
                WeightRule::Adam {
                    shift,
                    step_m,
                    step_e,
                },
                Some((adam, at)),
            ) => adam.delta(mo, (g, shift), (step_m, step_e), at, draw),
            (WeightRule::Adam { .. }, None) => 0,
        }
    }
}

/// `w + Δ` clamped to `[lo, hi]`: the new mantissa, and whether it was clamped.
pub fn apply_clamped(w: i32, delta: i64, (lo, hi): (i64, i64)) -> (i32, bool) {
    let want = i64::from(w).saturating_add(delta);
    let new = want.clamp(lo, hi);
    (new as i32, new != want)
}

fn div_floor(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

/// `⌊√x⌋`, exact.
pub fn isqrt_u128(x: u128) -> u128 {
    if x < 2 {
        return x;
    }
    // Newton from above: start at a power of two ≥ √x.
    let mut r = 1u128 << (128 - x.leading_zeros()).div_ceil(2);
    loop {
        let next = (r + x / r) / 2;
        if next >= r {
            return r;
        }
        r = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn isqrt_is_the_floor_of_the_root() {
        for x in [
            0u128,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            1 << 40,
            (1 << 64) - 1,
            u128::MAX,
        ] {
            let r = isqrt_u128(x);
            assert!(r * r <= x, "{x}");
            assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > x), "{x}");
        }
    }

    #[test]
    fn mant_exp_keeps_the_bits() {
        let (m, e) = mant_exp(0.1, 16);
        assert!((1 << 15..1 << 16).contains(&m), "{m}");
        assert!((m as f64 * 2f64.powi(e) - 0.1).abs() < 0.1 * 2f64.powi(-15));
        assert_eq!(mant_exp(0.0, 16), (0, 0));
        // 65535.9 rounds up to 2^16: one bit more, renormalised.
        let (m, e) = mant_exp(65535.9, 16);
        assert_eq!((m, e), (1 << 15, 1));
    }

    #[test]
    fn sgd_is_minus_eta_g() {
        // η = 3·2^-2: g = 8 → −6 exactly, whatever the draw.
        assert_eq!(sgd_delta(8, 3, -2, 0), -6);
        assert_eq!(sgd_delta(8, 3, -2, u64::MAX), -6);
        // g = 1 → −0.75: −1 or 0, −1 for three draws in four.
        let n = (0..4000u64)
            .filter(|&i| sgd_delta(1, 3, -2, i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) == -1)
            .count();
        assert!((2800..3200).contains(&n), "{n}");
        assert_eq!(sgd_delta(5, 1, 3, 0), -40);
    }

    /// f64 Adam with the same constants (ε one unit of q).
    fn float_adam(gs: &[f64], step: f64) -> Vec<f64> {
        let (mut m, mut v) = (0.0, 0.0);
        gs.iter()
            .enumerate()
            .map(|(i, &g)| {
                let t = (i + 1) as i32;
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                let mh = m / (1.0 - 0.9f64.powi(t));
                let vh = v / (1.0 - 0.999f64.powi(t));
                -step * mh / (vh.sqrt() + 1.0)
            })
            .collect()
    }

    fn q32(x: f64) -> u32 {
        (x * 4_294_967_296.0).round() as u32
    }

    proptest! {
        /// Over 60 updates of random gradients of either sign (magnitudes 2^10 to
        /// 2^10 + 2^scale units of q) the unit's step, rounded to nearest (a draw of ½),
        /// is within 2 % of f64 Adam's, plus one LSB. (Below ~2^7 units of q the
        /// moments' own rounding shows: the compiler's gradient shift keeps q larger.)
        #[test]
        fn adam_follows_float_adam(seed in 0u64..1000, scale in 10u32..24, shift in 0u32..4) {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
            let gs: Vec<i64> = (0..60)
                .map(|_| {
                    let r = next();
                    let mag = (1i64 << 10) + (r >> 1) as i64 % (1i64 << scale);
                    (if r & 1 == 0 { mag } else { -mag }) << shift
                })
                .collect();
            let gf: Vec<f64> = gs.iter().map(|&g| (g >> shift) as f64).collect();
            let mut unit = Adam::new(q32(0.9), q32(0.999), 32, 64);
            let mut mo = Moments::default();
            // Step of 100 LSBs: 25600·2^-8.
            let want = float_adam(&gf, 100.0);
            for (i, &g) in gs.iter().enumerate() {
                let at = unit.tick();
                let d = unit.delta(&mut mo, (g, shift), (25600, -8), at, 1 << 63);
                prop_assert!((d as f64 - want[i]).abs() <= 0.02 * want[i].abs() + 1.0,
                    "update {i}: {d} vs {}", want[i]);
            }
        }
    }

    #[test]
    fn the_first_step_is_the_step_times_the_sign() {
        let mut unit = Adam::new(q32(0.9), q32(0.999), 32, 64);
        for g in [5_000_000i64, -70_000] {
            let mut mo = Moments::default();
            let at = unit.clone().tick();
            let d = unit.delta(&mut mo, (g, 0), (1 << 14, -7), at, 1 << 63);
            assert_eq!(d, -128 * g.signum(), "g {g}");
        }
        unit.tick();
    }

    #[test]
    fn narrow_v_shifts_the_square() {
        let unit = Adam::new(q32(0.9), q32(0.999), 32, 32);
        assert_eq!(unit.vs, 30);
        let mut mo = Moments::default();
        let at = unit.clone().tick();
        // The first step is still ±step (√(q²) = |q| within its LSBs).
        let d = unit.delta(&mut mo, (1 << 28, 0), (1 << 14, -7), at, 1 << 63);
        assert_eq!(d, -128);
    }
}
