//! The e-prop template and programs: the cue network compiles onto `loihi-eprop` with an
//! e-prop engine section, its connectivity has the reference's density, its neurons sit
//! on distinct cells of a 10 × 10 torus, it is a function of its seed, and onto `loihi`
//! it fails naming every limit.

use amine_chip::image::eprop::UpdateRule;
use amine_chip::learning::eprop::EpropParams;
use amine_compiler::templates::{eprop, EpropNetwork, Feedback, Update};
use amine_compiler::{Compiled, ErrorKind};
use std::collections::BTreeSet;
use std::path::Path;

fn compile(net: &EpropNetwork, chip: &str) -> Result<Compiled, amine_compiler::Error> {
    let chip = amine_chip::presets::preset(chip).unwrap();
    amine_compiler::compile_str(&eprop(net).to_ron(), "e.ron", Path::new("."), &chip)
}

#[test]
fn compiles_onto_loihi_eprop_with_the_engine_section() {
    for condition in [
        Feedback::Diffusion { k: 0.75 },
        Feedback::Sparse,
        Feedback::Full,
    ] {
        let net = EpropNetwork {
            condition,
            ..EpropNetwork::cue_accumulation()
        };
        let out = compile(&net, "loihi-eprop").unwrap_or_else(|e| panic!("{condition:?}: {e}"));
        let image = &out.image;
        let e = image.eprop.as_ref().expect("an e-prop section");
        assert_eq!(image.cores.len(), 1, "the network sits on one core");
        assert_eq!(image.cores[0].compartments.len(), 100);
        assert_eq!(image.learning.len(), 6, "x, lif, alif onto lif and alif");
        assert_eq!((e.trial_steps, e.window), (2050, (1900, 2050)));
        // ē is kept from ⌈20·21·ln 2⌉ = 292 steps before the window.
        assert_eq!(e.ebar_from, 1900 - 292);
        assert_eq!(e.readout.units, 2);
        assert_eq!(e.readout.synapses.len(), 20, "each readout reads 10 of 100");
        let injectors = e.feedback.injectors.len();
        match condition {
            Feedback::Full => assert_eq!(injectors, 100),
            _ => assert!((10..=20).contains(&injectors), "{injectors}"),
        }
        assert!(matches!(e.update.rule, UpdateRule::Adam(ref a) if a.groups.len() == 7));
        assert_eq!(image.modulator.registers, Some(condition.registers(10)));
        // The slots' constants come from the neurons: α = 1 − 200/4096, ρ = 1 − 2/4096.
        let alif = image
            .learning
            .iter()
            .find(|s| s.projection == "lif->alif")
            .and_then(|s| s.eprop)
            .unwrap();
        let want = EpropParams {
            alpha: 3896.0 / 4096.0,
            rho: 4094.0 / 4096.0,
            beta: alif.beta,
            kappa: 3896.0 / 4096.0,
            eta: 0.0,
            channel: 0,
            frac_bits: 20,
        };
        assert_eq!(alif, want);
        // β̂ = a_inc / ((1 − ρ)·thr): the reference's 1.8 / 0.03 = 60 through the 12-bit ρ.
        assert!((alif.beta - 60.0).abs() < 0.05, "{}", alif.beta);
        assert!(image
            .verify(&amine_chip::presets::preset("loihi-eprop").unwrap())
            .is_empty());
    }
}

#[test]
fn densities_and_cells_match_the_reference() {
    for seed in 1..=5 {
        let net = EpropNetwork {
            seed,
            ..EpropNetwork::cue_accumulation()
        };
        let out = compile(&net, "loihi-eprop").unwrap();
        let syn = |from: &str, to: &str| {
            out.compilation.net.as_ref().unwrap().projections[out
                .compilation
                .program
                .projections
                .iter()
                .position(|p| p.from == from && p.to == to)
                .unwrap()]
            .synapses()
        };
        let inputs = syn("x", "lif") + syn("x", "alif");
        assert_eq!(inputs, 400, "0.1 · 40 · 100 input synapses");
        let rec: usize = [
            ("lif", "lif"),
            ("lif", "alif"),
            ("alif", "lif"),
            ("alif", "alif"),
        ]
        .iter()
        .map(|(a, b)| syn(a, b))
        .sum();
        let density = rec as f64 / 9900.0;
        assert!((0.08..0.13).contains(&density), "seed {seed}: {density}");
        let cells: BTreeSet<(u32, u32)> =
            out.image.modulator.cells.iter().map(|c| c.cell).collect();
        assert_eq!(cells.len(), 100, "every neuron on its own cell");
        assert!(cells.iter().all(|&(x, y)| x < 10 && y < 10));
    }
    let a = compile(&EpropNetwork::cue_accumulation(), "loihi-eprop").unwrap();
    let b = compile(&EpropNetwork::cue_accumulation(), "loihi-eprop").unwrap();
    assert_eq!(a.image, b.image, "a function of the seed");
    let c = compile(
        &EpropNetwork {
            seed: 2,
            ..EpropNetwork::cue_accumulation()
        },
        "loihi-eprop",
    )
    .unwrap();
    assert_ne!(a.image, c.image);
}

#[test]
fn onto_loihi_every_missing_limit_is_named() {
    let err = compile(&EpropNetwork::cue_accumulation(), "loihi").unwrap_err();
    let ErrorKind::HardwareLimit(limits) = err.kind() else {
        panic!("{err}");
    };
    let named: Vec<(&str, u64, u64)> = limits
        .iter()
        .map(|l| (l.limit.as_str(), l.needed, l.available))
        .collect();
    for want in [
        ("core.weight_bits", 16, 9),
        ("learning.eprop", 1, 0),
        ("learning.trace_bits", 22, 7),
    ] {
        assert!(named.contains(&want), "{want:?} not in {named:?}");
    }
    let text = err.to_string();
    assert!(text.contains("loihi-eprop"), "{text}");
}

#[test]
fn narrow_widths_fit_loihi_eprop_and_sgd_needs_no_adam() {
    let net = EpropNetwork {
        weight_bits: 8,
        frac_bits: 7,
        update: Update::Sgd {
            lr: [65.0, 327.0, 25.0],
        },
        ..EpropNetwork::cue_accumulation()
    };
    let out = compile(&net, "loihi-eprop").unwrap();
    let e = out.image.eprop.clone().unwrap();
    assert_eq!(e.frac_bits, 7);
    assert!(matches!(e.update.rule, UpdateRule::Sgd { readout_eta } if readout_eta > 0.0));
    assert!(out
        .image
        .learning
        .iter()
        .all(|s| s.eprop.unwrap().eta > 0.0));
    let too_fine = EpropNetwork {
        frac_bits: 25,
        ..EpropNetwork::cue_accumulation()
    };
    let err = compile(&too_fine, "loihi-eprop").unwrap_err().to_string();
    assert!(
        err.contains("learning.eprop.eligibility.max_frac_bits") && err.contains("25"),
        "{err}"
    );
}

#[test]
fn the_verifier_names_each_broken_part_of_the_eprop_section() {
    let out = compile(&EpropNetwork::cue_accumulation(), "loihi-eprop").unwrap();
    let chip = amine_chip::presets::preset("loihi-eprop").unwrap();
    let mut image = out.image.into_image();
    let e = image.eprop.as_mut().unwrap();
    e.frac_bits = 30;
    e.window = (2000, 3000);
    e.readout.synapses[0].unit = 9;
    e.feedback.injectors[0].cell = (40, 0);
    if let UpdateRule::Adam(a) = &mut e.update.rule {
        a.groups.pop();
    }
    let fields: Vec<String> = image.verify(&chip).into_iter().map(|p| p.field).collect();
    for want in [
        "eprop.frac_bits",
        "eprop.window",
        "eprop.readout.synapses",
        "eprop.feedback.injectors",
        "eprop.update.rule",
    ] {
        assert!(fields.iter().any(|f| f == want), "{want} not in {fields:?}");
    }
}
