//! Mapping hints: every kind is honoured by the mapping it produces, and a hint that
//! contradicts a limit or another hint is refused with an error naming the hint, the
//! limit and the value.

use amine_compiler::program::MappingHints;
use amine_compiler::{compile_str_with, Compiled, Error, ErrorKind};
use std::collections::BTreeMap;
use std::path::Path;

fn loihi() -> amine_chip::ChipConfig {
    amine_chip::presets::preset("loihi").unwrap()
}

/// A 3-layer network: 300 → 500 → 40, dense, on loihi.
const NET: &str = r#"Program(name: "h", seed: 1,
  populations: [
    (name: "a", size: 300, model: Lif(tau_syn: Steps(4), tau_mem: Steps(8), threshold: 100)),
    (name: "b", size: 500, model: Lif(tau_syn: Steps(4), tau_mem: Steps(8), threshold: 100)),
    (name: "c", size: 40, model: Lif(tau_syn: Steps(4), tau_mem: Steps(8), threshold: 100)),
  ],
  projections: [
    (from: "a", to: "b", connect: Random(p: 0.2), weight: Some(Const(3.0))),
    (from: "b", to: "c", connect: All, weight: Some(Const(2.0))),
  ])"#;

fn compile(hints: &str) -> Result<Compiled, Error> {
    let h = MappingHints::from_ron(hints, "hints.ron").unwrap();
    compile_str_with(NET, "net.ron", Path::new("."), &loihi(), h)
}

/// Cores of each population, in neuron order.
fn cores_of(out: &Compiled) -> BTreeMap<String, Vec<u32>> {
    out.image
        .populations
        .iter()
        .map(|p| {
            let mut blocks = p.blocks.clone();
            blocks.sort_by_key(|b| b.first_neuron);
            let mut v: Vec<u32> = blocks.iter().map(|b| b.core).collect();
            v.dedup();
            (p.name.clone(), v)
        })
        .collect()
}

#[test]
fn without_hints_the_net_shares_one_core() {
    let out = compile("()").unwrap();
    assert_eq!(out.report.cores_used, 1);
}

#[test]
fn cores_spread_a_population_over_cores_of_its_own() {
    let out = compile(r#"(cores: {"b": 4})"#).unwrap();
    let m = cores_of(&out);
    assert_eq!(m["b"].len(), 4);
    // Slices of 125, each alone on its core.
    for k in &m["b"] {
        let core = out.image.cores.iter().find(|c| c.id == *k).unwrap();
        assert_eq!(core.compartments.len(), 125);
        assert!(!m["a"].contains(k) && !m["c"].contains(k));
    }
    let bound: Vec<_> = out
        .report
        .cores
        .iter()
        .filter(|c| m["b"].contains(&c.core))
        .map(|c| c.bound_by.clone())
        .collect();
    assert!(
        bound.iter().all(|b| b.as_deref() == Some("mapping.cores")),
        "{bound:?}"
    );
}

#[test]
fn place_pins_slices_to_the_cores_given() {
    let out = compile(r#"(place: {"b": [7, 100, 3]}, max_per_core: {"a": 100})"#).unwrap();
    let m = cores_of(&out);
    assert_eq!(m["b"], vec![7, 100, 3]);
    // max_per_core: `a` takes at least 3 cores.
    let per_core: Vec<usize> = m["a"]
        .iter()
        .map(|k| {
            out.image
                .population("a")
                .unwrap()
                .blocks
                .iter()
                .filter(|b| b.core == *k)
                .map(|b| b.count as usize)
                .sum()
        })
        .collect();
    assert!(
        per_core.iter().all(|&n| n <= 100) && m["a"].len() >= 3,
        "{per_core:?}"
    );
}

#[test]
fn colocated_populations_share_their_slices() {
    let out = compile(r#"(colocate: [["a", "c"]], cores: {"a": 2, "c": 2})"#).unwrap();
    let m = cores_of(&out);
    assert_eq!(m["a"], m["c"]);
    assert_eq!(m["a"].len(), 2);
}

/// The limit, the hint and the value an error names.
fn refused(hints: &str) -> String {
    match compile(hints) {
        Ok(c) => panic!("{hints}: compiled onto {} cores", c.report.cores_used),
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::HardwareLimit(_) | ErrorKind::Invalid { .. }
                ),
                "{e}"
            );
            e.to_string()
        }
    }
}

#[test]
fn hints_against_a_limit_name_the_hint_the_limit_and_the_value() {
    let e = refused(r#"(cores: {"b": 0})"#);
    assert!(
        e.contains("mapping.cores[\"b\"]: needs at least one core"),
        "{e}"
    );
    let e = refused(r#"(max_compartments_per_core: Some(2000))"#);
    assert!(
        e.contains("hint mapping.max_compartments_per_core = 2,000")
            && e.contains("core.compartments")
            && e.contains("loihi allows 1,024"),
        "{e}"
    );
    let e = refused(r#"(place: {"c": [128]})"#);
    assert!(
        e.contains("hint mapping.place[\"c\"] (core 128)")
            && e.contains("chip.cores")
            && e.contains("allows 128"),
        "{e}"
    );
    let e = refused(r#"(cores: {"nope": 2})"#);
    assert!(
        e.contains("mapping.cores[\"nope\"]: no population `nope`"),
        "{e}"
    );
    // One core for `b` and a cap of 100 per core: fine for compartments, but the hint's
    // slice exceeds the cap of another hint.
    let e = refused(r#"(cores: {"b": 1}, max_per_core: {"b": 100})"#);
    assert!(
        e.contains("mapping.cores[\"b\"]: 1 core puts 500 neurons of `b` on a core, but mapping.max_per_core[\"b\"] = 100"),
        "{e}"
    );
}

#[test]
fn contradicting_hints_are_refused() {
    let e = refused(r#"(place: {"a": [1, 2]}, cores: {"a": 3})"#);
    assert!(
        e.contains("mapping.place[\"a\"]: lists 2 cores, but mapping.cores[\"a\"] = 3"),
        "{e}"
    );
    let e = refused(r#"(place: {"a": [1, 2], "b": [2, 5]})"#);
    assert!(e.contains("core 2 is also given to `a`"), "{e}");
    let e = refused(r#"(colocate: [["a", "b"]], cores: {"a": 2})"#);
    assert!(e.contains("`a` is colocated with `b`"), "{e}");
    let e = refused(r#"(colocate: [["a", "b"], ["b", "c"]])"#);
    assert!(e.contains("`b` is in more than one group"), "{e}");
}

#[test]
fn a_slice_that_cannot_hold_its_synapses_names_the_hint() {
    // 60,000 synapses of `a → b` on one core of 1 Mbit fit; with `b` cut into one slice
    // of 500 neurons and every `a` neuron reaching all of them (All), the memory breaks.
    let text = NET
        .replace("Random(p: 0.2)", "All")
        .replace("Const(3.0)", "Uniform(low: 0.1, high: 3.0)");
    let h = MappingHints::from_ron(r#"(cores: {"b": 1})"#, "h.ron").unwrap();
    let e = compile_str_with(&text, "net.ron", Path::new("."), &loihi(), h).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("hint mapping.cores[\"b\"] = 1: slice 0 of `b`")
            && s.contains("core.synapse_memory_bits"),
        "{s}"
    );
}
