//! The core's neurons with the parameters of their two groups hoisted: the chip's ALIF
//! step ([`AlifState::step`](amine_chip::neuron::alif::AlifState::step)) a whole group
//! at a time over structure-of-arrays registers ([`Bank::step_group`]), and ψ̂ computed
//! without an integer division.
//!
//! Both are exact: the step does the chip's decay, wrap and clip arithmetic in the
//! same order (a proptest holds it equal to `AlifState::step`), and [`PsiDiv`] returns
//! [`psi`]'s own value for every `h = thr − |v − thr_eff|` in `0..=thr`, the only
//! values the core can produce (`|v|, |thr_eff| < 2^25`, so the subtraction never
//! saturates). The group step is branch-free so that, compiled for AVX-512, it runs 8
//! neurons per instruction.

use super::EpropCore;
use amine_chip::learning::eprop::EpropConsts;
use amine_chip::neuron::alif::{AlifParams, Reset};
use amine_chip::neuron::lif::{DECAY_ONE, U_WRAP, V_MAX};

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

/// ψ̂ by `h` for one threshold and one (γ, F): [`psi`]'s rounded quotient
/// `(h·γ·2^F + den/2) / den`, `den = thr·2^16`. Where the numerator stays below 2^53
/// (the e-prop core's thresholds and F ≤ 20) it comes from an f64 division rounded to
/// an integer and corrected to the exact integer quotient (numerator and `den` are
/// exact doubles, so the rounded quotient is the true floor or one above it) — a division that vectorises; elsewhere
/// from the integer division.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PsiDiv {
    thr: i64,
    gamma: i64,
    frac: u32,
    den: i64,
    den_f: f64,
    by_f64: bool,
}

impl PsiDiv {
    /// The divider of `c` at threshold `thr`, or `None` outside the range where [`psi`]
    /// takes its i64 path.
    pub(super) fn new(thr: i64, c: &EpropConsts) -> Option<PsiDiv> {
        let fits = (1..1 << 24).contains(&thr) && (0..=1 << 16).contains(&c.gamma) && c.frac <= 22;
        fits.then(|| PsiDiv {
            thr,
            gamma: c.gamma,
            frac: c.frac,
            den: thr << 16,
            den_f: (thr << 16) as f64,
            by_f64: ((thr * c.gamma) << c.frac) + (thr << 15) < 1 << 53,
        })
    }

    /// ψ̂ for `h` in `0..=thr` (the group step calls [`PsiDiv::of_h_by`] directly).
    #[cfg(test)]
    fn of_h(&self, h: i64) -> i32 {
        if self.by_f64 {
            self.of_h_by::<true>(h)
        } else {
            self.of_h_by::<false>(h)
        }
    }

    /// [`PsiDiv::of_h`] with the choice of division fixed (so a loop over it has no
    /// branch); `BY_F64` must be `self.by_f64`.
    #[inline(always)]
    fn of_h_by<const BY_F64: bool>(&self, h: i64) -> i32 {
        let num = ((h * self.gamma) << self.frac) + self.den / 2;
        if !BY_F64 {
            return (num / self.den) as i32;
        }
        // Round to an integer by adding 2^52 (the quotient is below 2^37, so the sum's
        // unit is 1) and read it from the bits: unlike `as i64`, this vectorises.
        const TWO_52: f64 = (1u64 << 52) as f64;
        let q = ((num as f64 / self.den_f) + TWO_52).to_bits() as i64 - TWO_52.to_bits() as i64;
        let r = num - q * self.den;
        (q - i64::from(r < 0) + i64::from(r >= self.den)) as i32
    }
}

/// What the core precomputes for the group step: its two neuron groups and ψ̂'s divider.
#[derive(Debug, Clone)]
pub(super) struct Fast {
    groups: [Group; 2],
    psi: PsiDiv,
}

impl Fast {
    /// `None` unless every LIF neuron shares one parameter set and every ALIF neuron
    /// another, the bank models their reset, and both ψ̂ constants agree.
    pub(super) fn new(core: &EpropCore) -> Option<Fast> {
        let p: &[AlifParams] = &core.params;
        let (lif, alif) = p.split_at(core.n_lif.min(p.len()));
        let first = |g: &[AlifParams]| g.first().or(p.first()).copied();
        let (pl, pa) = (first(lif)?, first(alif)?);
        let same = lif.iter().all(|x| *x == pl) && alif.iter().all(|x| *x == pa);
        let (cl, ca) = (&core.lif_c, &core.alif_c);
        let thr = i64::from(pl.lif.threshold());
        if !same
            || thr != i64::from(pa.lif.threshold())
            || (cl.gamma, cl.frac) != (ca.gamma, ca.frac)
        {
            return None;
        }
        Some(Fast {
            groups: [Group::new(&pl)?, Group::new(&pa)?],
            psi: PsiDiv::new(thr, cl)?,
        })
    }

    /// The hoisted parameters of the LIF (`alif = false`) or ALIF group.
    pub(super) fn group(&self, alif: bool) -> &Group {
        &self.groups[usize::from(alif)]
    }

    /// The ψ̂ divider both groups share.
    pub(super) fn psi(&self) -> &PsiDiv {
        &self.psi
    }
}

/// `decay` with the hoisted `keep = 4096 − d` (the chip's `decay_i64`).
#[inline(always)]
fn decay_keep(x: i64, keep: i64) -> i64 {
    let m = (x.abs() * keep) >> 12;
    if x < 0 {
        -m
    } else {
        m
    }
}

/// Every neuron's registers as structure-of-arrays (`refractory_left` widened to i32 so
/// all four lanes have one width).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Bank {
    pub u: Vec<i32>,
    pub v: Vec<i32>,
    pub a: Vec<i32>,
    pub refr: Vec<i32>,
}

/// One group step's outputs, per neuron of the group.
pub(super) struct GroupOut<'a> {
    /// ψ̂ after the step (0 for a neuron that did not step).
    pub psi: &'a mut [i32],
    /// 1 where the neuron spiked.
    pub fired: &'a mut [u8],
}

impl Bank {
    /// `n` neurons at rest.
    pub(super) fn new(n: usize) -> Bank {
        Bank {
            u: vec![0; n],
            v: vec![0; n],
            a: vec![0; n],
            refr: vec![0; n],
        }
    }

    /// Every register to 0.
    pub(super) fn clear(&mut self) {
        for x in [&mut self.u, &mut self.v, &mut self.a, &mut self.refr] {
            x.fill(0);
        }
    }

    /// Steps neurons `range` (all of group `g`) with the inputs `cur[range]` (summed
    /// weights; taken, leaving 0), as `AlifState::step` does each one, and ψ̂ as the core
    /// derives it (from the overshoot after a spike, 0 while refractory); a neuron whose
    /// registers and input are all 0 does not step (the chip gates it). Returns how many
    /// stepped. `wide` must come from [`super::rows::wide_available`].
    pub(super) fn step_group(
        &mut self,
        range: std::ops::Range<usize>,
        g: &Group,
        pd: &PsiDiv,
        cur: &mut [i64],
        out: GroupOut<'_>,
        wide: bool,
    ) -> usize {
        let n = range.len();
        let (u, v) = (&mut self.u[range.clone()], &mut self.v[range.clone()]);
        let (a, refr) = (&mut self.a[range.clone()], &mut self.refr[range.clone()]);
        let regs = [u, v, a, refr];
        let (cur, psi, fired) = (&mut cur[range], &mut out.psi[..n], &mut out.fired[..n]);
        #[cfg(target_arch = "x86_64")]
        if wide && pd.by_f64 {
            // SAFETY: `wide` says the CPU has AVX-512 F/DQ/VL/BW.
            return unsafe { step_wide(g, pd, cur, regs, psi, fired) };
        }
        let _ = wide;
        if pd.by_f64 {
            step_body::<true>(g, pd, cur, regs, psi, fired)
        } else {
            step_body::<false>(g, pd, cur, regs, psi, fired)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
#[inline]
unsafe fn step_wide(
    g: &Group,
    pd: &PsiDiv,
    cur: &mut [i64],
    regs: [&mut [i32]; 4],
    psi: &mut [i32],
    fired: &mut [u8],
) -> usize {
    step_body::<true>(g, pd, cur, regs, psi, fired)
}

/// The group step, branch-free (selects instead of the chip's early returns; the
/// `u` wrap as a mask, exact because its window is 2^24 wide);
/// `BY_F64` is `pd.by_f64`.
#[inline(always)]
fn step_body<const BY_F64: bool>(
    g: &Group,
    pd: &PsiDiv,
    cur: &mut [i64],
    [u, v, a, refr]: [&mut [i32]; 4],
    psi: &mut [i32],
    fired: &mut [u8],
) -> usize {
    let n = cur.len();
    let (u, v, a, refr) = (&mut u[..n], &mut v[..n], &mut a[..n], &mut refr[..n]);
    let (psi, fired) = (&mut psi[..n], &mut fired[..n]);
    let keep = |d: u16| i64::from(DECAY_ONE - d.min(DECAY_ONE));
    let (ku, kv, ka) = (keep(g.du1), keep(g.dv), keep(g.da));
    let (w, vmax) = (i64::from(U_WRAP), i64::from(V_MAX));
    let mut busy_n = 0;
    for j in 0..n {
        let input = cur[j].clamp(i64::from(i32::MIN), i64::from(i32::MAX));
        cur[j] = 0;
        let (u0, v0, a0, r0) = (u[j], v[j], a[j], refr[j]);
        let busy = (input as i32 | u0 | v0 | a0 | r0) != 0;
        // wrap_u: the window (−2^23, 2^23] is 2^24 wide, so the Euclidean remainder
        // is a mask.
        let u1 = decay_keep(i64::from(u0), ku) + input;
        let u1 = w - ((w - u1) & (2 * w - 1));
        let a1 = decay_keep(i64::from(a0).clamp(0, vmax), ka);
        let v1 = (decay_keep(i64::from(v0), kv) + u1 + g.bias).clamp(-vmax, vmax);
        let refr_now = r0 > 0;
        let thr_eff = g.thr + a1;
        let spike = !refr_now & (v1 > thr_eff);
        let v2 = if spike { v1 - g.thr } else { v1 };
        let a2 = if spike {
            (a1 + g.a_inc).clamp(0, vmax)
        } else {
            a1
        };
        let r2 = if refr_now {
            r0 - 1
        } else if spike {
            i32::from(g.refractory)
        } else {
            0
        };
        // ψ̂ from the overshoot after a spike, else from v − thr_eff; 0 while
        // refractory.
        let x = if spike {
            v2 - (a2 - g.a_inc)
        } else {
            v1 - thr_eff
        };
        let p = pd.of_h_by::<BY_F64>((g.thr - x.abs()).max(0));
        let p = if refr_now { 0 } else { p };
        if busy {
            (u[j], v[j], a[j], refr[j]) = (u1 as i32, v2 as i32, a2 as i32, r2);
        }
        psi[j] = if busy { p } else { 0 };
        fired[j] = u8::from(busy & spike);
        busy_n += usize::from(busy);
    }
    busy_n
}

#[cfg(test)]
mod tests {
    use super::*;
    use amine_chip::learning::eprop::psi;
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
        /// The group step over structure-of-arrays equals the chip's step neuron by
        /// neuron (gated: a neuron with all registers and input 0 does not step), with
        /// the wide body and without.
        #[test]
        fn group_step_equals_the_chip_step(
            neurons in proptest::collection::vec(
                (-(1i32 << 23)..=(1 << 23), -(1i32 << 23) + 1..(1 << 23), -1000i32..(1 << 23),
                 0u8..4, any::<i32>(), -200_000i32..200_000, 0u8..4),
                1..20),
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
            let thr = i64::from(p.lif.threshold());
            let (g, pd) = (Group::new(&p).unwrap(), PsiDiv::new(thr, &c).unwrap());
            let n = neurons.len();
            let (mut want, mut stepped) = (Vec::new(), 0);
            let mut bank = Bank::new(n);
            let mut cur = vec![0i64; n];
            for (j, &(u, v, a, refr, big, small, pick)) in neurons.iter().enumerate() {
                // Some all-zero neurons, to exercise the gate.
                let (u, v, a, refr, input) = match pick {
                    0 => (0, 0, 0, 0, 0),
                    1 => (u, v, a, refr, big),
                    _ => (u, v, a, refr, small),
                };
                (bank.u[j], bank.v[j], bank.a[j], bank.refr[j]) = (u, v, a, i32::from(refr));
                cur[j] = i64::from(input);
                let mut chip = AlifState { lif: LifState { u, v, refractory_left: refr }, a };
                let busy = (input | u | v | a | i32::from(refr)) != 0;
                stepped += usize::from(busy);
                let was = refr > 0;
                let (fired, ps) = if busy {
                    let fired = chip.step(&p, input);
                    let ps = if fired {
                        psi(chip.overshoot_at_spike(&p), 0, false, thr, &c)
                    } else {
                        psi(i64::from(chip.lif.v), thr + i64::from(chip.a), was, thr, &c)
                    };
                    (fired, ps)
                } else {
                    (false, 0)
                };
                want.push((chip.lif.u, chip.lif.v, chip.a, i32::from(chip.lif.refractory_left),
                    ps, u8::from(fired)));
            }
            let wide = crate::eprop::rows::wide_available();
            for wide in [false, wide] {
                let (mut b, mut cu) = (bank.clone(), cur.clone());
                let (mut ps, mut fired) = (vec![7; n], vec![7; n]);
                let busy = b.step_group(0..n, &g, &pd, &mut cu,
                    GroupOut { psi: &mut ps, fired: &mut fired }, wide);
                let got: Vec<_> = (0..n)
                    .map(|j| (b.u[j], b.v[j], b.a[j], b.refr[j], ps[j], fired[j]))
                    .collect();
                prop_assert_eq!(&got, &want);
                prop_assert!(cu.iter().all(|&x| x == 0));
                prop_assert_eq!(busy, stepped);
            }
        }

        /// ψ̂ from the corrected f64 division equals the chip's `psi` for every `h`.
        #[test]
        fn psi_div_equals_psi(vth in 1u32..(1 << 17), frac in 8u8..=22,
                              h_frac in 0.0f64..=1.0, gamma in 0.0f64..1.0) {
            let mut c = consts(frac);
            c.gamma = (gamma * 65536.0).round() as i64;
            let thr = i64::from(vth) << 6;
            if let Some(pd) = PsiDiv::new(thr, &c) {
                let h = ((thr as f64) * h_frac).round() as i64;
                prop_assert_eq!(pd.of_h(h), psi(thr - h, 0, false, thr, &c));
            }
        }
    }

    /// Exhaustively, for the e-prop core's threshold and trace format.
    #[test]
    fn psi_div_is_exact_over_the_cores_range() {
        let thr = 1000 << 6;
        for frac in [16u8, 20] {
            let c = consts(frac);
            let pd = PsiDiv::new(thr, &c).expect("the core's ψ̂ fits");
            for h in 0..=thr {
                assert_eq!(
                    pd.of_h(h),
                    psi(thr - h, 0, false, thr, &c),
                    "h = {h}, F = {frac}"
                );
            }
        }
    }
}
