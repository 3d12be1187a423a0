//! A NIR graph whose parameters are exactly representable compiles to the same chip
//! image as the same network written as a native amine program, and running the two on
//! the simulator with the same input spikes gives identical spikes.

use amine_chip::image::ChipImage;
use amine_nir::{import_graph, NirGraph, NirNode, Tensor};
use amine_sim::{ExternalSpikes, Record, SimOptions, Simulator};
use std::path::Path;

const STEPS: u32 = 400;

/// Run `image` for `STEPS` steps, its single External port fed by seeded spikes; the
/// raster as (step, population name, neuron).
fn run(image: &ChipImage) -> Vec<(u32, String, u32)> {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    assert_eq!(image.inputs.len(), 1);
    let size = image.inputs[0].size;
    let mut s = 11u64;
    let mut spikes = Vec::new();
    for step in 0..STEPS {
        for i in 0..size {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            if (s >> 33) % 100 < 15 {
                spikes.push((step, i));
            }
        }
    }
    let options = SimOptions {
        steps: STEPS,
        record: Record {
            spikes: true,
            latency: false,
        },
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(&chip, image, options)
        .unwrap()
        .with_external(ExternalSpikes {
            per_port: vec![spikes],
        })
        .unwrap();
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    let names = sim.population_names().to_vec();
    outcome
        .raster
        .iter()
        .map(|x| (x.step, names[x.population as usize].clone(), x.neuron))
        .collect()
}

fn t(n: usize, x: f64) -> Tensor {
    Tensor::vector(vec![x; n])
}

#[test]
fn exact_nir_equals_native_program() {
    let dt = 1e-3;
    // snnTorch convention: r = tau_mem/dt, w_in = tau_syn/dt, so a weight w adds w.
    let w1: Vec<f64> = (0..3 * 4)
        .map(|k| f64::from((k * 37 % 23) as u8) - 6.0)
        .collect();
    let nodes = vec![
        ("input", NirNode::Input { shape: vec![4] }),
        (
            "fc",
            NirNode::Linear {
                weight: Tensor::new(vec![3, 4], w1.clone()),
            },
        ),
        (
            "cuba",
            NirNode::CubaLif {
                tau_syn: t(3, 8e-3),
                tau_mem: t(3, 16e-3),
                r: t(3, 16.0),
                v_leak: t(3, 0.0),
                v_threshold: t(3, 40.0),
                v_reset: t(3, 0.0),
                w_in: t(3, 8.0),
            },
        ),
        ("output", NirNode::Output { shape: vec![3] }),
    ];
    let graph = NirGraph {
        nodes: nodes.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        edges: [("input", "fc"), ("fc", "cuba"), ("cuba", "output")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        version: "1.0".into(),
        ..Default::default()
    };
    let imported = import_graph(&graph, dt, "eq").unwrap();
    assert_eq!(imported.node("cuba").unwrap().scale, 1.0);
    assert!(imported.node("cuba").unwrap().exact);
    // The same network, written by hand: dense weights[pre][post].
    let dense: Vec<String> = (0..4)
        .map(|pre| {
            let row: Vec<String> = (0..3)
                .map(|post| format!("{:.1}", w1[post * 4 + pre]))
                .collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    // NIR's equations are discretised with forward Euler (du + 1 = 4096·dt/τs = 512,
    // dv = 4096·dt/τm = 256), amine's own time constants exactly (`decay_from_tau`):
    // the hand-written program gives the Euler fields raw.
    let native = format!(
        r#"Program(name: "eq", dt_ms: 1.0,
  populations: [(name: "cuba", size: 3, model: LifRaw((du: 511, dv: 256, vth: 40, bias_mant: 0, bias_exp: 0, refractory: 0)))],
  inputs: [(name: "input", size: 4, source: External)],
  projections: [(name: Some("input->cuba"), from: "input", to: "cuba", connect: Dense([{}]))],
  probes: [(name: "output.cuba", population: "cuba", kind: Spikes)])"#,
        dense.join(", ")
    );
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let a = amine_compiler::compile_program(imported.program, Path::new("."), &chip).unwrap();
    let b = amine_compiler::compile_str(&native, "eq.ron", Path::new("."), &chip).unwrap();
    assert_eq!(a.report.synapses, b.report.synapses);
    assert_eq!(a.report.quantization.exact_synapses, a.report.synapses);
    assert_eq!(
        *a.image, *b.image,
        "the NIR import and the native program differ"
    );
    // And both run to the same spikes (enough of them to mean something).
    let (ra, rb) = (run(&a.image), run(&b.image));
    println!(
        "exact NIR vs native program: {} vs {} spikes in {STEPS} steps",
        ra.len(),
        rb.len()
    );
    assert!(ra.len() >= 50, "only {} spikes", ra.len());
    assert_eq!(
        ra, rb,
        "the NIR import and the native program spike differently"
    );
}
