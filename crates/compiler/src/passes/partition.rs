//! Pass 5, partition: cut populations into bins, one bin per core, each within every
//! core limit.
//!
//! Decides which neurons share a core. Neurons are packed in program order (members of a
//! `mapping.colocate` group interleaved in proportion), one at a time, into the open bin
//! while all four limits hold — compartments, input axons (one per row: a presynaptic
//! neuron × row class with synapses on the bin), synapse memory bits (each row rounded
//! up to whole words) and output axons (one per row a neuron feeds, counted on the core
//! of the source). Adding a neuron is tried, and undone exactly if a limit breaks; the
//! bin is then closed and the neuron opens the next one. Several populations may share a
//! bin. A neuron that does not fit even an empty bin, or more bins than the chip has
//! cores, is a hardware-limit error naming the limit. If a core's output axons overflow
//! (its neurons reach too many cores), the populations on it are re-packed at half the
//! density, which divides their fan-out tables between more cores.
//!
//! Bins are abstract: `place` decides which physical core each one becomes.

use crate::context::{Bin, BinBlock, Compilation, Partition, RowRef};
use crate::error::{group, Error, ErrorKind, LimitExceeded};
use std::collections::BTreeMap;

const NONE: u32 = u32::MAX;

/// Why a neuron did not fit a bin.
#[derive(Debug, Clone, Copy)]
struct Overflow {
    limit: &'static str,
    needed: u64,
    available: u64,
    /// For output axons: the bin whose table overflowed.
    bin: u32,
}

/// Flattened view of the network for packing.
struct Graph {
    /// Incoming row keys of each neuron (one entry per synapse).
    in_offsets: Vec<u64>,
    in_keys: Vec<u32>,
    /// Row class of each key and global neuron index of its source (NONE for inputs).
    key_class: Vec<u32>,
    key_source: Vec<u32>,
    /// Entry bits of each class.
    entry_bits: Vec<u64>,
}

pub fn run(c: &mut Compilation) -> Result<(), Error> {
    let (Some(net), Some(q)) = (c.net.as_ref(), c.quant.as_ref()) else {
        return Err(Error::internal(
            "partition",
            vec!["quantize did not run".into()],
        ));
    };
    let npops = c.program.populations.len();
    let mut pop_base = Vec::with_capacity(npops);
    let mut total = 0u32;
    for n in &c.nodes[..npops] {
        pop_base.push(total);
        total += n.size;
    }
    // Keys: one per (row class, presynaptic neuron).
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
    let mut counts = vec![0u64; total as usize + 1];
    for e in &net.projections {
        for &t in &e.targets {
            counts[(pop_base[e.post] + t) as usize + 1] += 1;
        }
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let in_offsets = counts.clone();
    let mut fill = counts;
    let mut in_keys = vec![0u32; *in_offsets.last().unwrap_or(&0) as usize];
    for (p, e) in net.projections.iter().enumerate() {
        let kb = key_base[q.class_of[p]];
        for a in 0..e.offsets.len() - 1 {
            for s in e.range(a) {
                let g = (pop_base[e.post] + e.targets[s]) as usize;
                in_keys[fill[g] as usize] = kb + a as u32;
                fill[g] += 1;
            }
        }
    }
    let graph = Graph {
        in_offsets,
        in_keys,
        key_class,
        key_source,
        entry_bits: q
            .classes
            .iter()
            .map(|cl| cl.format.entry_bits() as u64)
            .collect(),
    };
    let order = item_order(c, &pop_base);
    let mut caps = vec![u32::MAX; npops];
    let mut attempt = 0;
    let bins = loop {
        match pack(c, &graph, &pop_base, &order, &caps, total) {
            Ok(bins) => break bins,
            Err((fatal, counts)) => {
                let shrinkable: Vec<_> = counts.into_iter().filter(|&(_, k)| k > 1).collect();
                if fatal.1.limit != "core.output_axons" || shrinkable.is_empty() || attempt >= 16 {
                    return Err(Error::limit(fatal_error(c, &pop_base, fatal)));
                }
                attempt += 1;
                for (node, count) in shrinkable {
                    caps[node] = count / 2;
                }
            }
        }
    };
    let (bins, bin_of, slot_of) = finish(bins, &pop_base, total);
    if bins.len() > c.chip.cores() as usize {
        return Err(too_many_cores(c, &bins));
    }
    let rows = rows(c, &pop_base, &bin_of);
    c.partition = Some(Partition {
        bins,
        bin_of,
        slot_of,
        pop_base,
        rows,
    });
    Ok(())
}

/// Neurons in packing order: `(node, index)`.
fn item_order(c: &Compilation, pop_base: &[u32]) -> Vec<(u32, u32)> {
    let mut order = Vec::with_capacity(*pop_base.last().unwrap_or(&0) as usize);
    let mut done = vec![false; pop_base.len()];
    for p in 0..pop_base.len() {
        if done[p] {
            continue;
        }
        let name = &c.nodes[p].name;
        let members: Vec<usize> = c
            .program
            .mapping
            .colocate
            .iter()
            .find(|g| g.contains(name))
            .map(|g| g.iter().filter_map(|n| c.node(n)).collect())
            .unwrap_or_else(|| vec![p]);
        let sizes: Vec<u64> = members.iter().map(|&m| c.nodes[m].size as u64).collect();
        let mut emitted = vec![0u64; members.len()];
        let total: u64 = sizes.iter().sum();
        for _ in 0..total {
            // Bresenham-like: the member furthest behind its share goes next.
            let k = (0..members.len())
                .filter(|&k| emitted[k] < sizes[k])
                .min_by(|&a, &b| {
                    let fa = (2 * emitted[a] + 1) as u128 * sizes[b] as u128;
                    let fb = (2 * emitted[b] + 1) as u128 * sizes[a] as u128;
                    fa.cmp(&fb)
                })
                .unwrap_or(0);
            order.push((members[k] as u32, emitted[k] as u32));
            emitted[k] += 1;
        }
        for &m in &members {
            done[m] = true;
        }
    }
    order
}

/// Bits of a row of `len` entries of `entry_bits`, in whole words.
fn row_bits(entry_bits: u64, len: u64, word: u64) -> u64 {
    (len * entry_bits).div_ceil(word) * word
}

/// The packing state: one open bin at a time; earlier bins only gain output axons.
struct Packer<'a> {
    g: &'a Graph,
    pop_base: &'a [u32],
    caps: &'a [u32],
    word: u64,
    cap: u32,
    limits: (u64, u64, u64),
    bin_of: Vec<u32>,
    /// Rows already created for a neuron not yet placed in a bin (its future output axons).
    pending_out: Vec<u32>,
    /// Length of each key's row on the open bin.
    cur_len: Vec<u32>,
    touched: Vec<u32>,
    out_delta: Vec<u32>,
    delta_bins: Vec<u32>,
    bins: Vec<Bin>,
    members: Vec<Vec<u32>>,
    per_node: BTreeMap<usize, u32>,
}

/// Why packing stopped: the neuron (global index) and the overflow.
type Fatal = (u32, Overflow);

impl Packer<'_> {
    fn open(&self) -> u32 {
        self.bins.len() as u32 - 1
    }

    fn add_out(&mut self, bin: u32, n: u32) {
        if n > 0 {
            if self.out_delta[bin as usize] == 0 {
                self.delta_bins.push(bin);
            }
            self.out_delta[bin as usize] += n;
        }
    }

    /// Put neuron `gi` of `node` in the open bin, or change nothing and say why not.
    fn try_add(&mut self, gi: u32, node: usize) -> Result<(), Overflow> {
        let b = self.open();
        let cur = self.bins[b as usize].clone();
        if cur.compartments >= self.cap {
            return Err(Overflow {
                limit: "core.compartments",
                needed: cur.compartments as u64 + 1,
                available: self.cap as u64,
                bin: b,
            });
        }
        if self.per_node.get(&node).copied().unwrap_or(0) >= self.caps[node] {
            return Err(Overflow {
                limit: "core.output_axons",
                needed: 0,
                available: 0,
                bin: b,
            });
        }
        let g = self.g;
        let (k0, k1) = (
            g.in_offsets[gi as usize] as usize,
            g.in_offsets[gi as usize + 1] as usize,
        );
        let (mut new_rows, mut dbits) = (0u64, 0u64);
        self.out_delta.resize(self.bins.len(), 0);
        for &key in &g.in_keys[k0..k1] {
            let len = self.cur_len[key as usize];
            if len == 0 {
                new_rows += 1;
                self.touched.push(key);
                let src = g.key_source[key as usize];
                if src == gi {
                    self.add_out(b, 1);
                } else if src != NONE && self.bin_of[src as usize] != NONE {
                    self.add_out(self.bin_of[src as usize], 1);
                } else if src != NONE {
                    self.pending_out[src as usize] += 1;
                }
            }
            self.cur_len[key as usize] = len + 1;
            let eb = g.entry_bits[g.key_class[key as usize] as usize];
            dbits += row_bits(eb, len as u64 + 1, self.word) - row_bits(eb, len as u64, self.word);
        }
        self.add_out(b, self.pending_out[gi as usize]);
        let (axons_in, bits, axons_out) = self.limits;
        let over_out = self.delta_bins.iter().copied().find(|&ob| {
            self.bins[ob as usize].output_axons as u64 + self.out_delta[ob as usize] as u64
                > axons_out
        });
        let fail = if cur.input_axons as u64 + new_rows > axons_in {
            Some(Overflow {
                limit: "core.input_axons",
                needed: cur.input_axons as u64 + new_rows,
                available: axons_in,
                bin: b,
            })
        } else if cur.synapse_bits + dbits > bits {
            Some(Overflow {
                limit: "core.synapse_memory_bits",
                needed: cur.synapse_bits + dbits,
                available: bits,
                bin: b,
            })
        } else {
            over_out.map(|ob| Overflow {
                limit: "core.output_axons",
                needed: self.bins[ob as usize].output_axons as u64
                    + self.out_delta[ob as usize] as u64,
                available: axons_out,
                bin: ob,
            })
        };
        if let Some(o) = fail {
            // Undo exactly, in reverse: a key's first occurrence is the one that made its row.
            for &key in g.in_keys[k0..k1].iter().rev() {
                self.cur_len[key as usize] -= 1;
                if self.cur_len[key as usize] == 0 {
                    self.touched.pop();
                    let src = g.key_source[key as usize];
                    if src != NONE && src != gi && self.bin_of[src as usize] == NONE {
                        self.pending_out[src as usize] -= 1;
                    }
                }
            }
            for &ob in &self.delta_bins {
                self.out_delta[ob as usize] = 0;
            }
            self.delta_bins.clear();
            return Err(o);
        }
        let cur = &mut self.bins[b as usize];
        cur.compartments += 1;
        cur.input_axons += new_rows as u32;
        cur.synapse_bits += dbits;
        for &ob in &self.delta_bins {
            self.bins[ob as usize].output_axons += self.out_delta[ob as usize];
            self.out_delta[ob as usize] = 0;
        }
        self.delta_bins.clear();
        self.pending_out[gi as usize] = 0;
        self.bin_of[gi as usize] = b;
        self.members[b as usize].push(gi);
        *self.per_node.entry(node).or_insert(0) += 1;
        Ok(())
    }

    fn close(&mut self, limit: &'static str) {
        let b = self.open() as usize;
        self.bins[b].closed_by = Some(limit);
        for &key in &self.touched {
            self.cur_len[key as usize] = 0;
        }
        self.touched.clear();
        self.per_node.clear();
        self.bins.push(Bin::default());
        self.members.push(Vec::new());
    }

    /// Population counts of bin `b`.
    fn node_counts(&self, b: u32) -> Vec<(usize, u32)> {
        let mut m: BTreeMap<usize, u32> = BTreeMap::new();
        for &x in self.members.get(b as usize).map_or(&[][..], |v| v) {
            *m.entry(node_of(self.pop_base, x)).or_insert(0) += 1;
        }
        m.into_iter().collect()
    }
}

/// Pack every neuron into bins with their members, or stop at a fatal overflow.
#[allow(clippy::type_complexity)]
fn pack(
    c: &Compilation,
    g: &Graph,
    pop_base: &[u32],
    order: &[(u32, u32)],
    caps: &[u32],
    total: u32,
) -> Result<Vec<(Bin, Vec<u32>)>, (Fatal, Vec<(usize, u32)>)> {
    let core = &c.chip.core;
    let mut p = Packer {
        g,
        pop_base,
        caps,
        word: core.word_bits.max(1) as u64,
        cap: core.compartments.min(
            c.program
                .mapping
                .max_compartments_per_core
                .unwrap_or(u32::MAX),
        ),
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
    };
    for &(node, idx) in order {
        let gi = pop_base[node as usize] + idx;
        loop {
            match p.try_add(gi, node as usize) {
                Ok(()) => break,
                Err(o) => {
                    let open = p.open();
                    let open_empty = p.members[open as usize].is_empty();
                    if o.limit == "core.output_axons" && (o.bin != open || open_empty) {
                        // Re-pack the populations of the overflowing core more sparsely.
                        return Err(((gi, o), p.node_counts(o.bin)));
                    }
                    if open_empty {
                        return Err(((gi, o), Vec::new()));
                    }
                    p.close(o.limit);
                }
            }
        }
    }
    if p.members.last().is_some_and(|m| m.is_empty()) {
        p.bins.pop();
        p.members.pop();
    }
    Ok(p.bins.into_iter().zip(p.members).collect())
}

/// The population node of global neuron `gi`.
fn node_of(pop_base: &[u32], gi: u32) -> usize {
    pop_base.partition_point(|&s| s <= gi).saturating_sub(1)
}

/// Assign compartments (population by population within a bin) and build blocks.
#[allow(clippy::type_complexity)]
fn finish(
    packed: Vec<(Bin, Vec<u32>)>,
    pop_base: &[u32],
    total: u32,
) -> (Vec<Bin>, Vec<u32>, Vec<u32>) {
    let mut bin_of = vec![NONE; total as usize];
    let mut slot_of = vec![NONE; total as usize];
    let mut bins = Vec::with_capacity(packed.len());
    for (b, (mut bin, mut members)) in packed.into_iter().enumerate() {
        members.sort_unstable();
        bin.blocks.clear();
        for (slot, &gi) in members.iter().enumerate() {
            bin_of[gi as usize] = b as u32;
            slot_of[gi as usize] = slot as u32;
            let node = node_of(pop_base, gi);
            let idx = gi - pop_base[node];
            match bin.blocks.last_mut() {
                Some(bl) if bl.node == node && bl.first_neuron + bl.count == idx => bl.count += 1,
                _ => bin.blocks.push(BinBlock {
                    node,
                    first_neuron: idx,
                    count: 1,
                    first_compartment: slot as u32,
                }),
            }
        }
        bins.push(bin);
    }
    (bins, bin_of, slot_of)
}

/// Every row: (bin, class, source, length), sorted.
fn rows(c: &Compilation, pop_base: &[u32], bin_of: &[u32]) -> Vec<RowRef> {
    let (Some(net), Some(q)) = (c.net.as_ref(), c.quant.as_ref()) else {
        return Vec::new();
    };
    let nbins = bin_of
        .iter()
        .filter(|&&b| b != NONE)
        .max()
        .map_or(0, |&b| b as usize + 1);
    let mut count = vec![0u32; nbins];
    let mut hit: Vec<u32> = Vec::new();
    let mut rows = Vec::new();
    for (k, cl) in q.classes.iter().enumerate() {
        for a in 0..c.nodes[cl.source].size as usize {
            for &p in &cl.projections {
                let e = &net.projections[p];
                for s in e.range(a) {
                    let b = bin_of[(pop_base[e.post] + e.targets[s]) as usize];
                    if count[b as usize] == 0 {
                        hit.push(b);
                    }
                    count[b as usize] += 1;
                }
            }
            for &b in &hit {
                rows.push(RowRef {
                    bin: b,
                    class: k as u32,
                    source: a as u32,
                    len: count[b as usize],
                });
                count[b as usize] = 0;
            }
            hit.clear();
        }
    }
    rows.sort_unstable();
    rows
}

fn fatal_error(c: &Compilation, pop_base: &[u32], (gi, o): Fatal) -> LimitExceeded {
    let node = node_of(pop_base, gi);
    let neuron = format!(
        "population `{}` neuron {}",
        c.nodes[node].name,
        gi - pop_base[node]
    );
    let (what, fix) = match o.limit {
        "core.input_axons" => (neuron, "split it or lower fan-in (fewer presynaptic neurons)"),
        "core.synapse_memory_bits" => (neuron, "lower its fan-in or use narrower weights (weight_bits)"),
        "core.output_axons" => (
            format!("a core sending to {neuron}"),
            "lower the fan-out of its neurons (fewer target cores), or spread them with mapping.max_compartments_per_core",
        ),
        _ => (neuron, "use a chip with larger cores"),
    };
    LimitExceeded {
        limit: o.limit.into(),
        what,
        needed: o.needed,
        available: o.available,
        chip: c.chip.name.clone(),
        fix: fix.into(),
    }
}

fn too_many_cores(c: &Compilation, bins: &[Bin]) -> Error {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for b in bins {
        if let Some(l) = b.closed_by {
            *by.entry(l).or_insert(0) += 1;
        }
    }
    let (limit, n) = by
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(l, n)| (*l, *n))
        .unwrap_or(("core.compartments", 0));
    let cap = match limit {
        "core.input_axons" => format!("{} input axons", group(c.chip.core.input_axons as u64)),
        "core.synapse_memory_bits" => format!(
            "{} bits of synapse memory",
            group(c.chip.core.synapse_memory_bits)
        ),
        "core.output_axons" => format!("{} output axons", group(c.chip.core.output_axons as u64)),
        _ => format!("{} compartments", group(c.chip.core.compartments as u64)),
    };
    Error::new(ErrorKind::HardwareLimit(vec![LimitExceeded {
        limit: "chip.cores".into(),
        what: format!(
            "the program (cores fill up on {limit}: {n} of {} cores hold {cap})",
            bins.len()
        ),
        needed: bins.len() as u64,
        available: c.chip.cores() as u64,
        chip: c.chip.name.clone(),
        fix: "use a chip with more or larger cores, fewer neurons or synapses, or narrower weights"
            .into(),
    }]))
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn populations_share_cores_and_fill_them() {
        let text = program(&[pop("a", 40, "Mixed"), pop("b", 40, "Mixed")], "", "");
        let out = compile_text(&text, &chip(|_| {})).unwrap();
        let part = out.compilation.partition.unwrap();
        // 80 neurons, 64 compartments per core: 64 + 16, `a` and `b` sharing the first.
        assert_eq!(part.bins.len(), 2);
        assert_eq!(part.bins[0].compartments, 64);
        assert_eq!(part.bins[0].blocks.len(), 2);
        assert_eq!(part.bins[0].closed_by, Some("core.compartments"));
    }

    #[test]
    fn synapse_memory_closes_bins() {
        // 100 sources all-to-all onto `b`: 100 rows; 6-bit index + 1-bit weight = 7 bits
        // per entry; 16,384 bits hold 100 rows of ceil(7n/64) words for n ≤ 18.
        let text = program(
            &[pop("b", 40, "Mixed")],
            "(name: \"in\", size: 100, source: External)",
            r#"(from: "in", to: "b", connect: All, weight: Some(Const(1.0)))"#,
        );
        let out = compile_text(&text, &chip(|_| {})).unwrap();
        let part = out.compilation.partition.unwrap();
        let per: Vec<u32> = part.bins.iter().map(|b| b.compartments).collect();
        let n_max = (1..=64u64)
            .filter(|n| 100 * (7 * n).div_ceil(64) * 64 <= 16384)
            .max()
            .unwrap();
        assert_eq!(per[0] as u64, n_max, "{per:?}");
        assert!(part.bins.iter().all(|b| b.synapse_bits <= 16384));
        assert_eq!(part.bins[0].closed_by, Some("core.synapse_memory_bits"));
    }

    #[test]
    fn a_neuron_too_big_for_any_core_names_the_limit() {
        let text = program(
            &[pop("b", 2, "Mixed")],
            "(name: \"in\", size: 200, source: External)",
            r#"(from: "in", to: "b", connect: All, weight: Some(Const(1.0)))"#,
        );
        let e = err(compile_text(&text, &chip(|_| {})));
        assert_eq!(limits(&e), vec!["core.input_axons"]);
        let s = e.to_string();
        assert!(
            s.contains("population `b` neuron 0 needs 200 input axons")
                && s.contains("tiny allows 128"),
            "{s}"
        );
    }

    #[test]
    fn too_many_cores_names_the_filling_limit() {
        let text = program(
            &[pop("b", 70, "Mixed")],
            "(name: \"in\", size: 120, source: External)",
            r#"(from: "in", to: "b", connect: All, weight: Some(Uniform(low: 0.1, high: 0.9)))"#,
        );
        let e = err(compile_text(&text, &chip(|_| {})));
        assert_eq!(limits(&e), vec!["chip.cores"]);
        assert!(e.to_string().contains("core.synapse_memory_bits"), "{e}");
    }

    #[test]
    fn output_axon_overflow_repacks_more_sparsely() {
        // Every `a` neuron reaches every `b` neuron; `b` needs 8 cores (memory), so each `a`
        // neuron needs 8 output axons: 64 of them on one core would need 512 > 256.
        let c = chip(|c| {
            c.core.output_axons = 256;
            c.mesh.tiles_x = 4;
            c.mesh.tiles_y = 4;
        });
        let text = program(
            &[pop("a", 64, "Mixed"), pop("b", 120, "Mixed")],
            "",
            r#"(from: "a", to: "b", connect: All, weight: Some(Uniform(low: -1.0, high: 1.0)))"#,
        );
        let out = compile_text(&text, &c).unwrap();
        for k in &out.image.cores {
            assert!(
                k.fanout.len() <= 256,
                "core {} has {} output axons",
                k.id,
                k.fanout.len()
            );
        }
    }

    #[test]
    fn colocated_populations_are_cut_in_proportion() {
        let text = program(
            &[pop("e", 96, "Excitatory"), pop("i", 32, "Inhibitory")],
            "",
            "",
        )
        .replace(
            "projections: []",
            "projections: [], mapping: (colocate: [[\"e\", \"i\"]])",
        );
        let out = compile_text(&text, &chip(|_| {})).unwrap();
        let part = out.compilation.partition.unwrap();
        for b in &part.bins {
            let counts: Vec<u32> = b.blocks.iter().map(|bl| bl.count).collect();
            assert_eq!(counts, vec![48, 16], "{:?}", b.blocks);
        }
    }
}
