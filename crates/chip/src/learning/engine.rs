//! Executing a rule at a learning epoch: one plastic row at a time.
//!
//! The simulator calls [`PreparedRule::post_products`] once per core and epoch (the
//! post-side factors — post spikes and traces, graded output and derivative, modulator
//! concentrations — multiplied per compartment), then [`PreparedRule::apply_row`] for
//! every plastic row. Per synapse only the synapse-side factors (w, t, sgn) remain, so
//! the inner loop is one or two multiplies, a shift and a rounding draw: the dense,
//! regular loop the hardware's learning engine runs.
//!
//! Weights are updated as row mantissas. The update of each synapse is exact in `i128`
//! and rounded stochastically (`floor(x + r)`, `r` uniform from [`hash_random`] keyed by
//! seed, epoch, row and synapse). A weight that would leave its row's range is clamped
//! — for sign-fixed rows at 0, so **no weight ever changes sign** (Dale's principle) —
//! unless the row may be renormalised: then, if a weight outgrows the row's magnitude
//! and the row's exponent can still grow, every mantissa of the row is halved (rounding
//! half away from zero), the exponent raised by one, and the update recomputed at the
//! new scale with the same draws. A sign-fixed weight that would cross 0 is clamped at 0
//! even then: halving cannot keep its sign, and renormalising for it would coarsen the
//! row for nothing (issue 17: Error Diffusion's output rows climbed to the top exponent).
//!
//! # Speed
//!
//! Per row, each term's factors that do not change along the row — the mantissa, the
//! pre-side values and `sgn` (the row's sign, or one value per sign of the weight for
//! signed rows) — are multiplied once, so a term costs one multiply by its post product
//! per synapse, plus one per `w` or `t` factor. When bounds on every factor (the largest
//! post product of each term, the largest weight and tag of the row) prove that the whole
//! sum stays below 2^62 at the finest scale, the synapse loop runs in `i64` and rounds
//! with one shift: the result is `floor(exact + r / 2^64)` either way, so it is the value
//! the exact `i128` evaluation gives, which runs otherwise. Nothing is allocated per
//! synapse; per row, only a reusable [`RowScratch`] (the caller's) holds the weights while
//! a renormalising row is tried, and the tags when a later equation reads them.

use super::{hash_random, Side, Target, Var};
use crate::synapse::SignMode;

mod fast;
use fast::{ExactEval, FastPlan, FastSingle, FastUniform};

#[doc(hidden)]
pub mod reference;

/// Terms per equation the fast path plans for (every preset's `learning.max_terms`);
/// an equation with more runs the exact path.
const MAX_TERMS: usize = 8;
/// `w` and `t` factors per term on the fast path.
const MAX_WT: usize = 3;
/// The fast path's bound: sums, products and rounding shifts stay below 2^62.
const FAST_BITS: u32 = 62;

/// Runs `$body` with `$d` bound to the evaluator, whichever it is (one loop per kind).
macro_rules! with_delta {
    ($eval:expr, $d:ident => $body:expr) => {
        match $eval {
            Eval::Uniform($d) => $body,
            Eval::Single($d) => $body,
            Eval::Fast($d) => $body,
            Eval::Exact($d) => $body,
        }
    };
}

/// A rule split by where its factors live, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRule {
    equations: Vec<PreparedEq>,
    pre_gated: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct PreparedEq {
    target: Target,
    terms: Vec<PreparedTerm>,
    /// Some term reads `t`.
    reads_tag: bool,
    /// Some term reads `w`.
    reads_weight: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct PreparedTerm {
    mantissa: i64,
    shift: i32,
    pre: Vec<(Var, f64)>,
    post: Vec<(Var, f64)>,
    syn: Vec<(Var, f64)>,
}

/// Pre-side values of one row (its presynaptic source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreSide {
    pub x0: bool,
    pub x1: u16,
    pub x2: u16,
    /// Graded payload of the source (0 for spiking sources).
    pub payload: u16,
}

/// Post-side values of a core's compartments, by compartment index.
#[derive(Debug, Clone, Copy)]
pub struct PostSide<'a> {
    pub y0: &'a [bool],
    pub y1: &'a [u16],
    pub y2: &'a [u16],
    pub y3: &'a [u16],
    /// Graded outputs (empty for spiking compartments).
    pub out: &'a [u16],
    /// o(1−o) of the graded outputs.
    pub deriv: &'a [u16],
    /// Per channel, the raw concentration at each compartment's cell.
    pub modulator: &'a [Vec<i32>],
}

/// Fractional bits of the variables that have them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scales {
    pub payload_frac: i32,
    pub modulator_frac: i32,
}

/// Post-side products per equation, per term, per compartment (value, fractional bits).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostProducts {
    products: Vec<Vec<Vec<i64>>>,
    fracs: Vec<Vec<i32>>,
    /// Per equation and term, the largest `|product|` (the fast path's bound).
    max_abs: Vec<Vec<u64>>,
}

impl PostProducts {
    /// Every post-side product of every term is 0: no synapse can change (each term
    /// has a post side, or its product is the constant 1 and this is false).
    pub fn all_zero(&self) -> bool {
        self.max_abs.iter().flatten().all(|&m| m == 0)
    }
}

/// Memory [`PreparedRule::apply_row_with`] reuses from row to row.
#[derive(Debug, Clone, Default)]
pub struct RowScratch {
    /// The weights before a renormalisable row's update (restored if it overflows).
    weights: Vec<i32>,
    /// The tags before the row's update, when a later equation reads them.
    tags: Vec<i32>,
    /// Tests: evaluate every row on the exact `i128` path.
    #[cfg(test)]
    pub(crate) exact_only: bool,
}

/// One plastic row, as the learning engine sees it.
#[derive(Debug)]
pub struct RowMut<'a> {
    pub sign: SignMode,
    pub weight_bits: u8,
    pub tag_bits: u8,
    pub exponent: &'a mut i8,
    /// Largest exponent renormalisation may raise the row to; `None` disables it.
    pub max_exponent: Option<i8>,
    pub targets: &'a [u32],
    pub weights: &'a mut [i32],
    pub tags: &'a mut [i32],
}

/// What one row's update did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowOutcome {
    /// Synapses visited (each is one `synaptic_update` on the cost table).
    pub updates: u64,
    /// Weights that hit their range and were clamped.
    pub clamped: u64,
    /// Times the row was halved and its exponent raised.
    pub renormalised: u32,
}

/// Where the rounding draws come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrawKey {
    pub seed: u64,
    pub epoch: u64,
    /// A chip-wide unique id of the row (e.g. core << 32 | row).
    pub row: u64,
}

impl PreparedRule {
    pub fn new(program: &super::RuleProgram) -> PreparedRule {
        let equations = program
            .equations
            .iter()
            .map(|eq| {
                let terms: Vec<PreparedTerm> = eq
                    .terms
                    .iter()
                    .map(|t| {
                        let pick = |side| {
                            t.factors
                                .iter()
                                .filter(|f| f.var.side() == side)
                                .map(|f| (f.var, f.constant))
                                .collect()
                        };
                        PreparedTerm {
                            mantissa: t.mantissa as i64,
                            shift: t.shift as i32,
                            pre: pick(Side::Pre),
                            post: pick(Side::Post),
                            syn: pick(Side::Synapse),
                        }
                    })
                    .collect();
                let reads = |var| terms.iter().any(|t| t.syn.iter().any(|&(v, _)| v == var));
                PreparedEq {
                    target: eq.target,
                    reads_tag: reads(Var::T),
                    reads_weight: reads(Var::W),
                    terms,
                }
            })
            .collect();
        PreparedRule {
            equations,
            pre_gated: program.pre_gated(),
        }
    }

    /// The post-side products of every term for compartments `0..n`.
    pub fn post_products(&self, post: &PostSide, n: usize, scales: Scales) -> PostProducts {
        let mut out = PostProducts::default();
        self.post_products_into(post, n, None, scales, &mut out);
        out
    }

    /// [`PreparedRule::post_products`] into `out`, reusing its memory. With `reached`,
    /// only those compartments are evaluated and the others read 0, so the rows run with
    /// these products must target reached compartments only.
    pub fn post_products_into(
        &self,
        post: &PostSide,
        n: usize,
        reached: Option<&[u32]>,
        scales: Scales,
        out: &mut PostProducts,
    ) {
        let k = self.equations.len();
        out.products.resize_with(k, Vec::new);
        out.fracs.resize_with(k, Vec::new);
        out.max_abs.resize_with(k, Vec::new);
        for (ei, eq) in self.equations.iter().enumerate() {
            let products = &mut out.products[ei];
            products.resize_with(eq.terms.len(), Vec::new);
            out.fracs[ei].clear();
            out.max_abs[ei].clear();
            for (term, values) in eq.terms.iter().zip(products.iter_mut()) {
                let frac: i32 = term.post.iter().map(|(v, _)| frac_of(*v, scales, 0)).sum();
                let product = |c: usize| {
                    term.post.iter().fold(1i64, |acc, &(v, k)| {
                        let f = frac_of(v, scales, 0);
                        acc.saturating_mul(post_value(v, post, c).saturating_add(constant(k, f)))
                    })
                };
                values.clear();
                values.resize(n, 0);
                match reached {
                    None => values
                        .iter_mut()
                        .enumerate()
                        .for_each(|(c, x)| *x = product(c)),
                    Some(reached) => {
                        for &c in reached {
                            if let Some(x) = values.get_mut(c as usize) {
                                *x = product(c as usize);
                            }
                        }
                    }
                }
                out.fracs[ei].push(frac);
                out.max_abs[ei].push(values.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0));
            }
        }
    }

    /// Run the rule on one row; `pre` is the row's source. Allocates only for a row that
    /// may renormalise or a rule whose later equation reads the tags; to reuse that
    /// memory, see [`PreparedRule::apply_row_with`].
    pub fn apply_row(
        &self,
        post: &PostProducts,
        pre: PreSide,
        scales: Scales,
        row: RowMut,
        key: DrawKey,
    ) -> RowOutcome {
        self.apply_row_with(post, pre, scales, row, key, &mut RowScratch::default())
    }

    /// [`PreparedRule::apply_row`] with the caller's reusable scratch memory.
    pub fn apply_row_with(
        &self,
        post: &PostProducts,
        pre: PreSide,
        scales: Scales,
        row: RowMut,
        key: DrawKey,
        scratch: &mut RowScratch,
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
        let wrange = weight_range(sign, weight_bits);
        let trange = signed_range(tag_bits);
        let ctx = EvalCtx {
            post,
            pre,
            scales,
            sign,
            key,
        };
        #[cfg(not(test))]
        let exact_only = false;
        let RowScratch {
            weights: saved_weights,
            tags: saved_tags,
            #[cfg(test)]
            exact_only,
        } = scratch;
        #[cfg(test)]
        let exact_only = *exact_only;
        let mut plan = FastPlan::empty(key);
        // Every equation reads the tags as they were before this epoch: once a tag
        // equation is about to change them, keep a copy if a later equation reads them.
        let mut tags_saved = false;
        for (ei, eq) in self.equations.iter().enumerate() {
            if eq.target == Target::Tag
                && !tags_saved
                && self.equations[ei + 1..].iter().any(|e| e.reads_tag)
            {
                saved_tags.clear();
                saved_tags.extend_from_slice(tags);
                tags_saved = true;
            }
            let old_tags = tags_saved.then_some(&saved_tags[..]);
            match eq.target {
                Target::Tag => {
                    let eval = self.evaluator(
                        &ctx, ei, eq, *exponent, 0, weights, old_tags, tags, exact_only, &mut plan,
                    );
                    with_delta!(eval, d => add_to_tags(d, targets, weights, tags, old_tags, trange));
                }
                Target::Weight => loop {
                    let read_tags = old_tags.unwrap_or(&*tags);
                    let frac = -(*exponent as i32);
                    let eval = self.evaluator(
                        &ctx, ei, eq, *exponent, frac, weights, None, read_tags, exact_only,
                        &mut plan,
                    );
                    let can_grow = max_exponent.is_some_and(|m| *exponent < m);
                    if !can_grow {
                        outcome.clamped += with_delta!(eval, d => add_to_weights_clamped(
                            d, targets, weights, read_tags, wrange));
                        break;
                    }
                    let fits = with_delta!(eval, d => add_to_weights_in_range(
                        d, targets, weights, read_tags, saved_weights, sign, wrange));
                    if let Some(clamped) = fits {
                        outcome.clamped += clamped;
                        break;
                    }
                    for w in weights.iter_mut() {
                        *w = halve(*w);
                    }
                    *exponent += 1;
                    outcome.renormalised += 1;
                },
            }
        }
        outcome
    }

    /// How equation `ei` is evaluated on this row at `exponent`: in `i64` if the bounds
    /// allow (the tags read are `old_tags`, else `tags`), else (or if `exact_only`)
    /// exactly.
    #[allow(clippy::too_many_arguments)]
    fn evaluator<'a, 'p>(
        &'a self,
        ctx: &EvalCtx<'a>,
        ei: usize,
        eq: &'a PreparedEq,
        exponent: i8,
        target_frac: i32,
        weights: &[i32],
        old_tags: Option<&[i32]>,
        tags: &[i32],
        exact_only: bool,
        plan: &'p mut FastPlan<'a>,
    ) -> Eval<'a, 'p> {
        let max_abs = |xs: &[i32]| xs.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
        let max_w = if eq.reads_weight { max_abs(weights) } else { 0 };
        let max_t = if eq.reads_tag {
            max_abs(old_tags.unwrap_or(tags))
        } else {
            0
        };
        let exact = ExactEval {
            ctx: *ctx,
            ei,
            eq,
            exponent,
            target_frac,
        };
        if exact_only || !plan.build(&exact, max_w, max_t) {
            return Eval::Exact(exact);
        }
        match plan.terms[..plan.k] {
            // One term: bits > 0 only with shift 0, so the shift folds into the factor.
            [t] if t.m == 0 && t.q[0] == t.q[1] && t.q[1] == t.q[2] => Eval::Uniform(FastUniform {
                q: t.q[0] << t.shift,
                post: t.post,
                round: plan.round,
            }),
            [t] if t.m == 0 => Eval::Single(FastSingle {
                q: t.q.map(|q| q << t.shift),
                post: t.post,
                round: plan.round,
            }),
            _ => Eval::Fast(plan),
        }
    }
}

/// One synapse's update of an equation, in target LSBs.
pub(crate) trait Delta {
    /// Synapse `i` of the row, reaching compartment `target`, weight `w`, tag `t`.
    fn delta(&self, i: usize, target: usize, w: i32, t: i32) -> i64;
}

impl<D: Delta> Delta for &D {
    #[inline(always)]
    fn delta(&self, i: usize, target: usize, w: i32, t: i32) -> i64 {
        (**self).delta(i, target, w, t)
    }
}

enum Eval<'a, 'p> {
    Uniform(FastUniform<'a>),
    Single(FastSingle<'a>),
    Fast(&'p FastPlan<'a>),
    Exact(ExactEval<'a>),
}

fn add_to_tags<D: Delta + Copy>(
    d: D,
    targets: &[u32],
    weights: &[i32],
    tags: &mut [i32],
    old_tags: Option<&[i32]>,
    (tmin, tmax): (i64, i64),
) {
    for (i, &target) in targets.iter().enumerate() {
        let t = old_tags.map_or(tags[i], |o| o[i]);
        let dt = d.delta(i, target as usize, weights[i], t);
        tags[i] = (tags[i] as i64).wrapping_add(dt).clamp(tmin, tmax) as i32;
    }
}

/// Adds each synapse's update, clamping to the row's range; returns how many clamped.
pub(crate) fn add_to_weights_clamped<D: Delta + Copy>(
    d: D,
    targets: &[u32],
    weights: &mut [i32],
    tags: &[i32],
    (wmin, wmax): (i64, i64),
) -> u64 {
    let mut clamped = 0;
    let n = targets.len().min(weights.len());
    for (i, (&target, w)) in targets[..n].iter().zip(&mut weights[..n]).enumerate() {
        let t = tags.get(i).copied().unwrap_or(0);
        let new = (*w as i64).wrapping_add(d.delta(i, target as usize, *w, t));
        let c = new.clamp(wmin, wmax);
        clamped += u64::from(c != new);
        *w = c as i32;
    }
    clamped
}

/// Adds each synapse's update if no new weight outgrows the row's magnitude; otherwise
/// leaves the weights as they were (kept in `saved`) and returns `None`. A sign-fixed
/// row's weight that would cross 0 is clamped there (counted in the returned `Some`):
/// halving the row cannot keep its sign, so crossing 0 is not an overflow.
pub(crate) fn add_to_weights_in_range<D: Delta + Copy>(
    d: D,
    targets: &[u32],
    weights: &mut [i32],
    tags: &[i32],
    saved: &mut Vec<i32>,
    sign: SignMode,
    (wmin, wmax): (i64, i64),
) -> Option<u64> {
    saved.clear();
    saved.extend_from_slice(weights);
    let mut clamped = 0;
    for (i, (&target, w)) in targets.iter().zip(weights.iter_mut()).enumerate() {
        let t = tags.get(i).copied().unwrap_or(0);
        let new = (*w as i64).wrapping_add(d.delta(i, target as usize, *w, t));
        let zero_side = match sign {
            SignMode::Excitatory => new < wmin,
            SignMode::Inhibitory => new > wmax,
            SignMode::Signed => false,
        };
        if zero_side {
            clamped += 1;
            *w = 0;
            continue;
        }
        if new < wmin || new > wmax {
            weights.copy_from_slice(saved);
            return None;
        }
        *w = new as i32;
    }
    Some(clamped)
}

/// [`hash_random`]`(seed, epoch, row, synapse)` along one row: the part of the key fixed
/// along the row is mixed once (and the mixing inlined into the synapse loop).
#[derive(Clone, Copy)]
pub(crate) struct RowDraws {
    base: u64,
}

impl RowDraws {
    pub(crate) fn new(key: DrawKey) -> RowDraws {
        RowDraws {
            base: key.seed
                ^ key.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ key.row.wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        }
    }

    #[inline(always)]
    pub(crate) fn at(self, synapse: u64) -> u64 {
        let z = self.base ^ synapse.wrapping_mul(0x1656_67B1_9E37_79F9);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl PreparedTerm {
    /// The term at one synapse: `(P, E)` with value `P · 2^E` target LSBs.
    fn part(
        &self,
        ctx: &EvalCtx,
        ei: usize,
        ti: usize,
        at: SynapseAt,
        exponent: i8,
        target_frac: i32,
    ) -> (i128, i32) {
        let EvalCtx {
            post,
            pre,
            scales,
            sign,
            ..
        } = *ctx;
        let mut p = self.mantissa as i128;
        let mut e = self.shift + target_frac - post.fracs[ei][ti];
        p = p.saturating_mul(post.products[ei][ti].get(at.target).copied().unwrap_or(0) as i128);
        for &(v, k) in self.pre.iter().chain(&self.syn) {
            let f = frac_of(v, scales, exponent);
            let x = match v {
                Var::W => at.weight as i64,
                Var::T => at.tag as i64,
                Var::Sgn => sign_value(sign, at.weight.signum() as i64),
                _ => pre_value(v, pre),
            };
            p = p.saturating_mul((x.saturating_add(constant(k, f))) as i128);
            e -= f;
        }
        (p, e)
    }
}

/// `sum · 2^emin` rounded to an integer: exact for `emin ≥ 0`, else
/// `floor(sum / 2^-emin + r)` with `r` the synapse's uniform draw; saturated to `i64`.
fn round_sum(sum: i128, emin: i32, key: DrawKey, index: u64) -> i64 {
    if emin >= 0 {
        return shl(sum, emin).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    }
    let bits = (-emin) as u32;
    let r = hash_random(key.seed, key.epoch, key.row, index);
    let rounded = if bits <= 64 {
        let r = if bits == 64 {
            r as i128
        } else {
            (r >> (64 - bits)) as i128
        };
        sum.saturating_add(r) >> bits
    } else {
        // Below 2^-64 LSB the draw cannot matter; keep its top bits.
        (sum >> (bits - 64)).saturating_add(r as i128) >> 64
    };
    rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// What every synapse of one row update shares.
#[derive(Clone, Copy)]
struct EvalCtx<'a> {
    post: &'a PostProducts,
    pre: PreSide,
    scales: Scales,
    sign: SignMode,
    key: DrawKey,
}

/// One synapse as an equation reads it.
#[derive(Clone, Copy)]
struct SynapseAt {
    index: u64,
    target: usize,
    weight: i32,
    tag: i32,
}

/// `sgn` of a synapse: the row's sign, or the weight's (`signum`) for signed rows.
fn sign_value(sign: SignMode, signum: i64) -> i64 {
    match sign {
        SignMode::Excitatory => 1,
        SignMode::Inhibitory => -1,
        SignMode::Signed => signum,
    }
}

/// A pre-side variable of the row (0 for the others).
fn pre_value(v: Var, pre: PreSide) -> i64 {
    match v {
        Var::X0 => pre.x0 as i64,
        Var::X1 => pre.x1 as i64,
        Var::X2 => pre.x2 as i64,
        Var::Pre => pre.payload as i64,
        _ => 0,
    }
}

fn frac_of(v: Var, s: Scales, exponent: i8) -> i32 {
    match v {
        Var::Out | Var::Deriv | Var::Pre => s.payload_frac,
        Var::M(_) => s.modulator_frac,
        Var::W => -(exponent as i32),
        _ => 0,
    }
}

fn post_value(v: Var, post: &PostSide, c: usize) -> i64 {
    let at = |s: &[u16]| s.get(c).copied().unwrap_or(0) as i64;
    match v {
        Var::Y0 => post.y0.get(c).copied().unwrap_or(false) as i64,
        Var::Y1 => at(post.y1),
        Var::Y2 => at(post.y2),
        Var::Y3 => at(post.y3),
        Var::Out => at(post.out),
        Var::Deriv => at(post.deriv),
        Var::M(k) => post
            .modulator
            .get(k as usize)
            .and_then(|m| m.get(c))
            .copied()
            .unwrap_or(0) as i64,
        _ => 0,
    }
}

/// A factor's constant in the variable's integer units (real · 2^frac).
fn constant(k: f64, frac: i32) -> i64 {
    if k == 0.0 {
        0
    } else {
        (k * (frac as f64).exp2()).round() as i64
    }
}

fn shl(x: i128, by: i32) -> i128 {
    if by <= 0 {
        x
    } else if by >= 126 {
        if x == 0 {
            0
        } else if x > 0 {
            i128::MAX
        } else {
            i128::MIN
        }
    } else {
        x.saturating_mul(1i128 << by)
    }
}

/// A mantissa halved by a row's renormalisation (rounding half away from zero); also
/// the f64 reference's emulation of the engine (`amine_tasks::dual_ed::chip_arith`).
pub fn halve(w: i32) -> i32 {
    // Round half away from zero, so a non-zero weight keeps its sign or becomes 0.
    (w + w.signum()) / 2
}

/// Mantissa range of a row: sign-fixed rows keep their sign (Dale's principle).
pub fn weight_range(sign: SignMode, bits: u8) -> (i64, i64) {
    let b = bits.clamp(1, 16) as u32;
    match sign {
        SignMode::Signed => signed_range(bits),
        SignMode::Excitatory => (0, (1i64 << b) - 1),
        SignMode::Inhibitory => (-((1i64 << b) - 1), 0),
    }
}

fn signed_range(bits: u8) -> (i64, i64) {
    if bits == 0 {
        return (0, 0);
    }
    let b = bits.clamp(1, 32) as u32;
    (-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1)
}
