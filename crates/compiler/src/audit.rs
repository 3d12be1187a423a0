//! The "nothing lost" proof: the synapses of the program and of the image, as multisets.
//!
//! [`image_synapses`] reads an image back *through its own structure* — fan-out tables
//! say which neuron or input owns each input axon (row), population maps say which
//! neuron each compartment is — and lists every stored synapse with its effective weight
//! (`mantissa << (6 + exponent)`, in u units) and delay. [`program_synapses`] lists the
//! program's expanded synapses with the weights the quantize pass chose. Sorted, the two
//! lists are equal exactly when every synapse of the program appears once in the image
//! with its quantized weight.

use crate::context::Compilation;
use amine_chip::image::{ChipImage, PopTarget};
use amine_chip::synapse::{effective_weight, quantize_weight};

/// `(pre_node, pre_index, post_node, post_index, effective_weight, delay)`, where nodes
/// number the populations in order, then the inputs.
pub type SynapseRecord = (u32, u32, u32, u32, i32, u8);

/// Every synapse stored in `image`, sorted; an error if the image's structure is
/// inconsistent (a row owned by no output axon or by two, a compartment of no population).
pub fn image_synapses(image: &ChipImage) -> Result<Vec<SynapseRecord>, String> {
    let npops = image.populations.len() as u32;
    let core_index = |id: u32| image.cores.binary_search_by_key(&id, |k| k.id).ok();
    // Owner (node, index) of each core's compartments.
    let mut owner: Vec<Vec<Option<(u32, u32)>>> = image
        .cores
        .iter()
        .map(|k| vec![None; k.compartments.len()])
        .collect();
    for (p, pop) in image.populations.iter().enumerate() {
        for b in &pop.blocks {
            let k = core_index(b.core).ok_or(format!("block on missing core {}", b.core))?;
            for n in 0..b.count {
                let slot = owner[k]
                    .get_mut((b.first_compartment + n) as usize)
                    .ok_or("block outside its core")?;
                if slot.replace((p as u32, b.first_neuron + n)).is_some() {
                    return Err(format!(
                        "core {} compartment {} holds two neurons",
                        b.core,
                        b.first_compartment + n
                    ));
                }
            }
        }
    }
    // Source of each row.
    let mut source: Vec<Vec<Option<(u32, u32)>>> = image
        .cores
        .iter()
        .map(|k| vec![None; k.synapses.rows().len()])
        .collect();
    let mut claim = |from: (u32, u32), t: &amine_chip::image::AxonTarget| -> Result<(), String> {
        let k = core_index(t.core).ok_or(format!("fan-out to missing core {}", t.core))?;
        let slot = source[k]
            .get_mut(t.axon as usize)
            .ok_or("fan-out to a missing axon")?;
        if slot.replace(from).is_some() {
            return Err(format!("core {} axon {} has two sources", t.core, t.axon));
        }
        Ok(())
    };
    // Source of each (population axon, atom): (core index, axon id, atom) → source.
    let mut pop_source: std::collections::BTreeMap<(usize, u32, u32), (u32, u32)> =
        Default::default();
    let mut claim_pop = |from: (u32, u32), t: &PopTarget| -> Result<(), String> {
        let k = core_index(t.core).ok_or(format!("fan-out to missing core {}", t.core))?;
        if pop_source.insert((k, t.axon, t.atom), from).is_some() {
            return Err(format!(
                "core {} population axon {} atom {} has two sources",
                t.core, t.axon, t.atom
            ));
        }
        Ok(())
    };
    for (k, core) in image.cores.iter().enumerate() {
        for (c, who) in owner[k].iter().enumerate() {
            let from = who.ok_or(format!("core {} compartment {c} has no neuron", core.id))?;
            for t in core.fanout_of(c) {
                claim(from, t)?;
            }
            for t in core.pop_fanout_of(c) {
                claim_pop(from, t)?;
            }
        }
    }
    for (i, port) in image.inputs.iter().enumerate() {
        for a in 0..port.size as usize {
            for t in port.fanout_of(a) {
                claim((npops + i as u32, a as u32), t)?;
            }
            for t in port.pop_fanout_of(a) {
                claim_pop((npops + i as u32, a as u32), t)?;
            }
        }
    }
    let mut out = Vec::with_capacity(image.synapse_count() as usize);
    for (k, core) in image.cores.iter().enumerate() {
        let discrete = core.discrete_rows() as usize;
        // Population axons: each atom's row, offset by the base, from the atom's source.
        if let Some(p) = &core.population {
            for (a, ax) in p.axons.iter().enumerate() {
                let id = p.shared_from + a as u32;
                for atom in 0..ax.atoms {
                    let r = ax.first_row + atom;
                    let row = core.synapses.rows()[r as usize];
                    let mut syn = core.synapses.row_synapses(r).peekable();
                    if syn.peek().is_none() {
                        continue;
                    }
                    let (pn, pi) = pop_source.get(&(k, id, atom)).copied().ok_or(format!(
                        "core {} population axon {id} atom {atom} has no source",
                        core.id
                    ))?;
                    for s in syn {
                        let who = owner[k]
                            .get((ax.base + s.target) as usize)
                            .copied()
                            .flatten();
                        out.push(record((pn, pi), who, &s, row.exponent, || {
                            format!("core {} population axon {id}", core.id)
                        })?);
                    }
                }
            }
        }
        for (r, row) in core.synapses.rows().iter().enumerate().take(discrete) {
            let from = source[k][r].ok_or(format!("core {} row {r} has no source", core.id))?;
            for s in core.synapses.row_synapses(r as u32) {
                let who = owner[k].get(s.target as usize).copied().flatten();
                out.push(record(from, who, &s, row.exponent, || {
                    format!("core {} row {r}", core.id)
                })?);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The record of synapse `s` (of a row with exponent `exp`) from `from` to the neuron
/// `to` of its target compartment; an error naming `what` if the compartment is empty.
fn record(
    from: (u32, u32),
    to: Option<(u32, u32)>,
    s: &amine_chip::synapse::Synapse,
    exp: i8,
    what: impl Fn() -> String,
) -> Result<SynapseRecord, String> {
    let (qn, qi) = to.ok_or_else(|| format!("{} targets an empty compartment", what()))?;
    Ok((
        from.0,
        from.1,
        qn,
        qi,
        effective_weight(s.weight, exp),
        s.delay,
    ))
}

/// Every synapse of the program, with its quantized weight, sorted (after `quantize`).
pub fn program_synapses(c: &Compilation) -> Vec<SynapseRecord> {
    let (Some(net), Some(q)) = (&c.net, &c.quant) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(q.synapses as usize);
    for (p, e) in net.projections.iter().enumerate() {
        let cl = &q.classes[q.class_of[p]];
        if let Some(cv) = net.shared(p) {
            let d = c.program.projections[p].delay;
            cv.for_each(|a, t, w| {
                let exp = cl.exponents[a as usize];
                let m = quantize_weight(w, &cl.format, exp);
                out.push((
                    e.pre as u32,
                    a,
                    e.post as u32,
                    t,
                    effective_weight(m, exp),
                    d,
                ));
            });
            continue;
        }
        for a in 0..e.offsets.len() - 1 {
            let exp = cl.exponents[a];
            for s in e.range(a) {
                let m = quantize_weight(e.weights.get(s), &cl.format, exp);
                out.push((
                    e.pre as u32,
                    a as u32,
                    e.post as u32,
                    e.targets[s],
                    effective_weight(m, exp),
                    e.delays.get(s),
                ));
            }
        }
    }
    out.sort_unstable();
    out
}
