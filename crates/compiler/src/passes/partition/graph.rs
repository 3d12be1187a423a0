//! The network flattened for packing: each neuron's incoming row keys.
//!
//! A key is one (row class, presynaptic neuron). Each neuron's keys are listed once per
//! synapse in (projection, source, synapse) order. The list is built in parallel by
//! target range: every task scans the projections into its range and keeps only its
//! own neurons, so each task writes a disjoint slice. Where a projection's rows are
//! sorted (checked once, in parallel), a task reads only the part of each row in its
//! range (two binary searches a row) instead of the whole row. The result does not depend on
//! the number of threads.

use super::pack::NONE;
use crate::context::{Compilation, Expanded, Quantization};
use rayon::prelude::*;

/// Flattened view of the network for packing.
pub(in crate::passes) struct Graph {
    /// Incoming row keys of each neuron (one entry per synapse).
    pub in_offsets: Vec<u64>,
    pub in_keys: Vec<u32>,
    /// Row class of each key and global neuron index of its source (NONE for inputs).
    pub key_class: Vec<u32>,
    /// The first key of each class (a key is its class's first plus the source index).
    pub key_base: Vec<u32>,
    pub key_source: Vec<u32>,
    /// Row format of each class.
    pub formats: Vec<amine_chip::synapse::RowFormat>,
}

/// One projection as the graph builder reads it: its synapses, the global index of its
/// target population's first neuron and the key of its source 0.
struct Edge<'a> {
    e: &'a Expanded,
    base: u32,
    size: u32,
    key0: u32,
    /// Every row's targets ascending (random connectivity, dense, sparse and file
    /// lists): a range task then reads only its part of each row.
    sorted: bool,
}

impl Graph {
    /// The graph of the quantised network `net`; `pop_base` holds each population's
    /// first global neuron, `total` their sum.
    pub fn build(c: &Compilation, q: &Quantization, pop_base: &[u32], total: u32) -> Graph {
        let npops = pop_base.len();
        let mut key_base = Vec::new();
        let (mut key_class, mut key_source) = (Vec::new(), Vec::new());
        for (k, cl) in q.classes.iter().enumerate() {
            key_base.push(key_class.len() as u32);
            let node = cl.source;
            for a in 0..c.nodes[node].size {
                key_class.push(k as u32);
                key_source.push(if node < npops {
                    pop_base[node] + a
                } else {
                    NONE
                });
            }
        }
        let edges: Vec<Edge> = c.net.as_ref().map_or(Vec::new(), |net| {
            (net.projections.iter().enumerate())
                .map(|(p, e)| Edge {
                    e,
                    base: pop_base[e.post],
                    size: c.nodes[e.post].size,
                    key0: key_base[q.class_of[p]],
                    sorted: (0..e.offsets.len().saturating_sub(1))
                        .into_par_iter()
                        .all(|a| e.targets[e.range(a)].is_sorted()),
                })
                .collect()
        });
        let ranges = split(total, rayon::current_num_threads());
        // Synapses onto each neuron, per range, then the offsets.
        let counts: Vec<Vec<u64>> = ranges
            .par_iter()
            .map(|&(lo, hi)| {
                let mut n = vec![0u64; (hi - lo) as usize];
                for_each_in(&edges, (lo, hi), |g, _| n[(g - lo) as usize] += 1);
                n
            })
            .collect();
        let mut in_offsets = Vec::with_capacity(total as usize + 1);
        in_offsets.push(0u64);
        let mut sum = 0u64;
        for n in counts.iter().flatten() {
            sum += n;
            in_offsets.push(sum);
        }
        drop(counts);
        let mut in_keys = vec![0u32; sum as usize];
        let mut slices = Vec::with_capacity(ranges.len());
        let mut rest = &mut in_keys[..];
        for &(lo, hi) in &ranges {
            let len = (in_offsets[hi as usize] - in_offsets[lo as usize]) as usize;
            let (mine, tail) = rest.split_at_mut(len);
            slices.push(((lo, hi), mine));
            rest = tail;
        }
        slices.into_par_iter().for_each(|((lo, hi), out)| {
            let at = in_offsets[lo as usize];
            let mut fill: Vec<u64> = in_offsets[lo as usize..hi as usize]
                .iter()
                .map(|&o| o - at)
                .collect();
            for_each_in(&edges, (lo, hi), |g, key| {
                let f = &mut fill[(g - lo) as usize];
                out[*f as usize] = key;
                *f += 1;
            });
        });
        Graph {
            in_offsets,
            in_keys,
            key_class,
            key_base,
            key_source,
            formats: q.classes.iter().map(|cl| cl.format).collect(),
        }
    }

    /// The rows of a bin whose members, in compartment order, are `order`: `(key,
    /// length, widest delta)` of every key with synapses on them (the first delta from
    /// compartment 0), keys in the order first met, into `out`. `scratch` holds a zeroed
    /// `(length, last compartment, widest)` per key and is left zeroed.
    pub fn bin_rows(
        &self,
        order: impl IntoIterator<Item = u32>,
        scratch: &mut [(u32, u32, u32)],
        out: &mut Vec<(u32, u32, u32)>,
    ) {
        out.clear();
        for (slot, gi) in order.into_iter().enumerate() {
            let slot = slot as u32;
            let (k0, k1) = (
                self.in_offsets[gi as usize] as usize,
                self.in_offsets[gi as usize + 1] as usize,
            );
            for &key in &self.in_keys[k0..k1] {
                let (len, last, widest) = &mut scratch[key as usize];
                if *len == 0 {
                    out.push((key, 0, 0));
                    *widest = slot;
                } else {
                    *widest = (*widest).max(slot - *last);
                }
                *last = slot;
                *len += 1;
            }
        }
        for row in out.iter_mut() {
            let (len, _, widest) = std::mem::take(&mut scratch[row.0 as usize]);
            (row.1, row.2) = (len, widest);
        }
    }
}

/// `n` contiguous ranges of `0..total` (fewer if `total` is small), in order.
fn split(total: u32, n: usize) -> Vec<(u32, u32)> {
    let n = (n.max(1) as u32).min(total.max(1));
    (0..n)
        .map(|i| {
            let at = |i: u32| (total as u64 * i as u64 / n as u64) as u32;
            (at(i), at(i + 1))
        })
        .collect()
}

/// `f(target, key)` for every synapse onto a neuron of `lo..hi`, in (projection,
/// source, synapse) order.
fn for_each_in(edges: &[Edge], (lo, hi): (u32, u32), mut f: impl FnMut(u32, u32)) {
    for edge in edges {
        if edge.base >= hi || edge.base + edge.size <= lo {
            continue;
        }
        let e = edge.e;
        // The range in the target population's own indices.
        let (tlo, thi) = (lo.saturating_sub(edge.base), hi - edge.base);
        for a in 0..e.offsets.len().saturating_sub(1) {
            let key = edge.key0 + a as u32;
            let mut row = &e.targets[e.range(a)];
            if edge.sorted {
                let start = row.partition_point(|&t| t < tlo);
                let end = start + row[start..].partition_point(|&t| t < thi);
                row = &row[start..end];
            }
            for &t in row {
                let g = edge.base + t;
                if g >= lo && g < hi {
                    f(g, key);
                }
            }
        }
    }
}
