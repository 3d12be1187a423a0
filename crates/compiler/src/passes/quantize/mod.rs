//! Pass 4, quantize: float weights → the chip's fixed point.
//!
//! Decides, per projection, the row format: the weight width (the smallest width the
//! chip supports at which every weight is represented exactly, else the widest; or the
//! width the user forced), the sign mode (`Excitatory`/`Inhibitory` sign-fixed rows for
//! Dale-signed sources, or whenever all weights share a sign and the projection does not
//! learn, which frees the sign bit; `Signed` otherwise), the delay width (the smallest
//! holding the largest delay) and the tag width (the chip's, for learning projections).
//! Per presynaptic neuron it picks the exponent: the finest at which that neuron's
//! largest weight still fits, so every row of a neuron in a projection shares it and the
//! choice does not depend on where the targets are placed.
//!
//! Projections from one source with the same format, learning slot and exponents form a
//! *row class*: their synapses from one neuron onto one core share a row. It reports the
//! relative error `|q − w| / |w|` (max and RMS) over all synapses with `w ≠ 0`.

use crate::context::{
    Compilation, Expanded, Network, ProjectionQuant, Quantization, RowClass, Values,
};
use amine_chip::config::bits_for;
use amine_chip::image::Sign;
use amine_chip::synapse::{choose_exponent, quantize_weight, RowFormat, SignMode};

mod conv;

/// Bits needed to hold the value `v` (0 for 0).
pub fn bits_for_value(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// The weight (in weight units) a mantissa stands for at exponent `e`.
pub fn dequantize(m: i32, e: i8) -> f64 {
    m as f64 * 2f64.powi(e as i32)
}

pub fn run(c: &mut Compilation) -> Result<(), crate::Error> {
    let Some(net) = c.net.as_ref() else {
        return Err(crate::Error::internal(
            "quantize",
            vec!["expand did not run".into()],
        ));
    };
    let mut q = Quantization::default();
    row_classes(c, net, &mut q);
    error_figures(c, net, &mut q);
    c.quant = Some(q);
    Ok(())
}

/// Each projection's row format and exponents, grouped into row classes (a shared
/// convolution keeps its own: its rows are shared lists, which no other projection's
/// synapses may join).
fn row_classes(c: &Compilation, net: &Network, q: &mut Quantization) {
    let mut candidates = Vec::new();
    for (i, e) in net.projections.iter().enumerate() {
        let (format, exponents) = match &net.convs[i] {
            Some(cv) => conv::choose_format(c, i, cv),
            None => choose_format(c, i, e),
        };
        candidates.push((format, exponents));
    }
    for (i, (format, exponents)) in candidates.into_iter().enumerate() {
        let e = &net.projections[i];
        let slot = slot_of(c, i);
        let shared = net.shared(i).is_some();
        let found = q.classes.iter_mut().position(|cl| {
            cl.source == e.pre
                && cl.format == format
                && cl.slot == slot
                && slot.is_none()
                && !shared
                && cl.projections.iter().all(|&p| net.shared(p).is_none())
                && compatible(&cl.exponents, &exponents, e, &cl.projections, net)
        });
        match found {
            Some(k) => {
                let cl = &mut q.classes[k];
                for (a, x) in exponents.iter().enumerate() {
                    if !e.range(a).is_empty() {
                        cl.exponents[a] = *x;
                    }
                }
                cl.projections.push(i);
                q.class_of.push(k);
            }
            None => {
                q.class_of.push(q.classes.len());
                q.classes.push(RowClass {
                    source: e.pre,
                    projections: vec![i],
                    format,
                    exponents,
                    slot,
                });
            }
        }
    }
}

/// The error figures of every projection and of the program, with the final (class)
/// exponents.
fn error_figures(c: &Compilation, net: &Network, q: &mut Quantization) {
    let (mut sum_sq, mut max, mut n, mut exact) = (0.0f64, 0.0f64, 0u64, 0u64);
    for i in 0..net.projections.len() {
        let cl = &q.classes[q.class_of[i]];
        let t = tally(net, i, cl);
        let (psq, pmax, pn, pexact, count) = (t.sum_sq, t.max, t.n, t.exact, t.count);
        let pr = &c.program.projections[i];
        q.projections.push(ProjectionQuant {
            name: pr.name(),
            weight_bits: cl.format.weight_bits,
            sign: format!("{:?}", cl.format.sign),
            delay_bits: cl.format.delay_bits,
            synapses: count,
            exact: pexact == count,
            max_rel_error: pmax,
            rms_rel_error: if pn > 0 {
                (psq / pn as f64).sqrt()
            } else {
                0.0
            },
        });
        sum_sq += psq;
        max = max.max(pmax);
        n += pn;
        exact += pexact;
        q.synapses += count;
    }
    q.max_rel_error = max;
    q.rms_rel_error = if n > 0 {
        (sum_sq / n as f64).sqrt()
    } else {
        0.0
    };
    q.exact = exact;
}

/// Projection `i`'s relative errors stored in row class `cl`.
fn tally(net: &Network, i: usize, cl: &RowClass) -> Tally {
    let e = &net.projections[i];
    let mut t = Tally::default();
    let quantized = |w: f64, exp: i8| dequantize(quantize_weight(w, &cl.format, exp), exp);
    if let Some(cv) = &net.convs[i] {
        // The same figures in either form: over the convolution's synapses.
        cv.for_each(|a, _, w| t.add(w, quantized(w, cl.exponents[a as usize]), 1));
    } else {
        for a in 0..e.offsets.len() - 1 {
            let exp = cl.exponents[a];
            // A constant weight has one error per row: count it once, weighted.
            match &e.weights {
                Values::Const(w) => t.add(*w, quantized(*w, exp), e.range(a).len() as u64),
                Values::Each(ws) => e
                    .range(a)
                    .for_each(|s| t.add(ws[s], quantized(ws[s], exp), 1)),
            }
        }
    }
    t
}

/// Relative-error figures over synapses: `add(w, q, k)` counts `k` synapses of weight
/// `w` stored as `q`.
#[derive(Default)]
struct Tally {
    sum_sq: f64,
    max: f64,
    /// Synapses with a non-zero weight, all synapses, and those stored exactly.
    n: u64,
    count: u64,
    exact: u64,
}

impl Tally {
    fn add(&mut self, w: f64, q: f64, k: u64) {
        self.count += k;
        if q == w {
            self.exact += k;
        }
        if w != 0.0 && k > 0 {
            let r = ((q - w) / w).abs();
            self.sum_sq += r * r * k as f64;
            self.max = self.max.max(r);
            self.n += k;
        }
    }
}

/// The learning slot of projection `i` (slots number the learning projections in
/// program order), if it learns.
pub fn slot_of(c: &Compilation, i: usize) -> Option<u16> {
    c.program.projections[i].learning.as_ref()?;
    let before = c.program.projections[..i]
        .iter()
        .filter(|p| p.learning.is_some())
        .count();
    Some(before as u16)
}

/// The weight headroom of an `eprop` projection (its `headroom` parameter, default 4),
/// `None` for any other projection.
pub fn eprop_headroom(pr: &crate::program::Projection) -> Option<f64> {
    let l = pr.learning.as_ref()?;
    (l.rule.trim() == crate::program::eprop::RULE)
        .then(|| l.params.get("headroom").copied().unwrap_or(4.0))
}

/// Exponents agree wherever both the class and the new projection have synapses.
fn compatible(
    class_exps: &[i8],
    exps: &[i8],
    e: &Expanded,
    class_projections: &[usize],
    net: &crate::context::Network,
) -> bool {
    (0..exps.len()).all(|a| {
        e.range(a).is_empty()
            || class_exps[a] == exps[a]
            || class_projections
                .iter()
                .all(|&p| net.projections[p].range(a).is_empty())
    })
}

/// Row format and per-neuron exponents of projection `i`.
fn choose_format(c: &Compilation, i: usize, e: &Expanded) -> (RowFormat, Vec<i8>) {
    let core = &c.chip.core;
    let pr = &c.program.projections[i];
    let learns = slot_of(c, i).is_some();
    let all = |f: &dyn Fn(f64) -> bool| match &e.weights {
        Values::Const(w) => f(*w),
        Values::Each(ws) => ws.iter().all(|&w| f(w)),
    };
    let sign = match pr.sign_with(c.nodes[e.pre].sign) {
        Sign::Excitatory => SignMode::Excitatory,
        Sign::Inhibitory => SignMode::Inhibitory,
        Sign::Mixed if learns => SignMode::Signed,
        Sign::Mixed if all(&|w| w >= 0.0) => SignMode::Excitatory,
        Sign::Mixed if all(&|w| w <= 0.0) => SignMode::Inhibitory,
        Sign::Mixed => SignMode::Signed,
    };
    let max_delay = match &e.delays {
        Values::Const(d) => *d,
        Values::Each(ds) => ds.iter().copied().max().unwrap_or(0),
    };
    let mut format = RowFormat {
        index_bits: bits_for(core.compartments) as u8,
        weight_bits: 0,
        sign,
        delay_bits: bits_for_value(max_delay as u64) as u8,
        tag_bits: if learns {
            c.chip.learning.tag_bits.min(core.max_tag_bits)
        } else {
            0
        },
    };
    let mut widths: Vec<u8> = match pr.weight_bits {
        Some(b) => vec![b],
        None => core.weight_bits.clone(),
    };
    widths.sort_unstable();
    widths.dedup();
    // Learning needs headroom: give plastic projections the widest width.
    if learns && pr.weight_bits.is_none() {
        widths = widths.last().copied().into_iter().collect();
    }
    let widest = widths.last().copied().unwrap_or(1);
    if let Some(headroom) = eprop_headroom(pr) {
        // e-prop: one exponent for the whole projection, with room for the weights to
        // grow to `headroom` times the largest initial one.
        format.weight_bits = widest;
        let max = (0..e.synapses())
            .map(|s| e.weights.get(s).abs())
            .fold(0.0, f64::max);
        let (lo, hi) = (
            c.chip.core.weight_exponent_min,
            c.chip.core.weight_exponent_max,
        );
        let x = choose_exponent(headroom * max, &format, lo, hi);
        return (format, vec![x; e.offsets.len() - 1]);
    }
    for &b in &widths {
        format.weight_bits = b;
        if let Some(exps) = exponents(c, e, &format, true) {
            return (format, exps);
        }
    }
    format.weight_bits = widest;
    let exps = exponents(c, e, &format, false).unwrap_or_default();
    (format, exps)
}

/// Per-neuron exponents at this format; with `exact`, `None` as soon as a weight is not
/// represented exactly.
fn exponents(c: &Compilation, e: &Expanded, format: &RowFormat, exact: bool) -> Option<Vec<i8>> {
    let (lo, hi) = (
        c.chip.core.weight_exponent_min,
        c.chip.core.weight_exponent_max,
    );
    let npre = e.offsets.len() - 1;
    let exact_at = |w: f64, x: i8| dequantize(quantize_weight(w, format, x), x) == w;
    if let Values::Const(w) = e.weights {
        let x = choose_exponent(w.abs(), format, lo, hi);
        if exact && !exact_at(w, x) {
            return None;
        }
        return Some(vec![x; npre]);
    }
    let mut out = Vec::with_capacity(npre);
    for a in 0..npre {
        let r = e.range(a);
        let max = r
            .clone()
            .map(|s| e.weights.get(s).abs())
            .fold(0.0, f64::max);
        let x = choose_exponent(max, format, lo, hi);
        if exact && !r.into_iter().all(|s| exact_at(e.weights.get(s), x)) {
            return None;
        }
        out.push(x);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_for_values() {
        assert_eq!(bits_for_value(0), 0);
        assert_eq!(bits_for_value(1), 1);
        assert_eq!(bits_for_value(62), 6);
        assert_eq!(bits_for_value(63), 6);
        assert_eq!(bits_for_value(64), 7);
    }

    #[test]
    fn dequantize_scales_by_the_exponent() {
        assert_eq!(dequantize(5, 2), 20.0);
        assert_eq!(dequantize(-3, -1), -1.5);
    }

    use crate::testutil::*;

    fn quant(weight: &str, sign: &str, extra: &str) -> crate::context::ProjectionQuant {
        let text = program(
            &[pop("a", 20, sign), pop("b", 20, "Mixed")],
            "",
            &format!(
                r#"(from: "a", to: "b", connect: Random(p: 0.5), weight: Some({weight}){extra})"#
            ),
        );
        let out = compile_text(&text, &chip(|_| {})).unwrap();
        out.compilation.quant.unwrap().projections[0].clone()
    }

    #[test]
    fn smallest_exact_width_is_chosen() {
        // 4 = 1 << 2: one magnitude bit with exponent 2.
        let q = quant("Const(4.0)", "Excitatory", "");
        assert_eq!(
            (q.weight_bits, q.sign.as_str(), q.exact),
            (1, "Excitatory", true)
        );
        // 20 = 5 << 2 needs three magnitude bits (tiny has no 3-bit width: 4); the
        // sign lives in the row.
        let q = quant("Const(-20.0)", "Inhibitory", "");
        assert_eq!(
            (q.weight_bits, q.sign.as_str(), q.exact),
            (4, "Inhibitory", true)
        );
    }

    #[test]
    fn inexact_weights_get_the_widest_width_and_an_error_figure() {
        let q = quant("Uniform(low: -1.0, high: 1.0)", "Mixed", "");
        assert_eq!((q.weight_bits, q.sign.as_str()), (9, "Signed"));
        assert!(
            !q.exact && q.max_rel_error > 0.0 && q.rms_rel_error <= q.max_rel_error,
            "{q:?}"
        );
    }

    #[test]
    fn forced_width_is_kept() {
        let q = quant("Const(0.3)", "Mixed", ", weight_bits: Some(2)");
        assert_eq!(q.weight_bits, 2);
        // 0.3 with 2 magnitude bits: finest exponent holding 0.3 is -3 (0.3·8 = 2.4 → 2),
        // so 0.25 is stored: relative error 1/6.
        assert!(
            (q.max_rel_error - (0.3f64 - 0.25).abs() / 0.3).abs() < 1e-12,
            "{q:?}"
        );
    }
}
