//! Booking runs of items at once (`pack/batch.rs`) gives the bins booking every item
//! by itself gives (`Packer::try_add`, one synapse at a time), on random small
//! programs that close bins on every limit.

use super::{graph::Graph, pack_all};
use crate::context::Compilation;
use crate::passes;
use crate::testutil::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// The test's own parameter stream (seeded ChaCha8).
struct Draw(ChaCha8Rng);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0.random_range(0..n)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.0.random_range(0..xs.len())]
    }
}

/// A random program (2–4 populations, one input, random projections, sometimes a
/// colocated pair) and chip (tiny, 32 cores, random limits, delta rows or not).
fn case(d: &mut Draw) -> (String, amine_chip::config::ChipConfig) {
    let n = 2 + d.below(3) as usize;
    let signs: Vec<&str> = (0..n)
        .map(|_| d.pick(&["Excitatory", "Inhibitory", "Mixed"]))
        .collect();
    let pops: Vec<String> = (signs.iter().enumerate())
        .map(|(i, sign)| pop(&format!("p{i}"), 8 + d.below(150) as u32, sign))
        .collect();
    let mut projs = Vec::new();
    let from: Vec<(String, &str)> = (0..n)
        .map(|i| (format!("p{i}"), signs[i]))
        .chain([("in".into(), "Excitatory")])
        .collect();
    for (f, sign) in &from {
        for t in 0..n {
            if d.below(10) < 5 {
                let p = d.pick(&[0.03, 0.1, 0.25, 0.5]);
                let w = match *sign {
                    "Excitatory" => d.pick(&["Const(1.0)", "Uniform(low: 0.1, high: 1.0)"]),
                    "Inhibitory" => d.pick(&["Const(-1.0)", "Uniform(low: -1.0, high: -0.1)"]),
                    _ => "Uniform(low: -1.0, high: 1.0)",
                };
                projs.push(format!(
                    "(from: \"{f}\", to: \"p{t}\", connect: Random(p: {p}), weight: Some({w}))"
                ));
            }
        }
    }
    let input = format!(
        "(name: \"in\", size: {}, source: External)",
        10 + d.below(120)
    );
    let mut text = program(&pops, &input, &projs.join(", "));
    if d.below(10) < 4 {
        text = text.replace(
            "projections: [",
            "mapping: (colocate: [[\"p0\", \"p1\"]]), projections: [",
        );
    }
    let delta = d.below(2) == 0;
    let (axons_in, bits, axons_out) = (
        d.pick(&[48, 128, 256]),
        d.pick(&[4096, 16384, 32768]),
        d.pick(&[32, 128, 512]),
    );
    let chip = chip(|c| {
        c.mesh.tiles_x = 4;
        c.mesh.tiles_y = 4;
        c.core.input_axons = axons_in;
        c.core.synapse_memory_bits = bits;
        c.core.output_axons = axons_out;
        if delta {
            c.core.delta_rows = Some(amine_chip::config::DeltaRowsConfig { max_delta_bits: 4 });
        }
    });
    (text, chip)
}

/// The compilation up to partition, or why an earlier pass refuses the program.
fn quantized(
    text: &str,
    chip: &amine_chip::config::ChipConfig,
) -> Result<Compilation, crate::error::Error> {
    let mut c = passes::parse::run(text, "t.ron", Path::new("."), chip.clone())?;
    passes::validate::run(&mut c)?;
    passes::sigprop::run(&mut c)?;
    passes::expand::run(&mut c)?;
    passes::quantize::run(&mut c)?;
    Ok(c)
}

#[test]
fn runs_book_what_items_one_by_one_book() {
    let mut d = Draw(ChaCha8Rng::seed_from_u64(18));
    let mut closed: BTreeMap<String, usize> = BTreeMap::new();
    let mut compared = 0;
    for i in 0..80 {
        let (text, chip) = case(&mut d);
        let c = match quantized(&text, &chip) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("case {i} refused before partition: {e}");
                continue;
            }
        };
        let npops = c.program.populations.len();
        let mut pop_base = Vec::new();
        let mut total = 0u32;
        for n in &c.nodes[..npops] {
            pop_base.push(total);
            total += n.size;
        }
        let Some(q) = c.quant.as_ref() else {
            continue;
        };
        let g = Graph::build(&c, q, &pop_base, total);
        let show = |r: Result<super::Packed, crate::error::Error>| match r {
            Ok(x) => format!("{x:?}"),
            Err(e) => format!("error: {e}"),
        };
        let one = pack_all(&c, &g, &pop_base, total, false);
        if let Ok((bins, _, _)) = &one {
            for (b, _) in bins {
                let why = b.closed_by.unwrap_or("open");
                *closed.entry(why.to_string()).or_insert(0) += 1;
            }
        } else {
            *closed.entry("error".into()).or_insert(0) += 1;
        }
        let one = show(one);
        let runs = show(pack_all(&c, &g, &pop_base, total, true));
        assert_eq!(one, runs, "case {i}: {text}\n{chip:?}");
        compared += 1;
    }
    assert!(compared >= 50, "{compared} programs compared");
    for limit in [
        "core.compartments",
        "core.input_axons",
        "core.synapse_memory_bits",
        "error",
    ] {
        assert!(closed.get(limit).is_some_and(|&n| n > 0), "{closed:?}");
    }
}
