//! The sigprop learning unit's arithmetic (`learning.sigprop` of the chip
//! configuration, [`crate::config::sigprop`]): the one place a layer's contrastive
//! sigprop loss is computed in fixed point.
//!
//! For a layer with the sample's responses `h` and the latched responses `t_k` to each
//! class's context (all unsigned words with `F = response_bits` fractional bits), and
//! the sample's class `y`:
//!
//! ```text
//! d_k = Σ_j (h_j − t_kj)²                       exact, in units of 2^−2F
//! p_k = softmax_k(−(β/2)·d_k)                   Q0.P, P = prob_bits
//! pull_j = β·(t_yj − Σ_k p_k t_kj)              −∂L/∂h_j, Q.(P+F)
//! coef_k = β·(δ_ky − p_k)                       −∂L/∂t_k = coef_k·(h − t_k), Q.P
//! ```
//!
//! `L = −log p_y` is the layer loss of Kohan, Rietman, Siegelmann, "Signal
//! Propagation" (arXiv 2204.01723), as `amine_tasks::ff` computes it in f64. The
//! exponential is `e^−x = 2^−n · e^−r` with `r = x − n·ln 2 ∈ [0, ln 2)` and a
//! 12-term Taylor series for `e^−r`, all in Q.32 integers, so the result does not
//! depend on the platform's libm.

use crate::config::sigprop::SigpropEvents;
pub use crate::image::sigprop::SigpropOwnClass;

/// Fractional bits of the exponential's internal arithmetic.
const EXP_FRAC: u32 = 32;
/// ln 2 in Q.32 (0.693147180559945309… · 2^32, rounded).
const LN2_Q32: u128 = 2_977_044_472;

/// A layer's sigprop learning signals, in fixed point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSignals {
    /// Softmax probability of each class, Q0.`prob_bits`.
    pub probs: Vec<u32>,
    /// Per unit, `β(t_y − Σ_k p_k t_k)` with `prob_bits + response_bits` fractional bits.
    pub pull: Vec<i64>,
    /// Per class, `β(δ_ky − p_k)` with `prob_bits` fractional bits.
    pub coef: Vec<i64>,
    /// The unit's events for this layer and sample.
    pub events: SigpropEvents,
}

/// `e^−x` for `x ≥ 0` given in Q.32, as Q.32 (1.0 is `1 << 32`).
pub fn exp_neg_q32(x: u128) -> u128 {
    let n = x / LN2_Q32;
    if n >= 64 {
        return 0;
    }
    let r = x - n * LN2_Q32;
    // Horner: e^−r = 1 − r(1 − r/2(1 − r/3(…))).
    let one: i128 = 1 << EXP_FRAC;
    let r = r as i128;
    let mut acc = one;
    for i in (1..=12i128).rev() {
        acc = one - ((r * acc) >> EXP_FRAC) / i;
    }
    (acc.max(0) as u128) >> n
}

/// The sample's own class in the softmax: its `per_class` contexts (rows
/// `⌊label/K⌋·K ..`, the target `label` among them) and what the loss makes of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnClass {
    pub per_class: usize,
    pub treat: SigpropOwnClass,
}

impl OwnClass {
    /// One context a class, the plain loss `−log p_y`.
    pub const PLAIN: OwnClass = OwnClass {
        per_class: 1,
        treat: SigpropOwnClass::Negatives,
    };
}

/// The learning signals of one layer. `responses` holds the sample's `units` responses,
/// `contexts` the `classes × units` latched context responses, row by row; `label` is
/// the sample's (target) context, `beta` the integer contrast, `own` its class's
/// contexts and their treatment: with [`SigpropOwnClass::Excluded`] the class's other
/// contexts get `p = 0` (masked before the sum); with [`SigpropOwnClass::Pooled`] the
/// pull's weights are `q_k = e_k / Σ_{k∈own} e_k` over the class's contexts (one more
/// normalisation, `K` more terms a unit) and `pull_j = β·(Σ_k q_k t_kj − Σ_k p_k t_kj)`,
/// `coef_k = β·(q_k − p_k)`; otherwise `q` is 1 at the target. Lengths must agree and
/// `label` be a context: the compiler's checks
/// ([`crate::config::sigprop::SigpropNeeds`]) guarantee the widths.
pub fn layer_signals(
    responses: &[u16],
    contexts: &[u16],
    label: usize,
    beta: u32,
    (response_bits, prob_bits): (u8, u8),
    own: OwnClass,
) -> LayerSignals {
    let units = responses.len();
    let classes = contexts.len() / units.max(1);
    debug_assert_eq!(classes * units, contexts.len());
    debug_assert!(label < classes);
    let row = |k: usize| &contexts[k * units..(k + 1) * units];
    let dist = distances(responses, contexts);
    let d_min = dist.iter().copied().min().unwrap_or(0);
    // (β/2)(d_k − d_min) in Q.32: d is in units of 2^−2F.
    let shift = 2 * u32::from(response_bits) + 1;
    let e: Vec<u128> = dist
        .iter()
        .map(|&d| {
            let x = u128::from(beta) * u128::from(d - d_min);
            let x = if shift >= EXP_FRAC {
                x >> (shift - EXP_FRAC)
            } else {
                x << (EXP_FRAC - shift)
            };
            exp_neg_q32(x)
        })
        .collect();
    let k = own.per_class.max(1);
    let first = (label / k * k).min(classes);
    let mine = first..(first + k).min(classes);
    let mut e = e;
    if own.treat == SigpropOwnClass::Excluded {
        mine.clone().filter(|&i| i != label).for_each(|i| e[i] = 0);
    }
    let total: u128 = e.iter().sum();
    let p_one = 1u128 << prob_bits;
    let probs: Vec<u32> = e
        .iter()
        .map(|&v| ((v * p_one + total / 2) / total) as u32)
        .collect();
    // The pull's weights over the own class's contexts, Q0.`prob_bits`.
    let pooled = own.treat == SigpropOwnClass::Pooled;
    let own_total: u128 = e[mine.clone()].iter().sum();
    // (A class whose terms all underflow is pulled to the target alone.)
    let pooled = pooled && own_total > 0;
    let q = |i: usize| -> i64 {
        if pooled && mine.contains(&i) {
            ((e[i] * p_one + own_total / 2) / own_total.max(1)) as i64
        } else {
            i64::from(i == label) << prob_bits
        }
    };
    let beta = i64::from(beta);
    let pull = (0..units)
        .map(|j| {
            let mix: i64 = (0..classes)
                .map(|k| i64::from(probs[k]) * i64::from(row(k)[j]))
                .sum();
            let toward: i64 = mine.clone().map(|k| q(k) * i64::from(row(k)[j])).sum();
            beta * (toward - mix)
        })
        .collect();
    let coef = (0..classes)
        .map(|k| beta * (q(k) - i64::from(probs[k])))
        .collect();
    let (c, u) = (classes as u64, units as u64);
    // Pooling normalises the class's `K` terms once more and weighs `K` rows a unit.
    let extra = if pooled { mine.len() as u64 } else { 0 };
    LayerSignals {
        probs,
        pull,
        coef,
        events: SigpropEvents {
            latches: c * u,
            distance_terms: c * u,
            softmax_classes: c + extra,
            pull_terms: (c + extra) * u,
        },
    }
}

/// The squared distance of `responses` to each latched row of `contexts`, exact, in
/// units of 2^−2F.
pub fn distances(responses: &[u16], contexts: &[u16]) -> Vec<u64> {
    contexts
        .chunks(responses.len().max(1))
        .map(|t| {
            responses
                .iter()
                .zip(t)
                .map(|(&h, &t)| (i64::from(h) - i64::from(t)).unsigned_abs().pow(2))
                .sum()
        })
        .collect()
}

/// The context path's term of one sample, added into `acc` (`classes × units`, row by
/// row, Q.(P+F) like the pull): `acc[k][j] += coef_k·(h_j − t_kj)`, i.e. `−∂L/∂t_k,j`,
/// summed over a mini-batch in the register file beside the latched response. Returns
/// the multiply-accumulates (one per class and unit).
pub fn accumulate_context_terms(
    responses: &[u16],
    contexts: &[u16],
    coef: &[i64],
    acc: &mut [i64],
) -> u64 {
    let units = responses.len();
    for (k, &c) in coef.iter().enumerate() {
        let row = &contexts[k * units..(k + 1) * units];
        for ((a, &h), &t) in acc[k * units..(k + 1) * units]
            .iter_mut()
            .zip(responses)
            .zip(row)
        {
            *a = a.saturating_add(c * (i64::from(h) - i64::from(t)));
        }
    }
    (coef.len() * units) as u64
}

/// A Q.`from` value (`from` fractional bits) in Q.`to`, rounded half up, saturated to
/// an i32 register.
pub fn requantise(v: i64, from: u32, to: u32) -> i32 {
    let w = if from > to {
        let s = from - to;
        (v + (1i64 << (s - 1))) >> s
    } else {
        v.saturating_mul(1i64 << (to - from).min(62))
    };
    w.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// The class whose latched response is nearest `responses` (lowest index on ties), and
/// the distance terms it took.
pub fn nearest_context(responses: &[u16], contexts: &[u16]) -> (usize, u64) {
    nearest_context_summed(&[(responses, contexts)])
}

/// The class whose squared distances, summed over `layers` (each a layer's responses and
/// its latched contexts), are smallest (lowest index on ties), and the distance terms
/// it took. The sums are exact (u64).
pub fn nearest_context_summed(layers: &[(&[u16], &[u16])]) -> (usize, u64) {
    let mut total: Vec<u64> = Vec::new();
    let mut terms = 0u64;
    for &(responses, contexts) in layers {
        let d = distances(responses, contexts);
        if total.is_empty() {
            total = d;
        } else {
            total
                .iter_mut()
                .zip(d)
                .for_each(|(t, d)| *t = t.saturating_add(d));
        }
        terms += contexts.len() as u64;
    }
    let best = total
        .into_iter()
        .enumerate()
        .min_by_key(|&(k, d)| (d, k))
        .map_or(0, |(k, _)| k);
    (best, terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_matches_libm_to_a_few_ulps_of_q32() {
        for &x in &[0.0, 1e-6, 0.3, 0.693, 0.7, 1.0, 2.5, 7.0, 20.0, 40.0] {
            let q = (x * 2f64.powi(32)).round() as u128;
            let got = exp_neg_q32(q) as f64 / 2f64.powi(32);
            assert!((got - (-x).exp()).abs() < 4e-9, "x = {x}: {got}");
        }
        assert_eq!(exp_neg_q32(0), 1 << 32);
        assert_eq!(exp_neg_q32(u128::from(u64::MAX)), 0);
    }

    /// The f64 layer loss's gradients, written from the formulas in
    /// docs/sigprop.md, independently of the fixed-point code.
    fn float_signals(h: &[f64], t: &[Vec<f64>], y: usize, beta: f64) -> (Vec<f64>, Vec<f64>) {
        let logits: Vec<f64> = t
            .iter()
            .map(|tk| {
                let d: f64 = h.iter().zip(tk).map(|(a, b)| (a - b) * (a - b)).sum();
                -beta / 2.0 * d
            })
            .collect();
        let m = logits.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
        let p: Vec<f64> = logits.iter().map(|l| (l - m).exp() / z).collect();
        let pull = (0..h.len())
            .map(|j| beta * (t[y][j] - (0..t.len()).map(|k| p[k] * t[k][j]).sum::<f64>()))
            .collect();
        (p, pull)
    }

    /// A fixed pseudo-random layer from a 64-bit LCG seeded `s`: `units` responses,
    /// then `rows × units` context responses, 8-bit.
    fn lcg_layer(mut s: u64, units: usize, rows: usize) -> (Vec<u16>, Vec<u16>) {
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) % 256) as u16
        };
        let h: Vec<u16> = (0..units).map(|_| next()).collect();
        let ctx: Vec<u16> = (0..rows * units).map(|_| next()).collect();
        (h, ctx)
    }

    /// A layer's 8-bit responses and context rows (one per `h.len()` values) as reals.
    fn reals(h: &[u16], ctx: &[u16]) -> (Vec<f64>, Vec<Vec<f64>>) {
        let real = |v: u16| f64::from(v) / 256.0;
        let rows = ctx.chunks(h.len().max(1));
        (
            h.iter().map(|&v| real(v)).collect(),
            rows.map(|r| r.iter().map(|&v| real(v)).collect()).collect(),
        )
    }

    #[test]
    fn signals_match_the_float_loss_within_rounding() {
        let (units, classes, f, pb) = (24usize, 10usize, 8u8, 16u8);
        let (h, ctx) = lcg_layer(0x9E37_79B9_7F4A_7C15, units, classes);
        for (label, beta) in [(0usize, 1u32), (3, 4), (9, 16)] {
            let sig = layer_signals(&h, &ctx, label, beta, (f, pb), OwnClass::PLAIN);
            let (hf, tf) = reals(&h, &ctx);
            let (p, pull) = float_signals(&hf, &tf, label, f64::from(beta));
            let lsb = 2f64.powi(-i32::from(pb));
            for (k, &pk) in p.iter().enumerate() {
                let got = f64::from(sig.probs[k]) * lsb;
                assert!((got - pk).abs() <= 2.0 * lsb, "p[{k}] {got} vs {pk}");
                let want_c = f64::from(beta) * (f64::from(u8::from(k == label)) - pk);
                let got_c = sig.coef[k] as f64 * lsb;
                assert!((got_c - want_c).abs() <= 2.0 * lsb * f64::from(beta));
            }
            let plsb = 2f64.powi(-i32::from(pb + f));
            let tol = 2.0 * lsb * f64::from(beta) * classes as f64;
            for (j, &want) in pull.iter().enumerate() {
                let got = sig.pull[j] as f64 * plsb;
                assert!((got - want).abs() <= tol, "pull[{j}] {got} vs {want}");
            }
            assert_eq!(sig.events.latches, (classes * units) as u64);
            assert_eq!(sig.events.softmax_classes, classes as u64);
        }
    }

    /// The float `p` and pull weights `q` of a treatment (`own`: the class's contexts,
    /// `label` the target): excluded contexts get no probability; pooled weighs the
    /// class's contexts by `p / Σ_{own} p`, the others the target alone.
    fn float_own(
        hf: &[f64],
        tf: &[Vec<f64>],
        label: usize,
        own: std::ops::Range<usize>,
        treat: SigpropOwnClass,
        b: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let contexts = tf.len();
        let kept: Vec<usize> = (0..contexts)
            .filter(|&k| treat == SigpropOwnClass::Pooled || !own.contains(&k) || k == label)
            .collect();
        let sub: Vec<Vec<f64>> = kept.iter().map(|&k| tf[k].clone()).collect();
        let (ps, _) = float_signals(hf, &sub, 0, b);
        let mut p = vec![0.0; contexts];
        kept.iter().zip(&ps).for_each(|(&k, &v)| p[k] = v);
        let mut q = vec![0.0; contexts];
        if treat == SigpropOwnClass::Pooled {
            let py: f64 = p[own.clone()].iter().sum();
            own.for_each(|k| q[k] = p[k] / py);
        } else {
            q[label] = 1.0;
        }
        (p, q)
    }

    /// Excluded and pooled own-class treatments against the float loss, written here:
    /// excluded is the plain loss over the contexts without the own class's others;
    /// pooled has `p` over all, `q = p / Σ_{own} p` on the own class, `pull = β·(Σ q t −
    /// Σ p t)`, `coef = β·(q − p)`. Five classes of three contexts, target context 7
    /// (class 2: contexts 6, 7, 8).
    #[test]
    fn own_class_treatments_match_their_float_losses() {
        let (units, contexts, f, pb, beta) = (12usize, 15usize, 8u8, 16u8, 4u32);
        let (h, ctx) = lcg_layer(0x2545_F491_4F6C_DD1D, units, contexts);
        let (hf, tf) = reals(&h, &ctx);
        let (label, own) = (7usize, 6..9usize);
        let b = f64::from(beta);
        let lsb = 2f64.powi(-i32::from(pb));
        let plsb = 2f64.powi(-i32::from(pb + f));
        for treat in [SigpropOwnClass::Excluded, SigpropOwnClass::Pooled] {
            let own_class = OwnClass {
                per_class: 3,
                treat,
            };
            let sig = layer_signals(&h, &ctx, label, beta, (f, pb), own_class);
            let (p, q) = float_own(&hf, &tf, label, own.clone(), treat, b);
            for k in 0..contexts {
                let got = f64::from(sig.probs[k]) * lsb;
                assert!(
                    (got - p[k]).abs() <= 2.0 * lsb,
                    "{treat:?} p[{k}] {got} vs {}",
                    p[k]
                );
                let got_c = sig.coef[k] as f64 * lsb;
                let want_c = b * (q[k] - p[k]);
                assert!(
                    (got_c - want_c).abs() <= 3.0 * lsb * b,
                    "{treat:?} coef[{k}] {got_c} vs {want_c}"
                );
            }
            for (j, &pull) in sig.pull.iter().enumerate() {
                let want: f64 = b * (0..contexts).map(|k| (q[k] - p[k]) * tf[k][j]).sum::<f64>();
                let got = pull as f64 * plsb;
                assert!(
                    (got - want).abs() <= 3.0 * lsb * b * contexts as f64,
                    "{treat:?} pull[{j}] {got} vs {want}"
                );
            }
            // Pooling normalises the class's three terms once more.
            let extra = if treat == SigpropOwnClass::Pooled {
                3
            } else {
                0
            };
            assert_eq!(sig.events.softmax_classes, (contexts + extra) as u64);
        }
        // The pooled pull differs from the plain one (the target's class mates pull too).
        let with = |per_class, treat| {
            layer_signals(
                &h,
                &ctx,
                label,
                beta,
                (f, pb),
                OwnClass { per_class, treat },
            )
        };
        let plain = with(3, SigpropOwnClass::Negatives);
        assert_ne!(plain.pull, with(3, SigpropOwnClass::Pooled).pull);
        assert_eq!(plain, with(1, SigpropOwnClass::Negatives));
    }

    #[test]
    fn the_nearest_context_wins_and_its_pull_vanishes() {
        // Two classes, one unit: the sample sits on class 1's context.
        let sig = layer_signals(&[200], &[0, 200], 1, 16, (8, 16), OwnClass::PLAIN);
        assert!(sig.probs[1] > sig.probs[0]);
        // p_1 ≈ 1/(1 + e^−(16/2)·(200/256)²) = 0.9929…; the pull is β·p_0·(200 − 0)/256.
        let p0 = 1.0 / (1.0 + (8.0f64 * (200.0f64 / 256.0).powi(2)).exp());
        let want = 16.0 * p0 * 200.0 / 256.0;
        let got = sig.pull[0] as f64 / 2f64.powi(24);
        assert!((got - want).abs() < 1e-3, "{got} vs {want}");
    }
}
