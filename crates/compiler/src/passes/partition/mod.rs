//! Pass 5, partition: cut populations into bins, one bin per core, each within every
//! core limit.
//!
//! Decides which neurons share a core. Items (single neurons; whole output channel
//! planes of a shared convolution's target) are packed in the order of `order.rs` —
//! targets before their sources, colocated groups interleaved, hinted populations cut
//! into slices of their own — into the open bin while every limit holds: compartments
//! (and the hints' caps), input axons (one per row: a presynaptic neuron × row class with
//! synapses on the bin; `input_slots` per input pixel of a shared convolution), synapse
//! memory bits (each row rounded up to whole words; shared lists once) and output axons
//! (one per row a neuron feeds, counted on the core of the source; `output_slots` per
//! distinct (pixel, target core) of a shared convolution's source). Because targets are
//! packed first, a neuron's output axons are known when it is packed; only inside a
//! recurrent group can a closed bin gain output axons later, and if one overflows the
//! populations on it are re-packed at half the density. An item that breaks a limit is
//! taken back exactly and the bin closes, recording the limit (the report's "bound by").
//! A neuron that does not fit even an empty bin, more bins than the chip has cores, or a
//! hinted slice that does not fit one core is a hardware-limit error naming the limit
//! (and the hint).
//!
//! Bins are abstract: `place` decides which physical core each one becomes (a `place`
//! hint pins a bin's core).
//!
//! Threads: the incoming-key lists ([`graph`]) are built by target range and the
//! finished bins' rows are counted bin by bin, both in parallel and independent of the
//! thread count; the packing itself is sequential.

mod graph;
mod order;
mod pack;
pub mod shared;

use crate::context::{Bin, BinBlock, Compilation, Partition, RowRef};
use crate::error::{group, Error, ErrorKind, LimitExceeded};
use graph::Graph;
use order::Item;
use pack::{Fatal, Packer, NONE};
use std::collections::BTreeMap;

pub fn run(c: &mut Compilation) -> Result<(), Error> {
    let (Some(_), Some(q)) = (c.net.as_ref(), c.quant.as_ref()) else {
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
    let graph = Graph::build(c, q, &pop_base, total);
    let (bins, blocks, delta_rows) = pack_all(c, &graph, &pop_base, total, true)?;
    let first = |b: usize| {
        blocks
            .iter()
            .find(|x| x.bin as usize == b)
            .map(|x| x.projection)
    };
    let lead: Vec<Option<usize>> = (0..bins.len())
        .map(|b| first(b).and_then(|i| c.net.as_ref().map(|n| n.projections[i].post)))
        .collect();
    let (mut bins, bin_of, slot_of) = finish(bins, &pop_base, total, &lead);
    if bins.len() > c.chip.cores() as usize {
        return Err(too_many_cores(c, &bins));
    }
    let rows = rows(&graph, &bins, &pop_base);
    if delta_rows.is_some() {
        exact_bits(&graph, c.chip.core.word_bits, delta_rows, &rows, &mut bins);
    }
    let mut shared = blocks;
    shared.sort_unstable();
    c.partition = Some(Partition {
        bins,
        bin_of,
        slot_of,
        pop_base,
        rows,
        shared,
        delta_rows,
    });
    Ok(())
}

/// Bins with their members, the shared-convolution blocks and the delta width rows
/// were booked with.
type Packed = (
    Vec<(Bin, Vec<u32>)>,
    Vec<crate::context::SharedBlock>,
    Option<u8>,
);

/// Pack every item, packing again more sparsely while a closed bin's output axons
/// overflow; `runs`: book runs of items at once where they fit (`pack/batch.rs`), or
/// every item by itself (the same bins either way).
fn pack_all(
    c: &Compilation,
    graph: &Graph,
    pop_base: &[u32],
    total: u32,
    runs: bool,
) -> Result<Packed, Error> {
    let items = order::items(c);
    let npops = pop_base.len();
    let mut caps: Vec<u32> = (0..npops)
        .map(|p| c.program.mapping.max_of(&c.nodes[p].name))
        .collect();
    let mut attempt = 0;
    loop {
        match pack(c, graph, pop_base, (&items, runs), &caps, total) {
            Ok(x) => return Ok(x),
            Err(Stop::Hint(e)) => return Err(e),
            Err(Stop::Fatal(fatal, counts)) => {
                let shrinkable: Vec<_> = counts.into_iter().filter(|&(_, k)| k > 1).collect();
                if fatal.1.limit != "core.output_axons" || shrinkable.is_empty() || attempt >= 16 {
                    return Err(Error::limit(fatal_error(c, pop_base, fatal)));
                }
                attempt += 1;
                for (node, count) in shrinkable {
                    caps[node] = caps[node].min(count / 2);
                }
            }
        }
    }
}

/// Why packing stopped: a limit (possibly re-packable), or a hint that cannot hold.
enum Stop {
    Fatal(Fatal, Vec<(usize, u32)>),
    Hint(Error),
}

/// Pack every item into bins with their members, the shared-convolution blocks and the
/// delta width rows were booked with, or stop at a fatal overflow.
fn pack(
    c: &Compilation,
    g: &Graph,
    pop_base: &[u32],
    (items, runs): (&[Item], bool),
    caps: &[u32],
    total: u32,
) -> Result<Packed, Stop> {
    let mut p = Packer::new(c, g, pop_base, caps, total);
    p.set_runs(runs);
    p.opened();
    // Items `start..i` are in the open bin.
    let (mut i, mut start) = (0usize, 0usize);
    let cores = Some("mapping.cores");
    let seal_at =
        |p: &mut Packer, (start, i), limit| seal(c, pop_base, p, (items, start, i), limit);
    loop {
        while i < items.len() {
            let item = &items[i];
            if let Some(s) = item.slice.filter(|s| s.first) {
                if !p.open_is_empty() {
                    (i, start) = seal_at(&mut p, (start, i), cores)?;
                    continue;
                }
                let open = p.open() as usize;
                p.bins[open].pinned = s.pin;
            }
            let run = p.run_len(&items[i..]);
            if run > 1 && p.try_run(&items[i..i + run]) {
                i += run;
                continue;
            }
            let o = match p.try_add(item) {
                Ok(()) => {
                    i += 1;
                    if item.slice.is_some_and(|s| s.last) {
                        (i, start) = seal_at(&mut p, (start, i), cores)?;
                    }
                    continue;
                }
                Err(o) => o,
            };
            let open = p.open();
            let open_empty = p.open_is_empty();
            if let Some(s) = item.slice.filter(|s| !s.first || open_empty) {
                if o.limit != "core.output_axons" || o.bin == open {
                    return Err(Stop::Hint(hint_error(c, pop_base, item, s, o)));
                }
            }
            if o.limit == "core.output_axons" && (o.bin != open || open_empty) {
                // Re-pack the populations of the overflowing core more sparsely.
                let gi = pop_base[item.node as usize] + item.first;
                return Err(Stop::Fatal((gi, o), p.node_counts(o.bin)));
            }
            if open_empty {
                let gi = pop_base[item.node as usize] + item.first;
                return Err(Stop::Fatal((gi, o), Vec::new()));
            }
            (i, start) = seal_at(&mut p, (start, i), Some(o.limit))?;
        }
        if p.open_is_empty() {
            p.bins.pop();
            p.members.pop();
            break;
        }
        (i, start) = seal_at(&mut p, (start, i), None)?;
        if i == items.len() {
            break;
        }
    }
    let blocks = std::mem::take(&mut p.shared.blocks);
    let delta = p.delta;
    Ok((p.bins.into_iter().zip(p.members).collect(), blocks, delta))
}

/// Close the open bin, which holds `items[start..end]`, naming `limit` (`None`: the
/// last bin, left open), once its rows are counted exactly. If they do not fit, the bin
/// keeps the longest leading run of its items that does and closes on synapse memory.
/// Returns where packing goes on: `(next item, start of the new open bin)`.
fn seal(
    c: &Compilation,
    pop_base: &[u32],
    p: &mut Packer,
    (items, start, end): (&[Item], usize, usize),
    limit: Option<&'static str>,
) -> Result<(usize, usize), Stop> {
    let open_items = &items[start..end];
    let (next, limit) = match p.overfull(open_items) {
        None => (end, limit),
        Some((k, needed)) => {
            let o = pack::Overflow {
                limit: "core.synapse_memory_bits",
                needed,
                available: c.chip.core.synapse_memory_bits,
                bin: p.open(),
            };
            let first = &open_items[k.min(open_items.len() - 1)];
            if let Some(s) = open_items[k..].iter().find_map(|it| it.slice) {
                return Err(Stop::Hint(hint_error(c, pop_base, first, s, o)));
            }
            if k == 0 {
                let gi = pop_base[first.node as usize] + first.first;
                return Err(Stop::Fatal((gi, o), Vec::new()));
            }
            p.rollback();
            let replayed = open_items[..k].iter().all(|it| p.try_add(it).is_ok());
            if !replayed || p.overfull(&open_items[..k]).is_some() {
                return Err(Stop::Hint(Error::internal(
                    "partition",
                    vec![format!(
                        "bin {}: its first {k} items no longer fit",
                        p.open()
                    )],
                )));
            }
            (start + k, Some("core.synapse_memory_bits"))
        }
    };
    match limit {
        Some(l) => {
            p.close(l);
        }
        None if next == items.len() => {
            let open = p.open();
            p.shared.close(open);
        }
        None => p.close("core.synapse_memory_bits"),
    }
    Ok((next, next))
}

/// A hinted slice that does not fit one core.
fn hint_error(
    c: &Compilation,
    pop_base: &[u32],
    item: &Item,
    s: order::Slice,
    o: pack::Overflow,
) -> Error {
    let lead = &c.nodes[s.lead as usize].name;
    let hint = if c.program.mapping.place.contains_key(lead) {
        format!("mapping.place[\"{lead}\"]")
    } else {
        format!("mapping.cores[\"{lead}\"] = {}", s.n)
    };
    let node = node_of(pop_base, pop_base[item.node as usize] + item.first);
    let (why, fix) = match shared_fanout(c, node, o.limit) {
        Some((why, fix)) => (format!("; {why}"), fix),
        None => (
            String::new(),
            "give the population more cores, or drop the hint",
        ),
    };
    Error::limit(LimitExceeded {
        limit: o.limit.into(),
        what: format!(
            "hint {hint}: slice {} of `{}` (at neuron {} of `{}`{why})",
            s.k, lead, item.first, c.nodes[node].name
        ),
        needed: o.needed,
        available: o.available,
        chip: c.chip.name.clone(),
        fix: fix.into(),
    })
}

/// The population node of global neuron `gi`.
fn node_of(pop_base: &[u32], gi: u32) -> usize {
    pop_base.partition_point(|&s| s <= gi).saturating_sub(1)
}

/// Assign compartments (population by population within a bin; the planes of a shared
/// convolution's target, `lead[b]`, first, from compartment 0) and build blocks.
#[allow(clippy::type_complexity)]
fn finish(
    packed: Vec<(Bin, Vec<u32>)>,
    pop_base: &[u32],
    total: u32,
    lead: &[Option<usize>],
) -> (Vec<Bin>, Vec<u32>, Vec<u32>) {
    let mut bin_of = vec![NONE; total as usize];
    let mut slot_of = vec![NONE; total as usize];
    let mut bins = Vec::with_capacity(packed.len());
    for (b, (mut bin, mut members)) in packed.into_iter().enumerate() {
        slot_order(&mut members, pop_base, lead.get(b).copied().flatten());
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

/// A bin's members in compartment order: by neuron, the planes of a shared
/// convolution's target `lead` first.
pub(super) fn slot_order(members: &mut [u32], pop_base: &[u32], lead: Option<usize>) {
    members.sort_unstable();
    if let Some(t) = lead {
        members.sort_by_key(|&gi| node_of(pop_base, gi) != t);
    }
}

/// Every row: (bin, class, source, length, widest delta in compartment order), sorted;
/// bins in parallel, each from its members in compartment order (its blocks).
fn rows(g: &Graph, bins: &[Bin], pop_base: &[u32]) -> Vec<RowRef> {
    use rayon::prelude::*;
    let keys = g.key_class.len();
    let per_bin: Vec<Vec<RowRef>> = (bins.par_iter().enumerate())
        .map_init(
            || (vec![(0u32, 0u32, 0u32); keys], Vec::new()),
            |(scratch, found), (b, bin)| {
                let order = bin.blocks.iter().flat_map(|bl| {
                    let first = pop_base[bl.node] + bl.first_neuron;
                    first..first + bl.count
                });
                g.bin_rows(order, scratch, found);
                let mut rows: Vec<RowRef> = found
                    .iter()
                    .map(|&(key, len, widest)| {
                        let class = g.key_class[key as usize];
                        RowRef {
                            bin: b as u32,
                            class,
                            source: key - g.key_base[class as usize],
                            len,
                            widest,
                        }
                    })
                    .collect();
                rows.sort_unstable();
                rows
            },
        )
        .collect();
    per_bin.concat()
}

/// Book every bin's synapse bits exactly: each row of `rows` in the coding emit picks
/// for it (on a chip with delta-coded rows the packer's booking is an estimate, and
/// `Packer::overfull` skips the exact count of a bin whose rows fit even if all sparse).
fn exact_bits(g: &Graph, word_bits: u32, delta: Option<u8>, rows: &[RowRef], bins: &mut [Bin]) {
    use amine_chip::synapse::{delta_width, pick_row};
    bins.iter_mut().for_each(|b| b.synapse_bits = 0);
    for r in rows {
        let fmt = &g.formats[r.class as usize];
        let d = Some(delta_width(r.widest));
        if let Some(bin) = bins.get_mut(r.bin as usize) {
            bin.synapse_bits += pick_row(word_bits, fmt, delta, r.len, d).1;
        }
    }
}

/// For output axons of a shared convolution's source: why (each pixel reaches every core
/// of the target, which no spreading of the source changes) and the fix.
fn shared_fanout(c: &Compilation, node: usize, limit: &str) -> Option<(String, &'static str)> {
    let net = c.net.as_ref()?;
    let targets: Vec<&str> = (0..net.projections.len())
        .filter(|&i| net.shared(i).is_some() && net.projections[i].pre == node)
        .map(|i| c.nodes[net.projections[i].post].name.as_str())
        .collect();
    (limit == "core.output_axons" && !targets.is_empty()).then(|| {
        (
            format!(
                "each pixel reaches every core of `{}` through population axons",
                targets.join("`, `")
            ),
            "give the convolution's target fewer cores (mapping.cores), or expand it (`shared: Some(false)`)",
        )
    })
}

fn fatal_error(c: &Compilation, pop_base: &[u32], (gi, o): Fatal) -> LimitExceeded {
    let node = node_of(pop_base, gi);
    if let Some((why, fix)) = shared_fanout(c, node, o.limit) {
        return LimitExceeded {
            limit: o.limit.into(),
            what: format!("population `{}` ({why})", c.nodes[node].name),
            needed: o.needed,
            available: o.available,
            chip: c.chip.name.clone(),
            fix: fix.into(),
        };
    }
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
mod runs_tests;

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

    /// On a chip with delta-coded rows a bin books exactly the bits emit writes, and
    /// never more than its memory. Here the packer's estimate is too small: rows from
    /// `tail` reach only `i`, whose neurons sit after `e`'s in a bin, so their first
    /// delta is wide (sparse), while the estimate counts from `i`'s first neuron.
    #[test]
    fn delta_rows_book_what_emit_writes() {
        let delta = chip(|c| {
            c.core.delta_rows = Some(amine_chip::config::DeltaRowsConfig { max_delta_bits: 4 })
        });
        let text = program(
            &[pop("e", 64, "Excitatory"), pop("i", 64, "Inhibitory")],
            "(name: \"in\", size: 40, source: External), (name: \"tail\", size: 40, source: External)",
            r#"(from: "in", to: "e", connect: Random(p: 0.9), weight: Some(Const(1.0))),
               (from: "in", to: "i", connect: Random(p: 0.9), weight: Some(Const(1.0))),
               (from: "tail", to: "i", connect: Random(p: 0.9), weight: Some(Const(1.0)))"#,
        )
        .replace("projections: [(", "mapping: (colocate: [[\"e\", \"i\"]]), projections: [(");
        let bins_of = |chip: &amine_chip::config::ChipConfig| {
            let out = compile_text(&text, chip).unwrap();
            let part = out.compilation.partition.clone().unwrap();
            let place = out.compilation.placement.clone().unwrap();
            for (b, bin) in part.bins.iter().enumerate() {
                let core = place.core_of_bin[b];
                let k = out.image.cores.iter().find(|k| k.id == core).unwrap();
                assert_eq!(bin.synapse_bits, k.synapses.used_bits(), "bin {b}");
                assert!(bin.synapse_bits <= chip.core.synapse_memory_bits, "bin {b}");
            }
            part.bins
        };
        let sparse = bins_of(&chip(|_| {}));
        let coded = bins_of(&delta);
        // Memory enough for every row sparse: the closes skip the exact count, and the
        // bits are counted once every bin is packed.
        let roomy = chip(|c| {
            c.core.delta_rows = Some(amine_chip::config::DeltaRowsConfig { max_delta_bits: 4 });
            c.core.synapse_memory_bits = 1 << 20;
        });
        assert!(bins_of(&roomy)
            .iter()
            .all(|b| b.closed_by != Some("core.synapse_memory_bits")));
        assert!(
            coded.len() < sparse.len(),
            "{} vs {}",
            coded.len(),
            sparse.len()
        );
        assert!(coded
            .iter()
            .any(|b| b.closed_by == Some("core.synapse_memory_bits")));
    }
}
