//! The learning engine: Loihi-style microcoded sum-of-products plasticity rules.
//!
//! A rule updates a synapse's weight and/or tag:
//!
//! ```text
//! Δz = Σ_i S_i · Π_j (V_ij + C_ij)        z ∈ {weight (dw), tag (dt)}
//! ```
//!
//! where each `V` is a [`Var`] read at the synapse (pre/post spikes and traces, the
//! weight, the tag, the modulator concentration at the post neuron's grid cell, the post
//! unit's graded output and its derivative, the pre unit's graded payload), `C` an
//! additive constant and `S_i = ±mantissa · 2^shift` a scale. Rules are written as text
//! (`"dw = 2^-4*x1*y0 - 2^-4*y1*x0"`) and assembled by [`parse_rule`] into
//! [`RuleProgram`] microcode; errors carry the byte span of the offending text.
//!
//! # Fixed-point semantics
//!
//! Every variable is an integer `v` with a known number of fractional bits `f`, so its
//! real value is `v / 2^f`: spikes and traces are plain integers (`f = 0`), modulator
//! concentrations have the grid's fractional bits, graded payloads `payload_bits`, and
//! the weight `w` is the mantissa with `f = −e` (the row exponent), so `w` is the weight
//! in weight units. `Δw` is in weight units too and is converted to the row's mantissa
//! units, so rules do not change when a row is renormalised. Each term is computed
//! exactly in `i128`; the sum is rounded to an integer number of mantissa (or tag) LSBs
//! **stochastically**: `floor(x + r)` with `r` uniform in [0, 1) from a counter-based
//! generator seeded per (rule seed, epoch, synapse), so the expected update is exact and
//! the result does not depend on thread count or visiting order.
//!
//! See `docs/learning.md` for the variables, the named rules and the cost model.

pub mod engine;
pub mod eprop;
pub mod eprop_blocks;
pub mod error_unit;
mod expr;
mod named;
pub mod sigprop;
pub mod traces;
pub mod update_unit;

pub use expr::{assemble, nearest_scale, parse_rule, Limits, RuleError, PRODUCT_BITS};
pub use named::{named_rule, NAMED_RULES};

use serde::{Deserialize, Serialize};

/// What a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Var {
    /// Pre-synaptic spike in the epoch (0/1).
    X0,
    /// Pre-synaptic traces.
    X1,
    X2,
    /// Post-synaptic spike in the epoch (0/1).
    Y0,
    /// Post-synaptic traces.
    Y1,
    Y2,
    Y3,
    /// The synapse's weight, in weight units.
    W,
    /// The synapse's tag (eligibility).
    T,
    /// Modulator concentration of channel k at the post neuron's grid cell (signed).
    M(u8),
    /// The post unit's graded output o (0..1).
    Out,
    /// The post unit's derivative term o(1−o).
    Deriv,
    /// The pre unit's graded payload (0..1), e.g. `in_m` of Error Diffusion.
    Pre,
    /// Sign of the weight (−1, 0, +1); for sign-fixed rows, the row's sign.
    Sgn,
}

impl Var {
    /// The name used in rule text.
    pub fn name(self) -> String {
        match self {
            Var::X0 => "x0".into(),
            Var::X1 => "x1".into(),
            Var::X2 => "x2".into(),
            Var::Y0 => "y0".into(),
            Var::Y1 => "y1".into(),
            Var::Y2 => "y2".into(),
            Var::Y3 => "y3".into(),
            Var::W => "w".into(),
            Var::T => "t".into(),
            Var::M(k) => format!("m{k}"),
            Var::Out => "out".into(),
            Var::Deriv => "deriv".into(),
            Var::Pre => "pre".into(),
            Var::Sgn => "sgn".into(),
        }
    }

    /// Which side of the synapse the value comes from.
    pub fn side(self) -> Side {
        match self {
            Var::X0 | Var::X1 | Var::X2 | Var::Pre => Side::Pre,
            Var::Y0 | Var::Y1 | Var::Y2 | Var::Y3 | Var::M(_) | Var::Out | Var::Deriv => Side::Post,
            Var::W | Var::T | Var::Sgn => Side::Synapse,
        }
    }
}

/// Where a variable lives; the simulator evaluates pre- and post-side products once per
/// row and per compartment, and only the synapse-side factors per synapse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    Pre,
    Post,
    Synapse,
}

/// The variable a rule's equation updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    Weight,
    Tag,
}

/// One factor `(V + C)`; `constant` is in the variable's real units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub var: Var,
    pub constant: f64,
}

/// One product term `±mantissa · 2^shift · Π factors`. A term without factors is a
/// constant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// Signed integer mantissa of the scale (the sign of the term).
    pub mantissa: i32,
    pub shift: i8,
    pub factors: Vec<Factor>,
}

/// `Δtarget = Σ terms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Equation {
    pub target: Target,
    pub terms: Vec<Term>,
}

/// A whole rule: at most one equation per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleProgram {
    pub equations: Vec<Equation>,
}

impl RuleProgram {
    pub fn equation(&self, target: Target) -> Option<&Equation> {
        self.equations.iter().find(|e| e.target == target)
    }

    /// Every variable the rule reads.
    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.equations
            .iter()
            .flat_map(|e| e.terms.iter().flat_map(|t| t.factors.iter().map(|f| f.var)))
    }

    /// Highest modulator channel read, if any.
    pub fn max_channel(&self) -> Option<u8> {
        self.vars()
            .filter_map(|v| if let Var::M(k) = v { Some(k) } else { None })
            .max()
    }

    /// True when every term of every equation has a pre-side factor with no constant,
    /// so a row whose pre-side values are all zero cannot change: the engine may skip it.
    pub fn pre_gated(&self) -> bool {
        self.equations.iter().all(|e| {
            e.terms.iter().all(|t| {
                t.factors
                    .iter()
                    .any(|f| f.var.side() == Side::Pre && f.constant == 0.0)
            })
        })
    }
}

/// A variable's integer value and its fractional bits: real value = `value / 2^frac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    pub value: i64,
    pub frac: i32,
}

/// Evaluate `Σ terms` for one synapse, exactly, as a number of LSBs of the target with
/// `target_frac` fractional bits (weight mantissa: `−exponent`; tag: its own), scaled by
/// 2^`extra_frac` so the caller can round (stochastically) with `extra_frac` bits of
/// fraction. `read` supplies each variable.
pub fn evaluate(
    eq: &Equation,
    target_frac: i32,
    extra_frac: i32,
    mut read: impl FnMut(Var) -> Fixed,
) -> i128 {
    let mut sum: i128 = 0;
    for term in &eq.terms {
        // value = mantissa · 2^shift · Π (v_j + c_j·2^f_j) / 2^f_j, in target LSBs:
        // multiply by 2^(target_frac + extra_frac).
        let mut prod: i128 = term.mantissa as i128;
        let mut exp: i32 = term.shift as i32 + target_frac + extra_frac;
        for f in &term.factors {
            let x = read(f.var);
            let c = (f.constant * (x.frac as f64).exp2()).round() as i128;
            prod = prod.saturating_mul(x.value as i128 + c);
            exp -= x.frac;
        }
        sum = sum.saturating_add(shift_i128(prod, exp));
    }
    sum
}

/// `x · 2^exp`, flooring for negative exponents, saturating.
fn shift_i128(x: i128, exp: i32) -> i128 {
    if exp >= 0 {
        if exp >= 127 {
            return if x == 0 {
                0
            } else if x > 0 {
                i128::MAX
            } else {
                i128::MIN
            };
        }
        x.checked_mul(1i128 << exp)
            .unwrap_or(if x > 0 { i128::MAX } else { i128::MIN })
    } else if exp <= -127 {
        if x < 0 {
            -1
        } else {
            0
        }
    } else {
        x >> (-exp)
    }
}

/// Stochastic rounding of `scaled / 2^extra_frac` to an integer with uniform `r` (the
/// top `extra_frac` bits of `random` are used): `floor(scaled / 2^f + r)`.
pub fn stochastic_round(scaled: i128, extra_frac: u32, random: u64) -> i64 {
    if extra_frac == 0 {
        return scaled.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    }
    let f = extra_frac.min(63);
    let r = (random >> (64 - f)) as i128;
    let v = scaled.saturating_add(r) >> f;
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// A counter-based random number (SplitMix64 finaliser over the key), so every synapse's
/// rounding draw depends only on where and when it is made.
pub fn hash_random(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    let mut z = seed
        ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ c.wrapping_mul(0x1656_67B1_9E37_79F9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod row_update_tests;
