//! The collecting verifier that runs between passes.
//!
//! After each pass it re-checks, independently of how the pass computed it, the
//! invariants the next pass relies on, and returns *every* violation (not just the
//! first). A violation is a compiler bug: `compile` turns a non-empty list into an
//! [`ErrorKind::Internal`](crate::ErrorKind::Internal) error instead of letting a later
//! pass index out of bounds. The partition check recomputes every core's input axons,
//! output axons and synapse bits from the row list, so a bookkeeping slip in the
//! incremental packer cannot slip a core past a limit.

use crate::context::{Compilation, Values};
use amine_chip::image::Sign;
use amine_chip::synapse::{delta_width, pick_row, SignMode};

/// Every invariant violated after pass `pass` (empty when all hold).
pub fn after(pass: &str, c: &Compilation) -> Vec<String> {
    let mut p = Vec::new();
    match pass {
        "validate" => validate(c, &mut p),
        "expand" => expand(c, &mut p),
        "quantize" => quantize(c, &mut p),
        "partition" => partition(c, &mut p),
        "place" => place(c, &mut p),
        "route" => route(c, &mut p),
        "emit" => emit(c, &mut p),
        _ => {}
    }
    p
}

fn validate(c: &Compilation, p: &mut Vec<String>) {
    let n = c.program.populations.len() + c.program.inputs.len();
    if c.nodes.len() != n || c.params.len() != c.program.populations.len() {
        p.push(format!(
            "{} nodes and {} parameter sets for {n} nodes",
            c.nodes.len(),
            c.params.len()
        ));
    }
}

fn expand(c: &Compilation, p: &mut Vec<String>) {
    let Some(net) = &c.net else {
        return p.push("no network".into());
    };
    if net.projections.len() != c.program.projections.len() {
        p.push("one expanded projection per projection".into());
    }
    for (i, e) in net.projections.iter().enumerate() {
        let (npre, npost) = (c.nodes[e.pre].size as usize, c.nodes[e.post].size);
        let o = &e.offsets;
        if o.len() != npre + 1
            || o[0] != 0
            || o.windows(2).any(|w| w[0] > w[1])
            || o[npre] as usize != e.targets.len()
        {
            p.push(format!("projection {i}: offsets do not cover the targets"));
            continue;
        }
        if e.targets.iter().any(|&t| t >= npost) {
            p.push(format!(
                "projection {i}: target outside `{}`",
                c.nodes[e.post].name
            ));
        }
        if let Values::Each(w) = &e.weights {
            if w.len() != e.targets.len() {
                p.push(format!(
                    "projection {i}: {} weights for {} synapses",
                    w.len(),
                    e.targets.len()
                ));
            }
        }
        if let Values::Each(d) = &e.delays {
            if d.len() != e.targets.len() {
                p.push(format!(
                    "projection {i}: {} delays for {} synapses",
                    d.len(),
                    e.targets.len()
                ));
            }
        }
    }
}

fn quantize(c: &Compilation, p: &mut Vec<String>) {
    let (Some(q), Some(net)) = (&c.quant, &c.net) else {
        return p.push("no quantization".into());
    };
    if q.class_of.len() != net.projections.len() {
        p.push("one row class per projection".into());
    }
    let core = &c.chip.core;
    for (k, cl) in q.classes.iter().enumerate() {
        if let Err(e) = cl.format.validate() {
            p.push(format!("class {k}: {e}"));
        }
        if !core.weight_bits.contains(&cl.format.weight_bits) {
            p.push(format!(
                "class {k}: {}-bit weights unsupported",
                cl.format.weight_bits
            ));
        }
        if cl.format.delay_bits > core.max_delay_bits || cl.format.tag_bits > core.max_tag_bits {
            p.push(format!("class {k}: delay or tag field too wide"));
        }
        if cl.exponents.len() != c.nodes[cl.source].size as usize
            || cl
                .exponents
                .iter()
                .any(|&e| e < core.weight_exponent_min || e > core.weight_exponent_max)
        {
            p.push(format!("class {k}: exponents missing or out of range"));
        }
        let dale = match c.nodes[cl.source].sign {
            Sign::Excitatory => cl.format.sign == SignMode::Excitatory,
            Sign::Inhibitory => cl.format.sign == SignMode::Inhibitory,
            Sign::Mixed => true,
        };
        if !dale {
            p.push(format!(
                "class {k}: {:?} rows for a {:?} source",
                cl.format.sign, c.nodes[cl.source].sign
            ));
        }
        if cl
            .projections
            .iter()
            .any(|&i| net.projections[i].pre != cl.source || q.class_of[i] != k)
        {
            p.push(format!("class {k}: holds a projection of another source"));
        }
    }
}

fn partition(c: &Compilation, p: &mut Vec<String>) {
    let (Some(part), Some(q)) = (&c.partition, &c.quant) else {
        return p.push("no partition".into());
    };
    let core = &c.chip.core;
    let cap = core.compartments.min(
        c.program
            .mapping
            .max_compartments_per_core
            .unwrap_or(u32::MAX),
    );
    let chip_delta = core.delta_rows.as_ref().map(|d| d.max_delta_bits);
    if part.delta_rows.is_some() && part.delta_rows != chip_delta {
        p.push(format!(
            "rows booked with {:?}-bit deltas on a chip with {chip_delta:?}",
            part.delta_rows
        ));
    }
    let nb = part.bins.len();
    if nb > c.chip.cores() as usize {
        return p.push(format!("{nb} bins for {} cores", c.chip.cores()));
    }
    let mut comps = vec![0u32; nb];
    // One flag per (bin, compartment) a neuron may take.
    let per = core.compartments as usize;
    let mut taken = vec![false; nb * per];
    for (g, (&b, &s)) in part.bin_of.iter().zip(&part.slot_of).enumerate() {
        if b as usize >= nb {
            p.push(format!("neuron {g} is in no bin"));
            return;
        }
        comps[b as usize] += 1;
        if s as usize >= per {
            p.push(format!(
                "neuron {g}: compartment {s} of bin {b} is beyond the core's {per}"
            ));
        } else if std::mem::replace(&mut taken[b as usize * per + s as usize], true) {
            p.push(format!(
                "neuron {g}: compartment {s} of bin {b} is taken twice"
            ));
        }
    }
    let (mut rows, mut bits, mut outs) = (vec![0u64; nb], vec![0u64; nb], vec![0u64; nb]);
    let npops = c.program.populations.len();
    for r in &part.rows {
        let cl = &q.classes[r.class as usize];
        rows[r.bin as usize] += 1;
        let d = Some(delta_width(r.widest));
        bits[r.bin as usize] += pick_row(core.word_bits, &cl.format, part.delta_rows, r.len, d).1;
        if cl.source < npops {
            outs[part.bin_of[(part.pop_base[cl.source] + r.source) as usize] as usize] += 1;
        }
    }
    if part.rows.windows(2).any(|w| w[0] >= w[1]) {
        p.push("rows are not sorted and unique".into());
    }
    for (b, (i, bits_b, o)) in crate::passes::partition::shared::usage(c, part)
        .into_iter()
        .enumerate()
    {
        rows[b] += i;
        bits[b] += bits_b;
        outs[b] += o;
    }
    for (b, bin) in part.bins.iter().enumerate() {
        let checks = [
            (
                "compartments",
                comps[b] as u64,
                bin.compartments as u64,
                cap as u64,
            ),
            (
                "input axons",
                rows[b],
                bin.input_axons as u64,
                core.input_axons as u64,
            ),
            (
                "synapse bits",
                bits[b],
                bin.synapse_bits,
                core.synapse_memory_bits,
            ),
            (
                "output axons",
                outs[b],
                bin.output_axons as u64,
                core.output_axons as u64,
            ),
        ];
        for (what, actual, booked, limit) in checks {
            if actual != booked || actual > limit {
                p.push(format!(
                    "bin {b}: {actual} {what} (booked {booked}, limit {limit})"
                ));
            }
        }
        let slots: u32 = bin.blocks.iter().map(|bl| bl.count).sum();
        let contiguous = bin.blocks.iter().scan(0, |next, bl| {
            let ok = bl.first_compartment == *next;
            *next += bl.count;
            Some(ok)
        });
        if slots != comps[b] || !contiguous.into_iter().all(|x| x) {
            p.push(format!("bin {b}: blocks do not tile its compartments"));
        }
    }
}

fn place(c: &Compilation, p: &mut Vec<String>) {
    let (Some(pl), Some(part)) = (&c.placement, &c.partition) else {
        return p.push("no placement".into());
    };
    let mut seen = vec![false; c.chip.cores() as usize];
    if pl.core_of_bin.len() != part.bins.len() {
        p.push("one core per bin".into());
    }
    for (b, &k) in pl.core_of_bin.iter().enumerate() {
        match seen.get_mut(k as usize) {
            Some(s) if !*s => *s = true,
            _ => p.push(format!(
                "bin {b}: core {k} is outside the chip or taken twice"
            )),
        }
    }
    let m = &c.chip.mesh;
    if pl.entry_tiles.len() != c.program.inputs.len()
        || pl
            .entry_tiles
            .iter()
            .any(|&(x, y)| x >= m.tiles_x || y >= m.tiles_y)
    {
        p.push("an input enters outside the mesh".into());
    }
}

fn route(c: &Compilation, p: &mut Vec<String>) {
    let (Some(r), Some(part)) = (&c.routing, &c.partition) else {
        return p.push("no routing".into());
    };
    if r.axon_of_row.len() != part.rows.len()
        || r.axon_of_row.iter().any(|&a| a >= c.chip.core.input_axons)
    {
        p.push("axon numbers missing or beyond the input axons".into());
    }
}

fn emit(c: &Compilation, p: &mut Vec<String>) {
    let (Some(image), Some(q)) = (&c.image, &c.quant) else {
        return p.push("no image".into());
    };
    if image.synapse_count() != q.synapses {
        p.push(format!(
            "the image holds {} synapses, the program {}",
            image.synapse_count(),
            q.synapses
        ));
    }
    // The load check (`ChipImage::verify`) follows in `compile`, which keeps its
    // success as a `VerifiedImage`.
}
