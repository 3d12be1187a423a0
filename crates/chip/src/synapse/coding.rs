//! How a row stores its targets: *sparse* (every entry holds its target index,
//! `index_bits` wide) or *delta* (run-length coded: the row's targets are sorted and
//! each entry holds the distance to the previous target, the first one its distance
//! from compartment 0, in the row's `delta_bits`).
//!
//! Loihi's synapse memory supports several encodings of a synapse list besides the
//! sparse one (Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip
//! Learning", IEEE Micro 38(1), 2018: sparse, dense and run-length-compressed
//! formats). The layout here — the index field replaced by a per-row delta field, the
//! other fields unchanged, every entry the same width — is an amine assumption; Intel
//! has not published the bit layout.
//!
//! Every entry keeps a fixed width, so entry `i` stays at a fixed offset and
//! `set_weight` / `set_tag` by index work on both codings; reading the targets is a
//! prefix sum over the deltas.

use super::{RowFormat, Synapse};
use serde::{Deserialize, Serialize};

/// How the target field of a row's entries is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TargetCoding {
    /// Each entry holds its target, `index_bits` wide.
    #[default]
    Sparse,
    /// Targets sorted (non-decreasing); each entry holds the distance from the
    /// previous target (the first: from 0), `delta_bits` wide.
    Delta { delta_bits: u8 },
}

impl TargetCoding {
    /// Width of the target field of one entry.
    pub fn target_bits(&self, format: &RowFormat) -> u32 {
        match self {
            TargetCoding::Sparse => format.index_bits as u32,
            TargetCoding::Delta { delta_bits } => *delta_bits as u32,
        }
    }

    /// Bits of one entry: the format's entry with its target field in this coding.
    pub fn entry_bits(&self, format: &RowFormat) -> u32 {
        format.entry_bits() - format.index_bits as u32 + self.target_bits(format)
    }

    /// The format whose `index_bits` is this coding's target field width: the layout
    /// of the raw entry bits (for `Delta` the "target" it decodes is a delta).
    pub(super) fn layout(&self, format: &RowFormat) -> RowFormat {
        RowFormat {
            index_bits: self.target_bits(format).min(u8::MAX as u32) as u8,
            ..*format
        }
    }
}

/// Bits a row of `len` entries of this format and coding occupies, padded to whole
/// `word_bits`-bit words (`word_bits` clamped to `1..=64`). The one formula for the
/// memory a row takes: the memory charges it, the compiler packs and picks by it.
#[inline]
pub fn row_bits(word_bits: u32, format: &RowFormat, coding: TargetCoding, len: u32) -> u64 {
    let wb = word_bits.clamp(1, 64) as u64;
    let bits = len as u64 * coding.entry_bits(format) as u64;
    if wb.is_power_of_two() {
        // The packer calls this once a synapse: a mask, not a division.
        (bits + wb - 1) & !(wb - 1)
    } else {
        bits.div_ceil(wb) * wb
    }
}

/// The delta width (at least 1 bit) that codes a widest delta of `widest`.
#[inline]
pub fn delta_width(widest: u32) -> u8 {
    (32 - widest.leading_zeros()).max(1) as u8
}

/// The smallest delta width that codes `targets` (each delta from the previous
/// target, the first from 0; at least 1 bit), or `None` if they are not sorted.
pub fn delta_bits_of(targets: impl IntoIterator<Item = u32>) -> Option<u8> {
    let (mut prev, mut widest) = (0u32, 0u32);
    for t in targets {
        widest = widest.max(t.checked_sub(prev)?);
        prev = t;
    }
    Some(delta_width(widest))
}

/// The coding with the fewest bits for a row of these synapses: `Delta` if the chip
/// supports it (`max_delta_bits` is `Some`), the targets are sorted, their widest
/// delta fits `max_delta_bits` and the row takes fewer words than sparse; else `Sparse`.
pub fn best_coding(
    word_bits: u32,
    format: &RowFormat,
    max_delta_bits: Option<u8>,
    synapses: &[Synapse],
) -> TargetCoding {
    if max_delta_bits.is_none() {
        return TargetCoding::Sparse;
    }
    let len = u32::try_from(synapses.len()).unwrap_or(u32::MAX);
    let delta = delta_bits_of(synapses.iter().map(|s| s.target));
    pick_coding(word_bits, format, max_delta_bits, len, delta)
}

/// [`best_coding`] from a row's length and the delta width its sorted targets need
/// (`None`: not sorted): the one rule for choosing a coding, for rows the compiler
/// only counts (partition books, verify recounts) as for rows it writes.
#[inline]
pub fn pick_coding(
    word_bits: u32,
    format: &RowFormat,
    max_delta_bits: Option<u8>,
    len: u32,
    delta_bits: Option<u8>,
) -> TargetCoding {
    pick_row(word_bits, format, max_delta_bits, len, delta_bits).0
}

/// [`pick_coding`] and the [`row_bits`] of the row in that coding.
#[inline]
pub fn pick_row(
    word_bits: u32,
    format: &RowFormat,
    max_delta_bits: Option<u8>,
    len: u32,
    delta_bits: Option<u8>,
) -> (TargetCoding, u64) {
    let sparse = TargetCoding::Sparse;
    let sparse_bits = row_bits(word_bits, format, sparse, len);
    match (max_delta_bits, delta_bits) {
        (Some(max), Some(d)) if d <= max && d <= format.index_bits => {
            let delta = TargetCoding::Delta { delta_bits: d };
            let delta_bits = row_bits(word_bits, format, delta, len);
            if delta_bits < sparse_bits {
                (delta, delta_bits)
            } else {
                (sparse, sparse_bits)
            }
        }
        _ => (sparse, sparse_bits),
    }
}
