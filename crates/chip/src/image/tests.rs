//! Image encodings and verification on a small hand-built image.

use super::*;
use crate::neuron::lif::LifParams;
use crate::presets::preset;
use crate::synapse::{RowFormat, SignMode, Synapse};

/// Two cores of the tiny chip: core 0 has 2 LIF compartments; compartment 0 sends to
/// core 1's row 0, which holds one synapse onto its compartment 0.
fn two_core_image(config: &ChipConfig) -> ChipImage {
    let lif = NeuronParams::Lif(LifParams {
        du: 511,
        dv: 256,
        vth: 10,
        ..Default::default()
    });
    let words = config.core.word_bits;
    let bits = config.core.synapse_memory_bits;
    let format = RowFormat {
        index_bits: 6,
        weight_bits: 8,
        sign: SignMode::Signed,
        delay_bits: 0,
        tag_bits: 0,
    };
    let mut mem1 = SynapseMemory::new(words, bits);
    mem1.push_row(
        format,
        0,
        &[Synapse {
            target: 0,
            weight: 5,
            delay: 0,
            tag: 0,
        }],
    )
    .unwrap();
    let core0 = CoreImage {
        id: 0,
        profiles: vec![lif.clone()],
        compartments: vec![0, 0],
        synapses: SynapseMemory::new(words, bits),
        fanout_offsets: vec![0, 1, 1],
        fanout: vec![AxonTarget { core: 3, axon: 0 }],
        plastic_rows: vec![],
        population: None,
    };
    let core1 = CoreImage {
        id: 3,
        profiles: vec![lif],
        compartments: vec![0],
        synapses: mem1,
        fanout_offsets: vec![0, 0],
        fanout: vec![],
        plastic_rows: vec![],
        population: None,
    };
    ChipImage {
        version: IMAGE_VERSION,
        chip: ChipStamp::of(config),
        program: "two".into(),
        cores: vec![core0, core1],
        inputs: vec![InputPort {
            name: "in".into(),
            size: 1,
            source: InputSource::Explicit {
                spikes: vec![(0, 0), (3, 0)],
            },
            entry_tile: (0, 0),
            fanout_offsets: vec![0, 1],
            fanout: vec![AxonTarget { core: 3, axon: 0 }],
            pop_fanout: None,
        }],
        populations: vec![PopulationMap {
            name: "a".into(),
            size: 3,
            model: NeuronModelKind::Lif,
            sign: Sign::Mixed,
            blocks: vec![
                Block {
                    core: 0,
                    first_compartment: 0,
                    first_neuron: 0,
                    count: 2,
                },
                Block {
                    core: 3,
                    first_compartment: 0,
                    first_neuron: 2,
                    count: 1,
                },
            ],
        }],
        probes: vec![Probe {
            name: "a".into(),
            population: "a".into(),
            kind: ProbeKind::Spikes,
            neurons: None,
        }],
        modulator: ModulatorImage::default(),
        learning: vec![],
        eprop: None,
        sigprop: None,
    }
}

#[test]
fn a_consistent_image_verifies() {
    let config = preset("tiny").unwrap();
    let image = two_core_image(&config);
    assert_eq!(image.verify(&config), vec![]);
    assert_eq!(image.synapse_count(), 1);
    assert_eq!(image.compartments_used(), 3);
}

#[test]
fn both_encodings_round_trip() {
    let config = preset("tiny").unwrap();
    let image = two_core_image(&config);
    let back = ChipImage::from_bytes(&image.to_bytes(), "x").unwrap();
    assert_eq!(back, image);
    let back = ChipImage::from_ron(&image.to_ron(), "x").unwrap();
    assert_eq!(back, image);
}

#[test]
fn corrupt_truncated_and_foreign_binaries_are_errors() {
    let config = preset("tiny").unwrap();
    let bytes = two_core_image(&config).to_bytes();
    let msg = |b: &[u8]| ChipImage::from_bytes(b, "img").unwrap_err().to_string();
    assert!(msg(&bytes[..bytes.len() - 3]).contains("truncated"));
    let mut flipped = bytes.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    assert!(msg(&flipped).contains("checksum"));
    assert!(msg(b"hello world, not an image at all").contains("magic"));
    let mut other_version = bytes.clone();
    other_version[8] = 99;
    assert!(msg(&other_version).contains("version"));
    // Every prefix is an error, never a panic.
    for n in 0..bytes.len() {
        assert!(ChipImage::from_bytes(&bytes[..n], "img").is_err());
    }
}

#[test]
fn an_image_for_another_chip_is_refused() {
    let tiny = preset("tiny").unwrap();
    let loihi = preset("loihi").unwrap();
    let problems = two_core_image(&tiny).verify(&loihi);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let m = &problems[0].message;
    assert!(
        m.contains("image's chip `tiny`") && m.contains("`core`") && m.contains("`mesh`"),
        "{m}"
    );
    assert!(
        !m.contains("--chip tiny"),
        "no advice to run on the image's own chip: {m}"
    );
}

#[test]
fn an_image_runs_on_every_cost_variant_of_its_chip() {
    let tiny = preset("tiny").unwrap();
    let image = two_core_image(&tiny);
    let mut variant = tiny.clone();
    variant.name = "tiny_2x".into();
    variant.costs.synaptic_op.energy_pj *= 2.0;
    variant.static_power.per_core_mw *= 3.0;
    variant.mesh.clock_hz *= 2;
    assert_eq!(image.verify(&variant), vec![]);
    // A structural change is refused, naming the section.
    variant.core.weight_bits.retain(|&w| w != 8);
    let problems = image.verify(&variant);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("in `core`"),
        "{}",
        problems[0].message
    );
}

#[test]
fn dangling_references_are_all_reported() {
    let config = preset("tiny").unwrap();
    let mut image = two_core_image(&config);
    image.cores[0].fanout[0].axon = 7; // no such row on core 3
    image.cores[0].compartments[1] = 4; // no such profile
    image.inputs[0].source = InputSource::Explicit {
        spikes: vec![(0, 5)],
    }; // no input 5
    image.probes[0].population = "b".into();
    let fields: Vec<String> = image.verify(&config).into_iter().map(|p| p.field).collect();
    for f in [
        "cores[0].fanout",
        "cores[0].compartments",
        "inputs[0].source",
        "probes[0]",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
}

#[test]
fn save_and_load_pick_the_encoding_by_name() {
    let config = preset("tiny").unwrap();
    let image = two_core_image(&config);
    let dir = std::env::temp_dir().join(format!("amine-image-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["a.ron", "a.img"] {
        let path = dir.join(name);
        image.save(&path).unwrap();
        let text = std::fs::read(&path).unwrap();
        assert_eq!(text.starts_with(&codec::MAGIC), name.ends_with(".img"));
        assert_eq!(ChipImage::load(&path).unwrap(), image);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Core 1's row as a delta row (target 0: delta 0 in 1 bit), on a tiny chip with delta rows.
fn delta_image() -> (ChipConfig, ChipImage) {
    let mut config = preset("tiny").unwrap();
    config.core.delta_rows = Some(crate::config::DeltaRowsConfig { max_delta_bits: 4 });
    let mut image = two_core_image(&config);
    let core = &mut image.cores[1];
    let row = core.synapses.rows()[0];
    let syns: Vec<Synapse> = core.synapses.row_synapses(0).collect();
    let mut mem = SynapseMemory::new(core.synapses.word_bits(), core.synapses.capacity_bits());
    let coding = crate::synapse::TargetCoding::Delta { delta_bits: 1 };
    mem.push_row_coded(row.format, coding, row.exponent, &syns)
        .unwrap();
    core.synapses = mem;
    (config, image)
}

#[test]
fn delta_rows_verify_only_on_chips_that_have_them() {
    let (config, image) = delta_image();
    assert_eq!(image.verify(&config), vec![]);
    let back = ChipImage::from_bytes(&image.to_bytes(), "x").unwrap();
    assert_eq!(back, image);
    let mut without = config.clone();
    without.core.delta_rows = None;
    let mut image = image;
    image.chip = ChipStamp::of(&without);
    let fields: Vec<String> = image
        .verify(&without)
        .into_iter()
        .map(|p| p.field)
        .collect();
    assert!(
        fields.contains(&"cores[1].synapses.rows[0].coding".to_string()),
        "{fields:?}"
    );
}

#[test]
fn a_corrupt_delta_width_is_reported_not_a_panic() {
    let (config, image) = delta_image();
    let ron = image.to_ron();
    assert!(ron.contains("delta_bits: 1"), "the RON names the field");
    for bad in [0u32, 5, 200] {
        let text = ron.replace("delta_bits: 1", &format!("delta_bits: {bad}"));
        let corrupt = ChipImage::from_ron(&text, "x").unwrap();
        let dec = corrupt.cores[1].synapses.decode();
        assert_eq!(dec.targets.len(), 1);
        let fields: Vec<String> = corrupt
            .verify(&config)
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert!(
            fields.contains(&"cores[1].synapses.rows[0].coding".to_string()),
            "{bad}: {fields:?}"
        );
    }
}

#[test]
fn a_delta_row_past_the_core_is_reported() {
    // Deltas 0, 2: a valid coding whose second target is past core 1's one compartment.
    let (config, mut image) = delta_image();
    let core = &mut image.cores[1];
    let row = core.synapses.rows()[0];
    let s: Synapse = core.synapses.row_synapses(0).next().unwrap();
    let syns = [s, Synapse { target: 2, ..s }];
    let mut mem = SynapseMemory::new(core.synapses.word_bits(), core.synapses.capacity_bits());
    let coding = crate::synapse::TargetCoding::Delta { delta_bits: 2 };
    mem.push_row_coded(row.format, coding, row.exponent, &syns)
        .unwrap();
    core.synapses = mem;
    let problems = image.verify(&config);
    assert!(
        problems
            .iter()
            .any(|p| p.field == "cores[1].synapses.rows[0]"
                && p.message == "synapse targets compartment 2 of 1"),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.field.ends_with(".coding")),
        "{problems:?}"
    );
}
