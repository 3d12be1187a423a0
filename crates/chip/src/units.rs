//! Physical quantities as newtypes, so that cycles, energy and power never mix.
//!
//! Time inside the chip is counted in [`Cycles`] of the configured clock; energy in
//! [`Picojoules`]; static power in [`Milliwatts`]. Conversions go through the clock
//! frequency ([`Hertz`]) explicitly.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Sub};

/// A count of clock cycles of the chip's nominal clock.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cycles(pub u64);

/// Energy in picojoules.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Picojoules(pub f64);

/// Power in milliwatts.
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Milliwatts(pub f64);

/// A clock frequency in hertz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hertz(pub u64);

impl Cycles {
    pub const ZERO: Cycles = Cycles(0);

    /// Wall time of this many cycles at `clock`, in seconds.
    pub fn seconds(self, clock: Hertz) -> f64 {
        self.0 as f64 / clock.0 as f64
    }

    /// Wall time in nanoseconds.
    pub fn nanos(self, clock: Hertz) -> f64 {
        self.seconds(clock) * 1e9
    }

    pub fn saturating_sub(self, rhs: Cycles) -> Cycles {
        Cycles(self.0.saturating_sub(rhs.0))
    }
}

impl Add for Cycles {
    type Output = Cycles;
    fn add(self, rhs: Cycles) -> Cycles {
        Cycles(self.0 + rhs.0)
    }
}
impl AddAssign for Cycles {
    fn add_assign(&mut self, rhs: Cycles) {
        self.0 += rhs.0;
    }
}
impl Sub for Cycles {
    type Output = Cycles;
    fn sub(self, rhs: Cycles) -> Cycles {
        Cycles(self.0 - rhs.0)
    }
}
impl Mul<u64> for Cycles {
    type Output = Cycles;
    fn mul(self, rhs: u64) -> Cycles {
        Cycles(self.0 * rhs)
    }
}
impl Sum for Cycles {
    fn sum<I: Iterator<Item = Cycles>>(iter: I) -> Cycles {
        Cycles(iter.map(|c| c.0).sum())
    }
}
impl fmt::Display for Cycles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cycles", self.0)
    }
}

impl Picojoules {
    pub const ZERO: Picojoules = Picojoules(0.0);

    pub fn joules(self) -> f64 {
        self.0 * 1e-12
    }
    pub fn microjoules(self) -> f64 {
        self.0 * 1e-6
    }
}
impl Add for Picojoules {
    type Output = Picojoules;
    fn add(self, rhs: Picojoules) -> Picojoules {
        Picojoules(self.0 + rhs.0)
    }
}
impl AddAssign for Picojoules {
    fn add_assign(&mut self, rhs: Picojoules) {
        self.0 += rhs.0;
    }
}
impl Mul<u64> for Picojoules {
    type Output = Picojoules;
    /// Energy of `rhs` events of this cost.
    fn mul(self, rhs: u64) -> Picojoules {
        Picojoules(self.0 * rhs as f64)
    }
}
impl Sum for Picojoules {
    fn sum<I: Iterator<Item = Picojoules>>(iter: I) -> Picojoules {
        Picojoules(iter.map(|c| c.0).sum())
    }
}
impl fmt::Display for Picojoules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (factor, unit) = Prefix::Energy.pick(self.0);
        if unit == "pJ" {
            write!(f, "{:.1} pJ", self.0)
        } else {
            write!(f, "{:.3} {unit}", self.0 * factor)
        }
    }
}

/// A quantity shown with the SI prefix that suits its size (pictures' axes, tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// From picojoules: pJ, nJ, µJ, mJ, J.
    Energy,
    /// From nanoseconds: ns, µs, ms, s.
    Time,
    /// From milliwatts: µW, mW, W.
    Power,
}

impl Prefix {
    /// `(factor, unit)` such that `value × factor` in `unit` lies in [1, 1000) for
    /// `value` in the base unit (the smallest unit below 1, the largest above).
    pub fn pick(self, value: f64) -> (f64, &'static str) {
        let steps: &[(f64, &str)] = match self {
            Prefix::Energy => &[
                (1.0, "pJ"),
                (1e-3, "nJ"),
                (1e-6, "µJ"),
                (1e-9, "mJ"),
                (1e-12, "J"),
            ],
            Prefix::Time => &[(1.0, "ns"), (1e-3, "µs"), (1e-6, "ms"), (1e-9, "s")],
            Prefix::Power => &[(1e3, "µW"), (1.0, "mW"), (1e-3, "W")],
        };
        let v = value.abs();
        let mut best = steps[0];
        for &s in steps {
            if v * s.0 >= 1.0 {
                best = s;
            }
        }
        best
    }
}

impl Milliwatts {
    /// Energy spent by this static power over `cycles` at `clock`.
    pub fn energy_over(self, cycles: Cycles, clock: Hertz) -> Picojoules {
        // mW × s = mJ = 1e9 pJ
        Picojoules(self.0 * cycles.seconds(clock) * 1e9)
    }
}
impl Add for Milliwatts {
    type Output = Milliwatts;
    fn add(self, rhs: Milliwatts) -> Milliwatts {
        Milliwatts(self.0 + rhs.0)
    }
}
impl Mul<u64> for Milliwatts {
    type Output = Milliwatts;
    fn mul(self, rhs: u64) -> Milliwatts {
        Milliwatts(self.0 * rhs as f64)
    }
}
impl fmt::Display for Milliwatts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} mW", self.0)
    }
}
impl fmt::Display for Hertz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hz = self.0 as f64;
        if hz >= 1e9 {
            write!(f, "{:.3} GHz", hz * 1e-9)
        } else if hz >= 1e6 {
            write!(f, "{:.3} MHz", hz * 1e-6)
        } else {
            write!(f, "{} Hz", self.0)
        }
    }
}

/// 131072 → "131,072": how every count is printed in messages and reports.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The plural ending of a count of `n` things: "" for one, "s" otherwise ("1 core",
/// "0 cores", "2 cores"); how every count is worded in messages and reports.
pub fn plural_s(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thing_is_singular() {
        let worded = |n: u64| format!("{n} core{}", plural_s(n));
        assert_eq!(worded(0), "0 cores");
        assert_eq!(worded(1), "1 core");
        assert_eq!(worded(2), "2 cores");
        assert_eq!(worded(1_000), "1000 cores");
    }

    #[test]
    fn digits_are_grouped_by_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(131_072), "131,072");
        assert_eq!(group_digits(1_000_000), "1,000,000");
    }

    #[test]
    fn static_energy_of_one_microsecond() {
        // 104 mW for 1 µs is 104 nJ = 104,000 pJ.
        let e = Milliwatts(104.0).energy_over(Cycles(10_000), Hertz(10_000_000_000));
        assert!((e.0 - 104_000.0).abs() < 1e-6, "{e:?}");
    }

    #[test]
    fn cycles_to_nanos() {
        assert_eq!(Cycles(35).nanos(Hertz(10_000_000_000)), 3.5);
    }
}
