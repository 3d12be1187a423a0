//! Training-level tests of the ED reference: Dale's principle over whole runs,
//! determinism, and configuration errors. (The digits accuracy floor is in
//! `tests/ed_digits.rs`; the update formula and overflow policies are in `net`.)

use super::*;
use crate::datasets::digits;
use crate::error::ErrorKind;

/// The digits split cut to `n` training examples, for fast runs.
fn small(n: usize) -> Split {
    let mut s = digits();
    s.train.inputs.truncate(n);
    s.train.labels.truncate(n);
    s
}

fn cfg(topology: Topology, quantization: Option<Quantization>) -> EdConfig {
    EdConfig {
        hidden_per_class: 8,
        epochs: 2,
        topology,
        quantization,
        ..EdConfig::default()
    }
}

/// Every weight of `w` has the sign its types fix (or is zero).
fn assert_dale(w: &EdWeights) {
    for layer in w.hidden.iter().chain(&w.output) {
        for k in 0..layer.rows {
            for m in 0..layer.cols {
                let v = layer.weights[k * layer.cols + m];
                assert!(v * layer.sign(k, m) >= 0.0, "w[{k}][{m}] = {v}");
            }
        }
    }
}

#[test]
fn no_weight_ever_changes_sign() {
    let split = small(300);
    let mut runs = vec![
        cfg(Topology::PerClass, None),
        cfg(Topology::SharedHidden, None),
    ];
    for o in [
        Overflow::Saturate,
        Overflow::HalveLayer,
        Overflow::CancelOverlap,
    ] {
        // 3-bit weights overflow within the first epoch, exercising every policy.
        let q = Quantization {
            weight_bits: Some(3),
            ..Quantization::eight_bit(o)
        };
        runs.push(cfg(Topology::PerClass, Some(q)));
    }
    for c in runs {
        let r = train(&c, &split, &mut |_| {}).unwrap();
        assert_dale(&r.weights);
        if c.quantization.is_some() {
            assert!(r.epochs.iter().map(|e| e.overflow_events).sum::<u64>() > 0);
        }
        if c.topology == Topology::SharedHidden {
            // One block: 8 × 10 hidden units, one output row per class.
            assert_eq!(r.weights.hidden.len(), 1);
            assert_eq!(r.weights.hidden[0].rows, 80);
            assert_eq!(
                (r.weights.output[0].rows, r.weights.output[0].cols),
                (10, 82)
            );
            assert_eq!(r.weights.output_classes[0], (0..10).collect::<Vec<_>>());
        }
    }
}

#[test]
fn magnitudes_only_grow() {
    let split = small(100);
    let c = EdConfig {
        epochs: 0,
        ..cfg(Topology::PerClass, None)
    };
    let w0 = train(&c, &split, &mut |_| {}).unwrap().weights;
    let c = EdConfig { epochs: 1, ..c };
    let w1 = train(&c, &split, &mut |_| {}).unwrap().weights;
    for (a, b) in w0
        .hidden
        .iter()
        .chain(&w0.output)
        .zip(w1.hidden.iter().chain(&w1.output))
    {
        for (x, y) in a.weights.iter().zip(&b.weights) {
            assert!(y.abs() >= x.abs());
        }
    }
}

#[test]
fn same_seed_same_bits_other_seed_other_bits() {
    let split = small(150);
    let q = Some(Quantization::eight_bit(Overflow::HalveLayer));
    let c = cfg(Topology::PerClass, q);
    let a = train(&c, &split, &mut |_| {}).unwrap();
    let b = train(&c, &split, &mut |_| {}).unwrap();
    assert_eq!(a, b);
    let d = train(&EdConfig { seed: 2, ..c }, &split, &mut |_| {}).unwrap();
    assert_ne!(a.weights, d.weights);
}

#[test]
fn callback_sees_every_epoch_and_confusion_adds_up() {
    let split = small(200);
    let mut seen = Vec::new();
    let r = train(&cfg(Topology::PerClass, None), &split, &mut |e| {
        seen.push(e.epoch)
    })
    .unwrap();
    assert_eq!(seen, vec![1, 2]);
    let total: u32 = r.confusion.iter().flatten().sum();
    assert_eq!(total as usize, split.test.len());
    let diag: u32 = (0..10).map(|c| r.confusion[c][c]).sum();
    assert_eq!(f64::from(diag) / 360.0, r.test_accuracy());
    assert_eq!(r.weights.hidden.len(), 10);
    assert_eq!(r.weights.hidden[0].cols, 2 + 2 * 64);
    assert_eq!(r.weights.output[0].cols, 2 + 8);
}

#[test]
fn bad_configs_are_typed_errors() {
    let split = small(10);
    let bad = [
        EdConfig {
            hidden_per_class: 0,
            ..EdConfig::default()
        },
        EdConfig {
            hidden_per_class: 3,
            ..EdConfig::default()
        },
        EdConfig {
            alpha: f64::NAN,
            ..EdConfig::default()
        },
        EdConfig {
            u0: 0.0,
            ..EdConfig::default()
        },
        EdConfig {
            quantization: Some(Quantization {
                table_span: -1.0,
                ..Quantization::eight_bit(Overflow::Saturate)
            }),
            ..EdConfig::default()
        },
        EdConfig {
            quantization: Some(Quantization {
                weight_bits: Some(0),
                ..Quantization::eight_bit(Overflow::Saturate)
            }),
            ..EdConfig::default()
        },
    ];
    for c in bad {
        let e = train(&c, &split, &mut |_| {}).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Config { .. }), "{e}");
    }
    let mut ragged = small(10);
    ragged.train.inputs[3].pop();
    assert!(train(&EdConfig::default(), &ragged, &mut |_| {}).is_err());
}

#[test]
fn config_round_trips_through_serde() {
    let c = EdConfig {
        quantization: Some(Quantization::eight_bit(Overflow::CancelOverlap)),
        ..EdConfig::default()
    };
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<EdConfig>(&json).unwrap(), c);
}
