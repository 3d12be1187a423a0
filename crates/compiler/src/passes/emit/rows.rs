//! The discrete synapse rows of every core: each (row class, presynaptic neuron)'s
//! synapses, quantised, sorted and cut by bin, written into the bins' synapse memories.
//!
//! Sources are taken in blocks: the rows of a block are gathered in parallel (chunks of
//! sources), then each bin writes its rows of the block in (class, source) order, bins in
//! parallel. A bin's axons are therefore numbered exactly as one pass over the sources
//! in order would number them, whatever the thread count; a block bounds the memory the
//! gathered rows take.

use crate::context::{Compilation, Expanded, Partition, RowClass, RowRef, Values};
use amine_chip::image::{AxonTarget, PlasticRow};
use amine_chip::synapse::{best_coding, quantize_weight, Synapse, SynapseMemory};
use rayon::prelude::*;

/// Sources gathered by one task, and sources per block.
const CHUNK: u32 = 512;
const BLOCK: u32 = 64 * CHUNK;

/// What the rows gave each bin: fan-out entries (source key, target), plastic rows and
/// problems (each a compiler bug).
#[derive(Default)]
pub(super) struct BinRows {
    pub fan: Vec<(u32, AxonTarget)>,
    pub plastic: Vec<PlasticRow>,
    pub problems: Vec<String>,
}

/// One gathered row: its bin and key, and its synapses `syn[start..start + key.len]`.
struct Row {
    key: RowRef,
    source_key: u32,
    start: usize,
}

/// The gathered rows of a chunk of sources, in (source, bin) order.
#[derive(Default)]
struct Gathered {
    rows: Vec<Row>,
    syn: Vec<Synapse>,
    scratch: Vec<(u32, Synapse)>,
}

/// Write every discrete row into `memories` (one per bin); `source_key(node, a)` is the
/// fan-out key of neuron or input `a` of node `node`.
pub(super) fn write(
    c: &Compilation,
    memories: &mut [SynapseMemory],
    axon_of_row: &[u32],
    core_of_bin: &[u32],
    source_key: &(dyn Fn(usize, u32) -> u32 + Sync),
) -> Vec<BinRows> {
    let mut out: Vec<BinRows> = (0..memories.len()).map(|_| BinRows::default()).collect();
    let (Some(net), Some(q), Some(part)) = (c.net.as_ref(), c.quant.as_ref(), c.partition.as_ref())
    else {
        return out;
    };
    // Each row takes the coding with the fewest bits the chip supports.
    let max_delta = c.chip.core.delta_rows.as_ref().map(|d| d.max_delta_bits);
    let mut of_bin: Vec<Vec<(usize, usize)>> = vec![Vec::new(); memories.len()];
    // Each bin meets its rows in `part.rows` order (class, then source): a cursor per bin
    // finds the next one without a search (a search is the fallback).
    let mut cursors: Vec<usize> = (0..memories.len() as u32)
        .map(|b| part.rows.partition_point(|x| x.bin < b))
        .collect();
    for (k, cl) in q.classes.iter().enumerate() {
        let size = c.nodes[cl.source].size;
        for block in (0..size).step_by(BLOCK as usize) {
            let end = size.min(block + BLOCK);
            let chunks: Vec<Gathered> = (block..end)
                .step_by(CHUNK as usize)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|a0| {
                    let mut g = Gathered::default();
                    let sources = a0..end.min(a0 + CHUNK);
                    g.syn
                        .reserve_exact(synapses_of(&net.projections, cl, sources.clone()));
                    for a in sources {
                        let key = source_key(cl.source, a);
                        gather(&net.projections, part, cl, (k as u32, a, key), &mut g);
                    }
                    g
                })
                .collect();
            for list in &mut of_bin {
                list.clear();
            }
            for (ci, g) in chunks.iter().enumerate() {
                for (ri, r) in g.rows.iter().enumerate() {
                    of_bin[r.key.bin as usize].push((ci, ri));
                }
            }
            // One task a bin: a block's rows sit on the few bins its sources reach
            // (module-local networks), which halves of the bin list would not balance.
            memories
                .par_iter_mut()
                .zip(out.par_iter_mut())
                .zip(cursors.par_iter_mut())
                .zip(&of_bin)
                .enumerate()
                .with_max_len(1)
                .for_each(|(bin, (((mem, o), cursor), list))| {
                    for &(ci, ri) in list {
                        let (g, r) = (&chunks[ci], &chunks[ci].rows[ri]);
                        let syns = &g.syn[r.start..r.start + r.key.len as usize];
                        let exp = cl.exponents[r.key.source as usize];
                        let found = match part.rows.get(*cursor) {
                            Some(x) if *x == r.key => Some(*cursor),
                            _ => part.rows.binary_search(&r.key).ok(),
                        };
                        if let Some(i) = found {
                            *cursor = i + 1;
                        }
                        let expected = found.map(|i| axon_of_row[i]);
                        let (k, a) = (r.key.class, r.key.source);
                        let coding = best_coding(mem.word_bits(), &cl.format, max_delta, syns);
                        match mem.push_row_coded(cl.format, coding, exp, syns) {
                            Ok(axon) if Some(axon) == expected => {
                                let core = core_of_bin[bin];
                                o.fan.push((r.source_key, AxonTarget { core, axon }));
                                if let Some(slot) = cl.slot {
                                    o.plastic.push(PlasticRow { row: axon, slot });
                                }
                            }
                            Ok(axon) => o.problems.push(format!(
                                "row of class {k} source {a} on bin {bin}: axon {axon}, routed {expected:?}"
                            )),
                            Err(e) => o
                                .problems
                                .push(format!("row of class {k} source {a} on bin {bin}: {e}")),
                        }
                    }
                });
        }
    }
    out
}

/// How many synapses the (non-empty) `sources` of class `cl` have.
fn synapses_of(projections: &[Expanded], cl: &RowClass, sources: std::ops::Range<u32>) -> usize {
    cl.projections
        .iter()
        .map(|&p| {
            let e = &projections[p];
            let first = e.range(sources.start as usize).start;
            e.range(sources.end as usize - 1).end.saturating_sub(first)
        })
        .sum()
}

/// Source `a` (fan-out key `source_key`) of class `k`: its synapses from every
/// projection of the class, quantised and sorted by (bin, target), one row per bin
/// appended to `g`.
fn gather(
    projections: &[Expanded],
    part: &Partition,
    cl: &RowClass,
    (k, a, source_key): (u32, u32, u32),
    g: &mut Gathered,
) {
    let exp = cl.exponents[a as usize];
    let first = g.syn.len();
    let bins = &mut g.scratch;
    bins.clear();
    for &p in &cl.projections {
        let e = &projections[p];
        // A constant weight is quantised once for the row, not once a synapse.
        let constant = match e.weights {
            Values::Const(w) => Some(quantize_weight(w, &cl.format, exp)),
            Values::Each(_) => None,
        };
        for s in e.range(a as usize) {
            let t = (part.pop_base[e.post] + e.targets[s]) as usize;
            bins.push((
                part.bin_of[t],
                Synapse {
                    target: part.slot_of[t],
                    weight: constant
                        .unwrap_or_else(|| quantize_weight(e.weights.get(s), &cl.format, exp)),
                    delay: e.delays.get(s),
                    tag: 0,
                },
            ));
        }
    }
    // Stable: synapses to one compartment keep projection order.
    bins.sort_by_key(|(b, s)| (*b, s.target));
    let mut i = 0;
    while i < bins.len() {
        let bin = bins[i].0;
        let j = i + bins[i..].iter().take_while(|(b, _)| *b == bin).count();
        let mut prev = 0;
        let widest = bins[i..j].iter().fold(0, |w: u32, (_, s)| {
            let w = w.max(s.target - prev);
            prev = s.target;
            w
        });
        g.rows.push(Row {
            key: RowRef {
                bin,
                class: k,
                source: a,
                len: (j - i) as u32,
                widest,
            },
            source_key,
            start: first + i,
        });
        i = j;
    }
    g.syn.extend(bins.iter().map(|x| x.1));
}
