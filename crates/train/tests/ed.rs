//! Error Diffusion on the chip, end to end: compile the template, train on a slice of
//! the digits, and check what must hold — Dale's principle, growing magnitudes,
//! learning, determinism, and clear errors for images and tasks that do not fit.

use amine_chip::image::ChipImage;
use amine_chip::synapse::SignMode;
use amine_compiler::templates::{error_diffusion, Credit, EdNetwork};
use amine_sim::{SimOptions, Simulator};
use amine_train::ed::{EdLayout, EdRunner};
use amine_train::{train_ed, ErrorKind, TrainOptions};
use std::path::Path;

mod common;
use common::{chip, digits, weights};

fn compile(net: &EdNetwork) -> ChipImage {
    let text = error_diffusion(net).to_ron();
    amine_compiler::compile_str(&text, "ed.ron", Path::new("."), &chip())
        .unwrap()
        .image
        .into_image()
}

fn small(hidden: u32) -> EdNetwork {
    EdNetwork {
        hidden_per_class: hidden,
        ..EdNetwork::default()
    }
}

#[test]
fn no_weight_changes_sign_and_magnitudes_only_grow() {
    let config = chip();
    let image = compile(&small(8));
    let split = digits(300, 0);
    let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
    let layout = EdLayout::of(&sim, &image).unwrap();
    let mut runner = EdRunner::new(&mut sim, layout);
    let before = weights(runner.sim, &runner.state);
    assert!(before.iter().any(|&(s, _)| s == SignMode::Excitatory));
    assert!(before.iter().any(|&(s, _)| s == SignMode::Inhibitory));
    for _ in 0..2 {
        for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
            runner.train_sample(x, l as usize).unwrap();
        }
    }
    let after = weights(runner.sim, &runner.state);
    assert_eq!(before.len(), after.len());
    let mut grew = 0;
    for (&(sign, w0), &(_, w1)) in before.iter().zip(&after) {
        match sign {
            SignMode::Excitatory => assert!(w1 >= 0, "excitatory weight became {w1}"),
            SignMode::Inhibitory => assert!(w1 <= 0, "inhibitory weight became {w1}"),
            SignMode::Signed => panic!("an Error Diffusion row must be sign-fixed"),
        }
        // Error Diffusion only grows magnitudes; halving a row rounds away from zero.
        assert!(w1.abs() >= w0.abs(), "magnitude fell from {w0} to {w1}");
        grew += usize::from(w1.abs() > w0.abs());
    }
    assert!(
        grew > after.len() / 4,
        "only {grew} of {} weights learned",
        after.len()
    );
}

#[test]
fn the_chip_learns_the_digits() {
    let config = chip();
    let image = compile(&small(16));
    let split = digits(600, 200);
    let opts = TrainOptions {
        epochs: 2,
        ..TrainOptions::default()
    };
    let r = train_ed(&config, &image, &split, &opts, &mut |_| {}).unwrap();
    // Chance is 10 %; a working rule is far above it after two short epochs.
    assert!(r.test_accuracy > 0.7, "test accuracy {}", r.test_accuracy);
    assert!(r.curve[1].online_train_accuracy > r.curve[0].online_train_accuracy);
    assert_eq!(r.dale_violations, 0);
    assert_eq!(r.confusion.iter().flatten().sum::<u32>(), 200);
    let c = &r.per_training_sample;
    assert!(c.energy.learning > 0.0 && c.energy.modulator > 0.0 && c.latency_s > 0.0);
    assert_eq!(
        r.per_inference.energy.learning, 0.0,
        "inference must not learn"
    );
    assert!(r.per_inference.energy_pj < c.energy_pj);
}

#[test]
fn results_do_not_depend_on_threads() {
    let config = chip();
    let image = compile(&small(4));
    let split = digits(80, 30);
    let run = |threads| {
        let opts = TrainOptions {
            epochs: 1,
            threads,
            ..TrainOptions::default()
        };
        train_ed(&config, &image, &split, &opts, &mut |_| {})
            .unwrap()
            .to_json()
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn diffusion_credit_trains_too() {
    let config = chip();
    let net = EdNetwork {
        hidden_per_class: 8,
        credit: Credit::diffusion(),
        ..EdNetwork::default()
    };
    let image = compile(&net);
    let split = digits(400, 100);
    let opts = TrainOptions {
        epochs: 1,
        ..TrainOptions::default()
    };
    let r = train_ed(&config, &image, &split, &opts, &mut |_| {}).unwrap();
    assert_eq!(r.steps_per_sample, 10);
    assert!(r.test_accuracy > 0.3, "test accuracy {}", r.test_accuracy);
}

#[test]
fn images_and_tasks_that_do_not_fit_are_named() {
    let config = chip();
    let image = compile(&small(4));
    // A task with 784 inputs on a 64-input image.
    let mut split = digits(10, 10);
    for x in split.train.inputs.iter_mut() {
        x.resize(784, 0.0);
    }
    split.train.shape = [28, 28];
    let e = train_ed(
        &config,
        &image,
        &split,
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Task { .. }), "{e}");
    assert!(e.to_string().contains("784"), "{e}");
    // An image without the target port.
    let mut program = error_diffusion(&small(4));
    program.inputs.retain(|p| p.name != "target");
    program.projections.retain(|p| p.from != "target");
    let text = program.to_ron();
    let image = amine_compiler::compile_str(&text, "t.ron", Path::new("."), &config)
        .unwrap()
        .image
        .into_image();
    let e = train_ed(
        &config,
        &image,
        &digits(5, 5),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("`target`"), "{e}");
}

#[test]
fn error_units_put_the_rectified_error_into_the_class_region() {
    let config = chip();
    let net = small(4);
    let image = compile(&net);
    let split = digits(12, 0);
    let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
    let layout = EdLayout::of(&sim, &image).unwrap();
    let pop = |sim: &Simulator, name: &str| sim.population_index(name).unwrap();
    let (pops_out, pops_dp, pops_dm): (Vec<_>, Vec<_>, Vec<_>) = (
        (0..10).map(|c| pop(&sim, &format!("out{c}"))).collect(),
        (0..10).map(|c| pop(&sim, &format!("dp{c}"))).collect(),
        (0..10).map(|c| pop(&sim, &format!("dm{c}"))).collect(),
    );
    let mut runner = EdRunner::new(&mut sim, layout);
    let mut checked = 0;
    for (x, &label) in split.train.inputs.iter().zip(&split.train.labels) {
        runner.train_sample(x, label as usize).unwrap();
        let grid = runner.state.grid.as_ref().expect("the grid runs");
        for c in 0..10usize {
            let value = |p: usize| runner.sim.graded_values(&runner.state, p)[0].1 as i32;
            let o = value(pops_out[c]);
            let t = if c == label as usize { 255 } else { 0 };
            // An error unit nobody sent to (o = t = 0) idles and injects nothing.
            let (x0, y0, w, h) = net.region(c as u32);
            let (dp, dm) = if o == 0 && t == 0 {
                (0, 0)
            } else {
                assert_eq!(value(pops_dp[c]), (t - o).max(0), "d+ of class {c}");
                assert_eq!(value(pops_dm[c]), (o - t).max(0), "d− of class {c}");
                checked += 1;
                ((t - o).max(0), (o - t).max(0))
            };
            // Broadcast: every cell of the region holds d/255, and nothing else.
            for (ch, d) in [(0, dp), (1, dm)] {
                for (cx, cy) in [(x0, y0), (x0 + w - 1, y0 + h - 1)] {
                    let m = grid.sample(ch, cx, cy).unwrap();
                    assert!(
                        (m - f64::from(d) / 255.0).abs() < 1e-4,
                        "class {c} channel {ch}: {m}"
                    );
                }
            }
        }
    }
    assert!(checked > 20);
}

mod resume {
    use super::*;
    use amine_train::{train_ed_with, Checkpointing};
    use proptest::prelude::*;
    use std::cell::Cell;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]

        /// Stopped after any sample of a 2-epoch run (with the per-epoch checkpoints
        /// on), written to a checkpoint and resumed: the report equals the
        /// uninterrupted run's, bit for bit (accuracies, curve, confusion, energy,
        /// latency, Dale counts).
        #[test]
        fn a_resumed_run_reports_what_an_uninterrupted_one_does(stop in 1usize..80) {
            let config = chip();
            let image = compile(&small(3));
            let split = digits(40, 12);
            let opts = TrainOptions { epochs: 2, ..TrainOptions::default() };
            let whole = train_ed(&config, &image, &split, &opts, &mut |_| {}).unwrap().to_json();
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ed.ckpt");
            let seen = Cell::new(0usize);
            let halt = || {
                seen.set(seen.get() + 1);
                seen.get() == stop
            };
            let first = Checkpointing { path: Some(&path), every: 1, resume: None, stop: &halt };
            let e = train_ed_with(&config, &image, &split, &opts, &first, &mut |_| {}).unwrap_err();
            prop_assert!(matches!(e.kind, ErrorKind::Interrupted { .. }), "{e}");
            let again = Checkpointing { path: Some(&path), every: 1, resume: Some(&path), stop: &|| false };
            let resumed = train_ed_with(&config, &image, &split, &opts, &again, &mut |_| {}).unwrap();
            prop_assert_eq!(resumed.to_json(), whole);
            // Another seed is another run: its checkpoint does not fit.
            let other = TrainOptions { seed: 2, ..opts.clone() };
            let e = train_ed_with(&config, &image, &split, &other, &again, &mut |_| {}).unwrap_err();
            prop_assert!(e.to_string().contains("does not fit"), "{e}");
        }
    }
}
