//! The core's neurons as a structure-of-arrays bank, for the lane path
//! ([`super::lanes`]): the chip's ALIF step ([`AlifState::step`]) with the parameters of
//! the two neuron groups hoisted out of the loop, and ψ̂ read from a table instead of
//! computed with a division per neuron and step.
//!
//! Both are exact: the step calls the chip's own decay, wrap and clip functions in the
//! same order (a proptest holds it equal to [`AlifState::step`]), and the table holds
//! [`psi`]'s own value for every `h = thr − |v − thr_eff|` in `0..=thr`, the only values
//! the core can produce (`|v|, |thr_eff| < 2^25`, so the subtraction never saturates).

use amine_chip::learning::eprop::{psi, EpropConsts};
use amine_chip::neuron::alif::{AlifParams, Reset};
use amine_chip::neuron::lif::{clip_v, decay, wrap_u, U_WRAP, V_MAX};

/// Largest threshold (v units) for which the ψ̂ table is built (256 KiB at 2^16).
const TABLE_MAX: i64 = 1 << 20;

/// One neuron group's parameters, hoisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Group {
    du1: u16,
    dv: u16,
    da: u16,
    bias: i64,
    thr: i64,
    a_inc: i64,
    refractory: u8,
}

impl Group {
    /// The hoisted form of `p`, or `None` for a reset rule the bank does not model.
    pub(super) fn new(p: &AlifParams) -> Option<Group> {
        (p.reset == Reset::SubtractBase).then(|| Group {
            du1: p.lif.du.saturating_add(1),
            dv: p.lif.dv,
            da: p.da,
            bias: i64::from(p.lif.bias()),
            thr: i64::from(p.lif.threshold()),
            a_inc: i64::from(p.a_inc),
            refractory: p.lif.refractory,
        })
    }
}

/// ψ̂ by `h`, for one threshold and one (γ, F).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PsiTable {
    thr: i64,
    by_h: Vec<i32>,
}

impl PsiTable {
    /// The table of `c` at threshold `thr`, or `None` where it would be too large.
    pub(super) fn new(thr: i64, c: &EpropConsts) -> Option<PsiTable> {
        if !(1..=TABLE_MAX).contains(&thr) {
            return None;
        }
        // v = thr − h against thr_eff = 0 gives exactly this h.
        let by_h = (0..=thr).map(|h| psi(thr - h, 0, false, thr, c)).collect();
        Some(PsiTable { thr, by_h })
    }

    /// [`psi`]`(v, thr_eff, false, thr, c)` for `|v|, |thr_eff| < 2^40`.
    #[inline(always)]
    fn at(&self, v: i64, thr_eff: i64) -> i32 {
        let h = (self.thr - (v - thr_eff).abs()).max(0);
        // h ≤ thr = by_h.len() − 1.
        self.by_h.get(h as usize).copied().unwrap_or(0)
    }
}

/// One neuron's registers, as [`AlifState`](amine_chip::neuron::alif::AlifState) holds them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Regs {
    pub u: i32,
    pub v: i32,
    pub a: i32,
    pub refractory_left: u8,
}

impl Regs {
    /// Whether a step could change anything (the chip gates idle compartments).
    #[inline(always)]
    pub(super) fn busy(&self, input: i32) -> bool {
        (input | self.u | self.v | self.a | i32::from(self.refractory_left)) != 0
    }

    /// [`AlifState::step`](amine_chip::neuron::alif::AlifState::step) with reset
    /// [`Reset::SubtractBase`], then ψ̂ as the core derives it (from the overshoot after
    /// a spike, 0 while refractory). Returns (spiked, ψ̂).
    #[inline(always)]
    pub(super) fn step(&mut self, g: &Group, tab: &PsiTable, input: i32) -> (bool, i32) {
        let u = i64::from(decay(self.u, g.du1)) + i64::from(input);
        // wrap_u is the identity on its window; the rem_euclid only for the rest.
        self.u = if u > -i64::from(U_WRAP) && u <= i64::from(U_WRAP) {
            u as i32
        } else {
            wrap_u(u)
        };
        let a = i64::from(decay(self.a.clamp(0, V_MAX), g.da));
        self.a = a as i32;
        let v = clip_v(i64::from(decay(self.v, g.dv)) + i64::from(self.u) + g.bias);
        if self.refractory_left > 0 {
            self.refractory_left -= 1;
            self.v = v;
            return (false, 0);
        }
        let thr_eff = g.thr + a;
        if i64::from(v) <= thr_eff {
            self.v = v;
            return (false, tab.at(i64::from(v), thr_eff));
        }
        self.v = (i64::from(v) - g.thr) as i32;
        self.a = (a + g.a_inc).clamp(0, i64::from(V_MAX)) as i32;
        self.refractory_left = g.refractory;
        // The overshoot as the registers give it (AlifState::overshoot_at_spike).
        let over = i64::from(self.v) - (i64::from(self.a) - g.a_inc);
        (true, tab.at(over, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amine_chip::neuron::alif::AlifState;
    use amine_chip::neuron::lif::{LifParams, LifState};
    use proptest::prelude::*;

    fn consts(frac: u8) -> EpropConsts {
        amine_chip::learning::eprop::EpropParams {
            alpha: 0.95,
            rho: 0.999,
            beta: 1.0,
            kappa: 0.95,
            eta: 0.0,
            channel: 0,
            frac_bits: frac,
        }
        .consts()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The bank's step and ψ̂ equal the chip's step and the core's ψ̂ derivation.
        #[test]
        fn bank_step_equals_the_chip_step(
            u in -(1i32 << 23)..=(1 << 23), v in -(1i32 << 23) + 1..(1 << 23),
            a in -1000i32..(1 << 23), refr in 0u8..4, input in any::<i32>(),
            small_input in -200_000i32..200_000, use_small in any::<bool>(),
            du in 0u16..4096, dv in 0u16..4096, da in 0u16..4096,
            vth in 1u32..2000, bias in -4096i16..4096, bias_exp in -7i8..=7,
            a_inc in 0i32..200_000, refractory in 0u8..6, frac in 8u8..=22,
        ) {
            let p = AlifParams {
                lif: LifParams { du, dv, vth, bias_mant: bias, bias_exp, refractory },
                da,
                a_inc,
                reset: Reset::SubtractBase,
            };
            let c = consts(frac);
            let input = if use_small { small_input } else { input };
            let mut chip = AlifState { lif: LifState { u, v, refractory_left: refr }, a };
            let thr = i64::from(p.lif.threshold());
            let was = chip.lif.refractory_left > 0;
            let fired = chip.step(&p, input);
            let want_psi = if fired {
                psi(chip.overshoot_at_spike(&p), 0, false, thr, &c)
            } else {
                psi(i64::from(chip.lif.v), thr + i64::from(chip.a), was, thr, &c)
            };
            let g = Group::new(&p).unwrap();
            let tab = PsiTable::new(thr, &c).unwrap();
            let mut r = Regs { u, v, a, refractory_left: refr };
            let (f, ps) = r.step(&g, &tab, input);
            prop_assert_eq!(f, fired);
            prop_assert_eq!(ps, want_psi);
            prop_assert_eq!((r.u, r.v, r.a, r.refractory_left),
                (chip.lif.u, chip.lif.v, chip.a, chip.lif.refractory_left));
        }
    }
}
