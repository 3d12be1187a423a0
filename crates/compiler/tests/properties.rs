//! Properties of the compiler on random networks and random chips:
//!
//! - the partition never exceeds any core limit (measured on the emitted image);
//! - every synapse of the program appears exactly once in the image, with its quantized
//!   weight and delay (the audit multisets are equal);
//! - compiling twice gives a bit-identical image and an identical report;
//! - the image round-trips through both encodings unchanged;
//! - a program that does not fit fails with a hardware-limit error, never an internal one;
//! - mangled program text never panics.

use amine_chip::image::{ChipImage, Sign};
use amine_chip::neuron::lif::LifParams;
use amine_chip::ChipConfig;
use amine_compiler::audit::{image_synapses, program_synapses};
use amine_compiler::program::{
    Connect, Input, LearningSpec, MappingHints, Model, Population, Program, Projection, Source,
    Time, Weight,
};
use amine_compiler::ErrorKind;
use proptest::prelude::*;
use std::path::Path;

fn sign_of(k: u8) -> Sign {
    [Sign::Excitatory, Sign::Inhibitory, Sign::Mixed][k as usize % 3]
}

/// A weight spec obeying the source's sign.
fn weight(kind: u8, a: f64, b: f64, sign: Sign) -> Weight {
    let s = match sign {
        Sign::Excitatory => 1.0,
        Sign::Inhibitory => -1.0,
        Sign::Mixed => 0.0,
    };
    let (lo, hi) = if s == 0.0 {
        (-a, b)
    } else {
        (s * a.min(b), s * a.max(b))
    };
    match kind % 3 {
        0 => Weight::Const(if s == 0.0 { b - a } else { s * a.round() }),
        1 => Weight::Uniform {
            low: lo.min(hi),
            high: lo.max(hi),
        },
        _ => Weight::Normal {
            mean: if s == 0.0 { 0.0 } else { s * (a + b) / 2.0 },
            std: 1.5,
        },
    }
}

prop_compose! {
    fn population(i: usize)(size in 1u32..90, sign in 0u8..3, raw in any::<bool>()) -> Population {
        let model = if raw {
            Model::LifRaw(LifParams { du: 511, dv: 256, vth: 300, bias_mant: 0, bias_exp: 0, refractory: 0 })
        } else {
            Model::Lif { tau_syn: Time::Steps(4.0), tau_mem: Time::Ms(10.0), threshold: 200.0, bias: 1.5, refractory: None }
        };
        Population { name: format!("p{i}"), size, model, sign: sign_of(sign), positions: None }
    }
}

#[derive(Debug, Clone)]
struct ProjSeed {
    from: usize,
    to: usize,
    kind: u8,
    p: f64,
    wkind: u8,
    a: f64,
    b: f64,
    delay: u8,
    learns: bool,
    pairs: Vec<(u32, u32, f64)>,
}

prop_compose! {
    fn proj_seed()(
        from in 0usize..6, to in 0usize..4, kind in 0u8..5, p in 0.0f64..0.4, wkind in 0u8..3,
        a in 0.0f64..12.0, b in 0.0f64..12.0, delay in 0u8..16, learns in proptest::bool::weighted(0.15),
        pairs in proptest::collection::vec((any::<u32>(), any::<u32>(), -8.0f64..8.0), 0..30),
    ) -> ProjSeed {
        ProjSeed { from, to, kind, p, wkind, a, b, delay, learns, pairs }
    }
}

prop_compose! {
    fn network()(
        pops in (1usize..4).prop_flat_map(|n| (0..n).map(population).collect::<Vec<_>>()),
        inputs in proptest::collection::vec(1u32..60, 0..3),
        seeds in proptest::collection::vec(proj_seed(), 0..7),
        seed in any::<u64>(),
    ) -> Program {
        let inputs: Vec<Input> = inputs.iter().enumerate().map(|(i, &size)| Input {
            name: format!("in{i}"), size, source: Source::Bernoulli { p: 0.05, seed: None },
            sign: Sign::Mixed, entry_tile: None,
        }).collect();
        let nodes: Vec<(String, u32, Sign)> = pops.iter().map(|p| (p.name.clone(), p.size, p.sign))
            .chain(inputs.iter().map(|i| (i.name.clone(), i.size, i.sign))).collect();
        let projections = seeds.into_iter().enumerate().map(|(k, s)| {
            let (from, npre, sign) = nodes[s.from % nodes.len()].clone();
            let to = &pops[s.to % pops.len()];
            let w = weight(s.wkind, s.a, s.b, sign);
            let dale = |x: f64| match sign { Sign::Excitatory => x.abs(), Sign::Inhibitory => -x.abs(), Sign::Mixed => x };
            let (connect, weight) = match s.kind {
                0 => (Connect::All, Some(w)),
                1 if npre == to.size => (Connect::OneToOne, Some(w)),
                2 => (Connect::Sparse(s.pairs.iter().map(|&(a, b, x)| (a % npre, b % to.size, dale(x))).collect()), None),
                3 if npre <= 12 && to.size <= 12 => (
                    Connect::Dense((0..npre).map(|a| (0..to.size).map(|b| dale(((a * 7 + b * 3) % 5) as f64 - 2.0)).collect()).collect()),
                    None,
                ),
                _ => (Connect::Random { p: s.p, allow_self: s.from % 2 == 0, modules: (s.p > 0.3).then_some(npre.min(to.size).min(3)), partners: None }, Some(w)),
            };
            Projection {
                name: Some(format!("proj{k}")), from, to: to.name.clone(), connect, weight, delay: s.delay,
                weight_bits: None, seed: None,
                learning: s.learns.then(|| LearningSpec { rule: "stdp".into(), params: Default::default(), epoch: 2, overflow: Default::default(), traces: Default::default() }), sign: None,
            }
        }).collect();
        Program {
            name: "random".into(), seed, dt_ms: 1.0, populations: pops, inputs, projections,
            probes: Vec::new(), modulators: Vec::new(), mapping: MappingHints::default(), grid: None, eprop: None, sigprop: None,
        }
    }
}

prop_compose! {
    /// The tiny chip with random (smaller) core limits on a larger mesh.
    fn chip()(comps in 4u32..64, axons_in in 8u32..128, axons_out in 8u32..128, words in 8u64..256) -> ChipConfig {
        let mut c = amine_chip::presets::preset("tiny").unwrap();
        c.mesh.tiles_x = 4;
        c.mesh.tiles_y = 4;
        c.core.compartments = comps;
        c.core.input_axons = axons_in;
        c.core.output_axons = axons_out;
        c.core.synapse_memory_bits = words * 64;
        c
    }
}

fn check_limits(image: &ChipImage, chip: &ChipConfig) -> Result<(), TestCaseError> {
    let k = &chip.core;
    for core in &image.cores {
        prop_assert!(
            core.compartments.len() as u32 <= k.compartments,
            "core {} compartments",
            core.id
        );
        prop_assert!(
            core.synapses.rows().len() as u32 <= k.input_axons,
            "core {} input axons",
            core.id
        );
        prop_assert!(
            core.fanout.len() as u32 <= k.output_axons,
            "core {} output axons",
            core.id
        );
        prop_assert!(
            core.synapses.used_bits() <= k.synapse_memory_bits,
            "core {} synapse bits",
            core.id
        );
    }
    prop_assert!(image.verify(chip).is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_networks_fit_lose_nothing_and_are_deterministic(program in network(), chip in chip()) {
        match amine_compiler::compile_program(program.clone(), Path::new("."), &chip) {
            Ok(out) => {
                check_limits(&out.image, &chip)?;
                // Every synapse exactly once, with its quantized weight and delay.
                let from_image = image_synapses(&out.image).map_err(TestCaseError::fail)?;
                prop_assert_eq!(from_image, program_synapses(&out.compilation));
                // Same seed, same image, bit for bit.
                let again = amine_compiler::compile_program(program, Path::new("."), &chip).unwrap();
                prop_assert_eq!(again.image.to_bytes(), out.image.to_bytes());
                prop_assert_eq!(&again.report, &out.report);
                // Both encodings round-trip.
                let bin = ChipImage::from_bytes(&out.image.to_bytes(), "x").unwrap();
                prop_assert_eq!(&bin, &*out.image);
                let ron = ChipImage::from_ron(&out.image.to_ron(), "x").unwrap();
                prop_assert_eq!(&ron, &*out.image);
            }
            Err(e) => {
                prop_assert!(matches!(e.kind(), ErrorKind::HardwareLimit(_)), "{}", e);
            }
        }
    }

    #[test]
    fn loihi_fits_random_networks(program in network()) {
        let chip = amine_chip::presets::preset("loihi").unwrap();
        let out = amine_compiler::compile_program(program, Path::new("."), &chip);
        let out = out.map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_limits(&out.image, &chip)?;
        prop_assert_eq!(image_synapses(&out.image).map_err(TestCaseError::fail)?, program_synapses(&out.compilation));
    }

    #[test]
    fn mangled_programs_never_panic(cut in 0usize..2000, len in 0usize..40, junk in "[a-zA-Z0-9(),:\"\\[\\] -]{0,12}") {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../programs/balanced.ron")).unwrap();
        let start = cut.min(text.len());
        let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        let mangled = format!("{}{}{}", &text[..start], junk, &text[end..]);
        let chip = amine_chip::presets::preset("tiny").unwrap();
        // Any outcome but a panic; an error always says something, with a location when
        // the text itself is at fault.
        if let Err(e) = amine_compiler::compile_str(&mangled, "m.ron", Path::new("."), &chip) {
            let msg = e.to_string();
            prop_assert!(!msg.is_empty());
            if matches!(e.kind(), ErrorKind::Syntax(_)) {
                prop_assert!(msg.starts_with("m.ron:"), "{}", msg);
            }
        }
    }
}
