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
use amine_chip::image::ChipImage;
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
    for (k, core) in image.cores.iter().enumerate() {
        for (c, who) in owner[k].iter().enumerate() {
            let from = who.ok_or(format!("core {} compartment {c} has no neuron", core.id))?;
            for t in core.fanout_of(c) {
                claim(from, t)?;
            }
        }
    }
    for (i, port) in image.inputs.iter().enumerate() {
        for a in 0..port.size as usize {
            for t in port.fanout_of(a) {
                claim((npops + i as u32, a as u32), t)?;
            }
        }
    }
    let mut out = Vec::with_capacity(image.synapse_count() as usize);
    for (k, core) in image.cores.iter().enumerate() {
        for (r, row) in core.synapses.rows().iter().enumerate() {
            let (pn, pi) = source[k][r].ok_or(format!("core {} row {r} has no source", core.id))?;
            for s in core.synapses.row_synapses(r as u32) {
                let (qn, qi) =
                    owner[k]
                        .get(s.target as usize)
                        .copied()
                        .flatten()
                        .ok_or(format!(
                            "core {} row {r} targets an empty compartment",
                            core.id
                        ))?;
                out.push((
                    pn,
                    pi,
                    qn,
                    qi,
                    effective_weight(s.weight, row.exponent),
                    s.delay,
                ));
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Every synapse of the program, with its quantized weight, sorted (after `quantize`).
pub fn program_synapses(c: &Compilation) -> Vec<SynapseRecord> {
    let (Some(net), Some(q)) = (&c.net, &c.quant) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(q.synapses as usize);
    for (p, e) in net.projections.iter().enumerate() {
        let cl = &q.classes[q.class_of[p]];
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
