//! The error unit: per readout, the local error that e-prop's learning signal is made
//! of, in fixed point — `softmax(y)_k − onehot_k` for classification, `y − target`
//! for regression.
//!
//! Readout values `y` are `i32` in Q15.16 (real units). The softmax subtracts the
//! largest `y`, looks `e^(−d)` up in a 4,096-entry table (`d` in steps of 2^-8 up to
//! 16; beyond, `e^(−16)` is below one LSB of Q0.16 and reads 0), and divides each
//! entry by their sum, rounding to nearest: probabilities are Q0.16, so `err` is in
//! `[−2^16, 2^16]`. The largest output always reads `e^0 = 2^16`, so the sum is never 0.
//!
//! ```
//! use amine_chip::learning::error_unit::ErrorUnit;
//! let unit = ErrorUnit::new();
//! let mut err = [0; 2];
//! // Equal outputs: p = ½ each; the label's error is ½ − 1.
//! unit.softmax_error(&[3 << 16, 3 << 16], 1, &mut err);
//! assert_eq!(err, [1 << 15, -(1 << 15)]);
//! ```

/// Fractional bits of `y`, probabilities and errors.
pub const FRAC: u32 = 16;
/// Table entries: `e^(−i/256)` for `i < TABLE_LEN`.
pub const TABLE_LEN: usize = 4096;
/// Bits of `d` below the table's step (Q.16 → steps of 2^-8).
const STEP_SHIFT: u32 = 8;

/// The error unit's exponential table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorUnit {
    exp: Vec<i64>,
}

impl Default for ErrorUnit {
    fn default() -> ErrorUnit {
        ErrorUnit::new()
    }
}

impl ErrorUnit {
    pub fn new() -> ErrorUnit {
        let one = f64::from(1u32 << FRAC);
        let exp = (0..TABLE_LEN)
            .map(|i| (one * (-(i as f64) / 256.0).exp()).round() as i64)
            .collect();
        ErrorUnit { exp }
    }

    /// `e^(−d)` in Q0.16 for `d ≥ 0` in Q.16 (0 beyond the table).
    pub fn exp_neg(&self, d: i64) -> i64 {
        let i = (d.max(0) >> STEP_SHIFT) as usize;
        self.exp.get(i).copied().unwrap_or(0)
    }

    /// `softmax(y) − onehot(label)` into `err` (Q0.16 each). `err` must be as long as
    /// `y`; a `label` outside `y` subtracts nothing.
    pub fn softmax_error(&self, y: &[i32], label: usize, err: &mut [i32]) {
        let Some(&max) = y.iter().max() else {
            return;
        };
        let mut sum = 0i64;
        for (e, &v) in err.iter_mut().zip(y) {
            let x = self.exp_neg(i64::from(max) - i64::from(v));
            *e = x as i32;
            sum += x;
        }
        let one = 1i64 << FRAC;
        for (k, e) in err.iter_mut().enumerate() {
            let p = ((i64::from(*e) << FRAC) + sum / 2) / sum.max(1);
            *e = (p - if k == label { one } else { 0 }) as i32;
        }
    }

    /// `y − target` (both Q.16), saturating.
    pub fn regression_error(y: i32, target: i32) -> i32 {
        y.saturating_sub(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fixed-point error is within 2^-9 of the exact softmax error, and the
        /// probabilities sum to 1 within rounding.
        #[test]
        fn softmax_error_matches_f64(ys in proptest::collection::vec(-(8i32 << 16)..(8i32 << 16), 1..5), label in 0usize..5) {
            let unit = ErrorUnit::new();
            let mut err = vec![0; ys.len()];
            unit.softmax_error(&ys, label, &mut err);
            let yf: Vec<f64> = ys.iter().map(|&y| f64::from(y) / 65536.0).collect();
            let m = yf.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = yf.iter().map(|y| (y - m).exp()).sum();
            let mut psum = 0i64;
            for (k, (&e, &y)) in err.iter().zip(&yf).enumerate() {
                let exact = (y - m).exp() / z - if k == label { 1.0 } else { 0.0 };
                prop_assert!((f64::from(e) / 65536.0 - exact).abs() < 1.0 / 512.0, "k {k}: {e} vs {exact}");
                psum += i64::from(e) + if k == label { 1 << FRAC } else { 0 };
            }
            prop_assert!((psum - (1 << FRAC)).abs() <= ys.len() as i64);
        }
    }

    #[test]
    fn a_confident_correct_output_has_almost_no_error() {
        let unit = ErrorUnit::new();
        let mut err = [0; 2];
        unit.softmax_error(&[20 << 16, 0], 0, &mut err);
        assert_eq!(err, [0, 0]);
        unit.softmax_error(&[20 << 16, 0], 1, &mut err);
        assert_eq!(err, [1 << 16, -(1 << 16)]);
        assert_eq!(ErrorUnit::regression_error(5, 7), -2);
    }
}
