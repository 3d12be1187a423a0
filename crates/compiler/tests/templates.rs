//! The Error Diffusion template: the shipped program is its output, it compiles onto the
//! Loihi preset, and every class's units read their own region of the modulator grid.

use amine_chip::image::Sign;
use amine_compiler::program::Program;
use amine_compiler::templates::{error_diffusion, Credit, EdNetwork};
use std::path::Path;

#[test]
fn the_shipped_program_is_the_templates_default() {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../programs/ed_digits.ron"),
    )
    .unwrap();
    let generated = error_diffusion(&EdNetwork::default()).to_ron();
    assert!(
        shipped == generated,
        "programs/ed_digits.ron is stale: regenerate it with `amine template ed -o programs/ed_digits.ron`"
    );
    assert_eq!(
        Program::from_ron(&shipped, "ed_digits.ron").unwrap().name,
        "ed_digits"
    );
}

#[test]
fn regions_are_disjoint_and_inside_the_grid() {
    for classes in [1, 2, 3, 10, 16, 26] {
        let net = EdNetwork {
            classes,
            ..EdNetwork::default()
        };
        let rects: Vec<_> = (0..classes).map(|c| net.region(c)).collect();
        for (i, &(x, y, w, h)) in rects.iter().enumerate() {
            assert!(
                w > 0 && h > 0 && x + w <= 32 && y + h <= 32,
                "{classes}: {:?}",
                rects[i]
            );
            for &(x2, y2, w2, h2) in &rects[i + 1..] {
                let apart = x + w <= x2 || x2 + w2 <= x || y + h <= y2 || y2 + h2 <= y;
                assert!(apart, "{classes} classes: regions overlap");
            }
        }
    }
}

#[test]
fn compiles_with_sign_fixed_learning_rows_and_bound_cells() {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    for credit in [
        Credit::Broadcast,
        Credit::Diffusion {
            edge: 0.1,
            corner: 0.05,
            decay: 0.1,
            steps: 3,
        },
    ] {
        let net = EdNetwork {
            hidden_per_class: 8,
            credit,
            ..EdNetwork::default()
        };
        let program = error_diffusion(&net);
        // Dale: every projection out of a Mixed source carries its own sign.
        for p in &program.projections {
            if p.learning.is_some() {
                assert!(matches!(p.sign, Some(Sign::Excitatory | Sign::Inhibitory)));
            }
        }
        let text = program.to_ron();
        let out = amine_compiler::compile_str(&text, "ed.ron", Path::new("."), &chip).unwrap();
        let image = &out.image;
        assert_eq!(image.learning.len(), 60);
        assert!(image
            .learning
            .iter()
            .all(|s| s.epoch == net.steps_per_sample() && s.renormalise));
        assert_eq!(image.modulator.sources.len(), 20);
        // Every hidden unit of class c reads a cell inside class c's region.
        for c in 0..10 {
            let (x, y, w, h) = net.region(c);
            for name in [format!("h{c}e"), format!("h{c}i"), format!("out{c}")] {
                let pop = image.population(&name).unwrap();
                for b in &pop.blocks {
                    for k in 0..b.count {
                        let cell = image
                            .modulator
                            .cells
                            .iter()
                            .find(|cc| {
                                cc.core == b.core && cc.compartment == b.first_compartment + k
                            })
                            .map(|cc| cc.cell)
                            .unwrap();
                        assert!(
                            (x..x + w).contains(&cell.0) && (y..y + h).contains(&cell.1),
                            "{name}: {cell:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_shared_hidden_layer_serves_every_output_and_hears_the_mean_error() {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let net = EdNetwork {
        hidden_per_class: 4,
        shared_hidden: true,
        credit: Credit::diffusion(), // ignored: a shared layer hears broadcast credit
        ..EdNetwork::default()
    };
    assert_eq!(net.steps_per_sample(), 4);
    let program = error_diffusion(&net);
    let h0e = program
        .populations
        .iter()
        .find(|p| p.name == "h0e")
        .unwrap();
    assert_eq!(h0e.size, 20);
    assert!(!program.populations.iter().any(|p| p.name == "h1e"));
    // Each error unit injects twice: gain 1 at its output's cell, 1/C over the layer.
    assert_eq!(program.modulators.len(), 40);
    let gains: Vec<f64> = program.modulators.iter().map(|m| m.gain).collect();
    assert_eq!(gains.iter().filter(|&&g| g == 1.0).count(), 20);
    assert_eq!(
        gains.iter().filter(|&&g| (g - 0.1).abs() < 1e-12).count(),
        20
    );
    let image = amine_compiler::compile_str(&program.to_ron(), "s.ron", Path::new("."), &chip)
        .unwrap()
        .image
        .into_image();
    assert_eq!(image.learning.len(), 4 + 2 * 10);
}
