//! Snapshot-style checker: a program's text in, its compile report's figures out — each
//! expected figure computed here independently of the compiler (a from-scratch reference
//! packer, the quantization rule applied by hand, hops read off the image's own tables),
//! never copied from a previous run.

use amine_chip::ChipConfig;
use amine_compiler::CompileReport;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const A: u32 = 30;
const B: u32 = 40;
const IN: u32 = 100;

/// The `b → a` weight of the dense matrix (mostly not dyadic, so mostly inexact).
fn w_ba(i: u32, j: u32) -> f64 {
    0.1 + 0.01 * ((i * 7 + j) % 50) as f64
}

fn program_text() -> String {
    let rows: Vec<String> = (0..B)
        .map(|i| {
            format!(
                "[{}]",
                (0..A)
                    .map(|j| format!("{:?}", w_ba(i, j)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    format!(
        r#"Program(name: "figures", seed: 9,
  populations: [
    (name: "a", size: {A}, model: Lif(tau_syn: Steps(4), tau_mem: Steps(8), threshold: 50)),
    (name: "b", size: {B}, model: Lif(tau_syn: Steps(4), tau_mem: Steps(8), threshold: 50)),
  ],
  inputs: [(name: "in", size: {IN}, source: External)],
  projections: [
    (from: "in", to: "b", connect: All, weight: Some(Const(3.0))),
    (from: "a", to: "a", connect: OneToOne, weight: Some(Const(-1.5))),
    (from: "b", to: "a", connect: Dense([{}])),
  ])"#,
        rows.join(", ")
    )
}

/// A synapse as the reference packer sees it: (source key, class, target neuron).
/// Neurons: a = 0..30, b = 30..70; sources: neurons, then inputs 70..170.
fn synapses() -> Vec<(u32, usize, u32)> {
    let mut s = Vec::new();
    for i in 0..IN {
        for j in 0..B {
            s.push((A + B + i, 0, A + j));
        }
    }
    for j in 0..A {
        s.push((j, 1, j));
    }
    for i in 0..B {
        for j in 0..A {
            s.push((A + i, 2, j));
        }
    }
    s
}

/// Entry bits per class on tiny (6-bit index): 2-bit weights for 3 (= 0b11) and for
/// -1.5 (= -3·2⁻¹, sign in the row), 9 bits for the inexact dense weights.
const ENTRY: [u64; 3] = [6 + 2, 6 + 2, 6 + 9];

#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    compartments: u64,
    input_axons: u64,
    output_axons: u64,
    bits: u64,
}

/// Recompute every bin's use from scratch for an assignment (neuron → bin).
fn usage(
    assign: &BTreeMap<u32, usize>,
    nbins: usize,
    syn: &[(u32, usize, u32)],
    word: u64,
) -> Vec<Use> {
    let mut rows: BTreeMap<(usize, u32, usize), u64> = BTreeMap::new();
    for &(src, class, t) in syn {
        if let Some(&b) = assign.get(&t) {
            *rows.entry((b, src, class)).or_insert(0) += 1;
        }
    }
    let mut u = vec![Use::default(); nbins];
    for &b in assign.values() {
        u[b].compartments += 1;
    }
    for (&(b, src, class), &len) in &rows {
        u[b].input_axons += 1;
        u[b].bits += (len * ENTRY[class]).div_ceil(word) * word;
        if let Some(&sb) = assign.get(&src) {
            u[sb].output_axons += 1;
        }
    }
    u
}

fn fits(u: &[Use], chip: &ChipConfig) -> bool {
    let k = &chip.core;
    u.iter().all(|x| {
        x.compartments <= k.compartments as u64
            && x.input_axons <= k.input_axons as u64
            && x.output_axons <= k.output_axons as u64
            && x.bits <= k.synapse_memory_bits
    })
}

/// Greedy first-fit in program order, checking every limit from scratch each time.
fn reference_partition(chip: &ChipConfig) -> Vec<Use> {
    let syn = synapses();
    let mut assign = BTreeMap::new();
    let mut nbins = 1;
    for n in 0..A + B {
        assign.insert(n, nbins - 1);
        if !fits(&usage(&assign, nbins, &syn, 64), chip) {
            nbins += 1;
            assign.insert(n, nbins - 1);
        }
    }
    usage(&assign, nbins, &syn, 64)
}

fn compile() -> (CompileReport, amine_compiler::Compiled) {
    let chip = amine_chip::presets::preset("tiny").unwrap();
    let out = amine_compiler::compile_str(&program_text(), "figures.ron", Path::new("."), &chip)
        .unwrap_or_else(|e| panic!("{e}"));
    (out.report.clone(), out)
}

#[test]
fn counts_and_per_core_use_match_a_reference_packer() {
    let chip = amine_chip::presets::preset("tiny").unwrap();
    let (r, _) = compile();
    assert_eq!(r.neurons, (A + B) as u64);
    assert_eq!(r.inputs, IN as u64);
    assert_eq!(r.synapses, synapses().len() as u64);
    let expected = reference_partition(&chip);
    assert_eq!(r.cores_used as usize, expected.len());
    // Placement permutes cores, so compare the multisets of per-core use.
    let mut got: Vec<Use> = r
        .cores
        .iter()
        .map(|k| Use {
            compartments: k.compartments.used,
            input_axons: k.input_axons.used,
            output_axons: k.output_axons.used,
            bits: k.synapse_bits.used,
        })
        .collect();
    let mut want = expected.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    // Packets per spike: one per row of a neuron source / of an input.
    let neuron_rows: u64 = want.iter().map(|u| u.output_axons).sum();
    assert!((r.traffic.packets_per_spike - neuron_rows as f64 / (A + B) as f64).abs() < 1e-12);
    let input_rows: u64 = want.iter().map(|u| u.input_axons).sum::<u64>() - neuron_rows;
    assert!((r.traffic.input_packets_per_spike - input_rows as f64 / IN as f64).abs() < 1e-12);
}

#[test]
fn quantization_error_matches_the_rule_applied_by_hand() {
    let (r, _) = compile();
    // Dense b → a: 9-bit magnitudes (sign-fixed rows: every weight is positive), the
    // finest exponent holding each source's largest weight.
    let (mut max, mut sq, mut n, mut exact) = (0.0f64, 0.0f64, 0u64, 0u64);
    for i in 0..B {
        let top = (0..A).map(|j| w_ba(i, j)).fold(0.0, f64::max);
        let e = (-6..=7)
            .find(|&e| (top * 2f64.powi(-e)).round() <= 511.0)
            .unwrap();
        for j in 0..A {
            let w = w_ba(i, j);
            let q = (w * 2f64.powi(-e)).round() * 2f64.powi(e);
            exact += (q == w) as u64;
            let rel = ((q - w) / w).abs();
            max = max.max(rel);
            sq += rel * rel;
            n += 1;
        }
    }
    // The other 4,030 synapses are exact (3 and -1.5 are representable).
    let total_n = n + (IN * B + A) as u64;
    let rms = (sq / total_n as f64).sqrt();
    let q = &r.quantization;
    assert!(
        (q.max_rel_error - max).abs() < 1e-12,
        "{} vs {max}",
        q.max_rel_error
    );
    assert!(
        (q.rms_rel_error - rms).abs() < 1e-12,
        "{} vs {rms}",
        q.rms_rel_error
    );
    assert!(exact < n / 2);
    assert_eq!(q.exact_synapses, (IN * B + A) as u64 + exact);
    let bits: Vec<u8> = q.projections.iter().map(|p| p.weight_bits).collect();
    assert_eq!(bits, vec![2, 2, 9]);
}

#[test]
fn hops_and_placement_cost_match_the_images_own_tables() {
    let (r, out) = compile();
    let chip = amine_chip::presets::preset("tiny").unwrap();
    let tile = |core: u32| {
        let t = core / chip.mesh.cores_per_tile;
        (t % chip.mesh.tiles_x, t / chip.mesh.tiles_x)
    };
    let hops = |a: u32, b: u32| {
        let ((ax, ay), (bx, by)) = (tile(a), tile(b));
        (ax.abs_diff(bx) + ay.abs_diff(by)) as u64
    };
    let mut total = 0u64;
    let mut cores_seen = BTreeSet::new();
    for k in &out.image.cores {
        cores_seen.insert(k.id);
        for t in &k.fanout {
            total += hops(k.id, t.core);
        }
    }
    assert_eq!(cores_seen.len() as u32, r.cores_used);
    assert!((r.traffic.hops_per_spike - total as f64 / (A + B) as f64).abs() < 1e-12);
    // With equal rates the placement cost is exactly the hops of all neuron packets.
    assert_eq!(r.placement.cost, total);
    assert!(r.placement.cost <= r.placement.round_robin_cost);
}
