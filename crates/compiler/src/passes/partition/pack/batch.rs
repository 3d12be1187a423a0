//! Runs: several items booked at once, with one limit check after the last.
//!
//! Every count the packer checks only grows as a bin takes items: its compartments and
//! each population's share of them, its rows (input axons), each row's length and
//! estimated widest delta and so its bits ([`pick_row`] is non-decreasing in both), and
//! every bin's output axons. So if the state after a run of items is within every
//! limit, the state after each of its prefixes was too, and [`Packer::try_add`] would
//! have taken the items one by one into the same state. A run books each synapse's row
//! (length, last target, widest delta) but picks each row's coding and bits once, at the
//! end, for the keys the run touched, and keeps no per-synapse journal: it saves a key's
//! row the first time the run touches it instead. If a limit breaks, the run is taken
//! back and the caller books the same items one by one, which finds the item that broke
//! it (and the same overflow) exactly as before.
//!
//! Runs hold only items without a hint's slice and of populations that take no part in
//! a shared convolution (whose lists are booked by `try_add` only), within the open
//! bin's compartments, the hint's cap and each population's cap (counts known before
//! booking). A run that breaks a limit halves the next run's size on that bin.

use super::{Packer, NONE};
use crate::passes::partition::order::Item;
use amine_chip::synapse::{delta_width, pick_row};

impl Packer<'_> {
    /// Book item by item only (`false`), or in runs where they fit (the default).
    pub fn set_runs(&mut self, on: bool) {
        self.runs = on;
    }

    /// How many leading `items` the next run may hold on the open bin: no slices, no
    /// shared-convolution populations, within the compartments, the hint's cap, each
    /// population's cap and the open bin's run size.
    pub fn run_len(&self, items: &[Item]) -> usize {
        if !self.runs {
            return 0;
        }
        let b = self.open() as usize;
        let room = (self.compartments.min(self.hint_cap) as u64)
            .saturating_sub(self.bins[b].compartments as u64);
        let (mut n, mut used) = (0usize, 0u64);
        let mut mine: Vec<(usize, u64)> = Vec::new();
        for it in items.iter().take(self.run_cap) {
            let node = it.node as usize;
            if it.slice.is_some() || self.shared.is_target(node) || self.shared.is_source(node) {
                break;
            }
            used += it.count as u64;
            if used > room {
                break;
            }
            let at = match mine.iter().position(|&(x, _)| x == node) {
                Some(at) => at,
                None => {
                    let had = self.per_node.get(&node).copied().unwrap_or(0) as u64;
                    mine.push((node, had));
                    mine.len() - 1
                }
            };
            mine[at].1 += it.count as u64;
            if mine[at].1 > self.caps.get(node).copied().unwrap_or(0) as u64 {
                break;
            }
            n += 1;
        }
        n
    }

    /// Put every one of `items` (a run [`Packer::run_len`] allows) in the open bin, as
    /// `try_add` would one by one, and return `true`; or, if a limit breaks after the
    /// last, change nothing, halve the open bin's run size and return `false`.
    pub fn try_run(&mut self, items: &[Item]) -> bool {
        let b = self.open();
        self.run = self.run.wrapping_add(1);
        if self.run == 0 {
            self.rows.iter_mut().for_each(|r| r.run = 0);
            self.run = 1;
        }
        self.out_delta.resize(self.bins.len(), 0);
        self.saved.clear();
        self.pend_undo.clear();
        let at = (
            self.touched.len(),
            self.members[b as usize].len(),
            self.pend_log.len(),
        );
        let node_first = self.node_first.clone();
        let total = self.bin_of.len() as u32;
        let mut new_rows = 0u64;
        for item in items {
            let node = item.node as usize;
            let first_gi = self.pop_base[node] + item.first;
            let span = (
                self.pop_base[node],
                self.pop_base.get(node + 1).copied().unwrap_or(total),
                *self.node_first.entry(node).or_insert(first_gi),
            );
            for gi in first_gi..first_gi + item.count {
                new_rows += self.run_rows(gi, span);
                let pend = std::mem::take(&mut self.pending_out[gi as usize]);
                self.add_out(b, pend);
                self.pend_undo.push((gi, pend));
                if self.delta.is_some() {
                    self.pend_log.push((gi, pend));
                }
                self.bin_of[gi as usize] = b;
                self.members[b as usize].push(gi);
            }
        }
        let dbits = self.run_bits();
        if self.run_fits(b, new_rows, dbits) {
            let cur = &mut self.bins[b as usize];
            cur.compartments += items.iter().map(|it| it.count).sum::<u32>();
            cur.input_axons += new_rows as u32;
            cur.synapse_bits += dbits;
            for &ob in &self.delta_bins {
                self.bins[ob as usize].output_axons += self.out_delta[ob as usize];
                self.out_delta[ob as usize] = 0;
            }
            self.delta_bins.clear();
            for it in items {
                *self.per_node.entry(it.node as usize).or_insert(0) += it.count;
            }
            return true;
        }
        for &(key, row) in &self.saved {
            self.rows[key as usize] = row;
        }
        self.touched.truncate(at.0);
        for &(gi, old) in self.pend_undo.iter().rev() {
            self.pending_out[gi as usize] = old;
        }
        for gi in self.members[b as usize].drain(at.1..) {
            self.bin_of[gi as usize] = NONE;
        }
        self.pend_log.truncate(at.2);
        self.node_first = node_first;
        for &ob in &self.delta_bins {
            self.out_delta[ob as usize] = 0;
        }
        self.delta_bins.clear();
        self.run_cap = (items.len() / 2).max(1);
        false
    }

    /// Book neuron `gi`'s synapses on the open bin's rows (as `book_rows` does, without
    /// the bits; `span` as there); returns the rows it creates.
    #[inline]
    fn run_rows(&mut self, gi: u32, span: (u32, u32, u32)) -> u64 {
        let g = self.g;
        let (k0, k1) = (
            g.in_offsets[gi as usize] as usize,
            g.in_offsets[gi as usize + 1] as usize,
        );
        let run = self.run;
        let mut new_rows = 0u64;
        for &key in &g.in_keys[k0..k1] {
            let k = key as usize;
            let mut row = self.rows[k];
            if row.run != run {
                self.saved.push((key, row));
                row.run = run;
            }
            if row.len == 0 {
                new_rows += 1;
                self.touched.push(key);
                let src = g.key_source[k];
                if src != NONE {
                    let at = self.bin_of[src as usize];
                    if at != NONE {
                        self.add_out(at, 1);
                    } else {
                        let old = self.pending_out[src as usize];
                        self.pend_undo.push((src, old));
                        if self.delta.is_some() {
                            self.pend_log.push((src, old));
                        }
                        self.pending_out[src as usize] = old + 1;
                    }
                }
                row.widest = gi.abs_diff(span.2);
            } else if (span.0..span.1).contains(&row.last) {
                row.widest = row.widest.max(gi.abs_diff(row.last));
            }
            row.last = gi;
            row.len += 1;
            self.rows[k] = row;
        }
        new_rows
    }

    /// The bits the run adds: each row it touched in its coding now, less the bits it
    /// had booked before (none for a row the run created); the rows keep their new bits.
    fn run_bits(&mut self) -> u64 {
        let mut dbits = 0u64;
        for &(key, old) in &self.saved {
            let row = &mut self.rows[key as usize];
            let fmt = &self.g.formats[row.class as usize];
            let d = Some(delta_width(row.widest));
            let bits = pick_row(self.word_bits, fmt, self.delta, row.len, d).1;
            dbits += bits - if old.len == 0 { 0 } else { old.bits };
            row.bits = bits;
        }
        dbits
    }

    /// Whether open bin `b` with `new_rows` more rows and `dbits` more bits, and every
    /// bin with its booked output axons, is within the core's limits.
    fn run_fits(&self, b: u32, new_rows: u64, dbits: u64) -> bool {
        let (axons_in, bits, axons_out) = self.limits;
        let cur = &self.bins[b as usize];
        cur.input_axons as u64 + new_rows <= axons_in
            && cur.synapse_bits + dbits <= bits
            && self.delta_bins.iter().all(|&ob| {
                self.bins[ob as usize].output_axons as u64 + self.out_delta[ob as usize] as u64
                    <= axons_out
            })
    }
}
