//! Convolution and pooling projections: the form the compiler picks on chips with and
//! without population axons, and every way a convolution can be refused — a shape that
//! does not match, or a shared form the chip cannot hold — naming the projection, the
//! limit and the value.

use amine_compiler::{compile_str, Compiled, Error};
use std::path::Path;

fn tiny(f: impl Fn(&mut amine_chip::ChipConfig)) -> amine_chip::ChipConfig {
    let mut c = amine_chip::presets::preset("tiny").unwrap();
    f(&mut c);
    c
}

/// An input of `input` (c, h, w) into a population of `out` neurons through `connect`.
fn net(input: (u32, u32, u32), out: u32, connect: &str, weight: &str) -> String {
    format!(
        r#"Program(name: "c", seed: 2,
  populations: [(name: "o", size: {out}, model: Lif(tau_syn: Steps(2), tau_mem: Steps(4), threshold: 50))],
  inputs: [(name: "i", size: {}, source: Bernoulli(p: 0.2))],
  projections: [(name: Some("k"), from: "i", to: "o", connect: {connect}, weight: {weight})])"#,
        input.0 * input.1 * input.2
    )
}

fn compile(text: &str, chip: &amine_chip::ChipConfig) -> Result<Compiled, Error> {
    compile_str(text, "c.ron", Path::new("."), chip)
}

fn shared(out: &Compiled) -> bool {
    out.image
        .cores
        .iter()
        .any(|c| c.population.as_ref().is_some_and(|p| !p.axons.is_empty()))
}

#[test]
fn shared_where_the_chip_can_expanded_where_it_cannot() {
    let text = net(
        (2, 6, 6),
        3 * 16,
        "Conv(input: (2, 6, 6), channels: 3, kernel: (3, 3))",
        "Some(Const(2.0))",
    );
    let a = compile(&text, &tiny(|_| {})).unwrap();
    assert!(shared(&a));
    let b = compile(&text, &tiny(|c| c.core.population = None)).unwrap();
    assert!(!shared(&b));
    // 3 × 16 outputs × 2 × 9 taps, minus none (no padding): both forms hold them all.
    assert_eq!(a.report.synapses, 3 * 16 * 18);
    assert_eq!(b.report.synapses, a.report.synapses);
    // A plane of 100 neurons cannot share one 64-compartment core: expanded instead.
    let big = net(
        (1, 12, 12),
        100,
        "Conv(input: (1, 12, 12), channels: 1, kernel: (3, 3))",
        "Some(Const(2.0))",
    );
    assert!(!shared(&compile(&big, &tiny(|_| {})).unwrap()));
}

#[test]
fn pooling_sums_each_window_of_its_own_channel() {
    let text = net(
        (2, 4, 4),
        2 * 4,
        "Pool(input: (2, 4, 4), kernel: (2, 2))",
        "Some(Const(1.0))",
    );
    let out = compile(&text, &tiny(|_| {})).unwrap();
    assert!(shared(&out));
    let syn = amine_compiler::audit::image_synapses(&out.image).unwrap();
    // Each input reaches exactly one output: its own channel's window.
    assert_eq!(syn.len(), 32);
    for (_, pre, _, post, w, _) in syn {
        let (c, y, x) = (pre / 16, (pre / 4) % 4, pre % 4);
        assert_eq!(post, c * 4 + (y / 2) * 2 + x / 2);
        assert_eq!(w, 64);
    }
}

fn refused(text: &str, chip: &amine_chip::ChipConfig) -> String {
    match compile(text, chip) {
        Ok(c) => panic!("compiled onto {} cores", c.report.cores_used),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shapes_that_do_not_match_are_located() {
    let e = refused(
        &net(
            (2, 6, 6),
            50,
            "Conv(input: (2, 6, 6), channels: 3, kernel: (3, 3))",
            "Some(Const(2.0))",
        ),
        &tiny(|_| {}),
    );
    assert!(
        e.contains("projections[0].connect.channels: the convolution computes 3 × 4 × 4 = 48 outputs, but `o` has 50 neurons"),
        "{e}"
    );
    let e = refused(
        &net(
            (2, 6, 6),
            48,
            "Conv(input: (3, 6, 6), channels: 3, kernel: (3, 3))",
            "Some(Const(2.0))",
        ),
        &tiny(|_| {}),
    );
    assert!(
        e.contains("connect.input: 3 × 6 × 6 = 108 neurons, but `i` has 72"),
        "{e}"
    );
    let e = refused(
        &net(
            (2, 6, 6),
            48,
            "Conv(input: (2, 6, 6), channels: 3, kernel: (3, 3), weights: Some([1.0, 2.0]))",
            "None",
        ),
        &tiny(|_| {}),
    );
    assert!(
        e.contains("connect.weights: 2 values; a 3 × 2 × 3 × 3 kernel needs 54"),
        "{e}"
    );
    let e = refused(
        &net(
            (2, 6, 6),
            48,
            "Pool(input: (2, 6, 6), kernel: (9, 9))",
            "Some(Const(1.0))",
        ),
        &tiny(|_| {}),
    );
    assert!(e.contains("does not fit the padded 6×6 input"), "{e}");
}

#[test]
fn a_shared_form_the_chip_cannot_hold_names_projection_limit_and_value() {
    let forced = |input: (u32, u32, u32), out: u32, channels: u32| {
        net(
            input,
            out,
            &format!(
                "Conv(input: ({}, {}, {}), channels: {channels}, kernel: (3, 3), shared: Some(true))",
                input.0, input.1, input.2
            ),
            "Some(Const(2.0))",
        )
    };
    // No population axons on the chip.
    let e = refused(
        &forced((1, 6, 6), 16, 1),
        &tiny(|c| c.core.population = None),
    );
    assert!(
        e.contains("projection `k` in shared form (the chip has no population axons)")
            && e.contains("(core.population)"),
        "{e}"
    );
    // A 10 × 10 output plane on a 64-compartment core.
    let e = refused(&forced((1, 12, 12), 100, 1), &tiny(|_| {}));
    assert!(
        e.contains("projection `k` in shared form (one output channel plane) needs 100 compartments on one core (core.compartments); tiny allows 64"),
        "{e}"
    );
    // 70 input channels on a 64-atom population axon.
    let e = refused(&forced((70, 3, 3), 1, 1), &tiny(|_| {}));
    assert!(
        e.contains("(70 input channels) needs 70 atoms on one population axon (core.population.max_atoms); tiny allows 64"),
        "{e}"
    );
}
