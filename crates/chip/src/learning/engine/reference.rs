//! The original row update, kept as the bit-exact oracle of [`PreparedRule::apply_row`]
//! (tests compare the two on random rules and rows; the `learning` benchmark times both).
//!
//! Per synapse it collects the non-zero terms in a `Vec`, sums them at the smallest
//! exponent in `i128` and rounds; per row it copies the tags when the rule has a tag
//! equation and collects the new weights in a `Vec` before clamping or renormalising.

use super::{
    halve, round_sum, shl, signed_range, weight_range, DrawKey, EvalCtx, PostProducts, PreSide,
    PreparedEq, PreparedRule, RowMut, RowOutcome, Scales, SynapseAt, Target,
};
use crate::synapse::SignMode;

impl PreparedRule {
    /// [`PreparedRule::apply_row`] as it was first written: same results, slower.
    pub fn apply_row_reference(
        &self,
        post: &PostProducts,
        pre: PreSide,
        scales: Scales,
        row: RowMut,
        key: DrawKey,
    ) -> RowOutcome {
        let mut outcome = RowOutcome::default();
        if self.pre_gated && !pre.x0 && pre.x1 == 0 && pre.x2 == 0 && pre.payload == 0 {
            return outcome;
        }
        outcome.updates = row.targets.len() as u64;
        let RowMut {
            sign,
            weight_bits,
            tag_bits,
            exponent,
            max_exponent,
            targets,
            weights,
            tags,
        } = row;
        let (wmin, wmax) = weight_range(sign, weight_bits);
        let (tmin, tmax) = signed_range(tag_bits);
        // Tags first: the weight equation reads the tag as it was this epoch.
        let old_tags: Option<Vec<i32>> = self
            .equations
            .iter()
            .any(|e| e.target == Target::Tag)
            .then(|| tags.to_vec());
        let ctx = EvalCtx {
            post,
            pre,
            scales,
            sign,
            key,
        };
        for (ei, eq) in self.equations.iter().enumerate() {
            match eq.target {
                Target::Tag => {
                    for i in 0..targets.len() {
                        let d = self.delta_reference(
                            &ctx,
                            ei,
                            eq,
                            SynapseAt::of(targets, weights, tags, old_tags.as_deref(), i),
                            *exponent,
                            0,
                        );
                        tags[i] = (tags[i] as i64 + d).clamp(tmin, tmax) as i32;
                    }
                }
                Target::Weight => loop {
                    let frac = -(*exponent as i32);
                    let mut overflow = false;
                    let new: Vec<i64> = (0..targets.len())
                        .map(|i| {
                            let d = self.delta_reference(
                                &ctx,
                                ei,
                                eq,
                                SynapseAt::of(targets, weights, tags, old_tags.as_deref(), i),
                                *exponent,
                                frac,
                            );
                            let w = weights[i] as i64 + d;
                            // Only a magnitude overflow renormalises: a sign-fixed
                            // weight crossing 0 clamps there.
                            overflow |= match sign {
                                SignMode::Excitatory => w > wmax,
                                SignMode::Inhibitory => w < wmin,
                                SignMode::Signed => w < wmin || w > wmax,
                            };
                            w
                        })
                        .collect();
                    let can_grow = max_exponent.is_some_and(|m| *exponent < m);
                    if overflow && can_grow {
                        for w in weights.iter_mut() {
                            *w = halve(*w);
                        }
                        *exponent += 1;
                        outcome.renormalised += 1;
                        continue;
                    }
                    for (w, n) in weights.iter_mut().zip(new) {
                        let c = n.clamp(wmin, wmax);
                        outcome.clamped += u64::from(c != n);
                        *w = c as i32;
                    }
                    break;
                },
            }
        }
        outcome
    }

    fn delta_reference(
        &self,
        ctx: &EvalCtx,
        ei: usize,
        eq: &PreparedEq,
        at: SynapseAt,
        exponent: i8,
        target_frac: i32,
    ) -> i64 {
        // Each term is P · 2^E in target LSBs; sum at the smallest E, then round.
        let mut parts: Vec<(i128, i32)> = Vec::with_capacity(eq.terms.len());
        for (ti, term) in eq.terms.iter().enumerate() {
            let (p, e) = term.part(ctx, ei, ti, at, exponent, target_frac);
            if p != 0 {
                parts.push((p, e));
            }
        }
        let Some(emin) = parts.iter().map(|&(_, e)| e).min() else {
            return 0;
        };
        let sum = parts
            .iter()
            .fold(0i128, |acc, &(p, e)| acc.saturating_add(shl(p, e - emin)));
        round_sum(sum, emin, ctx.key, at.index)
    }
}

impl SynapseAt {
    /// Synapse `i` of a row; its tag as it was before this epoch's update.
    fn of(
        targets: &[u32],
        weights: &[i32],
        tags: &[i32],
        old_tags: Option<&[i32]>,
        i: usize,
    ) -> SynapseAt {
        SynapseAt {
            index: i as u64,
            target: targets[i] as usize,
            weight: weights[i],
            tag: old_tags.map_or(tags[i], |t| t[i]),
        }
    }
}
