//! The DFA template: the shipped program is its output, it compiles onto the Loihi
//! preset, and every hidden unit hears the output errors through its own cell.

use amine_compiler::program::Program;
use amine_compiler::templates::{dfa, DfaNetwork};
use std::path::Path;

#[test]
fn the_shipped_program_is_the_templates_default() {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../programs/dfa_digits.ron"),
    )
    .unwrap();
    let body = shipped
        .lines()
        .skip_while(|l| l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let generated = dfa(&DfaNetwork::default()).to_ron();
    assert!(
        body.trim_end() == generated.trim_end(),
        "programs/dfa_digits.ron is stale: regenerate it with `amine template dfa -o programs/dfa_digits.ron`"
    );
    assert_eq!(
        Program::from_ron(&shipped, "dfa_digits.ron").unwrap().name,
        "dfa_digits"
    );
}

#[test]
fn every_hidden_unit_gets_every_classs_error_at_its_own_cell() {
    let net = DfaNetwork {
        hidden: 7,
        classes: 3,
        ..DfaNetwork::default()
    };
    let p = dfa(&net);
    let b = net.feedback();
    // per class: dp and dm, each at its output's cell and at every hidden cell
    assert_eq!(p.modulators.len(), 3 * 2 * (7 + 1));
    for (c, bc) in b.iter().enumerate() {
        let dp: Vec<_> = p
            .modulators
            .iter()
            .filter(|m| m.population == format!("dp{c}"))
            .collect();
        let dm: Vec<_> = p
            .modulators
            .iter()
            .filter(|m| m.population == format!("dm{c}"))
            .collect();
        assert_eq!((dp[0].gain, dp[0].cell), (1.0, Some((7 + c as u32, 0))));
        assert_eq!(dm[0].gain, -1.0);
        assert_eq!(bc.len(), 7);
        for (j, &g) in bc.iter().enumerate() {
            assert_eq!(dp[1 + j].cell, Some((j as u32, 0)));
            assert_eq!(dp[1 + j].gain, g);
            assert_eq!(dm[1 + j].gain, -g);
        }
    }
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let out = amine_compiler::compile_str(&p.to_ron(), "dfa.ron", Path::new("."), &chip);
    assert!(out.is_ok(), "{:?}", out.err());
}

#[test]
fn a_network_larger_than_the_grid_is_named() {
    let net = DfaNetwork {
        hidden: 1020,
        ..DfaNetwork::default()
    };
    let e = net.check().unwrap_err();
    assert!(e.contains("1030") && e.contains("1024"), "{e}");
    assert!(DfaNetwork::default().check().is_ok());
}

/// The compiler refuses a complement port of even width and a rate decay outside
/// (0, 1], naming the field.
#[test]
fn sigprop_complement_and_rate_decay_are_checked() {
    use amine_compiler::templates::{sigprop, SigpropNetwork};
    let with = amine_chip::presets::preset("loihi-sigprop").unwrap();
    let mut p = sigprop(&SigpropNetwork::default());
    p.inputs[0].size = 128;
    for row in p.sigprop.as_mut().unwrap().contexts.iter_mut() {
        row.pop();
    }
    p.sigprop.as_mut().unwrap().rate_decay = 1.5;
    let e = amine_compiler::compile_str(&p.to_ron(), "s.ron", Path::new("."), &with)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sigprop.complement") && e.contains("(odd)"),
        "{e}"
    );
    assert!(e.contains("sigprop.rate_decay") && e.contains("1.5"), "{e}");
}

/// A sigprop network compiles onto `loihi-sigprop`; on `loihi`, which has no sigprop
/// unit, the compiler names the chip and the missing field. The template refuses, per
/// option, what the unit cannot hold.
#[test]
fn sigprop_needs_the_sigprop_unit_and_fits_its_limits() {
    use amine_compiler::templates::{sigprop, SigpropNetwork};
    let p = sigprop(&SigpropNetwork::default()).to_ron();
    let with = amine_chip::presets::preset("loihi-sigprop").unwrap();
    let img = amine_compiler::compile_str(&p, "s.ron", Path::new("."), &with)
        .unwrap()
        .image
        .into_image();
    let s = img.sigprop.unwrap();
    assert_eq!(
        (s.classes(), s.layers.len(), s.beta, s.batch),
        (10, 2, 8, 16)
    );
    // The sample, its complements, the bias.
    assert_eq!(s.contexts[0].len(), 129);
    assert!(s.complement);
    assert_eq!(s.readout, amine_chip::image::sigprop::SigpropReadout::Sum);
    let without = amine_chip::presets::preset("loihi").unwrap();
    let e = amine_compiler::compile_str(&p, "s.ron", Path::new("."), &without)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("chip `loihi`") && e.contains("learning.sigprop"),
        "{e}"
    );
    for (net, option, field) in [
        (
            SigpropNetwork {
                classes: 65,
                ..SigpropNetwork::default()
            },
            "--classes",
            "context.classes",
        ),
        (
            SigpropNetwork {
                contexts_per_class: 7,
                ..SigpropNetwork::default()
            },
            "--contexts-per-class",
            "context.classes",
        ),
        (
            SigpropNetwork {
                hidden: vec![128, 1025],
                ..SigpropNetwork::default()
            },
            "--hidden",
            "distance.max_units",
        ),
        (
            SigpropNetwork {
                beta: 256,
                ..SigpropNetwork::default()
            },
            "--beta",
            "distance.beta_bits",
        ),
    ] {
        let (o, m) = net.check(&with).unwrap_err();
        assert_eq!(o, option);
        assert!(m.contains(field), "{m}");
    }
    assert!(SigpropNetwork::default().check(&with).is_ok());
}

/// A rate whose scale is not the engine's `m·2^k` (`0.35/16 · 1024 = 22.4`, `0.35 ·
/// 1024 = 358.4`) is rounded to the nearest one it holds, so the program compiles.
#[test]
fn any_rate_gives_a_rule_the_engine_holds() {
    let sp = amine_compiler::templates::SigpropNetwork {
        rate: 0.35,
        ..Default::default()
    };
    let dfa = DfaNetwork {
        rate: 0.35,
        ..DfaNetwork::default()
    };
    let programs = [
        (
            amine_compiler::templates::sigprop(&sp),
            "loihi-sigprop",
            "dw = 22.375*pre*deriv*m0",
        ),
        (
            amine_compiler::templates::dfa(&dfa),
            "loihi",
            "dw = 358*pre*deriv*m0",
        ),
    ];
    for (p, chip, rule) in programs {
        let learning = p.projections.iter().filter_map(|q| q.learning.as_ref());
        assert!(learning.clone().count() > 0);
        assert!(
            learning.clone().all(|l| l.rule == rule),
            "{:?}",
            learning.map(|l| &l.rule).collect::<Vec<_>>()
        );
        let chip = amine_chip::presets::preset(chip).unwrap();
        let out = amine_compiler::compile_str(&p.to_ron(), "t.ron", Path::new("."), &chip);
        assert!(out.is_ok(), "{:?}", out.err());
    }
}
