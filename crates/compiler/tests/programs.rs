//! The shipped programs compile onto the Loihi-like chip as documented, lose no synapse,
//! and a chip too small for W1 is refused with the limit named.

use amine_compiler::audit::{image_synapses, program_synapses};
use amine_compiler::{compile_file, Compiled, ErrorKind};
use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../programs")
        .join(name)
}

fn loihi(name: &str) -> Compiled {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    compile_file(&path(name), &chip).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn lossless(out: &Compiled) {
    assert_eq!(
        image_synapses(&out.image).unwrap(),
        program_synapses(&out.compilation)
    );
}

#[test]
fn w1_compiles_onto_loihi_exactly() {
    let out = loihi("balanced.ron");
    let r = &out.report;
    assert_eq!((r.neurons, r.inputs), (1000, 100));
    // ~10% of 800·799 + 800·200 + 200·1000 − 200 recurrent pairs and 100·1000 input pairs.
    let pairs = 1000.0 * 999.0 + 100.0 * 1000.0;
    let sd = (pairs * 0.1 * 0.9f64).sqrt();
    assert!(
        (r.synapses as f64 - 0.1 * pairs).abs() < 5.0 * sd,
        "{}",
        r.synapses
    );
    // +4, −20 and +16 are exact at some width: no quantization error.
    assert_eq!(r.quantization.exact_synapses, r.synapses);
    assert_eq!(r.quantization.max_rel_error, 0.0);
    lossless(&out);
}

#[test]
fn w1_on_a_chip_too_small_names_the_limit() {
    let tiny = amine_chip::presets::preset("tiny").unwrap();
    let e = compile_file(&path("balanced.ron"), &tiny).unwrap_err();
    let ErrorKind::HardwareLimit(l) = e.kind() else {
        panic!("{e}")
    };
    assert_eq!(l[0].limit, "chip.compartments");
    assert_eq!((l[0].needed, l[0].available), (1000, tiny.compartments()));
    assert!(e.to_string().contains("tiny allows 512"), "{e}");
}

#[test]
fn layered_spreads_over_33_cores_and_placement_beats_round_robin() {
    let out = loihi("layered.ron");
    let p = &out.report.placement;
    // Memory-bound: 64 cores while partition booked every row sparse, 33 now that it
    // books delta-coded rows at their size.
    assert_eq!(out.report.cores_used, 33);
    assert!(
        p.cost < p.round_robin_cost && p.cost < p.sequential_cost,
        "{p:?}"
    );
    lossless(&out);
}

#[test]
fn recurrent_modulated_carries_modulator_learning_and_csv_data() {
    let out = loihi("recurrent_modulated.ron");
    let img = &out.image;
    assert_eq!(img.learning.len(), 2);
    // The rules arrive assembled, with default traces and distinct rounding seeds.
    use amine_chip::learning::Target;
    let (stdp, rstdp) = (&img.learning[0].microcode, &img.learning[1].microcode);
    assert_eq!(stdp.equations.len(), 1);
    assert_eq!(stdp.equation(Target::Weight).unwrap().terms.len(), 2);
    assert!(rstdp.equation(Target::Tag).is_some() && rstdp.equation(Target::Weight).is_some());
    assert_eq!(rstdp.max_channel(), Some(0));
    let traces = amine_chip::learning::traces::default_traces(None, None);
    assert_eq!(img.learning[0].x1, traces[0]);
    assert_eq!(img.learning[1].y3, traces[4]);
    assert_ne!(img.learning[0].seed, img.learning[1].seed);
    assert!(!img.learning[1].renormalise);
    assert_eq!(img.modulator.sources.len(), 2);
    // Every positioned neuron is bound to a grid cell.
    assert_eq!(img.modulator.cells.len(), 202);
    let plastic: usize = img.cores.iter().map(|k| k.plastic_rows.len()).sum();
    assert!(plastic > 0);
    let cue = &img.inputs[0];
    let csv_spikes = std::fs::read_to_string(path("data/cue_spikes.csv")).unwrap();
    let n = csv_spikes
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .count();
    assert!(
        matches!(&cue.source, amine_chip::image::InputSource::Explicit { spikes } if spikes.len() == n)
    );
    lossless(&out);
}

#[test]
fn loihi_scale_fills_the_chip() {
    let out = loihi("loihi_scale.ron");
    let r = &out.report;
    assert_eq!(r.neurons, 131_072);
    assert_eq!(r.cores_used, 128);
    assert!(r.synapses >= 10_000_000, "{}", r.synapses);
    assert!(r.cores.iter().all(|k| k.compartments.used == 1024));
    lossless(&out);
}

/// Total synapse memory of an image, in bits.
fn memory_bits(out: &Compiled) -> u64 {
    out.report.cores.iter().map(|c| c.synapse_bits.used).sum()
}

#[test]
fn the_convolutional_gesture_network_fits_loihi_in_shared_form() {
    let out = loihi("conv_gesture.ron");
    let r = &out.report;
    assert_eq!(
        (r.neurons, r.inputs, r.synapses),
        (17_654, 1_024, 3_564_441)
    );
    // SANA-FE's tutorial maps it onto 42 Loihi cores (41 without the input layer).
    assert_eq!(r.cores_used, 20);
    // Every conv core holds whole channel planes: conv3's 121-neuron planes, 8 a core.
    let conv3: Vec<u64> = r
        .cores
        .iter()
        .filter(|c| c.populations == ["conv3"])
        .map(|c| c.compartments.used)
        .collect();
    assert_eq!(conv3, vec![968; 8]);
    // Every core but the last one packed says which limit closed it.
    assert_eq!(r.cores.iter().filter(|c| c.bound_by.is_none()).count(), 1);
    lossless(&out);

    // The same network expanded into per-synapse rows, on Loihi without population axons.
    let mut chip = amine_chip::presets::preset("loihi").unwrap();
    chip.core.population = None;
    // Sparse rows only: delta-coded rows shrink the expanded form below 10× (it is
    // the comparison with the sparse per-synapse rows this checks).
    chip.core.delta_rows = None;
    let expanded = compile_file(&path("conv_gesture.ron"), &chip).unwrap();
    assert_eq!(expanded.report.synapses, r.synapses);
    assert_eq!(expanded.report.cores_used, 70);
    assert!(
        memory_bits(&out) * 10 < memory_bits(&expanded),
        "shared {} bits, expanded {}",
        memory_bits(&out),
        memory_bits(&expanded)
    );
    assert!(expanded.image.cores.iter().all(|c| c.population.is_none()));
    lossless(&expanded);
}

#[test]
fn w3_is_the_documented_eight_chip_network() {
    use amine_compiler::program::{Connect, Program};
    let text = std::fs::read_to_string(path("w3_board.ron")).unwrap();
    let p = Program::from_ron(&text, "w3_board.ron").unwrap();
    let size = |n: &str| p.populations.iter().find(|x| x.name == n).unwrap().size;
    // 1,048,576 neurons, 131,072 a chip of 128 cores: 1,024 modules of 820 E + 204 I
    // (80 % excitatory).
    assert_eq!((size("exc"), size("inh")), (820 * 1024, 204 * 1024));
    let partners: Vec<_> = p
        .projections
        .iter()
        .filter_map(|pr| match pr.connect {
            Connect::Random {
                modules: Some(1024),
                partners: Some(n),
                ..
            } => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(partners, vec![2]);
    // ~100 synapses a neuron, ≥ 100 M in all (expected counts of the random draws).
    let nodes = |n: &str| {
        p.populations
            .iter()
            .map(|x| (&x.name, x.size))
            .chain(p.inputs.iter().map(|x| (&x.name, x.size)))
            .find(|x| x.0 == n)
            .unwrap()
            .1 as f64
    };
    let expected: f64 = p
        .projections
        .iter()
        .map(|pr| match pr.connect {
            Connect::Random {
                p: q,
                modules,
                partners,
                ..
            } => {
                q * nodes(&pr.from) * nodes(&pr.to) * partners.unwrap_or(1) as f64
                    / modules.unwrap_or(1) as f64
            }
            _ => panic!("W3 is random connectivity only"),
        })
        .sum();
    assert!(expected > 100e6 && expected < 110e6, "{expected}");
    // Compiling it (≈ 12 s, 1.2 GB) is measured by `amine bench --only W3`.
}
