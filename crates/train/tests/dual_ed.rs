//! The shared dual-stream network with modulo routing on the chip, end to end: compile
//! the template, train on a slice of the digits, and check what must hold — signs that
//! never change while magnitudes move both ways, learning through two hidden layers,
//! the centring register's cost, and clear errors for what the chip cannot hold.

use amine_chip::image::ChipImage;
use amine_chip::synapse::SignMode;
use amine_chip::ChipConfig;
use amine_compiler::templates::{
    dual_stream_error_diffusion, error_diffusion, DualEdNetwork, EdNetwork,
};
use amine_sim::{SimOptions, Simulator};
use amine_train::ed::{EdLayout, EdRunner};
use amine_train::{train_ed, TrainOptions};
use std::path::Path;

mod common;
use common::{digits, weights};

/// `loihi-ed`: `loihi` with the error units' centring register.
fn chip_ed() -> ChipConfig {
    amine_chip::presets::preset("loihi-ed").unwrap()
}

fn compile_on(net: &DualEdNetwork, chip: &ChipConfig) -> Result<ChipImage, String> {
    let text = dual_stream_error_diffusion(net).unwrap().to_ron();
    amine_compiler::compile_str(&text, "dual.ron", Path::new("."), chip)
        .map(|c| c.image.into_image())
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
    let config = chip_ed();
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
    let config = chip_ed();
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
    // The CPU/GPU estimate prices this network: 65 → 40 → 20 per stream, four
    // projections a layer, each output reading both streams of the last layer.
    let weights = 4 * 65 * 40 + 4 * 40 * 20 + 2 * 20 * 10;
    let units = 2 * (40 + 20) + 10;
    assert_eq!(
        r.conventional.unwrap().work,
        amine_tasks::conventional::Work::dual_error_diffusion(weights, units, 10)
    );
}

#[test]
fn centring_registers_move_only_while_learning() {
    let config = chip_ed();
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
    // A chip without the centring register: `loihi`, the published chip.
    let bare = common::chip();
    let e = compile_on(&small(&[20]), &bare).unwrap_err();
    assert!(
        e.contains("learning.centring") && e.contains("loihi-ed"),
        "{e}"
    );
    // A rate the register cannot hold.
    let mut slow = chip_ed();
    slow.learning.centring.as_mut().unwrap().max_rate_shift = 4;
    let e = compile_on(&small(&[20]), &slow).unwrap_err();
    assert!(e.contains("learning.centring") && e.contains("2^-4"), "{e}");
    // A hidden layer too wide for an output unit to read both its streams: 2 × 2,049
    // axons on one core, where loihi-ed has 4,096 (docs/dual-stream-ed.md, the MNIST
    // patch network `1440p5s2` is 2 × 1,440); 2 × 2,048 fits.
    let e = compile_on(&small(&[2049]), &chip_ed()).unwrap_err();
    assert!(
        e.contains("out0") && e.contains("4,098 input axons") && e.contains("4,096"),
        "{e}"
    );
    assert!(compile_on(&small(&[2048]), &chip_ed()).is_ok());
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

/// After an evaluation the runner steps to the next sample boundary before training
/// again; those steps must not learn (they would apply a spurious update built from
/// the evaluation's activity and the last error left in the grid, once per epoch).
#[test]
fn aligning_after_an_evaluation_learns_nothing() {
    let config = chip_ed();
    for image in [compile_on(&small(&[20]), &config).unwrap(), {
        let text = error_diffusion(&EdNetwork {
            hidden_per_class: 8,
            ..EdNetwork::default()
        })
        .to_ron();
        amine_compiler::compile_str(&text, "ed.ron", Path::new("."), &config)
            .unwrap()
            .image
            .into_image()
    }] {
        let split = digits(40, 3);
        let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
        let layout = EdLayout::of(&sim, &image).unwrap();
        let mut runner = EdRunner::new(&mut sim, layout);
        for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
            runner.train_sample(x, l as usize).unwrap();
        }
        for x in &split.test.inputs {
            runner.infer(x).unwrap();
        }
        let before = weights(runner.sim, &runner.state);
        let counts = runner.state.total_counts();
        runner.begin_training();
        let after = runner.state.total_counts();
        // No learning work: no weight update, trace update or centring-register move.
        assert_eq!(
            (
                after.synaptic_update,
                after.trace_update,
                after.centring_update
            ),
            (
                counts.synaptic_update,
                counts.trace_update,
                counts.centring_update
            )
        );
        assert_eq!(weights(runner.sim, &runner.state), before);
    }
}

/// The host's learning-rate write: priced once per register and change, halving the
/// rate makes the weights move less, and a state that already holds the rate
/// (a resumed checkpoint) loads it without paying again.
#[test]
fn the_host_rewrites_the_rate_and_pays_for_it() {
    let config = chip_ed();
    let image = compile_on(&small(&[20]), &config).unwrap();
    let split = digits(30, 0);
    let moved = |factor: Option<f64>, preset_state: bool| {
        let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
        let layout = EdLayout::of(&sim, &image).unwrap();
        let mut runner = EdRunner::new(&mut sim, layout);
        if preset_state {
            runner.state.host.rate_scale = factor;
        }
        let before = weights(runner.sim, &runner.state);
        let (writes, cycles) = (
            runner.state.total_counts().rule_write,
            runner.state.chip.cycles,
        );
        if let Some(f) = factor {
            runner.sim.set_learning_rate(&mut runner.state, f).unwrap();
        }
        let paid = runner.state.total_counts().rule_write - writes;
        assert_eq!(
            runner.state.chip.cycles - cycles,
            paid * config.costs.rule_write.cycles
        );
        for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
            runner.train_sample(x, l as usize).unwrap();
        }
        let after = weights(runner.sim, &runner.state);
        let moved: i64 = before
            .iter()
            .zip(&after)
            .map(|(a, b)| (a.1 - b.1).abs())
            .sum();
        (moved, paid, after)
    };
    let (full, paid_full, _) = moved(None, false);
    let (half, paid, w_half) = moved(Some(0.5), false);
    let (_, paid_again, w_resumed) = moved(Some(0.5), true);
    assert_eq!(paid_full, 0);
    // 4 rules × 2 terms each (m0, m1) on every core: some writes, each priced.
    assert!(paid > 0 && paid % 2 == 0, "{paid}");
    assert!(config.costs.rule_write.energy_pj > 0.0);
    // Less movement, though not half over 30 samples: errors shrink more slowly at
    // the smaller rate (measured: 0.75).
    let ratio = half as f64 / full as f64;
    assert!((0.3..0.9).contains(&ratio), "{half} / {full}");
    assert_eq!(paid_again, 0);
    assert_eq!(w_resumed, w_half);
    // Nonsense is refused.
    let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
    let mut state = sim.initial_state();
    assert!(sim.set_learning_rate(&mut state, 0.0).is_err());
    assert!(sim.set_learning_rate(&mut state, f64::NAN).is_err());
}

/// Patch wiring (`--hidden 360p3`): the first layer's synapses are exactly each unit's
/// patch and the bias, the chip trains them without a sign change, and the f64
/// reference reads the same wiring, fan-in and rate back from the program.
#[test]
fn patch_wired_first_layer_compiles_trains_and_reads_back() {
    use amine_tasks::dual_ed::{patch, Hidden};
    let fields: Vec<Vec<u32>> = (0..30)
        .map(|j| {
            let s = patch::sources(65, 3, 1, j, 10);
            s.into_iter().map(|i| i as u32).collect()
        })
        .collect();
    let net = DualEdNetwork {
        receptive_fields: Some(fields.clone()),
        widths: vec![3.0, 6.0],
        ..small(&[30])
    };
    let program = dual_stream_error_diffusion(&net).unwrap();
    for p in program
        .projections
        .iter()
        .filter(|p| p.to == "l1e" || p.to == "l1i")
    {
        let amine_compiler::program::Connect::Sparse(list) = &p.connect else {
            panic!("{} → {} is not the patch list", p.from, p.to);
        };
        assert_eq!(list.len(), 30 * 10);
        assert!(list
            .iter()
            .all(|&(i, j, _)| fields[j as usize].contains(&i)));
    }
    let cfg = amine_train::dual_ed::float_config(&program, 2, 1).unwrap();
    assert_eq!(
        cfg.hidden,
        vec![Hidden::Patch {
            units: 30,
            size: 3,
            stride: 1
        }]
    );
    // η read back through the patch fan-in (10), not the port's 65 values.
    assert!(
        (cfg.learning_rate - 100.0).abs() < 1.0,
        "{}",
        cfg.learning_rate
    );
    assert!(
        (cfg.asymmetry.same - 1.5).abs() < 0.05,
        "{:?}",
        cfg.asymmetry
    );
    // The same patches at stride 2 read back as stride 2.
    let strided = DualEdNetwork {
        receptive_fields: Some(
            (0..30)
                .map(|j| {
                    let s = patch::sources(65, 3, 2, j, 10);
                    s.into_iter().map(|i| i as u32).collect()
                })
                .collect(),
        ),
        ..net.clone()
    };
    let program = dual_stream_error_diffusion(&strided).unwrap();
    let cfg = amine_train::dual_ed::float_config(&program, 2, 1).unwrap();
    assert_eq!(cfg.hidden[0].to_string(), "30p3s2");
    // Any other explicit wiring is not read as a patch layer.
    let mut shuffled = fields;
    shuffled.swap(0, 10);
    let other = DualEdNetwork {
        receptive_fields: Some(shuffled),
        ..net.clone()
    };
    let program = dual_stream_error_diffusion(&other).unwrap();
    assert!(amine_train::dual_ed::float_config(&program, 2, 1).is_none());

    let config = chip_ed();
    let image = compile_on(&net, &config).unwrap();
    let split = digits(300, 100);
    let opts = TrainOptions {
        epochs: 3,
        ..TrainOptions::default()
    };
    let report = train_ed(&config, &image, &split, &opts, &mut |_| {}).unwrap();
    assert_eq!(report.dale_violations, 0);
    // Chance is 0.1.
    assert!(report.test_accuracy > 0.3, "{}", report.test_accuracy);
}

#[test]
fn the_error_units_centre_as_the_float_reference_does() {
    // Each error unit subtracts the running mean of `o − t` held before the sample, then
    // moves it by 2^-7 towards `o − t` (`Centring::Running` of the f64 reference, in
    // payload steps): replay that by hand from the outputs the chip sent.
    let config = chip_ed();
    let net = small(&[20]);
    let image = compile_on(&net, &config).unwrap();
    let split = digits(200, 0);
    let mut sim = Simulator::new(&config, &image, SimOptions::default()).unwrap();
    let layout = EdLayout::of(&sim, &image).unwrap();
    let pop = |s: &Simulator, name: String| s.population_index(&name).unwrap();
    let units: Vec<[usize; 3]> = (0..10)
        .map(|c| [format!("out{c}"), format!("dp{c}"), format!("dm{c}")].map(|n| pop(&sim, n)))
        .collect();
    let mut runner = EdRunner::new(&mut sim, layout);
    let rate = net.centring.unwrap();
    let mut mean = [0.0f64; 10];
    let mut worst = 0.0f64;
    for (x, &l) in split.train.inputs.iter().zip(&split.train.labels) {
        runner.train_sample(x, l as usize).unwrap();
        for (c, &[o, dp, dm]) in units.iter().enumerate() {
            let read = |p| f64::from(runner.sim.graded_value(&runner.state, p, 0).unwrap().1);
            let t = if c == l as usize { 255.0 } else { 0.0 };
            let e = read(o) - t;
            let centred = e - mean[c];
            mean[c] += rate * (e - mean[c]);
            // The chip's error, `m0 − m1 = dp − dm`, is the centred `t − o`.
            let got = read(dp) - read(dm);
            worst = worst.max((got + centred).abs());
        }
    }
    // Half a payload step for the ramps' rounding to the nearest step (both ramps
    // increasing), a little for the register's fixed point. A mirrored ramp for `dp`
    // rounds `t − o + m` up: a whole step off (the sixth round's fix).
    assert!(
        worst <= 0.6,
        "the chip's centred error is {worst} payload steps off"
    );
}
