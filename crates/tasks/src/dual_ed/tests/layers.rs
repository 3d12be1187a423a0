//! Tests of the dual-stream reference's layer kinds: convolutional layers against their
//! definition, hidden-layer specs, patch wiring and its recognition, and the chip's
//! payload rounding.

use super::*;

/// A small random layer of this geometry (magnitudes in (0, 1), signed biases).
fn random_conv(g: ConvGeometry, seed: u64) -> DualLayer {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = |n: usize| -> Vec<f64> { (0..n).map(|_| rng.random::<f64>()).collect() };
    let (w, b) = (g.weights(), g.channels);
    DualLayer {
        inputs: g.inputs(),
        outputs: g.outputs(),
        alpha: 3.0,
        conv: Some(g),
        w_pp: v(w),
        w_np: v(w),
        w_nn: v(w),
        w_pn: v(w),
        b_p: v(b).iter().map(|x| x - 0.5).collect(),
        b_n: v(b).iter().map(|x| x - 0.5).collect(),
        moments: None,
        mask: None,
        fields: Default::default(),
        payload_bits: None,
        table: None,
    }
}

/// The kernel weight of tap `(ci, ky, kx)` for unit `(o, q)`, from the layout docs.
fn tap(g: &ConvGeometry, w: &[f64], o: usize, q: usize, ci: usize, ky: usize, kx: usize) -> f64 {
    let t = (ci * g.kernel + ky) * g.kernel + kx;
    let kernel = if g.shared { o } else { o * g.positions() + q };
    w[kernel * g.taps() + t]
}

#[test]
fn convolution_follows_its_definition() {
    for shared in [true, false] {
        let g = ConvGeometry {
            in_channels: 2,
            in_height: 5,
            in_width: 4,
            channels: 3,
            kernel: 2,
            stride: 2,
            shared,
        };
        assert_eq!((g.out_height(), g.out_width()), (2, 2));
        let mut l = random_conv(g, 7);
        let batch = 2;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut v = |n: usize| -> Vec<f64> { (0..n).map(|_| rng.random::<f64>()).collect() };
        let (p_in, n_in) = (v(batch * g.inputs()), v(batch * g.inputs()));
        let (p, n) = l.forward(&p_in, &n_in, batch, 2);
        // z_p(o, y, x) = b_p(o) + Σ p_in(ci, 2y+ky, 2x+kx)·K_pp − Σ n_in(…)·K_np.
        let x_at = |x: &[f64], b: usize, ci: usize, y: usize, xx: usize| {
            x[b * g.inputs() + (ci * g.in_height + y) * g.in_width + xx]
        };
        let expect = |b: usize, o: usize, q: usize| {
            let (oy, ox) = (q / 2, q % 2);
            let (mut zp, mut zn) = (l.b_p[o], l.b_n[o]);
            for ci in 0..2 {
                for ky in 0..2 {
                    for kx in 0..2 {
                        let (xp, xn) = (
                            x_at(&p_in, b, ci, 2 * oy + ky, 2 * ox + kx),
                            x_at(&n_in, b, ci, 2 * oy + ky, 2 * ox + kx),
                        );
                        let w = |m: &[f64]| tap(&g, m, o, q, ci, ky, kx);
                        zp += xp * w(&l.w_pp) - xn * w(&l.w_np);
                        zn += xn * w(&l.w_nn) - xp * w(&l.w_pn);
                    }
                }
            }
            (sigmoid(zp, 3.0), sigmoid(zn, 3.0))
        };
        for b in 0..batch {
            for o in 0..3 {
                for q in 0..4 {
                    let u = b * g.outputs() + o * 4 + q;
                    let (ep, en) = expect(b, o, q);
                    assert!(
                        (p[u] - ep).abs() < 1e-12 && (n[u] - en).abs() < 1e-12,
                        "shared {shared}"
                    );
                }
            }
        }
        // The update: ΔK_pp = +ρ Σ p_in·U_p over the examples (and, shared, positions).
        let routed = v(batch * g.outputs())
            .iter()
            .map(|r| r - 0.5)
            .collect::<Vec<_>>();
        let before = l.clone();
        let rate = 0.01;
        l.learn(
            &p_in,
            &n_in,
            &p,
            &n,
            &routed,
            batch,
            Rule::Sgd { rate },
            1e-4,
            3,
        );
        let u_p = |b: usize, u: usize| {
            sigmoid_derivative(p[b * g.outputs() + u], 3.0) * routed[b * g.outputs() + u]
        };
        for o in 0..3 {
            for q in 0..4 {
                // Shared kernels sum every position; local ones only their own.
                let qs: Vec<usize> = if shared { (0..4).collect() } else { vec![q] };
                let mut d = 0.0;
                for b in 0..batch {
                    for &r in &qs {
                        d += x_at(&p_in, b, 1, 2 * (r / 2) + 1, 2 * (r % 2)) * u_p(b, o * 4 + r);
                    }
                }
                let (w0, w1) = (
                    tap(&g, &before.w_pp, o, q, 1, 1, 0),
                    tap(&g, &l.w_pp, o, q, 1, 1, 0),
                );
                assert!(
                    (w1 - (w0 + rate * d).max(1e-4)).abs() < 1e-12,
                    "shared {shared}: {w1} vs {}",
                    w0 + rate * d
                );
            }
        }
    }
}

#[test]
fn convolutional_networks_are_thread_count_independent_too() {
    let split = small(64);
    for first in ["c10k3s1", "l10k3s2"] {
        let cfg = DualEdConfig {
            hidden: Hidden::parse_list(&format!("{first},12")).unwrap(),
            widths: vec![3.0, 6.0, 6.0],
            ..small_cfg()
        };
        let one = train(&cfg, &split, 1, &mut |_| {}).unwrap();
        let two = train(&cfg, &split, 2, &mut |_| {}).unwrap();
        assert_eq!(one, two, "{first}");
    }
}

#[test]
fn hidden_layers_parse_and_print() {
    let h = Hidden::parse_list("c16k5s2, l8k3, 256").unwrap();
    assert_eq!(
        h,
        vec![
            Hidden::Conv {
                channels: 16,
                kernel: 5,
                stride: 2,
                shared: true
            },
            Hidden::Conv {
                channels: 8,
                kernel: 3,
                stride: 1,
                shared: false
            },
            Hidden::Dense { units: 256 },
        ]
    );
    let text: Vec<String> = h.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["c16k5s2", "l8k3s1", "256"]);
    for (text, size, stride) in [("360p3", 3, 1), ("1440p5s2", 5, 2)] {
        let h = Hidden::Patch {
            units: text.split('p').next().unwrap().parse().unwrap(),
            size,
            stride,
        };
        assert_eq!(Hidden::parse(text).unwrap(), h);
        assert_eq!(h.to_string(), text);
    }
    assert_eq!(Hidden::parse("360p3s1").unwrap().to_string(), "360p3");
    for bad in [
        "", "c16", "c16k", "x5", "c0k3", "-3", "c16k5s", "360p", "p3", "0p3", "360p3s", "360p3s0",
    ] {
        assert!(Hidden::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn patch_wiring_matches_the_hand_table() {
    // A 4×4 image and a bias (17 sources), 3×3 patches (2×2 positions), 2 classes:
    // unit j reads position (j div 2) mod 4, then the bias (source 16).
    assert_eq!(patch::fan_in(17, 3), 10);
    assert_eq!(
        patch::sources(17, 3, 1, 0, 2),
        [0, 1, 2, 4, 5, 6, 8, 9, 10, 16]
    );
    assert_eq!(
        patch::sources(17, 3, 1, 1, 2),
        [0, 1, 2, 4, 5, 6, 8, 9, 10, 16]
    );
    assert_eq!(
        patch::sources(17, 3, 1, 2, 2),
        [1, 2, 3, 5, 6, 7, 9, 10, 11, 16]
    );
    assert_eq!(
        patch::sources(17, 3, 1, 7, 2),
        [5, 6, 7, 9, 10, 11, 13, 14, 15, 16]
    );
    // Position 4 wraps to 0.
    assert_eq!(
        patch::sources(17, 3, 1, 8, 2),
        patch::sources(17, 3, 1, 0, 2)
    );
    let m = patch::mask(17, 9, 3, 1, 2);
    assert_eq!(m.iter().filter(|&&on| on).count(), 9 * 10);
    assert!(m[16 * 9 + 4] && !m[9 + 7] && m[15 * 9 + 7]);
    assert!(patch::check(17, 5, 1).is_err() && patch::check(17, 0, 1).is_err());
    assert!(patch::check(17, 3, 0).is_err() && patch::check(17, 3, 4).is_err());
}

#[test]
fn strided_patches_match_the_hand_table() {
    // A 5×5 image and a bias (26 sources), 3×3 patches at stride 2: 2×2 positions at
    // (0,0), (0,2), (2,0), (2,2); one class, so unit j reads position j mod 4.
    assert_eq!(
        (patch::per_row(26, 3, 2), patch::positions(26, 3, 2)),
        (2, 4)
    );
    assert_eq!(
        patch::sources(26, 3, 2, 0, 1),
        [0, 1, 2, 5, 6, 7, 10, 11, 12, 25]
    );
    assert_eq!(
        patch::sources(26, 3, 2, 1, 1),
        [2, 3, 4, 7, 8, 9, 12, 13, 14, 25]
    );
    assert_eq!(
        patch::sources(26, 3, 2, 3, 1),
        [12, 13, 14, 17, 18, 19, 22, 23, 24, 25]
    );
    // A 6×6 image at stride 2: (6 − 3)/2 + 1 = 2 positions a row, the last column unread.
    assert_eq!(patch::per_row(36, 3, 2), 2);
    assert_eq!(
        patch::sources(36, 3, 2, 1, 1),
        [2, 3, 4, 8, 9, 10, 14, 15, 16]
    );
    // MNIST: 5×5 at stride 2 gives 12×12 positions, 1,440 units for 10 classes.
    assert_eq!(patch::positions(785, 5, 2) * 10, 1440);
    assert_eq!(patch::fan_in(785, 5), 26);
}

/// `recognise` reads the strided hand table above back as 3×3 at stride 2, and refuses
/// a list that is not a patch layout (two units swapped); a dense list is the one
/// whole-image patch.
#[test]
fn a_patch_list_is_recognised_and_another_is_not() {
    let rows: [&[u32]; 4] = [
        &[0, 1, 2, 5, 6, 7, 10, 11, 12, 25],
        &[2, 3, 4, 7, 8, 9, 12, 13, 14, 25],
        &[10, 11, 12, 15, 16, 17, 20, 21, 22, 25],
        &[12, 13, 14, 17, 18, 19, 22, 23, 24, 25],
    ];
    let list = |order: [usize; 4]| -> Vec<(u32, u32, f64)> {
        order
            .iter()
            .enumerate()
            .flat_map(|(j, &r)| rows[r].iter().map(move |&i| (i, j as u32, 0.5)))
            .collect()
    };
    assert_eq!(
        patch::recognise(&list([0, 1, 2, 3]), 26, 4, 1),
        Some((3, 2))
    );
    assert_eq!(patch::recognise(&list([0, 1, 3, 2]), 26, 4, 1), None);
    let dense: Vec<(u32, u32, f64)> = (0..4)
        .flat_map(|j| (0..26).map(move |i| (i, j, 0.5)))
        .collect();
    assert_eq!(patch::recognise(&dense, 26, 4, 1), Some((5, 1)));
}

#[test]
fn absent_synapses_of_a_patch_layer_stay_zero_and_it_learns() {
    let split = small(300);
    let cfg = DualEdConfig {
        hidden: vec![Hidden::Patch {
            units: 40,
            size: 3,
            stride: 1,
        }],
        widths: vec![3.0, 6.0],
        learning_rate: 100.0,
        batch_size: 8,
        epochs: 3,
        ..DualEdConfig::default()
    };
    let r = train(&cfg, &split, 1, &mut |_| {}).unwrap();
    let layer = &r.net.layers[0];
    let mask = patch::mask(64, 40, 3, 1, 10);
    assert_eq!(layer.fan_in(), 9);
    for w in [&layer.w_pp, &layer.w_np, &layer.w_nn, &layer.w_pn] {
        for (e, (&w, &on)) in w.iter().zip(&mask).enumerate() {
            if on {
                assert!(w >= cfg.weight_floor, "synapse {e}: {w}");
            } else {
                assert_eq!(w, 0.0, "absent synapse {e} has weight {w}");
            }
        }
    }
    // Some present magnitudes moved off their start, and it classifies.
    assert!(r.test_accuracy() > 0.3, "{}", r.test_accuracy());
    // Patch wiring only reads the image: refused as a second layer or too large.
    for hidden in [
        vec![
            Hidden::Dense { units: 20 },
            Hidden::Patch {
                units: 20,
                size: 3,
                stride: 1,
            },
        ],
        vec![Hidden::Patch {
            units: 20,
            size: 9,
            stride: 1,
        }],
        vec![Hidden::Patch {
            units: 20,
            size: 3,
            stride: 4,
        }],
    ] {
        let cfg = DualEdConfig {
            widths: vec![3.0; hidden.len() + 1],
            hidden,
            ..cfg.clone()
        };
        let e = train(&cfg, &split, 1, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("patch"), "{e}");
    }
}

#[test]
fn payload_bits_round_activations_and_floor_the_derivative_as_the_chip_does() {
    let exact = tiny_layer(3.0);
    let chip = DualLayer {
        payload_bits: Some(8),
        ..tiny_layer(3.0)
    };
    let (p_in, n_in) = ([1.0, 0.5, /* */ 0.0, 0.25], [0.5, 1.0, /* */ 0.75, 0.0]);
    let (pe, ne) = exact.forward(&p_in, &n_in, 2, 1);
    let (pc, nc) = chip.forward(&p_in, &n_in, 2, 1);
    for (e, c) in pe.iter().chain(&ne).zip(pc.iter().chain(&nc)) {
        // Every activation is a payload k/255, the nearest to the exact one.
        assert_eq!(*c, (e * 255.0).round() / 255.0);
        assert_ne!(c, e);
    }
    // The chip's o(1 − o) on a payload q: floor(q·(255 − q)/256)/255, times 2/α.
    let third = 2.0 / 3.0;
    assert_eq!(chip.derivative(128.0 / 255.0), third * 63.0 / 255.0);
    assert_eq!(chip.derivative(5.0 / 255.0), third * 4.0 / 255.0); // 4.92 floored
                                                                   // A unit one payload step from saturation stops learning on the chip ...
    assert_eq!(chip.derivative(254.0 / 255.0), 0.0);
    // ... but not in f64.
    let a = 254.0 / 255.0;
    assert_eq!(exact.derivative(a), third * a * (1.0 - a));
    assert!(exact.derivative(a) > 0.0);
    // Widths the chip does not have are refused, naming the field.
    let split = small(20);
    for bits in [0, 17] {
        let cfg = DualEdConfig {
            payload_bits: Some(bits),
            ..small_cfg()
        };
        let Err(e) = Trainer::new(&cfg, &split, 1) else {
            panic!("payload_bits = {bits} accepted");
        };
        let e = e.to_string();
        assert!(e.contains(&format!("payload_bits = {bits}")), "{e}");
    }
}
