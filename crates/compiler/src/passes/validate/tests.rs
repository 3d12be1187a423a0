use super::rules::rule_ok;

#[test]
fn rules_are_assembled_by_the_learning_engine() {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let none = Default::default();
    assert!(rule_ok("stdp", &none, &chip).is_ok());
    assert!(rule_ok("dw = 2^-4*x1*y0 - 2^-5*y1*x0", &none, &chip).is_ok());
    assert!(rule_ok("dw = x1*zz", &none, &chip).is_err());
    let bad: std::collections::BTreeMap<String, f64> = [("nope".to_string(), 1.0)].into();
    let e = rule_ok("stdp", &bad, &chip).unwrap_err();
    assert!(e[0].contains("nope"), "{e:?}");
}

use crate::testutil::*;
use crate::ErrorKind;

fn problems(text: &str) -> Vec<crate::Problem> {
    match err(compile_text(text, &chip(|_| {}))).kind() {
        ErrorKind::Invalid { problems, .. } => problems.clone(),
        k => panic!("{k:?}"),
    }
}

/// `pre` (a Bernoulli input) → `post` (`to_model`) with an `eprop` rule `learning`,
/// and (with `section`) the program's `eprop` section reading `post`.
fn eprop_program(to_model: &str, learning: &str, from_graded: bool, section: bool) -> String {
    let source = if from_graded {
        "Graded()"
    } else {
        "Bernoulli(p: 0.1)"
    };
    let eprop = if section {
        ", eprop: Some((trial: (steps: 100, window: (80, 100)), \
         readout: (size: 2, tau: Steps(20), from: [\"post\"], p: 0.5, weight: Const(0.2), lr: Some(1.0)), \
         error: Softmax, feedback: (weights: Readout), update: Sgd, batch: 4))"
    } else {
        ""
    };
    format!(
        "Program(name: \"t\", seed: 5, populations: [(name: \"post\", size: 3, sign: Mixed, model: {to_model}, \
         positions: Some(Lattice(width: 2, height: 2)))], \
         inputs: [(name: \"pre\", size: 4, source: {source})], \
         projections: [(from: \"pre\", to: \"post\", connect: All, weight: Some(Const(1.0)), \
         learning: Some({learning}))]{eprop})"
    )
}

const ALIF: &str =
    "Alif(tau_syn: Steps(0), tau_mem: Steps(20), threshold: 100, tau_adapt: Steps(200), \
     adapt: 10, reset: Some(SubtractBase))";

fn eprop_chip() -> amine_chip::ChipConfig {
    amine_chip::presets::preset("loihi-eprop").unwrap()
}

#[test]
fn eprop_makes_an_eprop_slot_from_the_target_neurons() {
    let text = eprop_program(ALIF, r#"(rule: "eprop", params: {"lr": 3.0})"#, false, true);
    let compiled = compile_text(&text, &eprop_chip()).expect("compiles");
    let slot = &compiled.image.learning[0];
    let e = slot.eprop.expect("an e-prop slot");
    assert!(slot.microcode.equations.is_empty());
    // dv = decay_from_tau(20) = 200, da = decay_from_tau(200) = 20.
    assert_eq!(
        (e.alpha, e.rho, e.kappa),
        (3896.0 / 4096.0, 4076.0 / 4096.0, 3896.0 / 4096.0)
    );
    // β̂ = a_inc / ((1 − ρ)·thr) = 640 / (20/4096 · 6400).
    assert!(
        (e.beta - 640.0 / (20.0 / 4096.0 * 6400.0)).abs() < 1e-9,
        "{}",
        e.beta
    );
    // η = lr / (batch·|W|·(1 − α)·vth) = 3 / (4·20·200/4096·100), to 16 bits.
    let eta = 3.0 / (4.0 * 20.0 * 200.0 / 4096.0 * 100.0);
    assert!((e.eta / eta - 1.0).abs() < 2e-5, "{} vs {eta}", e.eta);
    assert_eq!((e.channel, e.frac_bits), (0, 20));
    assert_eq!(
        slot.epoch, 400,
        "one update per batch of 4 trials of 100 steps"
    );
    assert!(compiled.image.eprop.is_some());
}

#[test]
fn eprop_needs_spiking_neurons_its_section_and_its_rate() {
    let chip = eprop_chip();
    let problems = |text: String| match err(compile_text(&text, &chip)).kind() {
        ErrorKind::Invalid { problems, .. } => problems.clone(),
        k => panic!("{k:?}"),
    };
    let rule = r#"(rule: "eprop", params: {"lr": 1.0})"#;
    let p = problems(eprop_program("Graded(u0: 10)", rule, false, true));
    assert!(p.iter().any(|x| x.message.contains("LIF or ALIF")), "{p:?}");
    let p = problems(eprop_program(ALIF, rule, true, true));
    assert!(
        p.iter().any(|x| x.message.contains("spiking source")),
        "{p:?}"
    );
    let p = problems(eprop_program(
        ALIF,
        r#"(rule: "eprop", params: {"gamma": 1})"#,
        false,
        true,
    ));
    assert!(
        p.iter().any(|x| x.message.contains("no parameter `gamma`")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|x| x.message.contains("needs the parameter `lr`")),
        "{p:?}"
    );
    let p = problems(eprop_program(ALIF, rule, false, false));
    assert!(
        p.iter().any(|x| x.message.contains("`eprop` section")),
        "{p:?}"
    );
    let p = problems(eprop_program(
        ALIF,
        r#"(rule: "eprop", params: {"lr": 1.0}, epoch: 9)"#,
        false,
        true,
    ));
    assert!(
        p.iter().any(|x| x.message.contains("leave out `epoch`")),
        "{p:?}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = program(
        &[pop("a", 10, "Excitatory"), pop("a", 5, "Mixed")],
        "",
        r#"(from: "a", to: "nope", connect: All, weight: Some(Const(1.0))),
           (from: "a", to: "a", connect: Random(p: 1.5), weight: Some(Const(-2.0))),
           (from: "a", to: "a", connect: OneToOne)"#,
    );
    let p = problems(&text);
    let at: Vec<&str> = p.iter().map(|x| x.at.as_str()).collect();
    assert!(at.contains(&"populations[1].name"), "{p:?}");
    assert!(at.contains(&"projections[0].to"), "{p:?}");
    assert!(at.contains(&"projections[1].connect.p"), "{p:?}");
    assert!(at.contains(&"projections[2].weight"), "{p:?}");
    // Dale's principle: an excitatory source with a negative weight.
    assert!(p.iter().any(|x| x.message.contains("Dale")), "{p:?}");
}

#[test]
fn dale_is_checked_in_csv_files_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.csv"), "0,0,1\n1,0,-1\n").unwrap();
    let text = program(
        &[pop("e", 2, "Excitatory")],
        "",
        r#"(from: "e", to: "e", connect: File("w.csv"))"#,
    );
    let e = err(crate::compile_str(
        &text,
        "t.ron",
        dir.path(),
        &chip(|_| {}),
    ));
    let ErrorKind::Invalid { problems, .. } = e.kind() else {
        panic!("{e}")
    };
    assert!(problems[0].at.ends_with("w.csv:2"), "{e}");
}

#[test]
fn chip_wide_limits_are_hardware_errors() {
    let text = program(
        &[pop("a", 600, "Mixed")],
        "",
        r#"(from: "a", to: "a", connect: OneToOne, weight: Some(Const(1.0)), delay: 40)"#,
    );
    let e = err(compile_text(&text, &chip(|_| {})));
    let l = limits(&e);
    assert!(l.contains(&"chip.compartments".to_string()), "{e}");
    assert!(l.contains(&"core.max_delay_bits".to_string()), "{e}");
    assert!(e.to_string().contains("600"), "{e}");
}

#[test]
fn models_the_chip_lacks_are_named() {
    let text = program(&[pop("a", 2, "Mixed")], "", "");
    let c = chip(|c| c.core.neuron_models = vec![amine_chip::config::NeuronModelKind::Graded]);
    let e = err(compile_text(&text, &c));
    assert_eq!(limits(&e), vec!["core.neuron_models"]);
}

#[test]
fn hopeless_synapse_counts_are_refused_before_expansion() {
    // 500 × 500 all-to-all: 250,000 synapses of at least 7 bits, on 8 × 16,384 bits.
    let text = program(
        &[pop("a", 500, "Mixed")],
        "",
        r#"(from: "a", to: "a", connect: All, weight: Some(Const(1.0)))"#,
    );
    let e = err(compile_text(&text, &chip(|_| {})));
    assert_eq!(limits(&e), vec!["chip.synapse_memory_bits"]);
    let big = program(
        &[pop("a", 5, "Mixed")],
        "(name: \"in\", size: 4000000000, source: External)",
        "",
    );
    let e = err(compile_text(&big, &chip(|_| {})));
    assert!(e.to_string().contains("inputs[0].size"), "{e}");
}

/// `a` (40 neurons) → `b` (40 neurons) with `connect`.
fn partner_program(connect: &str) -> String {
    program(
        &[pop("a", 40, "Excitatory"), pop("b", 40, "Mixed")],
        "",
        &format!(r#"(from: "a", to: "b", connect: {connect}, weight: Some(Const(1.0)))"#),
    )
}

#[test]
fn partners_need_modules_and_fewer_partners_than_modules() {
    for (connect, says) in [
        (
            "Random(p: 0.5, partners: Some(1))",
            "need `modules: Some(m)`",
        ),
        (
            "Random(p: 0.5, modules: Some(4), partners: Some(0))",
            "need 1..=3",
        ),
        (
            "Random(p: 0.5, modules: Some(4), partners: Some(4))",
            "need 1..=3",
        ),
    ] {
        let p = problems(&partner_program(connect));
        assert_eq!(p.len(), 1, "{connect}: {p:?}");
        assert_eq!(p[0].at, "projections[0].connect.partners", "{connect}");
        assert!(p[0].message.contains(says), "{connect}: {}", p[0].message);
    }
    // Bounded work: 2^24 module pairs at most, whatever p is.
    let big = program(
        &[pop("a", 9000, "Excitatory")],
        "",
        r#"(from: "a", to: "a", connect: Random(p: 0.0, modules: Some(9000), partners: Some(2000)), weight: Some(Const(1.0)))"#,
    );
    let p = problems(&big);
    assert!(p[0].message.contains("module pairs"), "{p:?}");
}

#[test]
fn a_misspelt_connect_field_is_refused() {
    let e = err(compile_text(
        &partner_program("Random(p: 0.5, modules: Some(4), partner: Some(1))"),
        &chip(|_| {}),
    ));
    assert!(e.to_string().contains("partner"), "{e}");
}

#[test]
fn partners_connect_each_module_only_to_its_partners() {
    let text = partner_program("Random(p: 0.6, modules: Some(4), partners: Some(2))");
    let out = compile_text(&text, &chip(|_| {})).expect("compiles");
    let net = out.compilation.net.as_ref().expect("expanded");
    let e = &net.projections[0];
    let mut blocks = [[0u32; 4]; 4];
    for a in 0..40usize {
        for &t in &e.targets[e.offsets[a] as usize..e.offsets[a + 1] as usize] {
            blocks[a / 10][t as usize / 10] += 1;
        }
    }
    for (j, row) in blocks.iter().enumerate() {
        // No pair within a module; every module receives from 1 or 2 others (2 unless
        // the two cycles agree), each such block ≈ 0.6 · 100 pairs.
        assert_eq!(row[j], 0, "{blocks:?}");
    }
    for k in 0..4 {
        let from: Vec<u32> = (0..4).map(|j| blocks[j][k]).filter(|&n| n > 0).collect();
        assert!((1..=2).contains(&from.len()), "{blocks:?}");
        assert!(from.iter().all(|&n| (35..=85).contains(&n)), "{blocks:?}");
    }
    assert!(e.targets.len() >= 4 * 35);
}
