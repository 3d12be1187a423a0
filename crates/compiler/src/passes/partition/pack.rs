//! The packer: items in order into bins, one open bin at a time, every limit booked
//! exactly as the bin grows.
//!
//! Adding an item books, for each of its neurons, the rows it creates on the open bin
//! (input axons, synapse bits rounded to words) and the output axons its synapses need:
//! on the bin of each source already packed, or, for a source packed later (only inside a
//! recurrent group), as pending axons the source brings with it. A plane of a shared
//! convolution's target books its shared lists ([`Shared`]); a source of one books its
//! population output axons. If any limit breaks, the item is taken back exactly and the
//! bin closes, naming the limit. Earlier bins can only gain output axons (from sources
//! packed before their targets); if one overflows, `run` re-packs more sparsely.

use super::order::Item;
use super::shared::Shared;
use super::Graph;
use crate::context::{Bin, Compilation};
use std::collections::BTreeMap;

pub(super) const NONE: u32 = u32::MAX;

/// Why an item did not fit a bin.
#[derive(Debug, Clone, Copy)]
pub(super) struct Overflow {
    pub limit: &'static str,
    pub needed: u64,
    pub available: u64,
    /// For output axons: the bin whose table overflowed.
    pub bin: u32,
}

/// Why packing stopped: the neuron (global index) and the overflow.
pub(super) type Fatal = (u32, Overflow);

/// The packing state: one open bin at a time; earlier bins only gain output axons.
pub(super) struct Packer<'a> {
    g: &'a Graph,
    pop_base: &'a [u32],
    /// Most neurons of each population per bin (hints, and re-packing caps).
    caps: &'a [u32],
    /// Synapse-memory words are `2^word_shift` bits (the configuration allows 8 to 64).
    word_shift: u32,
    /// Compartments per core, and the hint's cap on them.
    compartments: u32,
    hint_cap: u32,
    limits: (u64, u64, u64),
    pub bin_of: Vec<u32>,
    /// Rows already created for a neuron not yet placed in a bin (its future output axons).
    pending_out: Vec<u32>,
    /// Length of each key's row on the open bin.
    cur_len: Vec<u32>,
    touched: Vec<u32>,
    out_delta: Vec<u32>,
    delta_bins: Vec<u32>,
    pub bins: Vec<Bin>,
    pub members: Vec<Vec<u32>>,
    per_node: BTreeMap<usize, u32>,
    pub shared: Shared<'a>,
}

impl<'a> Packer<'a> {
    pub fn new(
        c: &'a Compilation,
        g: &'a Graph,
        pop_base: &'a [u32],
        caps: &'a [u32],
        total: u32,
    ) -> Packer<'a> {
        let core = &c.chip.core;
        Packer {
            g,
            pop_base,
            caps,
            word_shift: core.word_bits.max(1).next_power_of_two().trailing_zeros(),
            compartments: core.compartments,
            hint_cap: c
                .program
                .mapping
                .max_compartments_per_core
                .unwrap_or(u32::MAX),
            limits: (
                core.input_axons as u64,
                core.synapse_memory_bits,
                core.output_axons as u64,
            ),
            bin_of: vec![NONE; total as usize],
            pending_out: vec![0; total as usize],
            cur_len: vec![0; g.key_class.len()],
            touched: Vec::new(),
            out_delta: Vec::new(),
            delta_bins: Vec::new(),
            bins: vec![Bin::default()],
            members: vec![Vec::new()],
            per_node: BTreeMap::new(),
            shared: Shared::new(c),
        }
    }

    pub fn open(&self) -> u32 {
        self.bins.len() as u32 - 1
    }

    pub fn open_is_empty(&self) -> bool {
        self.members.last().is_none_or(|m| m.is_empty())
    }

    fn add_out(&mut self, bin: u32, n: u32) {
        if n > 0 {
            if self.out_delta[bin as usize] == 0 {
                self.delta_bins.push(bin);
            }
            self.out_delta[bin as usize] += n;
        }
    }

    /// Book neuron `gi`'s rows on open bin `b`, whose item covers the `count` neurons
    /// from `first`; returns (new rows, new bits).
    #[inline]
    fn book_rows(&mut self, gi: u32, b: u32, (first, count): (u32, u32)) -> (u64, u64) {
        let g = self.g;
        let (k0, k1) = (
            g.in_offsets[gi as usize] as usize,
            g.in_offsets[gi as usize + 1] as usize,
        );
        let (mut new_rows, mut dbits) = (0u64, 0u64);
        for &key in &g.in_keys[k0..k1] {
            let len = self.cur_len[key as usize];
            if len == 0 {
                new_rows += 1;
                self.touched.push(key);
                let src = g.key_source[key as usize];
                if src.wrapping_sub(first) < count {
                    self.add_out(b, 1);
                } else if src != NONE && self.bin_of[src as usize] != NONE {
                    self.add_out(self.bin_of[src as usize], 1);
                } else if src != NONE {
                    self.pending_out[src as usize] += 1;
                }
            }
            self.cur_len[key as usize] = len + 1;
            let eb = g.entry_bits[g.key_class[key as usize] as usize];
            let sh = self.word_shift;
            dbits += row_bits(eb, len as u64 + 1, sh) - row_bits(eb, len as u64, sh);
        }
        (new_rows, dbits)
    }

    /// Take back `book_rows(gi)` (keys in reverse: a key's first occurrence made its row).
    fn unbook_rows(&mut self, gi: u32, (first, count): (u32, u32)) {
        let g = self.g;
        let (k0, k1) = (
            g.in_offsets[gi as usize] as usize,
            g.in_offsets[gi as usize + 1] as usize,
        );
        for &key in g.in_keys[k0..k1].iter().rev() {
            self.cur_len[key as usize] -= 1;
            if self.cur_len[key as usize] == 0 {
                self.touched.pop();
                let src = g.key_source[key as usize];
                let mine = src.wrapping_sub(first) < count;
                if src != NONE && !mine && self.bin_of[src as usize] == NONE {
                    self.pending_out[src as usize] -= 1;
                }
            }
        }
    }

    /// Put `item` in the open bin, or change nothing and say why not.
    pub fn try_add(&mut self, item: &Item) -> Result<(), Overflow> {
        let b = self.open();
        let node = item.node as usize;
        let cur = self.bins[b as usize].clone();
        let full = |limit, needed, available| Overflow {
            limit,
            needed,
            available,
            bin: b,
        };
        let comps = cur.compartments as u64 + item.count as u64;
        if comps > self.compartments as u64 {
            return Err(full("core.compartments", comps, self.compartments as u64));
        }
        if comps > self.hint_cap as u64 {
            return Err(full(
                "mapping.max_compartments_per_core",
                comps,
                self.hint_cap as u64,
            ));
        }
        let mine = self.per_node.get(&node).copied().unwrap_or(0) as u64 + item.count as u64;
        if mine > self.caps[node] as u64 {
            return Err(full("mapping.max_per_core", mine, self.caps[node] as u64));
        }
        // A plane of a shared convolution's target: its lists.
        let plane_cost = if self.shared.is_target(node) {
            let co = item.first / item.count.max(1);
            match self.shared.target_cost(node, co) {
                Some(x) => x,
                None => return Err(full("convolution planes", 0, 0)),
            }
        } else {
            (0, 0)
        };
        self.out_delta.resize(self.bins.len(), 0);
        let (mut new_rows, mut dbits) = plane_cost;
        let mut pop_out = 0u64;
        let first_gi = self.pop_base[node] + item.first;
        let range = (first_gi, item.count);
        let source = self.shared.is_source(node);
        for n in 0..item.count {
            let gi = first_gi + n;
            let (r, bits) = self.book_rows(gi, b, range);
            new_rows += r;
            dbits += bits;
            self.add_out(b, self.pending_out[gi as usize]);
            if source {
                pop_out += self.shared.source_cost(node, item.first + n);
            }
        }
        let fail = self.overflow(b, (new_rows, dbits, pop_out));
        if let Some(o) = fail {
            for n in (0..item.count).rev() {
                self.unbook_rows(first_gi + n, range);
            }
            self.shared.undo();
            for &ob in &self.delta_bins {
                self.out_delta[ob as usize] = 0;
            }
            self.delta_bins.clear();
            return Err(o);
        }
        let cur = &mut self.bins[b as usize];
        cur.compartments += item.count;
        cur.input_axons += new_rows as u32;
        cur.synapse_bits += dbits;
        cur.output_axons += pop_out as u32;
        for &ob in &self.delta_bins {
            self.bins[ob as usize].output_axons += self.out_delta[ob as usize];
            self.out_delta[ob as usize] = 0;
        }
        self.delta_bins.clear();
        self.shared.keep();
        for n in 0..item.count {
            let gi = first_gi + n;
            self.pending_out[gi as usize] = 0;
            self.bin_of[gi as usize] = b;
            self.members[b as usize].push(gi);
        }
        *self.per_node.entry(node).or_insert(0) += item.count;
        if self.shared.is_target(node) {
            self.shared
                .target_commit(node, item.first / item.count.max(1), b);
        }
        Ok(())
    }

    /// The limit `(new rows, new bits, new population output axons)` on open bin `b`
    /// (and the output axons booked on earlier bins) would break, if any.
    fn overflow(&self, b: u32, (new_rows, dbits, pop_out): (u64, u64, u64)) -> Option<Overflow> {
        let (axons_in, bits, axons_out) = self.limits;
        let cur = &self.bins[b as usize];
        let full = |limit, needed, available| Overflow {
            limit,
            needed,
            available,
            bin: b,
        };
        let out_of = |ob: u32| {
            self.bins[ob as usize].output_axons as u64
                + self.out_delta[ob as usize] as u64
                + if ob == b { pop_out } else { 0 }
        };
        if cur.input_axons as u64 + new_rows > axons_in {
            let needed = cur.input_axons as u64 + new_rows;
            return Some(full("core.input_axons", needed, axons_in));
        }
        if cur.synapse_bits + dbits > bits {
            let needed = cur.synapse_bits + dbits;
            return Some(full("core.synapse_memory_bits", needed, bits));
        }
        self.delta_bins
            .iter()
            .copied()
            .chain((pop_out > 0).then_some(b))
            .find(|&ob| out_of(ob) > axons_out)
            .map(|ob| Overflow {
                limit: "core.output_axons",
                needed: out_of(ob),
                available: axons_out,
                bin: ob,
            })
    }

    /// Close the open bin (naming what closed it) and open the next.
    pub fn close(&mut self, limit: &'static str) {
        let b = self.open();
        self.bins[b as usize].closed_by = Some(limit);
        for &key in &self.touched {
            self.cur_len[key as usize] = 0;
        }
        self.touched.clear();
        self.per_node.clear();
        self.shared.close(b);
        self.bins.push(Bin::default());
        self.members.push(Vec::new());
    }

    /// Population counts of bin `b`.
    pub fn node_counts(&self, b: u32) -> Vec<(usize, u32)> {
        let mut m: BTreeMap<usize, u32> = BTreeMap::new();
        for &x in self.members.get(b as usize).map_or(&[][..], |v| v) {
            *m.entry(super::node_of(self.pop_base, x)).or_insert(0) += 1;
        }
        m.into_iter().collect()
    }
}

/// Bits of a row of `len` entries of `entry_bits`, in whole words of `2^shift` bits
/// (shifts, not divisions: this runs once per synapse).
#[inline(always)]
pub(super) fn row_bits(entry_bits: u64, len: u64, shift: u32) -> u64 {
    ((len * entry_bits + (1 << shift) - 1) >> shift) << shift
}
