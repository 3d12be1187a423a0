//! The row format of a convolution, chosen from its kernel so that both forms — shared
//! lists and expanded rows — store exactly the same quantized weights.
//!
//! The exponent belongs to an input channel (an atom of the shared lists): the finest that
//! holds the largest weight of that channel's kernel slice, given to every neuron of the
//! channel. The width is the smallest at which every kernel value is exact at its
//! channel's exponent, else the widest (or the forced one); the sign mode is sign-fixed
//! when the source is Dale-signed or every kernel value has one sign.

use super::{bits_for_value, dequantize, slot_of};
use crate::context::Compilation;
use crate::conv::Conv;
use amine_chip::config::bits_for;
use amine_chip::image::Sign;
use amine_chip::synapse::{choose_exponent, quantize_weight, RowFormat, SignMode};

/// Row format and per-source-neuron exponents of convolution projection `i`.
pub(super) fn choose_format(c: &Compilation, i: usize, cv: &Conv) -> (RowFormat, Vec<i8>) {
    let core = &c.chip.core;
    let pr = &c.program.projections[i];
    let pre = c.node(&pr.from).unwrap_or(0);
    let learns = slot_of(c, i).is_some();
    let nonzero = || cv.weights.iter().copied().filter(|w| *w != 0.0);
    let sign = match pr.sign_with(c.nodes[pre].sign) {
        Sign::Excitatory => SignMode::Excitatory,
        Sign::Inhibitory => SignMode::Inhibitory,
        Sign::Mixed if learns => SignMode::Signed,
        Sign::Mixed if nonzero().all(|w| w >= 0.0) => SignMode::Excitatory,
        Sign::Mixed if nonzero().all(|w| w <= 0.0) => SignMode::Inhibitory,
        Sign::Mixed => SignMode::Signed,
    };
    let mut format = RowFormat {
        index_bits: bits_for(core.compartments) as u8,
        weight_bits: 0,
        sign,
        delay_bits: bits_for_value(pr.delay as u64) as u8,
        tag_bits: if learns {
            c.chip.learning.tag_bits.min(core.max_tag_bits)
        } else {
            0
        },
    };
    let mut widths: Vec<u8> = match pr.weight_bits {
        Some(b) => vec![b],
        None if learns => core.weight_bits.iter().copied().max().into_iter().collect(),
        None => core.weight_bits.clone(),
    };
    widths.sort_unstable();
    widths.dedup();
    let (lo, hi) = (core.weight_exponent_min, core.weight_exponent_max);
    let channel_exps = |f: &RowFormat| -> Vec<i8> {
        (0..cv.input.0)
            .map(|ci| choose_exponent(cv.channel_max(ci), f, lo, hi))
            .collect()
    };
    let exact = |f: &RowFormat, exps: &[i8]| {
        (0..cv.input.0).all(|ci| {
            let x = exps[ci as usize];
            cv.out_channels_of(ci).all(|co| {
                (0..cv.kernel.0).all(|ky| {
                    (0..cv.kernel.1).all(|kx| {
                        let w = cv.weight(co, ci, ky, kx);
                        dequantize(quantize_weight(w, f, x), x) == w
                    })
                })
            })
        })
    };
    let mut chosen = None;
    for &b in &widths {
        format.weight_bits = b;
        let exps = channel_exps(&format);
        if exact(&format, &exps) {
            chosen = Some(exps);
            break;
        }
    }
    let exps = match chosen {
        Some(e) => e,
        None => {
            format.weight_bits = widths.last().copied().unwrap_or(1);
            channel_exps(&format)
        }
    };
    // Neuron (ci, y, x) of the source gets its channel's exponent.
    let per_channel = cv.pixels() as usize;
    let neurons = c.nodes[pre].size as usize;
    let per_neuron = (0..neurons)
        .map(|n| exps.get(n / per_channel.max(1)).copied().unwrap_or(lo))
        .collect();
    (format, per_neuron)
}
