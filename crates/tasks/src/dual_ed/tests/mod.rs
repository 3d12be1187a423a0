//! Tests of the dual-stream reference: the routing rule, the centring arithmetic and the
//! update against hand-computed values, Dale's principle at every step, thread-count
//! independence, the ingredient switches, configuration errors, and a short learning
//! check on the digits; the layer kinds (convolution, patches, payloads) are in `layers`.

use super::conv::ConvGeometry;
use super::net::{class_error, route, routed_class, sigmoid, sigmoid_derivative, DualLayer};
use super::step::Rule;
use super::*;
use crate::datasets::digits;
use crate::error::ErrorKind;

mod layers;

/// The digits split cut to `n` training examples, for fast runs.
fn small(n: usize) -> Split {
    let mut s = digits();
    s.train.inputs.truncate(n);
    s.train.labels.truncate(n);
    s
}

/// Dense hidden layers of these sizes.
fn dense(units: &[usize]) -> Vec<Hidden> {
    units.iter().map(|&units| Hidden::Dense { units }).collect()
}

fn small_cfg() -> DualEdConfig {
    DualEdConfig {
        hidden: dense(&[20, 12]),
        widths: vec![6.0, 6.0, 6.0],
        learning_rate: 1000.0,
        batch_size: 16,
        epochs: 2,
        ..DualEdConfig::default()
    }
}

#[test]
fn modulo_routing_matches_the_hand_table() {
    // r(i) = i mod C with C = 10 classes, for a layer of 25 units.
    let table = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4,
    ];
    for (unit, &class) in table.iter().enumerate() {
        assert_eq!(routed_class(unit, 10), class, "unit {unit}");
    }
    // Three classes, five units, two examples: R[b, j] = S[b, j mod 3].
    let layer = |outputs, conv| DualLayer {
        outputs,
        conv,
        ..tiny_layer(1.0)
    };
    let s = [0.1, -0.2, 0.3, /* example 1 */ 0.4, 0.5, -0.6];
    let r = route(&s, 3, &layer(5, None));
    assert_eq!(
        r,
        vec![0.1, -0.2, 0.3, 0.1, -0.2, /* example 1 */ 0.4, 0.5, -0.6, 0.4, 0.5]
    );
    // The output layer (as many units as classes) hears each class on its own unit.
    assert_eq!(route(&s, 3, &layer(3, None)), s.to_vec());
    // A convolutional layer of 4 channels of 2×1 maps: channel o hears class o mod 3.
    let g = ConvGeometry {
        in_channels: 1,
        in_height: 2,
        in_width: 1,
        channels: 4,
        kernel: 1,
        stride: 1,
        shared: true,
    };
    let r = route(&s, 3, &layer(8, Some(g)));
    assert_eq!(
        r,
        vec![
            0.1, 0.1, -0.2, -0.2, 0.3, 0.3, 0.1, 0.1, // example 0
            0.4, 0.4, 0.5, 0.5, -0.6, -0.6, 0.4, 0.4, // example 1
        ]
    );
}

#[test]
fn batch_centring_subtracts_each_class_mean_over_the_batch() {
    // Two classes, three examples labelled 0, 1, 1, outputs ŷ below.
    let y_hat = [0.5, 0.25, /* */ 0.75, 0.5, /* */ 0.0, 1.0];
    let labels = [0, 1, 1];
    let mut unused = [9.0, 9.0];
    // E = Y − ŷ.
    let raw = class_error(&y_hat, &labels, 2, Centring::Off, &mut unused);
    assert_eq!(raw, vec![0.5, -0.25, -0.75, 0.5, 0.0, 0.0]);
    // Class means over the batch: (0.5 − 0.75 + 0)/3 = −1/12, (−0.25 + 0.5 + 0)/3 = 1/12.
    let s = class_error(&y_hat, &labels, 2, Centring::Batch, &mut unused);
    let expect = [
        0.5 + 1.0 / 12.0,
        -0.25 - 1.0 / 12.0,
        -0.75 + 1.0 / 12.0,
        0.5 - 1.0 / 12.0,
        1.0 / 12.0,
        -1.0 / 12.0,
    ];
    for (a, b) in s.iter().zip(expect) {
        assert!((a - b).abs() < 1e-15, "{s:?}");
    }
    for c in 0..2 {
        assert!((0..3).map(|b| s[b * 2 + c]).sum::<f64>().abs() < 1e-15);
    }
    assert_eq!(
        unused,
        [9.0, 9.0],
        "only running centring touches the running mean"
    );
    // Running: subtract the mean held so far, then move it by rate·(batch mean − it).
    let mut m = [0.25, 0.0];
    let s = class_error(&y_hat, &labels, 2, Centring::Running { rate: 0.5 }, &mut m);
    assert_eq!(s, vec![0.25, -0.25, -1.0, 0.5, -0.25, 0.0]);
    assert!((m[0] - (0.25 + 0.5 * (-1.0 / 12.0 - 0.25))).abs() < 1e-15);
    assert!((m[1] - 0.5 / 12.0).abs() < 1e-15);
}

/// A one-unit layer over two sources with chosen magnitudes.
fn tiny_layer(alpha: f64) -> DualLayer {
    DualLayer {
        inputs: 2,
        outputs: 1,
        alpha,
        conv: None,
        w_pp: vec![0.5, 0.25],
        w_np: vec![0.125, 0.375],
        w_nn: vec![0.625, 0.0625],
        w_pn: vec![0.25, 0.5],
        b_p: vec![0.1],
        b_n: vec![-0.2],
        moments: None,
        mask: None,
        fields: Default::default(),
        payload_bits: None,
        table: None,
    }
}

#[test]
fn forward_is_the_dual_stream_equation() {
    let l = tiny_layer(3.0);
    let (p_in, n_in) = ([1.0, 0.5, /* */ 0.0, 0.25], [0.5, 1.0, /* */ 0.75, 0.0]);
    let (p, n) = l.forward(&p_in, &n_in, 2, 1);
    // p = φ(p·W_pp − n·W_np + b_p), n = φ(n·W_nn − p·W_pn + b_n), φ(z) = 1/(1+e^(−2z/3)).
    let phi = |z: f64| 1.0 / (1.0 + (-2.0 * z / 3.0).exp());
    let zp0 = 1.0 * 0.5 + 0.5 * 0.25 - (0.5 * 0.125 + 1.0 * 0.375) + 0.1;
    let zn0 = 0.5 * 0.625 + 1.0 * 0.0625 - (1.0 * 0.25 + 0.5 * 0.5) - 0.2;
    let zp1 = 0.25 * 0.25 - 0.75 * 0.125 + 0.1;
    let zn1 = 0.75 * 0.625 - 0.25 * 0.5 - 0.2;
    for (got, z) in p.iter().zip([zp0, zp1]).chain(n.iter().zip([zn0, zn1])) {
        assert!((got - phi(z)).abs() < 1e-15, "{got} vs {}", phi(z));
    }
    assert!((sigmoid_derivative(0.25, 3.0) - 2.0 / 3.0 * 0.25 * 0.75).abs() < 1e-16);
}

#[test]
fn update_is_the_routed_error_times_local_activity() {
    let mut l = tiny_layer(2.0);
    l.w_pn[1] = 0.002; // its update, −0.003125, would take it below zero
    let (p_in, n_in) = ([1.0, 0.5, /* */ 0.0, 0.25], [0.5, 1.0, /* */ 0.75, 0.0]);
    let (p_out, n_out) = ([0.5, 0.75], [0.25, 0.5]);
    let routed = [0.2, -0.4];
    let (rate, floor) = (0.5, 1e-4);
    let before = l.clone();
    l.learn(
        &p_in,
        &n_in,
        &p_out,
        &n_out,
        &routed,
        2,
        Rule::Sgd { rate },
        floor,
        1,
    );
    // U_p = φ'(p)·R, U_n = −φ'(n)·R with φ'(a) = a(1 − a) at α = 2.
    let u_p = [0.25 * 0.2, 0.1875 * -0.4];
    let u_n = [-0.1875 * 0.2, -0.25 * -0.4];
    for i in 0..2 {
        let dot = |x: &[f64; 4], u: [f64; 2]| x[i] * u[0] + x[2 + i] * u[1];
        let expect = [
            before.w_pp[i] + rate * dot(&p_in, u_p),
            before.w_np[i] - rate * dot(&n_in, u_p),
            before.w_nn[i] + rate * dot(&n_in, u_n),
            before.w_pn[i] - rate * dot(&p_in, u_n),
        ];
        let got = [l.w_pp[i], l.w_np[i], l.w_nn[i], l.w_pn[i]];
        for (g, e) in got.iter().zip(expect) {
            assert!(
                (g - e.max(floor)).abs() < 1e-15,
                "source {i}: {got:?} vs {expect:?}"
            );
        }
    }
    assert!((l.b_p[0] - (0.1 + rate * (u_p[0] + u_p[1]))).abs() < 1e-15);
    assert!((l.b_n[0] - (-0.2 + rate * (u_n[0] + u_n[1]))).abs() < 1e-15);
    // The clamp, not the sign: W_pn[1] stops at the floor.
    assert_eq!(l.w_pn[1], floor);
    assert!(l.w_pp[0] > before.w_pp[0]);
    assert_eq!(sigmoid(0.0, 5.0), 0.5);
}

#[test]
fn no_weight_ever_changes_sign() {
    // Large steps drive many magnitudes to the floor: without the clamp they would go
    // negative, i.e. flip the synapse's sign. Dense, convolutional and locally
    // connected layers, plain steps and Adam, all checked after every batch.
    let split = small(200);
    let adam = Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
    };
    let runs = [
        ("12", Optimizer::Sgd, 10_000.0),
        ("c10k3s1,12", Optimizer::Sgd, 10_000.0),
        ("l10k3s2,12", Optimizer::Sgd, 10_000.0),
        ("c10k3s1,12", adam, 0.05),
    ];
    for (hidden, optimizer, learning_rate) in runs {
        let hidden = Hidden::parse_list(hidden).unwrap();
        let widths = vec![4.0; hidden.len() + 1];
        let cfg = DualEdConfig {
            hidden,
            widths,
            optimizer,
            learning_rate,
            ..small_cfg()
        };
        let mut t = Trainer::new(&cfg, &split, 2).unwrap();
        let mut floor_hits = 0;
        for _ in 0..cfg.epochs {
            let order = t.epoch_order(split.train.len());
            for idx in order.chunks(cfg.batch_size) {
                t.step(&split.train, idx, cfg.learning_rate);
                for (l, layer) in t.net.layers.iter().enumerate() {
                    for (name, _, w) in layer.matrices() {
                        if let Some(v) = w.iter().find(|&&v| v < cfg.weight_floor || v.is_nan()) {
                            panic!(
                                "{optimizer:?} layer {l} W_{name}: magnitude {v} below the floor"
                            );
                        }
                        floor_hits += w.iter().filter(|&&v| v == cfg.weight_floor).count();
                    }
                }
            }
        }
        assert!(
            floor_hits > 0,
            "{optimizer:?}: the floor was never reached: the test exercised nothing"
        );
    }
}

#[test]
fn the_rate_falls_linearly_to_its_final_value() {
    let cfg = DualEdConfig {
        learning_rate: 3000.0,
        final_learning_rate: Some(100.0),
        epochs: 30,
        ..DualEdConfig::default()
    };
    assert_eq!(cfg.rate_at(1), 3000.0);
    assert_eq!(cfg.rate_at(30), 100.0);
    assert_eq!(cfg.rate_at(11), 3000.0 - 2900.0 * 10.0 / 29.0);
    let constant = DualEdConfig {
        final_learning_rate: None,
        ..cfg
    };
    assert_eq!(constant.rate_at(17), 3000.0);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let split = small(120);
    let cfg = small_cfg();
    let one = train(&cfg, &split, 1, &mut |_| {}).unwrap();
    for threads in [2, 3, 7] {
        let many = train(&cfg, &split, threads, &mut |_| {}).unwrap();
        assert_eq!(one, many, "{threads} threads");
    }
    let other_seed = train(&DualEdConfig { seed: 2, ..cfg }, &split, 1, &mut |_| {}).unwrap();
    assert_ne!(one.net, other_seed.net);
}

#[test]
fn ingredient_switches_change_what_they_name() {
    let split = small(50);
    let rng = |s| ChaCha8Rng::seed_from_u64(s);
    let cfg = DualEdConfig {
        hidden: dense(&[200, 100]),
        widths: vec![6.0, 3.0, 1.5],
        uniform_width: 0.4,
        ..DualEdConfig::default()
    };
    let net = DualNet::new(&cfg, [8, 8], 10, &mut rng(1)).unwrap();
    let alphas: Vec<f64> = net.layers.iter().map(|l| l.alpha).collect();
    assert_eq!(alphas, vec![6.0, 3.0, 1.5]);
    // 3:1 in hidden layers (1.5 vs 0.5 times the same uniform), 1:1 at the output.
    let ratios: Vec<f64> = net.layers.iter().map(DualLayer::ei_ratio).collect();
    assert!(
        (ratios[0] - 3.0).abs() < 0.05 && (ratios[1] - 3.0).abs() < 0.1,
        "{ratios:?}"
    );
    assert!((ratios[2] - 1.0).abs() < 0.2, "{ratios:?}");
    // Scale U[0,1)/√fan_in × 1.5: mean 0.75/8 in layer 1.
    let mean = net.layers[0].w_pp.iter().sum::<f64>() / net.layers[0].w_pp.len() as f64;
    assert!((mean - 0.75 / 8.0).abs() < 0.003, "{mean}");

    let off = |i: Ingredients| {
        let c = DualEdConfig {
            ingredients: i,
            ..cfg.clone()
        };
        DualNet::new(&c, [8, 8], 10, &mut rng(1)).unwrap()
    };
    let no_widths = off(Ingredients {
        layer_widths: false,
        ..Ingredients::ALL
    });
    assert!(no_widths.layers.iter().all(|l| l.alpha == 0.4));
    let symmetric = off(Ingredients {
        asymmetric_init: false,
        ..Ingredients::ALL
    });
    assert!(symmetric
        .layers
        .iter()
        .all(|l| (l.ei_ratio() - 1.0).abs() < 0.2));
    let c = DualEdConfig {
        ingredients: Ingredients {
            centring: false,
            ..Ingredients::ALL
        },
        ..cfg.clone()
    };
    assert_eq!(c.effective_centring(), Centring::Off);
    assert_eq!(cfg.effective_centring(), Centring::Batch);
    assert!(Trainer::new(&c, &split, 1).is_ok());
}

#[test]
fn unusable_configs_are_refused_with_the_reason() {
    let split = small(20);
    let bad = |c: DualEdConfig| match Trainer::new(&c, &split, 1) {
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::Config { .. }), "{e}");
            e.to_string()
        }
        Ok(_) => panic!("accepted {c:?}"),
    };
    let base = small_cfg();
    let e = bad(DualEdConfig {
        hidden: dense(&[20, 8]),
        ..base.clone()
    });
    assert!(
        e.contains("hidden layer 2 (8) has 8 units") && e.contains("classes 8.."),
        "{e}"
    );
    let conv = |channels, kernel, stride| Hidden::Conv {
        channels,
        kernel,
        stride,
        shared: true,
    };
    let e = bad(DualEdConfig {
        hidden: vec![conv(4, 3, 1), Hidden::Dense { units: 20 }],
        ..base.clone()
    });
    assert!(e.contains("(c4k3s1) has 4 channels"), "{e}");
    let e = bad(DualEdConfig {
        hidden: vec![conv(10, 9, 1), Hidden::Dense { units: 20 }],
        ..base.clone()
    });
    assert!(e.contains("a 9×9 kernel does not fit 8×8 maps"), "{e}");
    let e = bad(DualEdConfig {
        hidden: vec![Hidden::Dense { units: 20 }, conv(10, 3, 1)],
        ..base.clone()
    });
    assert!(e.contains("cannot follow a dense one"), "{e}");
    let e = bad(DualEdConfig {
        input_channels: 3,
        ..base.clone()
    });
    assert!(
        e.contains("images of 8 rows do not split into 3 planes"),
        "{e}"
    );
    let e = bad(DualEdConfig {
        widths: vec![6.0, 1.0],
        ..base.clone()
    });
    assert!(e.contains("2 widths for 3 layers"), "{e}");
    let e = bad(DualEdConfig {
        batch_size: 1,
        ..base.clone()
    });
    assert!(e.contains("batch centring needs batch_size ≥ 2"), "{e}");
    let e = bad(DualEdConfig {
        learning_rate: f64::NAN,
        ..base.clone()
    });
    assert!(e.contains("learning_rate = NaN"), "{e}");
    let e = bad(DualEdConfig {
        centring: Centring::Running { rate: 0.0 },
        ..base.clone()
    });
    assert!(e.contains("running centring rate = 0"), "{e}");
    // Running centring works with batches of one, and so does no centring.
    let online = DualEdConfig {
        batch_size: 1,
        centring: Centring::Running { rate: 0.01 },
        ..base
    };
    assert!(Trainer::new(&online, &split, 1).is_ok());
}

#[test]
fn learns_the_digits() {
    // 600 training digits, 5 epochs of batches of 16: far above chance (10 %).
    let split = small(600);
    let cfg = DualEdConfig {
        hidden: dense(&[60, 30]),
        epochs: 5,
        ..small_cfg()
    };
    let r = train(&cfg, &split, 1, &mut |_| {}).unwrap();
    assert!(
        r.test_accuracy() > 0.75,
        "test accuracy {}",
        r.test_accuracy()
    );
    let total: u32 = r.confusion.iter().flatten().sum();
    assert_eq!(total as usize, split.test.len());
}
