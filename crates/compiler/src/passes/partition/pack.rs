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
//!
//! Synapse bits are the chip's [`row_bits`] of the coding [`pick_coding`] chooses. On a
//! chip with delta-coded rows a row's size depends on the distances between its targets
//! in compartment order, which is only final when the bin is: while the bin grows, the
//! packer books an estimate (distances in neuron index within one population, the
//! first from the population's start; see `book_rows`), and when the bin is about to
//! close, [`Packer::overfull`] counts its rows exactly in compartment order (unless they
//! would fit even if every row were sparse, an upper bound). If they do not fit,
//! [`Packer::rollback`] returns the bin to its opening state and the caller re-adds the
//! longest prefix of its items that fits. Once every bin is packed, partition counts
//! every bin's bits exactly (`super::exact_bits`, from the rows it counts in parallel),
//! so a bin's booked bits are the exact bits emit writes.
//!
//! Runs of items can be booked at once, with one limit check after the last
//! (`batch.rs`); the bins are those item-by-item booking gives.

use super::graph::Graph;
use super::order::Item;
use super::shared::Shared;
use crate::context::{Bin, Compilation};
use amine_chip::synapse::{delta_width, pick_row};
use std::collections::BTreeMap;

mod batch;

pub(super) const NONE: u32 = u32::MAX;

/// A key's row on the open bin: its length, for the estimate of its widest delta its
/// last target (global neuron) and widest distance, its row class and its bits booked;
/// `run` is the last run of items (`batch.rs`) that touched it.
#[derive(Debug, Clone, Copy, Default)]
struct KeyRow {
    len: u32,
    last: u32,
    widest: u32,
    class: u32,
    bits: u64,
    run: u32,
}

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
    word_bits: u32,
    /// The chip's widest delta, if rows are booked delta-coded (see the module doc).
    pub delta: Option<u8>,
    /// Compartments per core, and the hint's cap on them.
    compartments: u32,
    hint_cap: u32,
    limits: (u64, u64, u64),
    pub bin_of: Vec<u32>,
    /// Rows already created for a neuron not yet placed in a bin (its future output axons).
    pending_out: Vec<u32>,
    /// Each key's row on the open bin (one cache line holds what booking reads).
    rows: Vec<KeyRow>,
    /// `(key, last, widest, bits)` before each booking of the item being added.
    journal: Vec<(u32, u32, u32, u64)>,
    touched: Vec<u32>,
    /// Delta booking: each bin's output axons when the open bin opened, and
    /// `(neuron, old value)` of every `pending_out` change since (for `rollback`).
    open_outs: Vec<u32>,
    pend_log: Vec<(u32, u32)>,
    /// Scratch for `exact_bits`: per key length, last compartment, widest delta.
    exact: Vec<(u32, u32, u32)>,
    exact_rows: Vec<(u32, u32, u32)>,
    out_delta: Vec<u32>,
    delta_bins: Vec<u32>,
    pub bins: Vec<Bin>,
    pub members: Vec<Vec<u32>>,
    per_node: BTreeMap<usize, u32>,
    /// The first neuron of each population on the open bin.
    node_first: BTreeMap<usize, u32>,
    pub shared: Shared<'a>,
    /// Runs of items booked at once (`batch.rs`): whether they are used, the current
    /// run's number, the most items the next run on the open bin may hold, and the
    /// run's undo logs.
    runs: bool,
    run: u32,
    pub run_cap: usize,
    saved: Vec<(u32, KeyRow)>,
    pend_undo: Vec<(u32, u32)>,
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
        let shared = Shared::new(c);
        let delta = core
            .delta_rows
            .as_ref()
            .filter(|_| shared.projs.is_empty())
            .map(|d| d.max_delta_bits);
        let keys = g.key_class.len();
        Packer {
            g,
            pop_base,
            caps,
            word_bits: core.word_bits,
            delta,
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
            rows: g
                .key_class
                .iter()
                .map(|&class| KeyRow {
                    class,
                    ..KeyRow::default()
                })
                .collect(),
            journal: Vec::new(),
            touched: Vec::new(),
            open_outs: Vec::new(),
            pend_log: Vec::new(),
            exact: vec![(0, 0, 0); if delta.is_some() { keys } else { 0 }],
            exact_rows: Vec::new(),
            out_delta: Vec::new(),
            delta_bins: Vec::new(),
            bins: vec![Bin::default()],
            members: vec![Vec::new()],
            per_node: BTreeMap::new(),
            node_first: BTreeMap::new(),
            shared,
            runs: true,
            run: 0,
            run_cap: usize::MAX,
            saved: Vec::new(),
            pend_undo: Vec::new(),
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
    /// from `first` and whose population spans neurons `span.0..span.1`, of which
    /// `span.2` is the bin's first; returns (new rows, new bits). A row's widest delta
    /// is estimated from neuron indices: the distance to the row's previous target if it
    /// lies in the same population, the first target's distance from the population's
    /// first neuron on the bin (exact when the bin holds a contiguous run of one
    /// population packed in order; `overfull` counts exactly).
    #[inline]
    fn book_rows(
        &mut self,
        gi: u32,
        b: u32,
        (first, count): (u32, u32),
        span: (u32, u32, u32),
    ) -> (u64, u64) {
        let g = self.g;
        let (k0, k1) = (
            g.in_offsets[gi as usize] as usize,
            g.in_offsets[gi as usize + 1] as usize,
        );
        let (mut new_rows, mut dbits) = (0u64, 0u64);
        for &key in &g.in_keys[k0..k1] {
            let k = key as usize;
            let row = self.rows[k];
            let len = row.len;
            let (last, widest, old) = if len == 0 {
                (gi, 0, 0)
            } else {
                (row.last, row.widest, row.bits)
            };
            self.journal.push((key, last, widest, old));
            let gap = if len == 0 {
                new_rows += 1;
                self.touched.push(key);
                let src = g.key_source[k];
                if src.wrapping_sub(first) < count {
                    self.add_out(b, 1);
                } else if src != NONE && self.bin_of[src as usize] != NONE {
                    self.add_out(self.bin_of[src as usize], 1);
                } else if src != NONE {
                    if self.delta.is_some() {
                        self.pend_log.push((src, self.pending_out[src as usize]));
                    }
                    self.pending_out[src as usize] += 1;
                }
                gi.abs_diff(span.2)
            } else if (span.0..span.1).contains(&last) {
                gi.abs_diff(last)
            } else {
                0
            };
            let widest = widest.max(gap);
            let fmt = &g.formats[row.class as usize];
            let d = Some(delta_width(widest));
            let (_, bits) = pick_row(self.word_bits, fmt, self.delta, len + 1, d);
            dbits += bits - old;
            self.rows[k] = KeyRow {
                len: len + 1,
                last: gi,
                widest,
                class: row.class,
                bits,
                run: row.run,
            };
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
            let k = key as usize;
            let row = &mut self.rows[k];
            if let Some((_, last, widest, bits)) = self.journal.pop() {
                (row.last, row.widest, row.bits) = (last, widest, bits);
            }
            row.len -= 1;
            if row.len == 0 {
                self.touched.pop();
                let src = g.key_source[k];
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
        let total = self.bin_of.len() as u32;
        let span = (
            self.pop_base[node],
            self.pop_base.get(node + 1).copied().unwrap_or(total),
            self.node_first.get(&node).copied().unwrap_or(first_gi),
        );
        let source = self.shared.is_source(node);
        self.journal.clear();
        for n in 0..item.count {
            let gi = first_gi + n;
            let (r, bits) = self.book_rows(gi, b, range, span);
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
            if self.delta.is_some() {
                self.pend_log.push((gi, self.pending_out[gi as usize]));
            }
            self.pending_out[gi as usize] = 0;
            self.bin_of[gi as usize] = b;
            self.members[b as usize].push(gi);
        }
        *self.per_node.entry(node).or_insert(0) += item.count;
        self.node_first.entry(node).or_insert(first_gi);
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
        self.clear_open();
        self.shared.close(b);
        self.bins.push(Bin::default());
        self.members.push(Vec::new());
        self.opened();
    }

    /// Forget the open bin's rows (lengths, booked bits) and its population counts.
    fn clear_open(&mut self) {
        for &key in &self.touched {
            self.rows[key as usize].len = 0;
        }
        self.touched.clear();
        self.per_node.clear();
        self.node_first.clear();
    }

    /// A bin opened: remember what `rollback` restores.
    pub fn opened(&mut self) {
        self.run_cap = usize::MAX;
        if self.delta.is_some() {
            self.open_outs.clear();
            self.open_outs
                .extend(self.bins.iter().map(|bin| bin.output_axons));
            self.pend_log.clear();
        }
    }

    /// Return the open bin, and every count its items changed elsewhere, to the state
    /// it opened in (delta booking only; the bin's pin stays).
    pub fn rollback(&mut self) {
        let b = self.open() as usize;
        for (gi, old) in self.pend_log.drain(..).rev() {
            self.pending_out[gi as usize] = old;
        }
        for &gi in &self.members[b] {
            self.bin_of[gi as usize] = NONE;
        }
        self.members[b].clear();
        for (bin, &out) in self.bins.iter_mut().zip(&self.open_outs) {
            bin.output_axons = out;
        }
        self.bins[b] = Bin {
            pinned: self.bins[b].pinned,
            ..Bin::default()
        };
        self.clear_open();
    }

    /// Count the open bin's rows exactly (see the module doc). If they fit, book them
    /// and return `None`; else `(k, needed)`: the most leading `items` (the open bin's,
    /// in order) whose neurons fit (possibly 0), and the bits the first one needs.
    pub fn overfull(&mut self, items: &[Item]) -> Option<(usize, u64)> {
        self.delta?;
        let limit = self.limits.1;
        let b = self.open() as usize;
        // No row takes more than its sparse bits: if those fit, so do the exact ones,
        // which `super::exact_bits` counts for every bin once packing is done.
        if self.sparse_bits() <= limit {
            return None;
        }
        let all = self.exact_bits(self.members[b].len());
        if all <= limit {
            self.bins[b].synapse_bits = all;
            return None;
        }
        let members = |k: usize| items[..k].iter().map(|it| it.count as usize).sum();
        let (mut lo, mut hi) = (0usize, items.len());
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if self.exact_bits(members(mid)) <= limit {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some((lo, self.exact_bits(members(1))))
    }

    /// Synapse bits of the open bin's rows if each were sparse (an upper bound of their
    /// bits in any coding `pick_row` picks).
    fn sparse_bits(&self) -> u64 {
        let sparse = amine_chip::synapse::TargetCoding::Sparse;
        (self.touched.iter())
            .map(|&key| {
                let row = &self.rows[key as usize];
                let fmt = &self.g.formats[row.class as usize];
                amine_chip::synapse::row_bits(self.word_bits, fmt, sparse, row.len)
            })
            .sum()
    }

    /// Synapse bits of the open bin's rows if it held only its first `m` members, each
    /// row in the coding emit picks for its targets in compartment order.
    fn exact_bits(&mut self, m: usize) -> u64 {
        let g = self.g;
        let b = self.open() as usize;
        let mut order = self.members[b][..m.min(self.members[b].len())].to_vec();
        super::slot_order(&mut order, self.pop_base, None);
        let mut rows = std::mem::take(&mut self.exact_rows);
        g.bin_rows(order, &mut self.exact, &mut rows);
        let mut bits = 0u64;
        for &(key, len, widest) in &rows {
            let fmt = &g.formats[g.key_class[key as usize] as usize];
            let d = Some(delta_width(widest));
            bits += pick_row(self.word_bits, fmt, self.delta, len, d).1;
        }
        self.exact_rows = rows;
        bits
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
