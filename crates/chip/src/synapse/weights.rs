//! Weight quantization: real weights (in `a_in` units) to row mantissas and back.
//!
//! A mantissa `m` in a row of exponent `e` stands for the weight `m·2^e`; the
//! dendrite adds `m << (6 + e)`, i.e. the weight times 64.

use super::{RowFormat, EXPONENT_MAX, EXPONENT_MIN};

/// The mantissa nearest to `w·2^−exponent` (ties away from zero), saturated to the
/// format's range, which also clamps a wrong-signed weight to 0. NaN gives 0.
pub fn quantize_weight(w: f64, format: &RowFormat, exponent: i8) -> i32 {
    if w.is_nan() {
        return 0;
    }
    let (lo, hi) = format.weight_range();
    // Scaling by a power of two is exact, so the only rounding is the one we ask for.
    let m = (w * 2f64.powi(-(exponent as i32))).round();
    m.clamp(lo as f64, hi as f64) as i32
}

/// What the dendrite adds for this mantissa: `mantissa << (6 + exponent)`.
///
/// Exponents below −6 act as −6 (the accumulator has no finer unit) and the result
/// saturates to `i32` (within the supported −6..=7 and 9-bit mantissas it never does).
#[inline]
pub fn effective_weight(mantissa: i32, exponent: i8) -> i32 {
    let shift = (6 + exponent as i32).max(0);
    if mantissa == 0 {
        return 0;
    }
    if shift >= 32 {
        return if mantissa < 0 { i32::MIN } else { i32::MAX };
    }
    ((mantissa as i64) << shift).clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// The smallest exponent in `min_exp..=max_exp` at which a weight of magnitude
/// `max_abs_weight` (in `a_in` units) quantizes without saturating, i.e. the
/// finest resolution that still holds the row's largest weight.
///
/// The bounds are first clamped to [`EXPONENT_MIN`]`..=`[`EXPONENT_MAX`] (and
/// swapped if reversed). For `Signed` rows the positive limit `2^(w−1) − 1` is used,
/// so a row whose largest magnitude is negative may get one exponent more than it
/// strictly needs. If no exponent holds the weight, `max_exp` is returned (the
/// weights will saturate); a zero, negative or NaN magnitude gives `min_exp`.
pub fn choose_exponent(max_abs_weight: f64, format: &RowFormat, min_exp: i8, max_exp: i8) -> i8 {
    let a = min_exp.clamp(EXPONENT_MIN, EXPONENT_MAX);
    let b = max_exp.clamp(EXPONENT_MIN, EXPONENT_MAX);
    let (lo, hi) = (a.min(b), a.max(b));
    if max_abs_weight.is_nan() || max_abs_weight <= 0.0 {
        return lo;
    }
    let limit = format.max_magnitude() as f64;
    (lo..=hi)
        .find(|&e| (max_abs_weight * 2f64.powi(-(e as i32))).round() <= limit)
        .unwrap_or(hi)
}
