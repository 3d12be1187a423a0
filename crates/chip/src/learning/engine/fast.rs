//! The fast path of a row update: per-row plans that prove every product fits 64 bits
//! (then the synapse loop runs in `i64`), and the exact `i128` evaluator they fall back
//! to. Both round the same way, so results do not depend on the path.

use super::*;

/// The final rounding of the fast path: `floor(n / 2^bits + r / 2^64)`.
#[derive(Clone, Copy)]
pub(super) struct Round {
    pub(super) bits: u32,
    pub(super) draws: RowDraws,
}

impl Round {
    #[inline(always)]
    pub(super) fn apply(self, n: i64, i: usize) -> i64 {
        if self.bits == 0 {
            return n;
        }
        // |n| < 2^62 and the draw's top bits < 2^62: the sum fits.
        let r = self.draws.at(i as u64);
        (n + (r >> (64 - self.bits)) as i64) >> self.bits
    }
}

/// One term on the fast path: `q[sgn + 1] · post[target] · Π (w|t + c) · 2^shift`.
#[derive(Clone, Copy, Default)]
pub(super) struct FastTerm<'a> {
    /// The factors constant along the row, by the weight's sign (−1, 0, +1).
    pub(super) q: [i64; 3],
    pub(super) post: &'a [i64],
    pub(super) shift: u32,
    /// `w` (true) or `t` (false) factors and their constants.
    pub(super) wt: [(bool, i64); MAX_WT],
    pub(super) m: usize,
}

/// An equation whose every value on the row provably fits in `i64`.
#[derive(Clone, Copy)]
pub(super) struct FastPlan<'a> {
    pub(super) terms: [FastTerm<'a>; MAX_TERMS],
    pub(super) k: usize,
    pub(super) round: Round,
}

impl<'a> FastPlan<'a> {
    /// A plan for a row's equations (filled by [`FastPlan::build`]).
    pub(super) fn empty(key: DrawKey) -> FastPlan<'a> {
        FastPlan {
            terms: [FastTerm::default(); MAX_TERMS],
            k: 0,
            round: Round {
                bits: 0,
                draws: RowDraws::new(key),
            },
        }
    }

    /// Plans equation `x` on the row; `false` unless the bounds prove the plan exact
    /// (`max_w`, `max_t` bound the row's `|w|` and `|t|`). Terms that are 0 on every
    /// synapse are left out.
    pub(super) fn build(&mut self, x: &ExactEval<'a>, max_w: u32, max_t: u32) -> bool {
        self.k = 0;
        self.try_build(x, max_w, max_t).is_some()
    }

    pub(super) fn try_build(&mut self, x: &ExactEval<'a>, max_w: u32, max_t: u32) -> Option<()> {
        let EvalCtx {
            post,
            pre,
            scales,
            sign,
            ..
        } = x.ctx;
        if x.eq.terms.len() > MAX_TERMS {
            return None;
        }
        let plan = self;
        let mut exps = [0i64; MAX_TERMS];
        let mut bounds = [0u64; MAX_TERMS];
        for (ti, term) in x.eq.terms.iter().enumerate() {
            let values = post.products.get(x.ei)?.get(ti)?;
            let max_p = *post.max_abs.get(x.ei)?.get(ti)?;
            let mut e = i64::from(term.shift) + i64::from(x.target_frac)
                - i64::from(*post.fracs.get(x.ei)?.get(ti)?);
            // Every product is checked: one that leaves i64 is not for the fast path.
            let mut r = term.mantissa;
            for &(v, k) in &term.pre {
                let f = frac_of(v, scales, x.exponent);
                r = r.checked_mul(pre_value(v, pre).checked_add(constant(k, f))?)?;
                e -= i64::from(f);
            }
            let mut q = [r; 3];
            let mut t = FastTerm {
                post: values,
                ..FastTerm::default()
            };
            let mut bound: u64 = 1;
            for &(v, k) in &term.syn {
                let f = frac_of(v, scales, x.exponent);
                let c = constant(k, f);
                e -= i64::from(f);
                match v {
                    Var::W | Var::T => {
                        if t.m == MAX_WT || c.unsigned_abs() >= 1 << FAST_BITS {
                            return None;
                        }
                        let max = if v == Var::W { max_w } else { max_t };
                        bound = bound
                            .saturating_mul(u64::from(max).saturating_add(c.unsigned_abs()).max(1));
                        t.wt[t.m] = (v == Var::W, c);
                        t.m += 1;
                    }
                    _ => {
                        for (s, qs) in q.iter_mut().enumerate() {
                            let sv = if v == Var::Sgn {
                                sign_value(sign, s as i64 - 1)
                            } else {
                                0
                            };
                            *qs = qs.checked_mul(sv.checked_add(c)?)?;
                        }
                    }
                }
            }
            let max_q = q.iter().map(|q| q.unsigned_abs()).max().unwrap_or(0);
            if max_q == 0 || max_p == 0 {
                continue;
            }
            t.q = q;
            exps[plan.k] = e;
            bounds[plan.k] = bound.saturating_mul(max_q).saturating_mul(max_p);
            plan.terms[plan.k] = t;
            plan.k += 1;
        }
        // Sum at the finest scale of the row's terms (integers if none is finer).
        let emin = exps[..plan.k].iter().copied().min().unwrap_or(0).min(0);
        let mut total: u64 = 0;
        for ((t, &e), &b) in plan.terms.iter_mut().zip(&exps).zip(&bounds).take(plan.k) {
            let shift = u32::try_from(e - emin).ok().filter(|&s| s <= FAST_BITS)?;
            t.shift = shift;
            total = total.saturating_add(b.saturating_mul(1 << shift));
        }
        plan.round.bits = u32::try_from(-emin).ok().filter(|&b| b <= FAST_BITS)?;
        (total < 1 << FAST_BITS).then_some(())
    }
}

impl Delta for FastPlan<'_> {
    #[inline(always)]
    fn delta(&self, i: usize, target: usize, w: i32, t: i32) -> i64 {
        let s = (w.signum() + 1) as usize;
        let mut n = 0i64;
        for term in &self.terms[..self.k] {
            let mut v = term.q[s] * term.post.get(target).copied().unwrap_or(0);
            for &(is_w, c) in &term.wt[..term.m] {
                v *= if is_w { w as i64 } else { t as i64 } + c;
            }
            n += v << term.shift;
        }
        self.round.apply(n, i)
    }
}

/// One term without `w` or `t` (Error Diffusion, `dw = eta*m0*y0`): a row factor (by
/// the weight's sign) times the target's post product.
#[derive(Clone, Copy)]
pub(super) struct FastSingle<'a> {
    pub(super) q: [i64; 3],
    pub(super) post: &'a [i64],
    pub(super) round: Round,
}

impl Delta for FastSingle<'_> {
    #[inline(always)]
    fn delta(&self, i: usize, target: usize, w: i32, _t: i32) -> i64 {
        let q = self.q[(w.signum() + 1) as usize];
        self.round
            .apply(q * self.post.get(target).copied().unwrap_or(0), i)
    }
}

/// [`FastSingle`] with one row factor for every synapse (a sign-fixed row, or no `sgn`).
#[derive(Clone, Copy)]
pub(super) struct FastUniform<'a> {
    pub(super) q: i64,
    pub(super) post: &'a [i64],
    pub(super) round: Round,
}

impl Delta for FastUniform<'_> {
    #[inline(always)]
    fn delta(&self, i: usize, target: usize, _w: i32, _t: i32) -> i64 {
        self.round
            .apply(self.q * self.post.get(target).copied().unwrap_or(0), i)
    }
}

/// The exact evaluation, term by term in `i128`, for rows the fast path cannot bound.
#[derive(Clone, Copy)]
pub(super) struct ExactEval<'a> {
    pub(super) ctx: EvalCtx<'a>,
    pub(super) ei: usize,
    pub(super) eq: &'a PreparedEq,
    pub(super) exponent: i8,
    pub(super) target_frac: i32,
}

impl Delta for ExactEval<'_> {
    fn delta(&self, i: usize, target: usize, w: i32, t: i32) -> i64 {
        let at = SynapseAt {
            index: i as u64,
            target,
            weight: w,
            tag: t,
        };
        let part = |ti: usize, term: &PreparedTerm| {
            term.part(&self.ctx, self.ei, ti, at, self.exponent, self.target_frac)
        };
        // The smallest exponent of the non-zero terms, then their sum at it, in order.
        let mut emin = None;
        for (ti, term) in self.eq.terms.iter().enumerate() {
            let (p, e) = part(ti, term);
            if p != 0 {
                emin = Some(emin.map_or(e, |m: i32| m.min(e)));
            }
        }
        let Some(emin) = emin else {
            return 0;
        };
        let mut sum = 0i128;
        for (ti, term) in self.eq.terms.iter().enumerate() {
            let (p, e) = part(ti, term);
            if p != 0 {
                sum = sum.saturating_add(shl(p, e - emin));
            }
        }
        round_sum(sum, emin, self.ctx.key, at.index)
    }
}
