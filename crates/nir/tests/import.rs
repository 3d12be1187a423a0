//! Import tests: the structure of each fixture as a program, and every kind of bad
//! input as a clear error (never a panic).

use amine_compiler::program::{Connect, Model, Program};
use amine_nir::{import, import_graph, ErrorKind, NirGraph, NirNode, Tensor};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn synapses(p: &Program, name: &str) -> usize {
    let pr = p
        .projections
        .iter()
        .find(|x| x.name() == name)
        .unwrap_or_else(|| panic!("no projection {name}"));
    match &pr.connect {
        Connect::Sparse(t) => t.len(),
        c => {
            // A convolution handed over as one: count its synapses.
            let spec = c.conv_spec().unwrap_or_else(|| panic!("{c:?}"));
            spec.conv().unwrap().synapse_count() as usize
        }
    }
}

fn sizes(p: &Program) -> Vec<(String, u32)> {
    p.populations
        .iter()
        .map(|x| (x.name.clone(), x.size))
        .collect()
}

#[test]
fn ff_cubalif_structure() {
    let l = import(&fixture("ff_cubalif.nir"), 1e-3).unwrap();
    let p = &l.program;
    assert_eq!(sizes(p), vec![("lif1".into(), 16), ("lif2".into(), 4)]);
    assert_eq!(p.inputs.len(), 1);
    assert_eq!(p.inputs[0].size, 8);
    assert_eq!(synapses(p, "input->lif1"), 16 * 8);
    assert_eq!(synapses(p, "lif1->lif2"), 4 * 16);
    assert_eq!(p.probes.len(), 1);
    // tau_syn = 8 ms, tau_mem = 16 ms at dt = 1 ms: du + 1 = 4096/8, dv = 4096/16;
    // threshold 1.0 at scale 4096.
    let Model::LifRaw(q) = &p.populations[0].model else {
        panic!()
    };
    assert_eq!((q.du, q.dv, q.vth), (511, 256, 4096));
    assert_eq!(l.node("lif1").unwrap().scale, 4096.0);
    // lif2's 16 inputs, all spiking every step, would drive u past 2^23 at scale 4096.
    let lif2 = l.node("lif2").unwrap();
    assert_eq!(lif2.scale, 2048.0);
    assert!(
        lif2.notes
            .iter()
            .any(|n| n.contains("scale lowered from 4096 to 2048")),
        "{:?}",
        lif2.notes
    );
}

#[test]
fn rec_lif_structure() {
    let l = import(&fixture("rec_lif.nir"), 1e-3).unwrap();
    let p = &l.program;
    assert_eq!(sizes(p), vec![("li".into(), 3), ("lif".into(), 12)]);
    assert_eq!(synapses(p, "input->lif"), 72);
    // The diagonal of the recurrent matrix is zero: 12·11 synapses, 2 steps of delay.
    assert_eq!(synapses(p, "lif->lif@2"), 132);
    let rec = p
        .projections
        .iter()
        .find(|x| x.name() == "lif->lif@2")
        .unwrap();
    assert_eq!(rec.delay, 2);
    assert_eq!(synapses(p, "lif->li"), 36);
    let kinds: Vec<_> = p.probes.iter().map(|x| format!("{:?}", x.kind)).collect();
    assert_eq!(kinds, vec!["Voltage", "Spikes"]);
}

#[test]
fn conv_structure() {
    let l = import(&fixture("conv.nir"), 1e-3).unwrap();
    let p = &l.program;
    assert_eq!(sizes(p), vec![("if1".into(), 72), ("lif".into(), 3)]);
    // 3×3 kernel with padding 1 on 6×6: each output channel sees 36 centres, minus the
    // border taps: (6·6·9 − 4·6·3 + 4) = 256 taps per channel, 2 channels. The Conv2d
    // reaches the compiler as a convolution (for shared synapse lists).
    assert_eq!(synapses(p, "input->if1"), 2 * 256);
    let conv = p
        .projections
        .iter()
        .find(|x| x.name() == "input->if1")
        .unwrap();
    assert!(
        matches!(
            conv.connect,
            Connect::Conv {
                input: (1, 6, 6),
                channels: 2,
                padding: (1, 1),
                ..
            }
        ),
        "{:?}",
        conv.connect
    );
    // Pooling 2×2 then dense 18 → 3: every IF neuron reaches every LIF neuron once.
    assert_eq!(synapses(p, "if1->lif"), 72 * 3);
    let Model::LifRaw(q) = &p.populations[0].model else {
        panic!()
    };
    assert_eq!(q.dv, 0, "IF has no leak");
}

fn g(nodes: Vec<(&str, NirNode)>, edges: &[(&str, &str)]) -> NirGraph {
    NirGraph {
        nodes: nodes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        edges: edges
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        version: "1.0".into(),
        ..Default::default()
    }
}

fn lif(n: usize) -> NirNode {
    let t = |x: f64| Tensor::vector(vec![x; n]);
    NirNode::Lif {
        tau: t(0.01),
        r: t(10.0),
        v_leak: t(0.0),
        v_threshold: t(1.0),
        v_reset: t(0.0),
    }
}

fn lin(o: usize, i: usize) -> NirNode {
    NirNode::Linear {
        weight: Tensor::new(vec![o, i], vec![0.5; o * i]),
    }
}

fn problems(graph: &NirGraph) -> Vec<String> {
    match import_graph(graph, 1e-3, "t") {
        Ok(_) => panic!("imported; expected an error"),
        Err(e) => match e.kind {
            ErrorKind::Invalid(p) => p,
            k => panic!("{k:?}"),
        },
    }
}

#[test]
fn edge_to_nowhere_and_missing_node_are_named() {
    let graph = g(
        vec![
            ("in", NirNode::Input { shape: vec![2] }),
            ("fc", lin(3, 2)),
            ("lif", lif(3)),
        ],
        &[
            ("in", "fc"),
            ("fc", "lif"),
            ("lif", "out"),
            ("ghost", "lif"),
        ],
    );
    let p = problems(&graph);
    assert!(
        p.iter()
            .any(|m| m.contains("`lif` -> `out`") && m.contains("does not exist")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("`ghost`") && m.contains("does not exist")),
        "{p:?}"
    );
}

#[test]
fn shape_mismatch_is_named() {
    let graph = g(
        vec![
            ("in", NirNode::Input { shape: vec![4] }),
            ("fc", lin(3, 2)),
            ("lif", lif(3)),
        ],
        &[("in", "fc"), ("fc", "lif")],
    );
    let p = problems(&graph);
    assert!(
        p.iter()
            .any(|m| m.contains("shape mismatch") && m.contains("`in` -> `fc`")),
        "{p:?}"
    );
}

#[test]
fn unsupported_node_is_named_and_every_problem_collected() {
    let graph = g(
        vec![
            ("in", NirNode::Input { shape: vec![2] }),
            (
                "weird",
                NirNode::Unsupported {
                    type_name: "Sigmoid".into(),
                },
            ),
            ("lif", lif(3)),
        ],
        &[("in", "weird"), ("weird", "lif"), ("lif", "nowhere")],
    );
    let p = problems(&graph);
    assert!(
        p.iter()
            .any(|m| m.contains("node `weird`") && m.contains("Sigmoid")),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m.contains("nowhere")), "{p:?}");
}

#[test]
fn tau_shorter_than_dt_names_node_and_parameter() {
    let graph = g(
        vec![("in", NirNode::Input { shape: vec![3] }), ("lif", lif(3))],
        &[("in", "lif")],
    );
    let e = import_graph(&graph, 0.05, "t").unwrap_err();
    let m = e.to_string();
    assert!(m.contains("node `lif`") && m.contains("`tau`"), "{m}");
}

#[test]
fn malformed_hdf5_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.nir");
    std::fs::write(&p, b"\x89HDF\r\n\x1a\nnot really").unwrap();
    assert!(matches!(
        import(&p, 1e-3).unwrap_err().kind,
        ErrorKind::Io { .. }
    ));
    assert!(import(&dir.path().join("missing.nir"), 1e-3).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// A fixture cut short, or with bytes overwritten, is an error or (if the damage
    /// missed everything read) a program — never a panic.
    #[test]
    fn damaged_files_never_panic(cut in 0usize..64_000, at in 0usize..64_000, junk in any::<u8>()) {
        let mut bytes = std::fs::read(fixture("ff_cubalif.nir")).unwrap();
        let at = at % bytes.len();
        bytes[at] = junk;
        bytes.truncate(cut.min(bytes.len()));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.nir");
        std::fs::write(&p, &bytes).unwrap();
        let _ = import(&p, 1e-3);
    }
}
