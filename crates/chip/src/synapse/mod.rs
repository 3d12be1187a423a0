//! Synapse memory: the bit-packed weight store of one core.
//!
//! # Organisation
//!
//! One *row* per input axon. A row holds `len` entries of one [`RowFormat`], packed
//! back to back with no padding between them, and is then padded up to the next
//! word boundary: reading a row costs exactly [`SynapseMemory::row_words`] word
//! reads, which is what the cost table charges. Rows are laid out in push order
//! with no gaps, so `used_bits` is the end of the last row. A row with no entries
//! occupies no words.
//!
//! Memory bit `k` is bit `k % 64` of `words[k / 64]` (a `BitSlice<u64, Lsb0>`),
//! whatever `word_bits` is: a word is a unit of addressing and cost, not of storage.
//!
//! # Entry layout (LSB first)
//!
//! ```text
//! bit 0                                                               entry_bits-1
//! | target: index_bits | weight: weight_bits | delay: delay_bits | tag: tag_bits |
//! ```
//!
//! Entry `i` of a row starting at word `o` occupies memory bits
//! `o·word_bits + i·entry_bits .. + entry_bits`.
//!
//! - `target`: unsigned compartment index, `< 2^index_bits`.
//! - `weight`: with [`SignMode::Signed`], a `weight_bits`-wide two's-complement
//!   mantissa. With `Excitatory`/`Inhibitory` the field is an unsigned magnitude
//!   and the row supplies the sign (Dale's principle), which buys one bit of range.
//! - `delay`: unsigned, in steps.
//! - `tag`: a `tag_bits`-wide two's-complement eligibility value (0 bits: always 0).
//!
//! # Weight arithmetic
//!
//! Each row carries one exponent `e ∈ −6..=7`. A synapse of mantissa `m` adds
//! `m << (6 + e)` to its target's dendritic accumulator, i.e. a real weight
//! `w = m·2^e` in `a_in` units, scaled by 64 so that `e = −6` still yields whole
//! numbers. [`quantize_weight`] maps `w` to `m = round_half_away(w·2^−e)`, saturated
//! to the format; [`choose_exponent`] picks the smallest (finest) exponent at which
//! the largest weight still fits.
//!
//! Nothing here panics: the checked accessors return [`SynapseError`], and the raw
//! bit reads tolerate a corrupt (e.g. hand-edited, deserialized) memory by reading
//! zeros rather than indexing out of bounds.

#[cfg(test)]
use bitvec::prelude::*;
use serde::{Deserialize, Serialize};

mod checks;
mod coding;
mod error;
#[cfg(test)]
mod tests;
mod weights;

use checks::{check_coding, check_deltas, check_exponent, check_tag, check_unsigned, check_weight};
pub use coding::{
    best_coding, delta_bits_of, delta_width, pick_coding, pick_row, row_bits, TargetCoding,
};
pub use error::{SynapseError, SynapseField};
pub use weights::{choose_exponent, effective_weight, quantize_weight};

/// Widest target index field: 2^20 compartments, the largest core the config allows.
pub const MAX_INDEX_BITS: u8 = 20;
/// Widest weight mantissa field.
pub const MAX_WEIGHT_BITS: u8 = 16;
/// Widest delay field (63 steps), as in `CoreConfig::max_delay_bits`.
pub const MAX_DELAY_BITS: u8 = 6;
/// Widest tag field, as in `CoreConfig::max_tag_bits`.
pub const MAX_TAG_BITS: u8 = 16;
/// Smallest row exponent: `6 + e` must not go negative.
pub const EXPONENT_MIN: i8 = -6;
/// Largest row exponent, as allowed by the config.
pub const EXPONENT_MAX: i8 = 7;

/// How the weight field of a row encodes its sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignMode {
    /// `weight_bits`-wide two's complement.
    Signed,
    /// `weight_bits`-wide magnitude; every weight of the row is `≥ 0`.
    Excitatory,
    /// `weight_bits`-wide magnitude; every weight of the row is `≤ 0`.
    Inhibitory,
}

/// Field widths of every entry of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RowFormat {
    /// Target compartment index width, `1..=20`.
    pub index_bits: u8,
    /// Weight mantissa width, `1..=16` (sign included when `Signed`).
    pub weight_bits: u8,
    pub sign: SignMode,
    /// Delay width, `0..=6`.
    pub delay_bits: u8,
    /// Tag width, `0..=16`.
    pub tag_bits: u8,
}

impl RowFormat {
    /// Bits of one entry: the sum of the four field widths.
    pub fn entry_bits(&self) -> u32 {
        self.index_bits as u32
            + self.weight_bits as u32
            + self.delay_bits as u32
            + self.tag_bits as u32
    }

    /// Smallest and largest mantissa, sign included.
    pub fn weight_range(&self) -> (i32, i32) {
        // Clamped so a malformed format still yields a sane (if useless) range.
        let w = (self.weight_bits as u32).min(31);
        if w == 0 {
            return (0, 0);
        }
        let mag = (1i64 << w) - 1;
        match self.sign {
            SignMode::Signed => (-(1i32 << (w - 1)), (1i32 << (w - 1)) - 1),
            SignMode::Excitatory => (0, mag as i32),
            SignMode::Inhibitory => (-mag as i32, 0),
        }
    }

    /// Smallest and largest tag value.
    pub fn tag_range(&self) -> (i32, i32) {
        signed_range(self.tag_bits)
    }

    /// Checks every width against what the memory supports.
    pub fn validate(&self) -> Result<(), SynapseError> {
        let checks = [
            ("index_bits", self.index_bits, 1, MAX_INDEX_BITS),
            ("weight_bits", self.weight_bits, 1, MAX_WEIGHT_BITS),
            ("delay_bits", self.delay_bits, 0, MAX_DELAY_BITS),
            ("tag_bits", self.tag_bits, 0, MAX_TAG_BITS),
        ];
        for (field, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(SynapseError::InvalidFormat {
                    field,
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(())
    }

    /// Largest weight magnitude every weight of this format's sign can reach. For
    /// `Signed` that is the positive limit, which is one less than the negative one.
    fn max_magnitude(&self) -> i32 {
        let (lo, hi) = self.weight_range();
        match self.sign {
            SignMode::Signed | SignMode::Excitatory => hi,
            SignMode::Inhibitory => -lo,
        }
    }
}

fn signed_range(bits: u8) -> (i32, i32) {
    let b = (bits as u32).min(31);
    if b == 0 {
        (0, 0)
    } else {
        (-(1i32 << (b - 1)), (1i32 << (b - 1)) - 1)
    }
}

/// One decoded entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Synapse {
    /// Target compartment of the core.
    pub target: u32,
    /// Signed mantissa; the row's exponent scales it.
    pub weight: i32,
    /// Delay in steps.
    pub delay: u8,
    /// Signed eligibility tag, `tag_bits` wide.
    pub tag: i32,
}

/// Where a row lives and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub format: RowFormat,
    pub exponent: i8,
    /// First word of the row.
    pub word_offset: u32,
    /// Number of entries.
    pub len: u32,
    /// How the entries code their targets.
    #[serde(default)]
    pub coding: TargetCoding,
}

/// The synapse memory of one core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynapseMemory {
    word_bits: u32,
    capacity_bits: u64,
    /// Exactly `ceil(used_bits / 64)` elements; grows with the rows.
    words: Vec<u64>,
    rows: Vec<Row>,
}

/// A synapse memory decoded for fast simulation, in CSR form: row `r`'s entries
/// are `offsets[r]..offsets[r + 1]` of the other vectors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DecodedRows {
    pub offsets: Vec<u32>,
    pub targets: Vec<u32>,
    /// Effective weights: `mantissa << (6 + exponent)`, ready to add.
    pub weights: Vec<i32>,
    pub delays: Vec<u8>,
}

impl SynapseMemory {
    /// An empty memory of `capacity_bits` bits addressed in `word_bits`-bit words.
    ///
    /// `word_bits` is clamped to `1..=64` (the config only allows 8, 16, 32, 64),
    /// and the capacity to `u32::MAX` words, the most a row offset can address.
    pub fn new(word_bits: u32, capacity_bits: u64) -> Self {
        let word_bits = word_bits.clamp(1, 64);
        let capacity_bits = capacity_bits.min(u32::MAX as u64 * word_bits as u64);
        SynapseMemory {
            word_bits,
            capacity_bits,
            words: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Appends a sparse row (see [`push_row_coded`](Self::push_row_coded)).
    pub fn push_row(
        &mut self,
        format: RowFormat,
        exponent: i8,
        synapses: &[Synapse],
    ) -> Result<u32, SynapseError> {
        self.push_row_coded(format, TargetCoding::Sparse, exponent, synapses)
    }

    /// Appends a row for the next input axon, its targets coded as `coding` says, and
    /// returns its id. A `Delta` row needs `1 ≤ delta_bits ≤ index_bits`, sorted
    /// targets and every delta within `delta_bits`.
    ///
    /// Everything is checked before anything is written, so on error the memory is
    /// unchanged: the format, the exponent, every field of every synapse (the first
    /// offender is reported), then the capacity.
    pub fn push_row_coded(
        &mut self,
        format: RowFormat,
        coding: TargetCoding,
        exponent: i8,
        synapses: &[Synapse],
    ) -> Result<u32, SynapseError> {
        format.validate()?;
        check_coding(&format, coding)?;
        check_exponent(exponent)?;
        let id = u32::try_from(self.rows.len()).map_err(|_| SynapseError::TooManyRows)?;
        for (i, s) in synapses.iter().enumerate() {
            // Past u32::MAX entries the capacity check below fails anyway.
            let entry = u32::try_from(i).unwrap_or(u32::MAX);
            check_unsigned(
                entry,
                SynapseField::Target,
                s.target as u64,
                format.index_bits,
            )?;
            check_weight(entry, &format, s.weight)?;
            check_unsigned(
                entry,
                SynapseField::Delay,
                s.delay as u64,
                format.delay_bits,
            )?;
            check_tag(entry, &format, s.tag)?;
        }
        check_deltas(coding, synapses)?;
        let free_bits = self.capacity_bits - self.used_bits().min(self.capacity_bits);
        let len = u32::try_from(synapses.len()).unwrap_or(u32::MAX);
        let needed_bits = row_bits(self.word_bits, &format, coding, len);
        let len = match u32::try_from(synapses.len()) {
            Ok(len) if needed_bits <= free_bits => len,
            _ => {
                return Err(SynapseError::CapacityExceeded {
                    needed_bits,
                    free_bits,
                    capacity_bits: self.capacity_bits,
                })
            }
        };

        // Fits in u32: the capacity is capped at u32::MAX words.
        let word_offset = self.used_words() as u32;
        let row = Row {
            format,
            exponent,
            word_offset,
            len,
            coding,
        };
        let end_bits = self.used_bits() + needed_bits;
        self.words.resize(end_bits.div_ceil(64) as usize, 0);
        let start = self.entry_bit(&row, 0);
        let layout = coding.layout(&format);
        let eb = layout.entry_bits() as u64;
        let mut prev = 0u32;
        for (i, s) in synapses.iter().enumerate() {
            let target = match coding {
                TargetCoding::Sparse => s.target,
                // Sorted: checked above.
                TargetCoding::Delta { .. } => s.target - std::mem::replace(&mut prev, s.target),
            };
            let raw = encode_entry(&layout, &Synapse { target, ..*s });
            self.write_bits(start + i as u64 * eb, eb as u32, raw);
        }
        self.rows.push(row);
        Ok(id)
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    pub fn word_bits(&self) -> u32 {
        self.word_bits
    }

    pub fn capacity_bits(&self) -> u64 {
        self.capacity_bits
    }

    /// Bits taken by rows: exactly Σ `row_words × word_bits`, padding included.
    pub fn used_bits(&self) -> u64 {
        self.used_words() * self.word_bits as u64
    }

    /// Words row `row` occupies, i.e. word reads to fetch it (0 for an unknown row).
    pub fn row_words(&self, row: u32) -> u32 {
        self.rows.get(row as usize).map_or(0, |r| self.words_of(r))
    }

    /// Decodes entry `i` of row `row`.
    pub fn synapse(&self, row: u32, i: u32) -> Result<Synapse, SynapseError> {
        let r = self.entry_row(row, i)?;
        let target = self.row_targets(row).nth(i as usize).unwrap_or(0);
        Ok(Synapse {
            target,
            ..self.decode_entry(r, i)
        })
    }

    /// The entries of row `row` in order (none for an unknown row).
    pub fn row_synapses(&self, row: u32) -> impl Iterator<Item = Synapse> + '_ {
        self.row_targets(row)
            .zip(
                self.rows
                    .get(row as usize)
                    .into_iter()
                    .flat_map(move |r| (0..r.len).map(move |i| self.decode_entry(r, i))),
            )
            .map(|(target, s)| Synapse { target, ..s })
    }

    /// The target of every entry of row `row`, in order (none for an unknown row):
    /// [`row_synapses`](Self::row_synapses) without decoding the other fields.
    pub fn row_targets(&self, row: u32) -> impl Iterator<Item = u32> + '_ {
        self.rows.get(row as usize).into_iter().flat_map(move |r| {
            let eb = r.coding.entry_bits(&r.format);
            let ib = r.coding.target_bits(&r.format);
            let delta = matches!(r.coding, TargetCoding::Delta { .. });
            let start = self.entry_bit(r, 0);
            (0..r.len as u64).scan(0u32, move |acc, i| {
                let raw = field(
                    read_word_bits(&self.words, start + i * eb as u64, eb),
                    0,
                    ib,
                ) as u32;
                // Wrapping: only a corrupt memory could overflow.
                *acc = if delta { acc.wrapping_add(raw) } else { raw };
                Some(*acc)
            })
        })
    }

    /// Overwrites one weight mantissa, touching no other bit. The mantissa must fit
    /// the row's format and sign, as in [`push_row`](Self::push_row).
    pub fn set_weight(&mut self, row: u32, i: u32, mantissa: i32) -> Result<(), SynapseError> {
        let r = *self.entry_row(row, i)?;
        check_weight(i, &r.format, mantissa)?;
        let f = &r.coding.layout(&r.format);
        let start = self.entry_bit(&r, i) + f.index_bits as u64;
        self.write_bits(start, f.weight_bits as u32, encode_weight(f, mantissa));
        Ok(())
    }

    /// Overwrites one tag, touching no other bit.
    pub fn set_tag(&mut self, row: u32, i: u32, tag: i32) -> Result<(), SynapseError> {
        let r = *self.entry_row(row, i)?;
        check_tag(i, &r.format, tag)?;
        let f = &r.coding.layout(&r.format);
        let start = self.entry_bit(&r, i)
            + f.index_bits as u64
            + f.weight_bits as u64
            + f.delay_bits as u64;
        self.write_bits(start, f.tag_bits as u32, tag as u32 as u64);
        Ok(())
    }

    /// Sets a row's exponent (the learning engine halves a row's mantissas and
    /// raises its exponent when a weight would overflow).
    pub fn set_exponent(&mut self, row: u32, exponent: i8) -> Result<(), SynapseError> {
        check_exponent(exponent)?;
        let rows = self.rows.len();
        let r = self
            .rows
            .get_mut(row as usize)
            .ok_or(SynapseError::NoSuchRow { row, rows })?;
        r.exponent = exponent;
        Ok(())
    }

    /// Every row decoded, with effective weights, for the simulator's inner loop.
    pub fn decode(&self) -> DecodedRows {
        let total: usize = self.rows.iter().map(|r| r.len as usize).sum();
        let mut d = DecodedRows {
            offsets: Vec::with_capacity(self.rows.len() + 1),
            targets: Vec::with_capacity(total),
            weights: Vec::with_capacity(total),
            delays: Vec::with_capacity(total),
        };
        d.offsets.push(0);
        for r in 0..self.rows.len() {
            self.decode_row_with(r, |target, weight, delay| {
                d.targets.push(target);
                d.weights.push(weight);
                d.delays.push(delay);
            });
            // Only a memory of over 2^32 entries could overflow; saturate, not wrap.
            d.offsets
                .push(u32::try_from(d.targets.len()).unwrap_or(u32::MAX));
        }
        d
    }

    /// Row `row`'s entries decoded in order, each handed to `entry` as (target,
    /// effective weight, delay) — as [`decode`](Self::decode) stores them — for a caller
    /// that lays them out its own way. No row: no call.
    pub fn decode_row_with(&self, row: usize, mut entry: impl FnMut(u32, i32, u8)) {
        let Some(r) = self.rows.get(row) else {
            return;
        };
        let layout = r.coding.layout(&r.format);
        let delta = matches!(r.coding, TargetCoding::Delta { .. });
        let eb = layout.entry_bits() as u64;
        let start = self.entry_bit(r, 0);
        // A row wholly inside the memory (every row of a valid one) is read without a
        // bound check per entry; any other reads as `read_word_bits` does.
        let end = (r.len as u64)
            .checked_mul(eb)
            .and_then(|b| b.checked_add(start));
        let inside =
            (1..=64).contains(&eb) && end.is_some_and(|e| e <= self.words.len() as u64 * 64);
        let mut target = 0u32;
        for i in 0..r.len as u64 {
            let raw = if inside {
                read_inside(&self.words, start + i * eb, eb as u32)
            } else {
                read_word_bits(&self.words, start + i * eb, eb as u32)
            };
            let s = unpack_entry(&layout, raw);
            // A prefix sum for delta rows (wrapping: only a corrupt memory overflows).
            target = if delta {
                target.wrapping_add(s.target)
            } else {
                s.target
            };
            entry(target, effective_weight(s.weight, r.exponent), s.delay);
        }
    }

    fn used_words(&self) -> u64 {
        self.rows
            .last()
            .map_or(0, |r| r.word_offset as u64 + self.words_of(r) as u64)
    }

    fn words_of(&self, r: &Row) -> u32 {
        let bits = r.len as u64 * r.coding.entry_bits(&r.format) as u64;
        u32::try_from(bits.div_ceil(self.word_bits as u64)).unwrap_or(u32::MAX)
    }

    fn entry_row(&self, row: u32, i: u32) -> Result<&Row, SynapseError> {
        let r = self.rows.get(row as usize).ok_or(SynapseError::NoSuchRow {
            row,
            rows: self.rows.len(),
        })?;
        if i >= r.len {
            return Err(SynapseError::NoSuchEntry {
                row,
                entry: i,
                len: r.len,
            });
        }
        Ok(r)
    }

    fn entry_bit(&self, r: &Row, i: u32) -> u64 {
        r.word_offset as u64 * self.word_bits as u64
            + i as u64 * r.coding.entry_bits(&r.format) as u64
    }

    /// Entry `i`'s raw fields: for a delta row the `target` is its delta.
    fn decode_entry(&self, r: &Row, i: u32) -> Synapse {
        let f = &r.coding.layout(&r.format);
        unpack_entry(
            f,
            read_word_bits(&self.words, self.entry_bit(r, i), f.entry_bits()),
        )
    }

    /// The per-field bitvec reader [`decode_entry`](Self::decode_entry) replaced,
    /// kept as the reference the word-wise one is tested against.
    #[cfg(test)]
    fn decode_entry_bitvec(&self, r: &Row, i: u32) -> Synapse {
        let f = &r.coding.layout(&r.format);
        let raw = self.read_bits(self.entry_bit(r, i), f.entry_bits());
        unpack_entry(f, raw)
    }

    /// Reads `width` bits at memory bit `start` through bitvec; 0 if the range is
    /// not stored or the width is not 1..=64. The reference for [`read_word_bits`].
    #[cfg(test)]
    fn read_bits(&self, start: u64, width: u32) -> u64 {
        if width == 0 || width > 64 {
            return 0;
        }
        let (Ok(s), Ok(e)) = (
            usize::try_from(start),
            usize::try_from(start + width as u64),
        ) else {
            return 0;
        };
        self.words
            .view_bits::<Lsb0>()
            .get(s..e)
            .map_or(0, |b| b.load_le::<u64>())
    }

    /// Writes the low `width` bits of `value` at memory bit `start`; a no-op where
    /// [`read_word_bits`] would read 0.
    fn write_bits(&mut self, start: u64, width: u32, value: u64) {
        write_word_bits(&mut self.words, start, width, value);
    }

    /// Writes through bitvec, as [`write_bits`](Self::write_bits) did before it went
    /// word-wise; kept as the reference the word-wise writer is tested against.
    #[cfg(test)]
    fn write_bits_bitvec(&mut self, start: u64, width: u32, value: u64) {
        if width == 0 || width > 64 {
            return;
        }
        let (Ok(s), Ok(e)) = (
            usize::try_from(start),
            usize::try_from(start + width as u64),
        ) else {
            return;
        };
        if let Some(b) = self.words.view_bits_mut::<Lsb0>().get_mut(s..e) {
            b.store_le::<u64>(value & mask(width));
        }
    }
}

/// Writes the low `width` bits of `value` at memory bit `start` with one or two word
/// updates, touching no other bit; a no-op where [`read_word_bits`] would read 0.
#[inline]
fn write_word_bits(words: &mut [u64], start: u64, width: u32, value: u64) {
    if width == 0 || width > 64 {
        return;
    }
    match start.checked_add(width as u64) {
        Some(end) if end <= words.len() as u64 * 64 => {}
        _ => return,
    }
    // In bounds: `end <= len·64` bits, so both indices below exist when used.
    let w = (start / 64) as usize;
    let sh = (start % 64) as u32;
    let m = mask(width);
    let v = value & m;
    words[w] = (words[w] & !(m << sh)) | (v << sh);
    if sh + width > 64 {
        // sh > 0 here, since width <= 64: the high part goes to the next word.
        let hi = 64 - sh;
        words[w + 1] = (words[w + 1] & !(m >> hi)) | (v >> hi);
    }
}

/// Reads `width` bits at memory bit `start` with one or two word loads (an entry
/// may straddle two `u64`s); 0 if the range is not stored or the width is not
/// 1..=64 (only possible for a corrupt memory).
#[inline]
fn read_word_bits(words: &[u64], start: u64, width: u32) -> u64 {
    if width == 0 || width > 64 {
        return 0;
    }
    match start.checked_add(width as u64) {
        Some(end) if end <= words.len() as u64 * 64 => {}
        _ => return 0,
    }
    read_inside(words, start, width)
}

/// [`read_word_bits`] for bits `start..start + width` known to lie inside `words`, with
/// `1 <= width <= 64`.
#[inline(always)]
fn read_inside(words: &[u64], start: u64, width: u32) -> u64 {
    // In bounds: `end <= len·64` bits, so both indices below exist when used.
    let w = (start / 64) as usize;
    let sh = (start % 64) as u32;
    let mut v = words[w] >> sh;
    if sh + width > 64 {
        // sh > 0 here, since width <= 64.
        v |= words[w + 1] << (64 - sh);
    }
    v & mask(width)
}

/// Splits an entry's raw bits into its fields (see the module header).
#[inline]
fn unpack_entry(f: &RowFormat, raw: u64) -> Synapse {
    let (ib, wb, db, tb) = (
        f.index_bits as u32,
        f.weight_bits as u32,
        f.delay_bits as u32,
        f.tag_bits as u32,
    );
    let target = field(raw, 0, ib);
    let wfield = field(raw, ib, wb);
    let delay = field(raw, ib + wb, db);
    let tfield = field(raw, ib + wb + db, tb);
    let weight = match f.sign {
        SignMode::Signed => sign_extend(wfield, wb),
        SignMode::Excitatory => wfield as i64,
        SignMode::Inhibitory => -(wfield as i64),
    };
    Synapse {
        target: target as u32,
        weight: weight as i32,
        delay: delay as u8,
        tag: sign_extend(tfield, tb) as i32,
    }
}

fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

fn field(raw: u64, at: u32, width: u32) -> u64 {
    if width == 0 || at >= 64 {
        0
    } else {
        (raw >> at) & mask(width)
    }
}

fn sign_extend(v: u64, width: u32) -> i64 {
    if width == 0 || width > 64 {
        0
    } else {
        let s = 64 - width;
        ((v << s) as i64) >> s
    }
}

fn encode_weight(f: &RowFormat, mantissa: i32) -> u64 {
    let field = match f.sign {
        SignMode::Signed => mantissa as u32 as u64,
        SignMode::Excitatory => mantissa as u64,
        SignMode::Inhibitory => (-(mantissa as i64)) as u64,
    };
    field & mask(f.weight_bits as u32)
}

/// The entry's bits, LSB first: target | weight | delay | tag. Fields are masked
/// to their widths (the values were checked before).
fn encode_entry(f: &RowFormat, s: &Synapse) -> u64 {
    let (ib, wb, db, tb) = (
        f.index_bits as u32,
        f.weight_bits as u32,
        f.delay_bits as u32,
        f.tag_bits as u32,
    );
    (s.target as u64 & mask(ib))
        | encode_weight(f, s.weight) << ib
        | (s.delay as u64 & mask(db)) << (ib + wb)
        | (s.tag as u32 as u64 & mask(tb)) << (ib + wb + db)
}
