//! What the chip's error units do to the centred class error, emulated in f64
//! ([`DualEdConfig::error_rounding`](super::DualEdConfig::error_rounding); docs/dual-stream-ed-rounds-6-9.md,
//! sixth round).
//!
//! On the chip (`amine template ed --routing modulo`) class `c`'s error is the pair of
//! 8-bit payloads `dp = max(t − o + m, 0)` and `dm = max(o − t − m, 0)` of two ramp units
//! whose input `read = o − t − m` is in payload steps (`m` the centring register's mean);
//! a hidden unit hears `dp − dm`. Each ramp is a table of half-step buckets, and a table
//! reads the value at its bucket's *lower* edge in `read`: for `dm` (increasing) that is
//! the smaller end, so `dm` rounds `read` to the nearest step, but for `dp` (the mirrored,
//! decreasing ramp) it is the larger end, so `dp` rounds `t − o + m` **up**: any positive
//! error, however small, becomes at least one whole step. This module mirrors that
//! without depending on the chip crate (this crate stays chip-independent).

use serde::{Deserialize, Serialize};

/// How the centred class error is rounded to payload steps before it is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorRounding {
    /// Nearest step on both sides (what a symmetric pair of ramps sends).
    Nearest,
    /// The chip's ramps as the tables read them: `t − o + m > 0` rounded up to a whole
    /// step (the mirrored ramp's lower-edge read), `< 0` to the nearest step.
    MirroredCeil,
}

/// `error` (a class error `t − o − mean`, in units of 1, i.e. `max` payload steps)
/// rounded as the pair of error units with `max`-step payloads sends it.
pub fn round_error(error: f64, rounding: ErrorRounding, max: f64) -> f64 {
    let steps = error * max;
    let sent = match rounding {
        ErrorRounding::Nearest => steps.round(),
        ErrorRounding::MirroredCeil => {
            // The ramps' buckets are half a step wide; `read = −steps`.
            let bucket = (-2.0 * steps).floor();
            if bucket < 0.0 {
                (-bucket / 2.0).round()
            } else {
                -(bucket / 2.0).round()
            }
        }
    };
    sent.clamp(-max, max) / max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirrored_ramp_rounds_positive_errors_up_and_negative_ones_to_nearest() {
        let steps = |e: f64, r| round_error(e / 255.0, r, 255.0) * 255.0;
        // Positive errors (dp): (0, 1] → 1, (1, 2] → 2.
        for (e, want) in [(0.1, 1.0), (0.5, 1.0), (1.0, 1.0), (1.2, 2.0), (2.0, 2.0)] {
            assert_eq!(steps(e, ErrorRounding::MirroredCeil), want, "e = {e}");
        }
        // Negative errors (dm): [−0.5, 0] → 0 up to the half, then nearest.
        for (e, want) in [
            (-0.1, 0.0),
            (-0.4, 0.0),
            (-0.6, -1.0),
            (-1.2, -1.0),
            (-1.6, -2.0),
        ] {
            assert_eq!(steps(e, ErrorRounding::MirroredCeil), want, "e = {e}");
        }
        for (e, want) in [(0.1, 0.0), (0.6, 1.0), (-0.6, -1.0), (300.0, 255.0)] {
            assert_eq!(steps(e, ErrorRounding::Nearest), want, "e = {e}");
        }
    }
}
