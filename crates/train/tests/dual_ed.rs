//! The shared dual-stream network with modulo routing on the chip, end to end: compile
//! the template, train on a slice of the digits, and check what must hold — signs that
//! never change while magnitudes move both ways, learning through two hidden layers,
//! the centring register's cost, and clear errors for what the chip cannot hold.

use amine_chip::image::ChipImage;
use amine_chip::synapse::SignMode;
use amine_chip::ChipConfig;
use amine_compiler::templates::{dual_stream_error_diffusion, DualEdNetwork};
use amine_sim::{SimOptions, Simulator};
use amine_train::ed::{EdLayout, EdRunner};
use amine_train::{train_ed, TrainOptions};
use std::path::Path;

mod common;
use common::{chip, digits, weights};

fn compile_on(net: &DualEdNetwork, chip: &ChipConfig) -> Result<ChipImage, String> {
    let text = dual_stream_error_diffusion(net).unwrap().to_ron();
    amine_compiler::compile_str(&text, "dual.ron", Path::new("."), chip)
        .map(|c| c.image)
        .map_err(|e| e.to_string())
}

fn small(hidden: &[u32]) -> DualEdNetwork {
    DualEdNetwork {
        hidden: hidden.to_vec(),
        widths: vec![6.0; hidden.len() + 1],
        eta: 100.0,
        ..DualEdNetwork::default()
    }
}

#[test]
fn no_weight_changes_sign_and_magnitudes_move_both_ways() {
    let config = chip();
    let image = compile_on(&small(&[20]), &config).unwrap();
    let split = digits(300, 0);
    let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
    let layout = EdLayout::of(&sim, &image).unwrap();
    assert_eq!((layout.depth, layout.steps), (1, 4));
    let mut runner = EdRunner::new(&mut sim, layout);
    let before = weights(runner.sim, &runner.state);
    for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
        runner.train_sample(x, l as usize).unwrap();
    }
    let after = weights(runner.sim, &runner.state);
    assert_eq!(before.len(), after.len());
    let (mut grew, mut shrank, mut zero) = (0, 0, 0);
    for (&(sign, w0), &(_, w1)) in before.iter().zip(&after) {
        match sign {
            SignMode::Excitatory => assert!(w1 >= 0, "excitatory weight became {w1}"),
            SignMode::Inhibitory => assert!(w1 <= 0, "inhibitory weight became {w1}"),
            SignMode::Signed => panic!("a dual-stream row must be sign-fixed"),
        }
        grew += usize::from(w1.abs() > w0.abs());
        shrank += usize::from(w1.abs() < w0.abs());
        zero += usize::from(w1 == 0 && w0 != 0);
    }
    // The signed delta rule moves magnitudes both ways (unlike Kaneko's rule), and
    // some reach the clamp at zero without crossing it.
    assert!(grew > before.len() / 20, "{grew} of {} grew", before.len());
    assert!(
        shrank > before.len() / 20,
        "{shrank} of {} shrank",
        before.len()
    );
    assert!(zero > 0, "no magnitude reached zero");
}

#[test]
fn two_hidden_layers_learn_the_digits_and_the_audit_is_clean() {
    let config = chip();
    let image = compile_on(&small(&[40, 20]), &config).unwrap();
    let split = digits(600, 200);
    let opts = TrainOptions {
        epochs: 2,
        ..TrainOptions::default()
    };
    let r = train_ed(&config, &image, &split, &opts, &mut |_| {}).unwrap();
    // Input, two hidden layers, output, error.
    assert_eq!(r.steps_per_sample, 5);
    assert_eq!(r.dale_violations, 0);
    // Chance is 10 %; measured 75.5 % (the first 200 test digits).
    assert!(r.test_accuracy > 0.5, "test accuracy {}", r.test_accuracy);
    assert!(r.per_training_sample.energy.learning > 0.0);
}

#[test]
fn centring_registers_move_only_while_learning() {
    let config = chip();
    let image = compile_on(&small(&[20]), &config).unwrap();
    let split = digits(50, 50);
    let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
    let layout = EdLayout::of(&sim, &image).unwrap();
    let mut runner = EdRunner::new(&mut sim, layout);
    for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
        runner.train_sample(x, l as usize).unwrap();
    }
    let trained = runner.state.total_counts().centring_update;
    // 50 samples, 20 error units, each updated in its sample's error step.
    assert_eq!(trained, 50 * 20);
    // Each move is priced: 1 pJ on loihi ([A], chip-configs/loihi.ron), in `learning`.
    let moves = amine_sim::Counts {
        centring_update: trained,
        ..Default::default()
    };
    assert_eq!(moves.energy(&config.costs).learning, 1000.0);
    let means: Vec<i32> = runner
        .state
        .cores
        .iter()
        .flat_map(|c| c.a.clone())
        .collect();
    assert!(means.iter().any(|&m| m != 0), "no centring register moved");
    for x in &split.test.inputs {
        runner.infer(x).unwrap();
    }
    assert_eq!(runner.state.total_counts().centring_update, trained);
    let after: Vec<i32> = runner
        .state
        .cores
        .iter()
        .flat_map(|c| c.a.clone())
        .collect();
    assert_eq!(means, after, "inference moved a centring register");
}

#[test]
fn what_the_chip_or_the_rule_cannot_hold_is_named() {
    // A chip without the centring register.
    let mut bare = chip();
    bare.learning.centring = None;
    let e = compile_on(&small(&[20]), &bare).unwrap_err();
    assert!(e.contains("learning.centring"), "{e}");
    // A rate the register cannot hold.
    let mut slow = chip();
    slow.learning.centring.as_mut().unwrap().max_rate_shift = 4;
    let e = compile_on(&small(&[20]), &slow).unwrap_err();
    assert!(e.contains("learning.centring") && e.contains("2^-4"), "{e}");
    // Options the modulo rule cannot serve.
    let problems = |net: DualEdNetwork| dual_stream_error_diffusion(&net).unwrap_err().join("; ");
    let e = problems(small(&[8]));
    assert!(e.contains("--hidden") && e.contains("8 units"), "{e}");
    let e = problems(DualEdNetwork {
        classes: 2000,
        hidden: vec![2000],
        widths: vec![6.0, 6.0],
        ..DualEdNetwork::default()
    });
    assert!(
        e.contains("2000 classes") && e.contains("1024 cells"),
        "{e}"
    );
    let e = problems(DualEdNetwork {
        widths: vec![6.0],
        ..DualEdNetwork::default()
    });
    assert!(e.contains("--widths"), "{e}");
    let e = problems(DualEdNetwork {
        centring: Some(0.01),
        ..DualEdNetwork::default()
    });
    assert!(e.contains("--centring 0.01"), "{e}");
}
