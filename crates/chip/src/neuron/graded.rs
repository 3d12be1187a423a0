//! Graded (non-spiking) unit with a tabulated fixed-point sigmoid.
//!
//! Rate-style learning rules such as Error Diffusion need units that send a value, not a
//! spike: the unit computes `o = sigmoid(u)` and sends `o` as an unsigned graded payload
//! `payload_bits` wide (8 bits: 0..=255 meaning 0..1).
//!
//! One step, all intermediates in `i64`:
//!
//! 1. `u = clamp(decay(u, du + 1) + input + bias, -(2^31 - 1), 2^31 - 1)`, with the LIF
//!    [`decay`](super::lif::decay) (round toward zero, decrement `du + 1` out of 4096), so
//!    `du = 4095` has no memory (pure feed-forward: `u = input + bias`). Graded units are
//!    not held to the 24-bit LIF current register: `u` saturates (never wraps) at the
//!    symmetric `i32` range, since a wrapped sigmoid input would flip a saturated output.
//! 2. `out = table.lookup(u)`.
//!
//! The table: `entries` is a power of two `n`, centred at `u = 0`. Entry `i` holds the
//! sigmoid at `u_i = (i - n/2) << in_shift`, i.e. bucket `k = u >> in_shift` (arithmetic,
//! floored) covers `[k·2^s, (k+1)·2^s)` and stores the value at its *lower* edge. That
//! makes `lookup(0)` exactly the midpoint and the table exact at its sample points, at the
//! cost of reading up to one bucket low in between. `lookup` clamps the index to
//! `0..n`, so inputs beyond the table read its end entries.
//!
//! [`SigmoidTable::logistic`] tabulates `o = 1 / (1 + exp(-2u / u0))` (equivalently
//! `(1 + tanh(u/u0)) / 2`), rounded to nearest (`round(o · max)`, `max = 2^bits - 1`).
//! It picks the smallest `in_shift` with `(n/2) << in_shift >= span · u0`: the span is
//! rounded *up* to a power-of-two bucket width, so the table covers at least
//! `±span·u0` and less than twice that.
//!
//! [`derivative`] gives `o(1 - o)` on the payload scale as
//! `floor(out · (max - out) / 2^bits)`. Dividing by `2^bits` instead of `max` keeps it a
//! shift; the result is never above the exact `out · (max - out) / max` and less than
//! 1.25 LSB below it.

use super::lif::{decay_i64, DECAY_MAX};
use serde::{Deserialize, Serialize};

/// Largest table length `logistic` builds (and `problems` accepts).
pub const MAX_ENTRIES: usize = 1 << 16;
/// `u` of a graded unit saturates at `±U_MAX`.
pub const U_MAX: i32 = i32::MAX;

/// A sigmoid sampled on a power-of-two grid centred at `u = 0`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigmoidTable {
    /// Payload values, non-decreasing; entry `i` is the output at `(i - len/2) << in_shift`.
    pub entries: Vec<u16>,
    /// log2 of the bucket width in u units.
    pub in_shift: u8,
    /// Payload width in bits (1..=16); outputs are in `0..=2^bits - 1`.
    pub payload_bits: u8,
}

/// Largest payload value for `payload_bits` (clamped to 16 bits).
pub fn payload_max(payload_bits: u8) -> u16 {
    ((1u32 << payload_bits.min(16)) - 1) as u16
}

impl SigmoidTable {
    /// o = 1/(1+exp(−2u/u0)), tabulated for u in [−span·u0, +span·u0].
    /// `u0_units` is u0 expressed in raw u units; `entries` table length (power of two).
    ///
    /// Never panics. `entries` is clamped to `2..=65536` and rounded up to a power of two;
    /// `payload_bits` is clamped to `1..=16`. A non-positive or NaN `u0_units` gives a
    /// step function (0 up to and including `u = 0`, max above); a non-positive or NaN
    /// `span` gives `in_shift = 0`; an infinite one gives the widest shift, 31.
    pub fn logistic(u0_units: f64, span: f64, entries: usize, payload_bits: u8) -> SigmoidTable {
        let bits = payload_bits.clamp(1, 16);
        let max = f64::from(payload_max(bits));
        let n = entries.clamp(2, MAX_ENTRIES).next_power_of_two();
        let half = (n / 2) as i64;
        let covered = span * u0_units;
        // Exact comparisons of powers of two instead of log2, which could round either way.
        let in_shift = if covered > 0.0 {
            (0..=31u8)
                .find(|&s| (half << s) as f64 >= covered)
                .unwrap_or(31)
        } else {
            0
        };
        let u0 = if u0_units > 0.0 { u0_units } else { 0.0 };
        let entries = (0..n as i64)
            .map(|i| {
                let u = ((i - half) << in_shift) as f64;
                let o = 1.0 / (1.0 + (-2.0 * u / u0).exp());
                // NaN (only at u = 0 with u0 = 0) casts to 0; `as` saturates otherwise.
                (o * max).round() as u16
            })
            .collect();
        SigmoidTable {
            entries,
            in_shift,
            payload_bits: bits,
        }
    }

    /// The payload for `u`: entry `(u >> in_shift) + len/2`, clamped to the table.
    /// An empty table reads 0; shifts beyond 63 act as 63.
    pub fn lookup(&self, u: i32) -> u16 {
        let n = self.entries.len();
        if n == 0 {
            return 0;
        }
        let k = (i64::from(u) >> self.in_shift.min(63)) + (n / 2) as i64;
        self.entries[k.clamp(0, n as i64 - 1) as usize]
    }

    /// Everything that makes the table unusable by hardware; empty when valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let n = self.entries.len();
        if !(2..=MAX_ENTRIES).contains(&n) || !n.is_power_of_two() {
            p.push(format!(
                "entries: length {n} is not a power of two in 2..={MAX_ENTRIES}"
            ));
        }
        if self.in_shift > 31 {
            p.push(format!("in_shift = {}: outside 0..=31", self.in_shift));
        }
        if !(1..=16).contains(&self.payload_bits) {
            p.push(format!(
                "payload_bits = {}: outside 1..=16",
                self.payload_bits
            ));
        }
        let max = payload_max(self.payload_bits);
        if let Some(i) = self.entries.iter().position(|&e| e > max) {
            p.push(format!(
                "entries[{i}] = {}: above the payload maximum {max}",
                self.entries[i]
            ));
        }
        // A table is monotone one way or the other; only a non-decreasing one has the
        // non-negative derivative that learning rules read (the compiler checks that).
        let up = self.entries.windows(2).position(|w| w[1] < w[0]);
        let down = self.entries.windows(2).position(|w| w[1] > w[0]);
        if let (Some(i), Some(_)) = (up, down) {
            p.push(format!(
                "entries: not monotone (entries[{}] turns the trend)",
                i + 1
            ));
        }
        p
    }

    /// Whether the table never decreases (a sigmoid does; a mirrored ramp does not).
    pub fn is_increasing(&self) -> bool {
        self.entries.windows(2).all(|w| w[0] <= w[1])
    }

    /// A ramp `o = clamp(u / u0, 0, 1)` (or, `mirrored`, `clamp(−u / u0, 0, 1)`): the
    /// rectifying error units of Error Diffusion send `max(e, 0)` this way.
    ///
    /// The table spans `±u0` with `entries` buckets (clamped to `2..=65536`, a power of
    /// two) and `in_shift` the smallest with `(n/2) << in_shift ≥ u0`; when `u0` is a
    /// power-of-two multiple of the bucket width the ramp is exact at every bucket edge.
    /// A non-positive or NaN `u0` gives a step at `u = 0`.
    pub fn ramp(u0_units: f64, entries: usize, payload_bits: u8, mirrored: bool) -> SigmoidTable {
        let bits = payload_bits.clamp(1, 16);
        let max = f64::from(payload_max(bits));
        let n = entries.clamp(2, MAX_ENTRIES).next_power_of_two();
        let half = (n / 2) as i64;
        let in_shift = if u0_units > 0.0 {
            (0..=31u8)
                .find(|&s| (half << s) as f64 >= u0_units)
                .unwrap_or(31)
        } else {
            0
        };
        let entries = (0..n as i64)
            .map(|i| {
                let u = ((i - half) << in_shift) as f64;
                let u = if mirrored { -u } else { u };
                let o = if u0_units > 0.0 {
                    u / u0_units
                } else if u > 0.0 {
                    1.0
                } else {
                    0.0
                };
                (o.clamp(0.0, 1.0) * max).round() as u16
            })
            .collect();
        SigmoidTable {
            entries,
            in_shift,
            payload_bits: bits,
        }
    }
}

/// Parameters of a graded unit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradedParams {
    /// Input decay, 12 bits, decrement `du + 1` as in LIF; 4095 = no memory.
    pub du: u16,
    /// Added to `u` every step, in u units.
    pub bias: i32,
    /// The activation.
    pub table: SigmoidTable,
    /// Event-driven: the unit updates (and sends its payload) only in a step whose
    /// dendrite received a packet; in any other step it is idle and holds `u` and its
    /// output. `false`: it updates and sends every step.
    #[serde(default)]
    pub event_driven: bool,
    /// A running mean of `u` that the unit subtracts before its table: an error unit's
    /// centring register (`None`: the unit has none). Always written: the binary image
    /// encoding (postcard) is positional, so a skipped field breaks decoding.
    #[serde(default)]
    pub centring: Option<Centring>,
}

/// The centring register of an error unit: a running mean `m` of the unit's input `u`,
/// held with `frac_bits` fractional bits. In a step with the register on, the table
/// reads `u − (m >> frac_bits)` (the mean held so far, floored) and then
/// `m ← m + ((u << frac_bits) − m) >> rate_shift` (arithmetic shifts, floored), i.e. the
/// mean moves by the rate `2^−rate_shift` towards `u`. With the register off (the host's
/// learning switch off) the unit subtracts the mean but does not move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Centring {
    /// log2 of the inverse rate (rate `2^−rate_shift`).
    pub rate_shift: u8,
    /// Fractional bits of the mean register.
    pub frac_bits: u8,
}

/// Largest `rate_shift` or `frac_bits` of a centring register (the 32-bit register
/// must hold `u << frac_bits`).
pub const CENTRING_MAX_SHIFT: u8 = 16;

/// The state of a graded unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GradedState {
    /// Integrated input, in `[-(2^31 - 1), 2^31 - 1]` after any step.
    pub u: i32,
    /// The last payload sent.
    pub out: u16,
    /// The centring register `m` (0 without one).
    pub mean: i32,
}

impl GradedParams {
    /// Every out-of-range field; empty when valid.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.du > DECAY_MAX {
            p.push(format!("du = {}: outside 0..=4095 (12 bits)", self.du));
        }
        p.extend(
            self.table
                .problems()
                .into_iter()
                .map(|m| format!("table.{m}")),
        );
        if let Some(c) = self.centring {
            for (name, v) in [("rate_shift", c.rate_shift), ("frac_bits", c.frac_bits)] {
                if v > CENTRING_MAX_SHIFT {
                    p.push(format!(
                        "centring.{name} = {v}: outside 0..={CENTRING_MAX_SHIFT}"
                    ));
                }
            }
        }
        p
    }
}

impl GradedState {
    /// Advance one step with input `input` (u units); returns (and stores) the payload.
    pub fn step(&mut self, p: &GradedParams, input: i32) -> u16 {
        self.step_centring(p, input, true)
    }

    /// [`GradedState::step`] with the centring register (if the unit has one) moving
    /// only when `centring_on` (the learning switch).
    pub fn step_centring(&mut self, p: &GradedParams, input: i32, centring_on: bool) -> u16 {
        let u = decay_i64(i64::from(self.u), p.du.saturating_add(1))
            + i64::from(input)
            + i64::from(p.bias);
        self.u = u.clamp(-i64::from(U_MAX), i64::from(U_MAX)) as i32;
        let read = match p.centring {
            None => self.u,
            Some(c) => {
                let (f, s) = (c.frac_bits.min(CENTRING_MAX_SHIFT), c.rate_shift.min(31));
                let m = i64::from(self.mean);
                let centred =
                    (i64::from(self.u) - (m >> f)).clamp(-i64::from(U_MAX), i64::from(U_MAX));
                if centring_on {
                    let next = m + (((i64::from(self.u) << f) - m) >> s);
                    self.mean = next.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                }
                centred as i32
            }
        };
        self.out = p.table.lookup(read);
        self.out
    }
}

/// `o(1 - o)` on the payload scale: `floor(out · (max - out) / 2^payload_bits)` with
/// `max = 2^payload_bits - 1` (bits clamped to 16). Outputs above `max` give 0.
pub fn derivative(out: u16, payload_bits: u8) -> u16 {
    let bits = payload_bits.min(16);
    let max = payload_max(bits);
    let prod = u64::from(out) * u64::from(max.saturating_sub(out));
    // prod <= (2^16)^2 / 4, so after the shift it fits 16 bits.
    (prod >> bits) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn float_sigmoid(u: f64, u0: f64, max: f64) -> f64 {
        max / (1.0 + (-2.0 * u / u0).exp())
    }

    #[test]
    fn centring_subtracts_the_mean_held_then_moves_it() {
        // A ramp over 256 u units: the payload reads the centred input almost exactly.
        let p = GradedParams {
            du: 4095,
            bias: 0,
            table: SigmoidTable::ramp(256.0, 1024, 8, false),
            event_driven: false,
            centring: Some(Centring {
                rate_shift: 1,
                frac_bits: 4,
            }),
        };
        let mut s = GradedState::default();
        // Hand computed: m = 0 → reads 160, m = 2560/2 = 1280 (80.0);
        // reads 160 − 80 = 80, m = 1280 + (2560 − 1280)/2 = 1920 (120.0); reads 40.
        assert_eq!(s.step_centring(&p, 160, true), 159);
        assert_eq!(s.mean, 1280);
        assert_eq!(s.step_centring(&p, 160, true), 80);
        assert_eq!(s.mean, 1920);
        // Off: the mean is subtracted but held.
        assert_eq!(s.step_centring(&p, 160, false), 40);
        assert_eq!(s.mean, 1920);
        assert_eq!(s.step_centring(&p, 160, true), 40);
        assert_eq!(s.mean, 1920 + (2560 - 1920) / 2);
        // Without a register the same inputs read raw.
        let raw = GradedParams {
            centring: None,
            ..p.clone()
        };
        let mut r = GradedState::default();
        assert_eq!(r.step_centring(&raw, 160, true), 159);
        assert_eq!(r.step_centring(&raw, 160, true), 159);
        assert_eq!(r.mean, 0);
    }

    #[test]
    fn lookup_zero_is_the_midpoint() {
        for bits in [1, 4, 8, 12, 16] {
            let t = SigmoidTable::logistic(1000.0, 5.0, 256, bits);
            let max = i64::from(payload_max(bits));
            let mid = i64::from(t.lookup(0));
            assert!((2 * mid - max).abs() <= 1, "bits {bits}: {mid} of {max}");
        }
        assert_eq!(SigmoidTable::logistic(1000.0, 5.0, 256, 8).lookup(0), 128);
    }

    #[test]
    fn far_outside_the_span_saturates() {
        let t = SigmoidTable::logistic(4096.0, 5.0, 256, 8);
        for u in [-6 * 4096, -1 << 30, i32::MIN] {
            assert_eq!(t.lookup(u), 0, "u = {u}");
        }
        for u in [6 * 4096, 1 << 30, i32::MAX] {
            assert_eq!(t.lookup(u), 255, "u = {u}");
        }
    }

    #[test]
    fn span_5_matches_the_float_sigmoid_at_table_points() {
        for (u0, n, bits) in [
            (4096.0, 256, 8),
            (1000.0, 64, 8),
            (300.0, 1024, 12),
            (64.0, 16, 16),
        ] {
            let t = SigmoidTable::logistic(u0, 5.0, n, bits);
            assert_eq!(t.entries.len(), n);
            let max = f64::from(payload_max(bits));
            for i in 0..n as i64 {
                let u = ((i - n as i64 / 2) << t.in_shift) as i32;
                let want = float_sigmoid(f64::from(u), u0, max);
                let got = f64::from(t.lookup(u));
                assert!((got - want).abs() <= 1.0, "u0 {u0} u {u}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn in_shift_is_the_smallest_covering_the_span() {
        for (u0, span, n) in [
            (4096.0, 5.0, 256),
            (1000.0, 5.0, 64),
            (1.0, 1.0, 2),
            (3e5, 8.0, 4096),
        ] {
            let t = SigmoidTable::logistic(u0, span, n, 8);
            let half = (n / 2) as f64;
            let s = i32::from(t.in_shift);
            assert!(half * 2f64.powi(s) >= span * u0, "covers ±span·u0");
            assert!(
                s == 0 || half * 2f64.powi(s - 1) < span * u0,
                "and is tight"
            );
        }
        // 5 · 4096 over 128 buckets = 160 per bucket, rounded up to 256.
        assert_eq!(SigmoidTable::logistic(4096.0, 5.0, 256, 8).in_shift, 8);
    }

    #[test]
    fn degenerate_arguments_still_give_a_valid_table() {
        for (u0, span, n, bits) in [
            (f64::NAN, 5.0, 256, 8),
            (0.0, 5.0, 0, 0),
            (-10.0, f64::NAN, 3, 40),
            (1e3, f64::INFINITY, usize::MAX, 8),
            (f64::INFINITY, 1.0, 100, 8),
        ] {
            let t = SigmoidTable::logistic(u0, span, n, bits);
            assert!(
                t.problems().is_empty(),
                "{u0} {span} {n}: {:?}",
                t.problems()
            );
        }
        assert_eq!(SigmoidTable::logistic(1.0, 1.0, 100, 8).entries.len(), 128);
    }

    #[test]
    fn derivative_peaks_at_half_and_is_bounded() {
        for bits in [1u8, 4, 8, 12, 16] {
            let max = payload_max(bits);
            let peak = (0..=max).map(|o| derivative(o, bits)).max().unwrap();
            assert_eq!(derivative(max / 2, bits), peak);
            assert_eq!(derivative(0, bits), 0);
            assert_eq!(derivative(max, bits), 0);
            for o in (0..=max).step_by(1 + usize::from(max / 512)) {
                assert_eq!(derivative(o, bits), derivative(max - o, bits));
                let exact = f64::from(o) * f64::from(max - o) / f64::from(max);
                let d = f64::from(derivative(o, bits));
                assert!(d <= exact && exact - d < 1.25, "bits {bits} o {o}");
            }
        }
        assert_eq!(derivative(127, 8), 63); // 127 · 128 / 256 = 63.5, floored
        assert_eq!(derivative(300, 8), 0, "above max");
    }

    #[test]
    fn no_memory_at_du_4095_and_leaky_memory_below() {
        let table = SigmoidTable::logistic(1000.0, 5.0, 256, 8);
        let ff = GradedParams {
            du: 4095,
            bias: 50,
            table: table.clone(),
            event_driven: false,
            centring: None,
        };
        let mut s = GradedState {
            u: 1_000_000,
            out: 0,
            mean: 0,
        };
        for x in [-3000, 0, 700, 12] {
            assert_eq!(s.step(&ff, x), table.lookup(x + 50));
            assert_eq!((s.u, s.out), (x + 50, table.lookup(x + 50)));
        }
        // Decrement 410 keeps 3686/4096 (round toward zero), then input and bias 50:
        // 0 -> 150; 150·3686 >> 12 = 134 -> 284; 255 - 40 + 50 = 265; 238 + 50; 259 + 50.
        let leaky = GradedParams { du: 409, ..ff };
        let mut s = GradedState::default();
        let us: Vec<i32> = [100, 100, -40, 0, 0]
            .iter()
            .map(|&x| {
                s.step(&leaky, x);
                s.u
            })
            .collect();
        assert_eq!(us, [150, 284, 265, 288, 309]);
    }

    #[test]
    fn u_saturates_instead_of_wrapping() {
        let p = GradedParams {
            du: 0,
            bias: 0,
            table: SigmoidTable::logistic(1000.0, 5.0, 256, 8),
            event_driven: false,
            centring: None,
        };
        let mut s = GradedState::default();
        s.step(&p, i32::MAX);
        assert_eq!(s.step(&p, i32::MAX), 255);
        assert_eq!(s.u, i32::MAX);
        s.step(&p, i32::MIN);
        assert_eq!(s.step(&p, i32::MIN), 0);
        assert_eq!(s.u, -i32::MAX);
    }

    #[test]
    fn problems_catch_hand_built_tables() {
        let bad = SigmoidTable {
            entries: vec![3, 2, 300],
            in_shift: 40,
            payload_bits: 0,
        };
        assert_eq!(bad.problems().len(), 5, "{:?}", bad.problems());
        let p = GradedParams {
            du: 4096,
            bias: 0,
            table: bad,
            event_driven: false,
            centring: None,
        };
        assert_eq!(p.problems().len(), 6);
        assert!(p.problems()[1].starts_with("table."));
    }

    proptest! {
        #[test]
        fn lookup_is_monotone(
            u0 in 1.0f64..1e7, span in 0.1f64..20.0, n in 2usize..5000, bits in 1u8..=16,
            a in any::<i32>(), b in any::<i32>()
        ) {
            let t = SigmoidTable::logistic(u0, span, n, bits);
            prop_assert!(t.problems().is_empty());
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(t.lookup(lo) <= t.lookup(hi));
        }

        #[test]
        fn step_never_panics_on_any_table(
            entries in prop::collection::vec(any::<u16>(), 0..40),
            in_shift in any::<u8>(), bits in any::<u8>(), du in any::<u16>(),
            bias in any::<i32>(), u in any::<i32>(), input in any::<i32>()
        ) {
            let p = GradedParams { du, bias, table: SigmoidTable { entries, in_shift, payload_bits: bits }, event_driven: false, centring: None };
            let mut s = GradedState { u, out: 0, mean: 0 };
            let out = s.step(&p, input);
            prop_assert!(s.u >= -i32::MAX);
            prop_assert_eq!(out, s.out);
            let _ = derivative(out, bits);
        }
    }
}
