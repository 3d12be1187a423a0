//! Emulation of the fixed-point chip inside the float reference: a tabulated sigmoid,
//! graded payloads of a few bits, and sign-fixed weight magnitudes of a few bits sharing
//! one exponent per layer, with a policy for what happens when a magnitude outgrows them.
//!
//! It mirrors `amine_chip::neuron::graded` without depending on it (this crate must stay
//! chip-independent): payloads `0..=max` with `max = 2^bits − 1` mean 0..1, the table
//! stores the sigmoid at the *lower* edge of each bucket and clamps beyond its ends, and
//! the derivative is `floor(q·(max − q) / 2^bits)`. One difference: the chip rounds the
//! bucket width up to a power of two in raw `u` units (so it covers up to twice the
//! span); here `u` is a float and the table covers exactly `±span·u0`.

use serde::{Deserialize, Serialize};

/// Entries in the emulated sigmoid table (the chip's graded unit takes any power of two;
/// 256 keeps the bucket at `span·u0/128`, well under one payload step of 8 bits in the
/// steep middle of the curve).
pub const TABLE_ENTRIES: usize = 256;

/// What to do when a weight magnitude would exceed `2^weight_bits − 1` mantissa steps.
/// Error Diffusion only ever grows magnitudes, so every long run hits this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Overflow {
    /// Clamp the magnitude at the largest mantissa. Cheapest; the clamped weights stop
    /// learning while their neighbours go on, which distorts the layer over epochs.
    Saturate,
    /// Halve every mantissa of the layer (rounded like an update) and raise its shared
    /// exponent by one, repeating until all fit: the layer's function is kept to within
    /// rounding, at the cost of one bit of resolution for small updates.
    HalveLayer,
    /// First subtract, for every receiving unit and every source that has an excitatory
    /// and an inhibitory copy (the inputs and the bias pair), the smaller of the two
    /// magnitudes from both: the copies carry the same value, so the unit's input is
    /// unchanged exactly, and the rule's updates never depend on magnitudes, so learning
    /// is unchanged too. Where that is not enough (the output layer, whose hidden sources
    /// are distinct units, not copies), halve the layer as [`Overflow::HalveLayer`] does.
    CancelOverlap,
}

/// How an update (and a halving) that falls between two mantissa steps is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rounding {
    /// `floor(v + r)` with `r` uniform in `[0, 1)` from a seeded generator: unbiased, so
    /// updates far below one step still add up on average (what the chip's learning
    /// engine does).
    Stochastic,
    /// Round half to even: updates below half a step are lost.
    Nearest,
}

/// The fixed-point formats to emulate. `None` for a width keeps that quantity in f64.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantization {
    /// Mantissa bits of a weight *magnitude*. The sign is fixed by Dale's principle and
    /// not stored (the chip's sign-fixed synapse format); an 8-bit two's-complement
    /// weight corresponds to 7 here.
    pub weight_bits: Option<u8>,
    /// Bits of a graded payload (inputs, hidden and output activations, errors).
    pub activation_bits: Option<u8>,
    /// The sigmoid table covers `u` in `±table_span·u0`; beyond it the end entries are
    /// read. The study: at least 5 (a narrower table loses ~7 points).
    pub table_span: f64,
    pub overflow: Overflow,
    #[serde(default = "stochastic")]
    pub rounding: Rounding,
}

fn stochastic() -> Rounding {
    Rounding::Stochastic
}

impl Quantization {
    /// 8-bit weights and activations, a ±5·u0 table, stochastic rounding.
    pub fn eight_bit(overflow: Overflow) -> Quantization {
        Quantization {
            weight_bits: Some(8),
            activation_bits: Some(8),
            table_span: 5.0,
            overflow,
            rounding: Rounding::Stochastic,
        }
    }
}

/// A sigmoid `1/(1+exp(−2u/u0))` sampled at the lower edge of [`TABLE_ENTRIES`] equal
/// buckets over `±span·u0`, each entry rounded to the payload grid when `bits` is given.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmoidTable {
    entries: Vec<f64>,
    width: f64,
}

/// The exact activation of the reference: `1/(1+exp(−2u/u0))`.
pub fn sigmoid(u: f64, u0: f64) -> f64 {
    1.0 / (1.0 + (-2.0 * u / u0).exp())
}

impl SigmoidTable {
    /// The table for `u0`, covering `±span·u0`, with payloads of `bits` (or exact f64).
    pub fn new(u0: f64, span: f64, bits: Option<u8>) -> SigmoidTable {
        let half = (TABLE_ENTRIES / 2) as f64;
        let width = span * u0 / half;
        let entries = (0..TABLE_ENTRIES)
            .map(|i| quantize_unit(sigmoid((i as f64 - half) * width, u0), bits))
            .collect();
        SigmoidTable { entries, width }
    }

    /// The entry of the bucket holding `u`; the end entries beyond the table.
    pub fn lookup(&self, u: f64) -> f64 {
        let k = (u / self.width).floor() + (TABLE_ENTRIES / 2) as f64;
        // NaN casts to 0 and the cast saturates, so no input indexes out of range.
        let i = (k.max(0.0) as usize).min(TABLE_ENTRIES - 1);
        self.entries[i]
    }
}

/// Rounds `x` in `0..=1` to the nearest of `2^bits` payload levels (`None`: unchanged).
pub fn quantize_unit(x: f64, bits: Option<u8>) -> f64 {
    match bits {
        Some(b) => {
            let max = payload_max(b);
            (x.clamp(0.0, 1.0) * max).round() / max
        }
        None => x,
    }
}

/// `2^bits − 1` as f64 (bits clamped to 1..=16, the chip's payload range).
pub fn payload_max(bits: u8) -> f64 {
    f64::from((1u32 << bits.clamp(1, 16)) - 1)
}

/// The learning rule's `o(1 − o)` as the chip computes it on a payload:
/// `floor(q·(max − q) / 2^bits) / max` with `q = o·max`; exact `o(1 − o)` without bits.
pub fn derivative(o: f64, bits: Option<u8>) -> f64 {
    match bits {
        Some(b) => {
            let max = payload_max(b);
            let q = (o * max).round();
            (q * (max - q) / f64::from(1u32 << b.clamp(1, 16))).floor() / max
        }
        None => o * (1.0 - o),
    }
}

/// A tiny seeded generator (SplitMix64) for stochastic rounding: one draw per nonzero
/// update is far too many for ChaCha to be cheap, and the dither needs no crypto.
#[derive(Debug, Clone)]
pub struct Dither(u64);

impl Dither {
    pub fn new(seed: u64) -> Dither {
        Dither(seed)
    }
    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
    /// `v` rounded to an integer under `mode`.
    pub fn round(&mut self, v: f64, mode: Rounding) -> f64 {
        match mode {
            Rounding::Stochastic => (v + self.next_unit()).floor(),
            Rounding::Nearest => v.round_ties_even(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_tracks_the_sigmoid_within_a_bucket_and_a_half_step() {
        let u0 = 0.2;
        let t = SigmoidTable::new(u0, 5.0, Some(8));
        let t_exact = SigmoidTable::new(u0, 5.0, None);
        // The steepest slope is 1/u0 at u = 0, so one bucket (span·u0/128) moves the
        // sigmoid by at most span/128; rounding adds half a payload step.
        let bound = 5.0 / 128.0 + 0.5 / 255.0 + 1e-12;
        let mut worst = 0.0f64;
        for i in -2000..=2000 {
            let u = f64::from(i) * 0.0007;
            let err = (t.lookup(u) - sigmoid(u, u0)).abs();
            worst = worst.max(err);
            assert!((t_exact.lookup(u) - sigmoid(u, u0)).abs() <= 5.0 / 128.0 + 1e-12);
        }
        assert!(worst <= bound, "worst {worst}");
        // Mean error is far smaller than the worst (the worst is at the steep centre).
        let mean: f64 = (-1000..1000)
            .map(|i| (t.lookup(f64::from(i) * 0.0013) - sigmoid(f64::from(i) * 0.0013, u0)).abs())
            .sum::<f64>()
            / 2000.0;
        assert!(mean < 0.01, "mean {mean}");
        // Exact at sample points; the midpoint is exactly one half rounded.
        assert_eq!(t_exact.lookup(0.0), 0.5);
        assert_eq!(t.lookup(0.0), 128.0 / 255.0);
        // Beyond the table: its end entries, which for a ±5·u0 span round to 0 and 1.
        assert_eq!(t.lookup(-100.0), 0.0);
        assert_eq!(t.lookup(100.0), 1.0);
        assert_eq!(t.lookup(f64::NAN), 0.0);
    }

    #[test]
    fn a_narrow_table_cannot_reach_its_targets() {
        // ±2·u0 ends at sigmoid(±2u0) ≈ 0.018 / 0.982: outputs never get to 0 or 1, so the
        // error never vanishes and magnitudes keep growing (why the study lost ~7 points).
        let t = SigmoidTable::new(0.2, 2.0, Some(8));
        assert!(t.lookup(1e9) < 0.99 && t.lookup(-1e9) > 0.01);
    }

    #[test]
    fn payload_derivative_matches_the_chip_formula() {
        assert_eq!(derivative(0.5, None), 0.25);
        // q = 128: floor(128·127/256) = 63 → 63/255.
        assert_eq!(derivative(128.0 / 255.0, Some(8)), 63.0 / 255.0);
        assert_eq!(derivative(1.0, Some(8)), 0.0);
        assert_eq!(derivative(0.0, Some(8)), 0.0);
        for q in 0..=255 {
            let o = f64::from(q) / 255.0;
            let d = derivative(o, Some(8));
            assert!(d <= o * (1.0 - o) + 1e-12 && d >= o * (1.0 - o) - 1.25 / 255.0);
        }
    }

    #[test]
    fn stochastic_rounding_is_unbiased_and_seeded() {
        let mut a = Dither::new(7);
        let mut b = Dither::new(7);
        let n = 100_000;
        let sum: f64 = (0..n).map(|_| a.round(0.1, Rounding::Stochastic)).sum();
        assert!((sum / f64::from(n) - 0.1).abs() < 0.005);
        let mut a = Dither::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_unit(), b.next_unit());
        }
        assert_eq!(a.round(2.5, Rounding::Nearest), 2.0);
        assert_eq!(quantize_unit(0.8, Some(8)), 204.0 / 255.0);
    }
}
