//! `amine nir export` and nested graphs, through real HDF5 bytes:
//! - a program compiled to an image, exported, written, read back and imported compiles
//!   to the identical image (its parameters are exactly representable);
//! - nested graphs written to a file import as the same network as the flat graph, at
//!   every depth up to the reader's limit, and deeper files are refused by name.

use amine_chip::image::ChipImage;
use amine_compiler::compile_program;
use amine_nir::graph::NirGraph;
use amine_nir::{export, hdf5, import_graph, write, ErrorKind, NirNode, Tensor};
use std::path::Path;

/// Dale-signed populations with different parameters (one with a current, one without,
/// one with a bias), an external input, delays, and explicit weights that a synapse holds
/// exactly. Projections are listed source by source (populations, then inputs), the
/// order in which the export lists them.
const PROGRAM: &str = r#"Program(
    name: "rt",
    dt_ms: 1.0,
    populations: [
        (name: "exc", size: 6, sign: Excitatory,
         model: LifRaw((du: 511, dv: 256, vth: 300, bias_mant: 0, bias_exp: 0, refractory: 0))),
        (name: "inh", size: 3, sign: Inhibitory,
         model: LifRaw((du: 4095, dv: 512, vth: 200, bias_mant: 192, bias_exp: 0, refractory: 0))),
        (name: "mix", size: 2,
         model: LifRaw((du: 1023, dv: 128, vth: 100, bias_mant: -40, bias_exp: 0, refractory: 0))),
    ],
    inputs: [ (name: "in", size: 4, source: External) ],
    projections: [
        (from: "exc", to: "exc", connect: Sparse([(0, 1, 12.0), (1, 2, 6.0), (2, 0, 64.0), (3, 4, 1.5)])),
        (from: "exc", to: "inh", connect: Sparse([(0, 0, 20.0), (5, 2, 8.0)]), delay: 3),
        (from: "inh", to: "exc", connect: Sparse([(0, 1, -30.0), (2, 5, -4.0)])),
        (from: "inh", to: "mix", connect: Sparse([(1, 1, -2.0)])),
        (from: "mix", to: "exc", connect: Sparse([(0, 3, 5.0), (1, 0, -7.0)]), delay: 2),
        (from: "in", to: "exc", connect: Sparse([(0, 0, 100.0), (1, 1, 90.0), (2, 2, 80.0), (3, 3, 70.0)])),
        (from: "in", to: "mix", connect: Sparse([(0, 0, 40.0)])),
    ],
    probes: [
        (name: "exc_spikes", population: "exc", kind: Spikes),
        (name: "inh", population: "inh", kind: Spikes),
    ],
)"#;

fn chip() -> amine_chip::ChipConfig {
    amine_chip::presets::preset("loihi").unwrap()
}

fn compile_text(text: &str) -> ChipImage {
    amine_compiler::compile_str(text, "rt.ron", Path::new("."), &chip())
        .unwrap()
        .image
        .into_image()
}

/// Image → NIR bytes → graph → program → image.
fn round_trip(image: &ChipImage, name: &str) -> ChipImage {
    let exported = export::from_image(image, 1e-3).unwrap();
    let bytes = write::to_bytes(&exported.graph).unwrap();
    let graph = hdf5::read_bytes(bytes, "rt.nir").unwrap();
    let imported = import_graph(&graph, 1e-3, name).unwrap();
    for n in &imported.nodes {
        assert!(n.exact, "node {} not exact: {:?}", n.node, n.notes);
        assert_eq!(n.scale, 1.0, "node {}", n.node);
    }
    compile_program(imported.program, Path::new("."), &chip())
        .unwrap()
        .image
        .into_image()
}

#[test]
fn program_to_nir_to_program_compiles_to_the_identical_image() {
    let image = compile_text(PROGRAM);
    let again = round_trip(&image, "rt");
    assert_eq!(again, image);
    // And a second round trip is a fixed point.
    assert_eq!(round_trip(&again, "rt"), image);
}

#[test]
fn export_writes_cuba_lif_linear_delay_input_output() {
    let image = compile_text(PROGRAM);
    let e = export::from_image(&image, 1e-3).unwrap();
    let g = &e.graph;
    match &g.nodes["exc"] {
        NirNode::CubaLif {
            tau_syn,
            tau_mem,
            v_threshold,
            ..
        } => {
            // du = 511: dt/tau_syn = 512/4096; dv = 256: dt/tau_mem = 256/4096.
            assert_eq!(tau_syn.data[0], 0.008);
            assert_eq!(tau_mem.data[0], 0.016);
            assert_eq!(v_threshold.data[0], 300.0);
        }
        n => panic!("exc exported as {}", n.type_name()),
    }
    match &g.nodes["exc->exc"] {
        NirNode::Linear { weight } => {
            assert_eq!(weight.shape, vec![6, 6]);
            // (pre 2, post 0) = 64 weight units, stored (post, pre).
            assert_eq!(weight.data[2], 64.0);
        }
        n => panic!("{}", n.type_name()),
    }
    match &g.nodes["exc->inh@3:delay"] {
        NirNode::Delay { delay } => assert_eq!(delay.data, vec![0.003; 3]),
        n => panic!("{}", n.type_name()),
    }
    assert!(matches!(g.nodes["in"], NirNode::Input { .. }));
    assert!(matches!(g.nodes["exc_spikes:out"], NirNode::Output { .. }));
    assert!(g
        .edges
        .contains(&("exc->inh@3".into(), "exc->inh@3:delay".into())));
}

#[test]
fn what_nir_cannot_hold_is_a_note_or_a_named_error() {
    let bernoulli = PROGRAM.replace("source: External", "source: Bernoulli(p: 0.1)");
    let e = export::from_image(&compile_text(&bernoulli), 1e-3).unwrap();
    assert!(e
        .notes
        .iter()
        .any(|n| n.contains("input `in`") && n.contains("Bernoulli")));
    let refractory = PROGRAM.replace(
        "bias_exp: 0, refractory: 0)))",
        "bias_exp: 0, refractory: 2)))",
    );
    let err = export::from_image(&compile_text(&refractory), 1e-3).unwrap_err();
    assert!(
        err.to_string()
            .contains("population `inh`: a refractory period"),
        "{err}"
    );
}

fn t(n: usize, x: f64) -> Tensor {
    Tensor::vector(vec![x; n])
}

fn lif(n: usize) -> NirNode {
    NirNode::Lif {
        tau: t(n, 0.016),
        r: t(n, 16.0),
        v_leak: t(n, 0.0),
        v_threshold: t(n, 10.0),
        v_reset: t(n, 0.0),
    }
}

fn graph(nodes: Vec<(&str, NirNode)>, edges: &[(&str, &str)]) -> NirGraph {
    NirGraph {
        nodes: nodes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        edges: edges
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// `input -> fc -> g -> output` where `g` nests `depth` levels: each level is a graph
/// `input -> inner -> output` around the next, the innermost holds a LIF node.
fn nested(depth: usize) -> NirGraph {
    let mut inner = graph(
        vec![
            ("input", NirNode::Input { shape: vec![3] }),
            ("lif", lif(3)),
            ("output", NirNode::Output { shape: vec![3] }),
        ],
        &[("input", "lif"), ("lif", "output")],
    );
    for _ in 1..depth {
        inner = graph(
            vec![
                ("input", NirNode::Input { shape: vec![3] }),
                ("g", NirNode::Graph(inner)),
                ("output", NirNode::Output { shape: vec![3] }),
            ],
            &[("input", "g"), ("g", "output")],
        );
    }
    graph(
        vec![
            ("input", NirNode::Input { shape: vec![2] }),
            (
                "fc",
                NirNode::Linear {
                    weight: Tensor::new(vec![3, 2], vec![4.0, 0.0, 0.0, 8.0, 2.0, 2.0]),
                },
            ),
            ("g", NirNode::Graph(inner)),
            ("output", NirNode::Output { shape: vec![3] }),
        ],
        &[("input", "fc"), ("fc", "g"), ("g", "output")],
    )
}

#[test]
fn nested_graphs_import_from_a_file_like_the_flat_graph_at_every_depth() {
    let flat = graph(
        vec![
            ("input", NirNode::Input { shape: vec![2] }),
            (
                "fc",
                NirNode::Linear {
                    weight: Tensor::new(vec![3, 2], vec![4.0, 0.0, 0.0, 8.0, 2.0, 2.0]),
                },
            ),
            ("lif", lif(3)),
            ("output", NirNode::Output { shape: vec![3] }),
        ],
        &[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    );
    let want = import_graph(&flat, 1e-3, "n").unwrap().program;
    for depth in [1, 2, 5, amine_nir::hdf5::MAX_DEPTH] {
        let bytes = write::to_bytes(&nested(depth)).unwrap();
        let read = hdf5::read_bytes(bytes, "nested.nir").unwrap();
        let got = import_graph(&read, 1e-3, "n")
            .unwrap_or_else(|e| panic!("depth {depth}: {e}"))
            .program;
        assert_eq!(got.populations.len(), 1, "depth {depth}");
        assert_eq!(got.populations[0].model, want.populations[0].model);
        assert_eq!(got.projections.len(), 1);
        assert_eq!(got.projections[0].connect, want.projections[0].connect);
        assert_eq!(got.probes.len(), 1);
        assert_eq!(got.inputs, want.inputs);
    }
}

#[test]
fn an_edge_from_a_nested_output_node_is_accepted() {
    // `g.output -> output` addresses the subgraph's Output node directly.
    let mut g = nested(2);
    g.edges.retain(|(a, _)| a != "g");
    g.edges.push(("g.output".into(), "output".into()));
    let bytes = write::to_bytes(&g).unwrap();
    let read = hdf5::read_bytes(bytes, "nested.nir").unwrap();
    let p = import_graph(&read, 1e-3, "n").unwrap().program;
    assert_eq!(p.populations.len(), 1);
    assert_eq!(p.probes.len(), 1);
}

#[test]
fn graphs_nested_deeper_than_the_limit_are_refused_by_name() {
    let bytes = write::to_bytes(&nested(amine_nir::hdf5::MAX_DEPTH + 2)).unwrap();
    let err = hdf5::read_bytes(bytes, "deep.nir").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Malformed { .. }));
    let text = err.to_string();
    assert!(text.starts_with("deep.nir: not a valid NIR file"), "{text}");
    assert!(text.contains("nested more than 16 levels deep"), "{text}");
}
