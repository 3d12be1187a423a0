//! Shared-weight convolutions into the image: per bin, the shared lists (after its
//! discrete rows) and one population axon per input pixel; per source, its population
//! fan-out (one target per bin holding a channel of its group, carrying its input
//! channel as the atom).

use crate::context::Compilation;
use crate::passes::partition::shared::packets;
use amine_chip::image::{CorePopulation, PopAxon, PopFanout, PopTarget};
use amine_chip::synapse::{quantize_weight, Synapse, SynapseMemory};
use std::collections::BTreeMap;

/// Each bin's population section, and the population fan-out of every source by key.
type Emitted = (Vec<Option<CorePopulation>>, BTreeMap<u32, Vec<PopTarget>>);

/// The population sections of every bin (`None` where a bin has none) and the population
/// fan-out of every input port, after writing the shared lists into `memories`.
/// `source_key` numbers a node's neurons as the discrete fan-out does (populations by
/// global index, inputs after them).
pub(super) fn emit(
    c: &Compilation,
    memories: &mut [SynapseMemory],
    core_of_bin: &[u32],
    source_key: &dyn Fn(usize, u32) -> u32,
) -> Result<Emitted, Vec<String>> {
    let (Some(net), Some(q), Some(part)) = (&c.net, &c.quant, &c.partition) else {
        return Err(vec!["an earlier pass did not run".into()]);
    };
    let nbins = memories.len();
    let mut pops: Vec<Option<CorePopulation>> = vec![None; nbins];
    let Some(pc) = &c.chip.core.population else {
        return Ok((pops, BTreeMap::new()));
    };
    let mut problems = Vec::new();
    // Axon id of every (bin, projection, pixel).
    let mut axon_id: BTreeMap<(u32, usize, u32), u32> = BTreeMap::new();
    let mut row = Vec::new();
    for blk in &part.shared {
        let Some(conv) = net.shared(blk.projection) else {
            continue;
        };
        let cl = &q.classes[q.class_of[blk.projection]];
        let layout = conv.layout(pc.base_bits);
        let mem = &mut memories[blk.bin as usize];
        let pop = pops[blk.bin as usize].get_or_insert_with(|| CorePopulation {
            shared_from: mem.row_count() as u32,
            ..CorePopulation::default()
        });
        let delay = c.program.projections[blk.projection].delay;
        let mut first_row = Vec::with_capacity(layout.lists.len());
        for list in &layout.lists {
            first_row.push(mem.row_count() as u32);
            for ci in 0..conv.input.0 {
                // Every neuron of channel ci has the channel's exponent.
                let exp = cl.exponents[(ci * conv.pixels()) as usize];
                conv.list_row(list, ci, blk.channels, &mut row);
                let syn: Vec<Synapse> = row
                    .iter()
                    .map(|&(target, w)| Synapse {
                        target,
                        weight: quantize_weight(w, &cl.format, exp),
                        delay,
                        tag: 0,
                    })
                    .collect();
                if let Err(e) = mem.push_row(cl.format, exp, &syn) {
                    problems.push(format!(
                        "shared list of projection {} on bin {}: {e}",
                        blk.projection, blk.bin
                    ));
                }
            }
        }
        for (pixel, a) in layout.axon_of_pixel.iter().enumerate() {
            let Some((l, base)) = *a else { continue };
            let id = pop.shared_from + pop.axons.len() as u32;
            axon_id.insert((blk.bin, blk.projection, pixel as u32), id);
            pop.axons.push(PopAxon {
                first_row: first_row[l as usize],
                atoms: conv.input.0,
                base,
            });
        }
    }
    // Population fan-out by source key.
    let mut fan: BTreeMap<u32, Vec<PopTarget>> = BTreeMap::new();
    packets(c, part, |i, node, a, bin| {
        let pixels = net.convs[i].as_ref().map_or(1, |cv| cv.pixels());
        let Some(&axon) = axon_id.get(&(bin, i, a % pixels)) else {
            problems.push(format!(
                "projection {i}: no axon for source {a} on bin {bin}"
            ));
            return;
        };
        fan.entry(source_key(node, a)).or_default().push(PopTarget {
            core: core_of_bin[bin as usize],
            axon,
            atom: a / pixels,
        });
    });
    for list in fan.values_mut() {
        list.sort_unstable();
    }
    if problems.is_empty() {
        Ok((pops, fan))
    } else {
        Err(problems)
    }
}

/// A CSR population fan-out of `sources` keys from `first`, taken out of `fan`; empty
/// when no source has any.
pub(super) fn table(
    fan: &mut BTreeMap<u32, Vec<PopTarget>>,
    keys: impl Iterator<Item = u32>,
) -> PopFanout {
    let mut t = PopFanout {
        offsets: vec![0],
        targets: Vec::new(),
    };
    for k in keys {
        if let Some(v) = fan.remove(&k) {
            t.targets.extend(v);
        }
        t.offsets.push(t.targets.len() as u32);
    }
    if t.targets.is_empty() {
        PopFanout::default()
    } else {
        t
    }
}
