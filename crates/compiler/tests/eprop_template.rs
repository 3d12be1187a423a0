//! The e-prop template: it compiles onto the Loihi preset, its connectivity has the
//! reference's density, every neuron has its own grid cell, it is a function of its seed,
//! and the diffusion condition's grid registers spread a point by `k/9` to 9 cells.

use amine_chip::config::GridFormat;
use amine_chip::modgrid::ModGrid;
use amine_compiler::program::{Connect, Positions, Program};
use amine_compiler::templates::{eprop, EpropNetwork, Feedback};
use std::collections::BTreeSet;
use std::path::Path;

fn sparse_len(program: &Program, from: &str, to: &str) -> usize {
    program
        .projections
        .iter()
        .filter(|p| p.from == from && p.to == to)
        .map(|p| match &p.connect {
            Connect::Sparse(list) => list.len(),
            other => panic!("{from}->{to}: {other:?}"),
        })
        .sum()
}

#[test]
fn compiles_for_loihi_with_an_eprop_slot_per_plastic_projection() {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    for condition in [
        Feedback::Diffusion { k: 0.75 },
        Feedback::Sparse,
        Feedback::Full,
    ] {
        let net = EpropNetwork {
            condition,
            ..EpropNetwork::default()
        };
        let program = eprop(&net);
        let plastic = program
            .projections
            .iter()
            .filter(|p| p.learning.as_ref().is_some_and(|l| l.rule == "eprop"))
            .count();
        assert_eq!(plastic, 6, "x, lif, alif onto lif and alif");
        let out = amine_compiler::compile_str(&program.to_ron(), "e.ron", Path::new("."), &chip)
            .unwrap_or_else(|e| panic!("{condition:?}: {e}"));
        let image = &out.image;
        assert!(!image.learning.is_empty());
        assert!(image
            .learning
            .iter()
            .all(|s| s.eprop.is_some() && s.epoch == net.epoch));
        assert_eq!(image.modulator.registers, Some(condition.registers()));
    }
}

#[test]
fn recurrent_and_input_densities_match_the_reference() {
    for seed in 1..=5 {
        let net = EpropNetwork {
            seed,
            ..EpropNetwork::default()
        };
        let program = eprop(&net);
        let rec: usize = ["lif", "alif"]
            .iter()
            .flat_map(|a| ["lif", "alif"].map(|b| sparse_len(&program, a, b)))
            .sum();
        let n = net.neurons() as f64;
        let density = rec as f64 / (n * (n - 1.0));
        assert!((0.08..=0.12).contains(&density), "seed {seed}: {density}");
        let inputs = sparse_len(&program, "x", "lif") + sparse_len(&program, "x", "alif");
        assert_eq!(inputs, 400);
        let readout = sparse_len(&program, "lif", "y") + sparse_len(&program, "alif", "y");
        assert_eq!(readout, 20);
        // No self-connections.
        for pop in ["lif", "alif"] {
            let p = program
                .projections
                .iter()
                .find(|p| p.from == pop && p.to == pop)
                .unwrap();
            let Connect::Sparse(list) = &p.connect else {
                unreachable!()
            };
            assert!(list.iter().all(|&(i, j, _)| i != j));
        }
    }
}

#[test]
fn every_neuron_sits_at_its_own_cell() {
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let net = EpropNetwork::default();
    let program = eprop(&net);
    let mut cells = BTreeSet::new();
    for pop in program.populations.iter().filter(|p| p.name != "y") {
        let Some(Positions::List(list)) = &pop.positions else {
            panic!("{}: no list", pop.name)
        };
        for &(x, y) in list {
            // Inside the 10 × 10 lattice laid on the chip grid's corner.
            let (cx, cy) = ((x * 32.0) as u32, (y * 32.0) as u32);
            assert!(cx < 10 && cy < 10, "{x}, {y}");
            assert!(cells.insert((cx, cy)), "cell ({cx}, {cy}) twice");
        }
    }
    assert_eq!(cells.len(), 100);
    // The compiler binds them to those cells.
    let image = amine_compiler::compile_str(&program.to_ron(), "e.ron", Path::new("."), &chip)
        .unwrap()
        .image;
    let bound: BTreeSet<(u32, u32)> = image.modulator.cells.iter().map(|c| c.cell).collect();
    assert_eq!(bound, cells);
    assert_eq!(image.modulator.cells.len(), 100);
}

#[test]
fn the_program_is_a_function_of_its_seed() {
    let net = EpropNetwork::default();
    assert_eq!(eprop(&net).to_ron(), eprop(&net).to_ron());
    let other = EpropNetwork {
        seed: 2,
        ..EpropNetwork::default()
    };
    assert_ne!(eprop(&net).projections, eprop(&other).projections);
}

#[test]
fn the_diffusion_registers_spread_a_point_by_k_over_9_to_nine_cells() {
    for k in [0.0, 0.25, 0.75, 1.0] {
        let r = Feedback::Diffusion { k }.registers();
        let mut grid =
            ModGrid::with(10, 10, 1, r.kernel, r.decay, r.boundary, GridFormat::Q16_16).unwrap();
        // At a corner, so the torus wraps it.
        grid.inject(0, 0, 0, 1.0).unwrap();
        grid.step();
        for y in 0..10u32 {
            for x in 0..10u32 {
                let near = |a: u32| a == 0 || a == 1 || a == 9;
                let want = if near(x) && near(y) { k / 9.0 } else { 0.0 };
                let got = grid.sample(0, x, y).unwrap();
                assert!(
                    (got - want).abs() < 4.0 / 65536.0,
                    "k {k}, cell ({x}, {y}): {got} vs {want}"
                );
            }
        }
    }
    // Sparse and full: what is injected stays in its cell for the step it is read in
    // (decay 1 empties the grid at the next step).
    let r = Feedback::Sparse.registers();
    let mut grid =
        ModGrid::with(10, 10, 1, r.kernel, r.decay, r.boundary, GridFormat::Q16_16).unwrap();
    grid.inject(0, 3, 4, 1.0).unwrap();
    assert_eq!(grid.sample(0, 3, 4).unwrap(), 1.0);
    grid.step();
    assert_eq!(grid.total_bits(0).unwrap(), 0);
}
