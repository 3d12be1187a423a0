//! Sigprop on the chip: a short end-to-end run with exact figures, and one learning
//! step checked against the f64 formula of the layer loss.

use amine_chip::image::sigprop::SigpropReadout;
use amine_compiler::templates::{sigprop, SigpropNetwork, WEIGHT_SCALE};
use amine_train::sigprop::{train_sigprop, train_sigprop_augmented, SigpropRunner};
use amine_train::TrainOptions;
use std::path::Path;

fn chip() -> amine_chip::ChipConfig {
    amine_chip::presets::preset("loihi-sigprop").unwrap()
}

fn image(net: &SigpropNetwork) -> amine_chip::image::ChipImage {
    let text = sigprop(net).to_ron();
    amine_compiler::compile_str(&text, "sigprop.ron", Path::new("."), &chip())
        .unwrap()
        .image
        .into_image()
}

/// Two small hidden layers without complement inputs.
fn small_net() -> SigpropNetwork {
    SigpropNetwork {
        hidden: vec![16, 8],
        complement: false,
        ..SigpropNetwork::default()
    }
}

fn small_digits() -> amine_tasks::Split {
    let mut split = amine_tasks::parse_task("digits").unwrap().load().unwrap();
    split.train.inputs.truncate(96);
    split.train.labels.truncate(96);
    split.test.inputs.truncate(40);
    split.test.labels.truncate(40);
    split
}

#[test]
fn a_short_run_gives_exact_figures_for_any_thread_count() {
    let net = SigpropNetwork {
        hidden: vec![16, 8],
        beta: 16,
        rate: 0.5,
        complement: false,
        readout: SigpropReadout::Last,
        ..SigpropNetwork::default()
    };
    let img = image(&net);
    let split = small_digits();
    let run = |threads| {
        let opts = TrainOptions {
            epochs: 2,
            threads,
            ..TrainOptions::default()
        };
        train_sigprop(&chip(), &img, &split, &opts, &mut |_| {}).unwrap()
    };
    let r = run(1);
    println!(
        "test {} train {} updates {} energy {} cycles {}",
        r.test_accuracy,
        r.train_accuracy,
        r.synaptic_updates,
        r.per_training_sample.energy_pj,
        r.per_training_sample.cycles
    );
    // Measured once; any change to the protocol, the unit or the engine moves them.
    assert_eq!(r.test_accuracy, 0.225);
    assert_eq!(r.synaptic_updates, 266_048);
    assert_eq!(r.steps_per_sample, 4);
    assert_eq!(r.curve.len(), 2);
    assert!(r.per_training_sample.energy.learning > 0.0);
    let again = run(2);
    assert_eq!(r.test_accuracy, again.test_accuracy);
    assert_eq!(r.synaptic_updates, again.synaptic_updates);
    assert_eq!(
        r.per_training_sample.energy_pj,
        again.per_training_sample.energy_pj
    );
}

/// One sample's update of a one-layer network equals `α·pre·σ'·pull` with the pull
/// computed in f64 from the chip's own 8-bit responses, within one weight LSB (the
/// engine rounds stochastically) plus the pull's and the derivative's rounding.
#[test]
fn one_update_matches_the_float_layer_loss() {
    let net = SigpropNetwork {
        inputs: 4,
        classes: 3,
        hidden: vec![3],
        batch: 1,
        rate: 0.25,
        complement: false,
        ..SigpropNetwork::default()
    };
    let img = image(&net);
    let cfg = chip();
    let mut sim = amine_sim::Simulator::new(&cfg, &img, Default::default()).unwrap();
    let h = sim.population_index("h1").unwrap();
    let mut r = SigpropRunner::new(&mut sim, &img).unwrap();
    r.latch_round(false).unwrap();
    let x = [0.9f32, 0.1, 0.6, 0.3];
    let label = 2;
    let rows = |r: &SigpropRunner| -> Vec<(Vec<i32>, i8)> {
        r.sim
            .plastic_rows(&r.state)
            .map(|(_, m, e)| (m.to_vec(), e))
            .collect()
    };
    let before = rows(&r);
    // The sample's forward pass, as `train_sample` runs it, and its responses.
    r.train_sample(&x, label).unwrap();
    let after = rows(&r);
    let out: Vec<f64> = (0..3)
        .map(|j| f64::from(r.sim.graded_value(&r.state, h, j).unwrap().1))
        .collect();
    let ctx = &r.state.sigprop.as_ref().unwrap().contexts[0];
    let beta = f64::from(net.beta);
    let real = |v: f64| v / 256.0;
    let d: Vec<f64> = (0..3)
        .map(|k| {
            (0..3)
                .map(|j| (real(out[j]) - real(f64::from(ctx[k * 3 + j]))).powi(2))
                .sum()
        })
        .collect();
    let m = d.iter().cloned().fold(f64::MAX, f64::min);
    let e: Vec<f64> = d.iter().map(|v| (-beta / 2.0 * (v - m)).exp()).collect();
    let z: f64 = e.iter().sum();
    let p: Vec<f64> = e.iter().map(|v| v / z).collect();
    let pull: Vec<f64> = (0..3)
        .map(|j| {
            let t = |k: usize| real(f64::from(ctx[k * 3 + j]));
            beta * (t(label) - (0..3).map(|k| p[k] * t(k)).sum::<f64>())
        })
        .collect();
    let alpha = net.rate / f64::from(net.batch) * WEIGHT_SCALE;
    let mut pre: Vec<f64> = x.iter().map(|&v| (f64::from(v) * 255.0).round()).collect();
    pre.push((0.8f64 * 255.0).round());
    assert_eq!(before.len(), 5, "one row per input and the bias");
    let mut moved = 0;
    for (i, ((m0, e0), (m1, e1))) in before.iter().zip(&after).enumerate() {
        for j in 0..3 {
            let w0 = f64::from(m0[j]) * 2f64.powi(i32::from(*e0));
            let w1 = f64::from(m1[j]) * 2f64.powi(i32::from(*e1));
            let deriv = (out[j] * (255.0 - out[j]) / 256.0).floor() / 256.0;
            let want = alpha * real(pre[i]) * deriv * pull[j];
            let lsb = 2f64.powi(i32::from(*e1));
            let tol = lsb + 0.02 * want.abs();
            assert!(
                (w1 - w0 - want).abs() <= tol,
                "row {i} unit {j}: moved {} want {want} (lsb {lsb})",
                w1 - w0
            );
            moved += usize::from(w1 != w0);
        }
    }
    assert!(moved > 0, "nothing learned");
}

/// With complement inputs the host sends each sample, then `255 − payload` of each
/// value, then the bias; the image's rate decay scales every rule's rate by
/// `rate_decay^epoch` when an epoch starts.
#[test]
fn complement_inputs_and_rate_decay_reach_the_chip() {
    let net = SigpropNetwork {
        inputs: 4,
        classes: 3,
        hidden: vec![3],
        complement: true,
        rate_decay: 0.5,
        ..SigpropNetwork::default()
    };
    assert_eq!(net.port_size(), 9);
    let contexts = net.contexts();
    for row in &contexts {
        for i in 0..4 {
            assert!((row[i] + row[4 + i] - 1.0).abs() < 1e-12, "{row:?}");
        }
    }
    let img = image(&net);
    assert!(img.sigprop.as_ref().unwrap().complement);
    let cfg = chip();
    let mut sim = amine_sim::Simulator::new(&cfg, &img, Default::default()).unwrap();
    let mut r = SigpropRunner::new(&mut sim, &img).unwrap();
    assert_eq!(r.inputs(), 4);
    r.latch_round(false).unwrap();
    r.set_epoch(2).unwrap();
    assert_eq!(r.state.host.rate_scale, Some(0.25));
    // The sample's payloads as the port receives them (before the pass's first step).
    r.infer(&[0.0, 1.0, 0.2, 0.6]).unwrap();
    let sent = r.last_payloads();
    assert_eq!(sent, [0, 255, 51, 153, 255, 0, 204, 102, 204]);
}

/// With two contexts per class the unit holds classes · 2 contexts; the host pulls a
/// training sample toward the nearest context of its own class and reports the class
/// (not the context) of a prediction.
#[test]
fn sub_class_contexts_map_samples_to_their_nearest_own_context() {
    // Class c's contexts: all inputs at a low and at a high level (and the bias).
    let row = |v: f64| vec![v, v, v, v, 0.8];
    let levels = [[0.0, 0.3], [0.5, 0.6], [0.8, 1.0]];
    let net = SigpropNetwork {
        inputs: 4,
        classes: 3,
        hidden: vec![3],
        complement: false,
        contexts_per_class: 2,
        contexts: Some(levels.iter().flatten().map(|&v| row(v)).collect()),
        ..SigpropNetwork::default()
    };
    let img = image(&net);
    let s = img.sigprop.as_ref().unwrap();
    assert_eq!((s.classes(), s.task_classes(), s.per_class()), (6, 3, 2));
    // The binary encoding is positional: every field survives, one context a class too.
    for im in [&img, &image(&SigpropNetwork::default())] {
        let back = amine_chip::image::ChipImage::from_bytes(&im.to_bytes(), "s.img").unwrap();
        assert_eq!(back.sigprop, im.sigprop);
    }
    let cfg = chip();
    let mut sim = amine_sim::Simulator::new(&cfg, &img, Default::default()).unwrap();
    let mut r = SigpropRunner::new(&mut sim, &img).unwrap();
    assert_eq!(r.classes(), 3);
    // 0.95 is nearer class 0's and class 2's high contexts; 0.1 nearer the low ones.
    assert_eq!(r.target(&[0.95; 4], 0), 1);
    assert_eq!(r.target(&[0.1; 4], 0), 0);
    assert_eq!(r.target(&[0.95; 4], 2), 5);
    assert_eq!(r.target(&[0.1; 4], 1), 2);
    r.latch_round(false).unwrap();
    for x in [[0.0; 4], [0.55; 4], [1.0; 4]] {
        assert!(r.infer(&x).unwrap() < 3);
    }
    // A program whose contexts are not whole classes is refused, naming the field.
    let mut p = sigprop(&net);
    p.sigprop.as_mut().unwrap().contexts_per_class = 4;
    let e = amine_compiler::compile_str(&p.to_ron(), "s.ron", Path::new("."), &cfg)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sigprop.contexts") && e.contains("contexts_per_class = 4"),
        "{e}"
    );
}

/// `--augment shift-random:1`: one epoch of the augmented run is one epoch on that
/// epoch's moved set (same updates, same test figures; only the training accuracy is
/// measured on the unmoved set), the same for any thread count, and unlike the
/// unaugmented run.
#[test]
fn a_per_epoch_augmentation_trains_on_the_moved_set() {
    use amine_tasks::datasets::augment::{random_shifts, Augment};
    let img = image(&small_net());
    let split = small_digits();
    let aug = Some(Augment::RandomShift(1));
    let run = |a, s: &amine_tasks::Split, threads| {
        let opts = TrainOptions {
            epochs: 1,
            threads,
            ..TrainOptions::default()
        };
        let r =
            train_sigprop_augmented(&chip(), &img, s, &opts, a, &mut |_| {}, &|| false).unwrap();
        (
            r.synaptic_updates,
            r.confusion,
            r.per_training_sample.energy_pj,
        )
    };
    let augmented = run(aug, &split, 1);
    let moved = amine_tasks::Split {
        train: random_shifts(&split.train, 1, 1, 0).unwrap(),
        test: split.test.clone(),
    };
    assert_eq!(augmented, run(None, &moved, 1));
    assert_eq!(augmented, run(aug, &split, 2));
    assert_ne!(augmented, run(None, &split, 1));
}

/// A patch-wired first layer: the program wires each unit to its own sources only
/// (hand table: a 3×3 image and the bias, 2×2 patches at stride 1, four positions, one
/// unit at each), with seeded weights inside `±init_scale/√fan_in`; the compiled chip
/// holds exactly those synapses; training it is deterministic for any thread count;
/// and fields that do not fit the layer are refused, naming `--hidden`.
#[test]
fn a_patch_wired_first_layer_keeps_its_mask_on_the_chip() {
    // Port values 0..9 are the 3×3 image row-major, 9 is the bias.
    let fields: Vec<Vec<u32>> = vec![
        vec![0, 1, 3, 4, 9],
        vec![1, 2, 4, 5, 9],
        vec![3, 4, 6, 7, 9],
        vec![4, 5, 7, 8, 9],
    ];
    let net = SigpropNetwork {
        inputs: 9,
        classes: 2,
        hidden: vec![4, 3],
        complement: false,
        receptive_fields: Some(fields.clone()),
        ..SigpropNetwork::default()
    };
    assert!(net.check(&chip()).is_ok());
    let program = sigprop(&net);
    let first = program.projections.iter().find(|p| p.from == "x").unwrap();
    let amine_compiler::program::Connect::Sparse(list) = &first.connect else {
        panic!("x → h1 is not an explicit list: {:?}", first.connect);
    };
    let mut wired: Vec<Vec<u32>> = vec![Vec::new(); 4];
    let bound = net.init_scale / 5f64.sqrt() * WEIGHT_SCALE;
    for &(i, j, w) in list {
        wired[j as usize].push(i);
        assert!(w.abs() <= bound, "weight {w} beyond ±{bound}");
    }
    wired.iter_mut().for_each(|f| f.sort_unstable());
    assert_eq!(wired, fields);
    let compiled =
        amine_compiler::compile_str(&program.to_ron(), "p.ron", Path::new("."), &chip()).unwrap();
    assert_eq!(compiled.report.quantization.projections[0].synapses, 20);
    let img = compiled.image.into_image();
    // Digits cut to the 3×3 top-left corner, two classes.
    let mut split = small_digits();
    for set in [&mut split.train, &mut split.test] {
        set.inputs
            .iter_mut()
            .for_each(|x| *x = (0..9).map(|k| x[(k / 3) * 8 + k % 3]).collect());
        set.labels.iter_mut().for_each(|l| *l %= 2);
        set.classes = 2;
        set.shape = [3, 3];
    }
    let run = |threads| {
        let opts = TrainOptions {
            epochs: 1,
            threads,
            ..TrainOptions::default()
        };
        train_sigprop(&chip(), &img, &split, &opts, &mut |_| {}).unwrap()
    };
    let (a, b) = (run(1), run(2));
    assert!(a.synaptic_updates > 0);
    assert_eq!(a.synaptic_updates, b.synaptic_updates);
    assert_eq!(a.test_accuracy, b.test_accuracy);
    // The CPU/GPU estimate prices the wired weights: 4 units × 5 port values, then the
    // dense 4 × 3, not 10 × 4 for the first layer.
    let sp = img.sigprop.as_ref().unwrap();
    let wired = amine_tasks::conventional::Work::sigprop_wired(
        &[10, 4, 3],
        &[20, 12],
        sp.classes(),
        sp.batch as usize,
        true,
    );
    let work = a.conventional.as_ref().unwrap().work;
    assert_eq!(work, wired);
    assert!(
        work.flops
            < amine_tasks::conventional::Work::sigprop(
                &[10, 4, 3],
                sp.classes(),
                sp.batch as usize,
                true
            )
            .flops
    );
    let bad = SigpropNetwork {
        receptive_fields: Some(fields[..3].to_vec()),
        ..net.clone()
    };
    assert_eq!(bad.check(&chip()).unwrap_err().0, "--hidden");
    let beyond = SigpropNetwork {
        receptive_fields: Some(vec![vec![0, 10]; 4]),
        ..net
    };
    assert_eq!(beyond.check(&chip()).unwrap_err().0, "--hidden");
}

/// A stop request (SIGINT or SIGTERM in the CLI) ends a sigprop run at the next
/// mini-batch with `Interrupted`, in training and in testing alike.
#[test]
fn a_stop_request_ends_a_sigprop_run() {
    use std::cell::Cell;
    let img = image(&small_net());
    let split = small_digits();
    let opts = TrainOptions {
        epochs: 2,
        ..TrainOptions::default()
    };
    for (after, during) in [(1, "after sample"), (0, "while testing")] {
        // Stopped at the second ask (after the first mini-batch), or at the first ask
        // once testing has begun.
        let asked = Cell::new(0usize);
        let testing = Cell::new(false);
        let stop = || {
            asked.set(asked.get() + 1);
            if during == "while testing" {
                testing.get()
            } else {
                asked.get() > after
            }
        };
        let mut progress = |p| {
            if let amine_train::Progress::Testing { .. } = p {
                testing.set(true);
            }
        };
        let e = train_sigprop_augmented(&chip(), &img, &split, &opts, None, &mut progress, &stop)
            .unwrap_err();
        assert!(
            matches!(&e.kind, amine_train::ErrorKind::Interrupted { message } if message.contains(during)),
            "{e}"
        );
    }
}

/// `own_class` goes from the program through the compiler into the image (and its
/// positional binary encoding) to the unit: one training sample moves the weights
/// differently when the sample's class mates are pooled than when they are negatives,
/// and alike when there is nothing to pool (one context a class).
#[test]
fn the_own_class_treatment_reaches_the_unit() {
    use amine_chip::image::sigprop::SigpropOwnClass;
    let row = |v: f64| vec![v, v, v, v, 0.8];
    let levels = [[0.0, 0.3], [0.5, 0.6], [0.8, 1.0]];
    let with = |treat: SigpropOwnClass, per_class: u32| {
        let contexts: Vec<Vec<f64>> = levels
            .iter()
            .flat_map(|l| l[..per_class as usize].to_vec())
            .map(row)
            .collect();
        let net = SigpropNetwork {
            inputs: 4,
            classes: 3,
            hidden: vec![3],
            batch: 1,
            complement: false,
            contexts_per_class: per_class,
            contexts: Some(contexts),
            own_class: treat,
            ..SigpropNetwork::default()
        };
        let img = image(&net);
        let back = amine_chip::image::ChipImage::from_bytes(&img.to_bytes(), "s.img").unwrap();
        assert_eq!(back.sigprop.as_ref().unwrap().own_class, treat);
        let cfg = chip();
        let mut sim = amine_sim::Simulator::new(&cfg, &img, Default::default()).unwrap();
        let mut r = SigpropRunner::new(&mut sim, &img).unwrap();
        r.latch_round(false).unwrap();
        r.train_sample(&[0.9, 0.7, 0.8, 1.0], 2).unwrap();
        r.sim
            .plastic_rows(&r.state)
            .map(|(_, m, e)| (m.to_vec(), e))
            .collect::<Vec<_>>()
    };
    let negatives = with(SigpropOwnClass::Negatives, 2);
    assert_ne!(negatives, with(SigpropOwnClass::Pooled, 2));
    assert_ne!(negatives, with(SigpropOwnClass::Excluded, 2));
    assert_eq!(
        with(SigpropOwnClass::Negatives, 1),
        with(SigpropOwnClass::Pooled, 1)
    );
}
