//! Pass 7, route: axon numbers, and what each spike costs the network.
//!
//! Decides the input-axon number of every row: rows of a core are numbered in (row
//! class, presynaptic neuron) order, so the numbering depends only on the partition and
//! `emit` writes rows in exactly that order. Each row is one output axon of its source
//! (an entry of the source core's fan-out table, or of an input port's) and one packet
//! per source spike. It also measures the expected packets and XY hops per spike,
//! averaged over every network neuron (and separately over every input), assuming equal
//! rates; a packet between two cores of one tile takes no hop.

use crate::context::{Compilation, Routing};

pub fn run(c: &mut Compilation) -> Result<(), crate::Error> {
    let (Some(part), Some(place), Some(q)) =
        (c.partition.as_ref(), c.placement.as_ref(), c.quant.as_ref())
    else {
        return Err(crate::Error::internal(
            "route",
            vec!["place did not run".into()],
        ));
    };
    let npops = c.program.populations.len();
    let mut axon_of_row = Vec::with_capacity(part.rows.len());
    let (mut next, mut bin) = (0u32, u32::MAX);
    let (mut packets, mut hops, mut in_packets, mut in_hops) = (0u64, 0u64, 0u64, 0u64);
    // One packet from neuron `a` of `node` to bin `bin`.
    let mut count = |node: usize, a: u32, bin: u32| {
        let dest = place.core_of_bin[bin as usize];
        if node < npops {
            let src_bin = part.bin_of[(part.pop_base[node] + a) as usize];
            packets += 1;
            hops += c.hops(place.core_of_bin[src_bin as usize], dest) as u64;
        } else {
            let (x, y) = place.entry_tiles[node - npops];
            let (dx, dy) = c.tile_of(dest);
            in_packets += 1;
            in_hops += (x.abs_diff(dx) + y.abs_diff(dy)) as u64;
        }
    };
    for r in &part.rows {
        if r.bin != bin {
            bin = r.bin;
            next = 0;
        }
        axon_of_row.push(next);
        next += 1;
        count(q.classes[r.class as usize].source, r.source, r.bin);
    }
    // Population packets of shared convolutions (their axons are numbered by `emit`).
    crate::passes::partition::shared::packets(c, part, |_, node, a, bin| count(node, a, bin));
    let neurons: u64 = c.nodes[..npops].iter().map(|n| n.size as u64).sum();
    let inputs: u64 = c.nodes[npops..].iter().map(|n| n.size as u64).sum();
    let per = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    c.routing = Some(Routing {
        axon_of_row,
        packets_per_spike: per(packets, neurons),
        hops_per_spike: per(hops, neurons),
        input_packets_per_spike: per(in_packets, inputs),
        input_hops_per_spike: per(in_hops, inputs),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn axons_number_each_cores_rows_from_zero() {
        let text = program(
            &[pop("a", 100, "Mixed")],
            "",
            r#"(from: "a", to: "a", connect: Random(p: 0.3), weight: Some(Const(1.0)))"#,
        );
        let out = compile_text(&text, &chip(|_| {})).unwrap();
        let (part, r) = (
            out.compilation.partition.unwrap(),
            out.compilation.routing.unwrap(),
        );
        for b in 0..part.bins.len() as u32 {
            let axons: Vec<u32> = part
                .rows
                .iter()
                .zip(&r.axon_of_row)
                .filter(|(x, _)| x.bin == b)
                .map(|(_, &a)| a)
                .collect();
            assert_eq!(axons, (0..axons.len() as u32).collect::<Vec<_>>());
        }
        // Every neuron reaches both cores (p = 0.3 over 100 targets): 2 packets per spike.
        assert_eq!(part.bins.len(), 2);
        assert!(
            (r.packets_per_spike - 2.0).abs() < 1e-12,
            "{}",
            r.packets_per_spike
        );
    }
}
