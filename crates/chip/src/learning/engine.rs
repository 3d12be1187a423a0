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
//! unless the row may be renormalised: then, if the row's exponent can still grow, every
//! mantissa of the row is halved (rounding half away from zero), the exponent raised by
//! one, and the update recomputed at the new scale with the same draws.

use super::{hash_random, Side, Target, Var};
use crate::synapse::SignMode;

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
            .map(|eq| PreparedEq {
                target: eq.target,
                terms: eq
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
                    .collect(),
            })
            .collect();
        PreparedRule {
            equations,
            pre_gated: program.pre_gated(),
        }
    }

    /// The post-side products of every term for compartments `0..n`.
    pub fn post_products(&self, post: &PostSide, n: usize, scales: Scales) -> PostProducts {
        let mut products = Vec::with_capacity(self.equations.len());
        let mut fracs = Vec::with_capacity(self.equations.len());
        for eq in &self.equations {
            let mut eq_products = Vec::with_capacity(eq.terms.len());
            let mut eq_fracs = Vec::with_capacity(eq.terms.len());
            for term in &eq.terms {
                let frac: i32 = term.post.iter().map(|(v, _)| frac_of(*v, scales, 0)).sum();
                let values = (0..n)
                    .map(|c| {
                        term.post.iter().fold(1i64, |acc, &(v, k)| {
                            let f = frac_of(v, scales, 0);
                            acc.saturating_mul(
                                post_value(v, post, c).saturating_add(constant(k, f)),
                            )
                        })
                    })
                    .collect();
                eq_products.push(values);
                eq_fracs.push(frac);
            }
            products.push(eq_products);
            fracs.push(eq_fracs);
        }
        PostProducts { products, fracs }
    }

    /// Run the rule on one row; `pre` is the row's source.
    pub fn apply_row(
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
                        let d = self.delta(
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
                            let d = self.delta(
                                &ctx,
                                ei,
                                eq,
                                SynapseAt::of(targets, weights, tags, old_tags.as_deref(), i),
                                *exponent,
                                frac,
                            );
                            let w = weights[i] as i64 + d;
                            overflow |= w < wmin || w > wmax;
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

    fn delta(
        &self,
        ctx: &EvalCtx,
        ei: usize,
        eq: &PreparedEq,
        at: SynapseAt,
        exponent: i8,
        target_frac: i32,
    ) -> i64 {
        let EvalCtx {
            post,
            pre,
            scales,
            sign,
            key,
        } = *ctx;
        let SynapseAt {
            index: synapse,
            target,
            weight,
            tag,
        } = at;
        // Each term is P · 2^E in target LSBs; sum at the smallest E, then round.
        let mut parts: Vec<(i128, i32)> = Vec::with_capacity(eq.terms.len());
        for (ti, term) in eq.terms.iter().enumerate() {
            let mut p = term.mantissa as i128;
            let mut e = term.shift + target_frac - post.fracs[ei][ti];
            p = p.saturating_mul(post.products[ei][ti].get(target).copied().unwrap_or(0) as i128);
            for &(v, k) in term.pre.iter().chain(&term.syn) {
                let f = frac_of(v, scales, exponent);
                let x = match v {
                    Var::X0 => pre.x0 as i64,
                    Var::X1 => pre.x1 as i64,
                    Var::X2 => pre.x2 as i64,
                    Var::Pre => pre.payload as i64,
                    Var::W => weight as i64,
                    Var::T => tag as i64,
                    Var::Sgn => match sign {
                        SignMode::Excitatory => 1,
                        SignMode::Inhibitory => -1,
                        SignMode::Signed => weight.signum() as i64,
                    },
                    _ => 0,
                };
                p = p.saturating_mul((x.saturating_add(constant(k, f))) as i128);
                e -= f;
            }
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
        if emin >= 0 {
            return shl(sum, emin).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        }
        let bits = (-emin) as u32;
        let r = hash_random(key.seed, key.epoch, key.row, synapse);
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

fn halve(w: i32) -> i32 {
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
