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

/// `pre` (a Bernoulli input) → `post` (`to_model`) with an `eprop` rule.
fn eprop_program(to_model: &str, params: &str, from_graded: bool) -> String {
    let source = if from_graded {
        "Graded()"
    } else {
        "Bernoulli(p: 0.1)"
    };
    format!(
        "Program(name: \"t\", seed: 5, populations: [(name: \"post\", size: 3, sign: Mixed, model: {to_model})], \
         inputs: [(name: \"pre\", size: 4, source: {source})], \
         projections: [(from: \"pre\", to: \"post\", connect: All, weight: Some(Const(1.0)), \
         learning: Some((rule: \"eprop\", params: {{{params}}}, epoch: 100)))])"
    )
}

const ALIF: &str =
    "Alif(tau_syn: Steps(1), tau_mem: Steps(20), threshold: 100, tau_adapt: Steps(200), adapt: 10)";

#[test]
fn eprop_makes_an_eprop_slot() {
    let text = eprop_program(ALIF, r#""beta": 1.5, "tau_m": 20, "eta": 0.5"#, false);
    let compiled = compile_text(&text, &chip(|_| {})).expect("compiles");
    let slot = &compiled.image.learning[0];
    let e = slot.eprop.expect("an e-prop slot");
    assert!(slot.microcode.equations.is_empty());
    assert!(
        (e.alpha - (-1.0f64 / 20.0).exp()).abs() < 1e-12,
        "dt = 1 ms"
    );
    assert!(
        (e.rho - (-1.0f64 / 200.0).exp()).abs() < 1e-12,
        "default τa"
    );
    assert_eq!((e.beta, e.eta, e.channel, e.frac_bits), (1.5, 0.5, 0, 16));
    assert_eq!(slot.epoch, 100);
}

#[test]
fn eprop_needs_spiking_lif_or_alif() {
    let graded_target = "Graded(u0: 10)";
    let p = problems(&eprop_program(graded_target, "", false));
    assert!(p.iter().any(|x| x.message.contains("LIF or ALIF")), "{p:?}");
    let p = problems(&eprop_program(ALIF, "", true));
    assert!(
        p.iter().any(|x| x.message.contains("spiking source")),
        "{p:?}"
    );
    let p = problems(&eprop_program(ALIF, r#""tau_m": 20, "alpha": 0.9"#, false));
    assert!(p.iter().any(|x| x.message.contains("not both")), "{p:?}");
    let p = problems(&eprop_program(ALIF, r#""gamma": 1"#, false));
    assert!(
        p.iter().any(|x| x.message.contains("no parameter `gamma`")),
        "{p:?}"
    );
    let p = problems(&eprop_program(ALIF, r#""channel": 9"#, false));
    assert!(p.iter().any(|x| x.message.contains("channel 9")), "{p:?}");
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
