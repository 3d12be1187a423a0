use super::net::{sigmoid, Mlp};
use super::*;

fn small_split(train: usize) -> Split {
    let mut s = crate::datasets::digits();
    s.train.inputs.truncate(train);
    s.train.labels.truncate(train);
    s
}

/// Backprop's gradient against central differences of `½‖y − onehot‖²`, computed
/// here from the weights alone.
#[test]
fn backprop_gradient_matches_finite_differences() {
    let cfg = FfConfig {
        hidden: vec![5, 4],
        ..FfConfig::digits(Rule::Backprop)
    };
    let x = [0.1, 0.9, 0.3, 0.0, 0.5, 0.7];
    let data = Dataset {
        name: "one".into(),
        inputs: vec![x.map(|v| v as f32).to_vec()],
        labels: vec![2],
        classes: 3,
        shape: [1, 6],
    };
    let learner = Learner::new(&cfg, &data, 3);
    let label = 2;
    let loss = |mlp: &Mlp| {
        let mut h: Vec<f64> = x.to_vec();
        for layer in &mlp.layers {
            h = (0..layer.units)
                .map(|k| {
                    let a: f64 = (0..layer.inputs)
                        .map(|m| layer.w[k * layer.inputs + m] * h[m])
                        .sum();
                    sigmoid(a + layer.b[k])
                })
                .collect();
        }
        h.iter()
            .enumerate()
            .map(|(k, y)| 0.5 * (y - f64::from(u8::from(k == label))).powi(2))
            .sum::<f64>()
    };
    let mut grads = Grads::default();
    grads.zero(&learner.mlp);
    learner.mlp.forward(&x, &mut grads.acts);
    learner.accumulate(label, &mut grads);
    for l in 0..learner.mlp.layers.len() {
        for i in [0, 3, 7] {
            let mut plus = learner.mlp.clone();
            plus.layers[l].w[i] += 1e-6;
            let mut minus = learner.mlp.clone();
            minus.layers[l].w[i] -= 1e-6;
            let numeric = (loss(&plus) - loss(&minus)) / 2e-6;
            assert!(
                (numeric - grads.w[l][i]).abs() < 1e-8,
                "layer {l} weight {i}: {numeric} vs {}",
                grads.w[l][i]
            );
        }
    }
}

#[test]
fn every_rule_learns_the_digits_and_is_deterministic() {
    let split = small_split(400);
    for rule in [Rule::Backprop, Rule::Dfa, Rule::Sigprop] {
        let cfg = FfConfig {
            epochs: 3,
            ..FfConfig::digits(rule)
        };
        let a = train(&cfg, &split, &mut |_| {}).unwrap();
        let b = train(&cfg, &split, &mut |_| {}).unwrap();
        assert_eq!(a, b, "{rule:?} is not deterministic");
        assert!(a.test_accuracy() > 0.6, "{rule:?}: {}", a.test_accuracy());
    }
}

#[test]
fn bad_configurations_are_named() {
    let split = small_split(20);
    let cfg = FfConfig {
        hidden: vec![],
        ..FfConfig::digits(Rule::Dfa)
    };
    let e = train(&cfg, &split, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("hidden"), "{e}");
    let cfg = FfConfig {
        batch: 0,
        ..FfConfig::digits(Rule::Sigprop)
    };
    let e = train(&cfg, &split, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("batch"), "{e}");
}

/// Sigprop's update of each layer against central differences of that layer's loss,
/// computed here from the weights, with the layer's inputs (the sample's and the
/// contexts' responses below) held fixed.
#[test]
fn sigprop_updates_follow_each_layers_local_loss() {
    let cfg = FfConfig {
        hidden: vec![5, 4],
        rate: 1e-3,
        batch: 1,
        sigprop: SigpropConfig {
            beta: 2.0,
            ..SigpropConfig::default()
        },
        complement_inputs: false,
        ..FfConfig::digits(Rule::Sigprop)
    };
    let x = vec![0.1f32, 0.9, 0.3, 0.0, 0.5, 0.7];
    let data = Dataset {
        name: "one".into(),
        inputs: vec![x.clone()],
        labels: vec![1],
        classes: 3,
        shape: [1, 6],
    };
    let mut learner = Learner::new(&cfg, &data, 3);
    let before = learner.mlp.clone();
    let contexts = learner.sigprop.as_ref().unwrap().contexts().to_vec();
    let xf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let (acts, below) = passes(&before, &xf, &contexts);
    let layer_loss = |l: usize, layer: &net::Dense| {
        let out = |input: &[f64]| {
            let mut o = Vec::new();
            layer.forward(input, &mut o);
            o
        };
        let h = out(&acts[l]);
        let s: Vec<f64> = below
            .iter()
            .map(|r| {
                let t = out(&r[l]);
                -0.5 * 2.0 * h.iter().zip(&t).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
            })
            .collect();
        let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
        -(s[1] - m - z.ln())
    };
    let mut grads = Grads::default();
    learner.learn(&data, &[0], &mut grads);
    assert_steps_follow(&before, &learner.mlp, cfg.rate, layer_loss, "contrastive");
}

/// Every layer's responses to `x` and to each of `contexts`.
#[allow(clippy::type_complexity)]
fn passes(mlp: &Mlp, x: &[f64], contexts: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) {
    let forward = |v: &[f64]| {
        let mut r = Vec::new();
        mlp.forward(v, &mut r);
        r
    };
    (forward(x), contexts.iter().map(|c| forward(c)).collect())
}

/// Each layer's weights 0, 2 and 5 moved from `before` to `after` by `−rate` times the
/// central difference of `layer_loss(l, layer)`.
fn assert_steps_follow(
    before: &Mlp,
    after: &Mlp,
    rate: f64,
    layer_loss: impl Fn(usize, &net::Dense) -> f64,
    what: &str,
) {
    for l in 0..before.layers.len() {
        for i in [0, 2, 5] {
            let mut plus = before.layers[l].clone();
            plus.w[i] += 1e-6;
            let mut minus = before.layers[l].clone();
            minus.w[i] -= 1e-6;
            let g = (layer_loss(l, &plus) - layer_loss(l, &minus)) / 2e-6;
            let moved = after.layers[l].w[i] - before.layers[l].w[i];
            assert!(
                (moved + rate * g).abs() < 1e-9,
                "{what} layer {l} weight {i}: moved {moved}, expected {}",
                -rate * g
            );
        }
    }
}

/// The unit's widths change sigprop's learning only through rounding: at 1 response
/// bit the run differs from f64, and the digits settings still learn at 8/16 bits (where
/// the run may well match f64's accuracies).
#[test]
fn sigprop_unit_widths_round_the_layer_loss() {
    let split = small_split(400);
    let with = |w: Option<sigprop::UnitWidths>| {
        let mut cfg = FfConfig {
            epochs: 3,
            ..FfConfig::digits(Rule::Sigprop)
        };
        cfg.sigprop.unit_widths = w;
        train(&cfg, &split, &mut |_| {}).unwrap()
    };
    let widths = |response_bits, prob_bits| {
        Some(sigprop::UnitWidths {
            response_bits,
            prob_bits,
        })
    };
    let f64_run = with(None);
    let coarse = with(widths(1, 4));
    let unit = with(widths(8, 16));
    assert_ne!(f64_run, coarse);
    assert!(unit.test_accuracy() > 0.6, "{}", unit.test_accuracy());
}

/// Class-mean contexts are each class's mean training input, with the complements
/// appended as the samples have them; the summed read-out adds every layer's distance.
#[test]
fn sigprop_class_mean_contexts_and_readouts() {
    let cfg = FfConfig {
        hidden: vec![3, 2],
        ..FfConfig::digits(Rule::Sigprop)
    };
    let data = Dataset {
        name: "two".into(),
        inputs: vec![vec![0.0, 1.0], vec![0.5, 0.0], vec![1.0, 0.5]],
        labels: vec![0, 1, 1],
        classes: 2,
        shape: [1, 2],
    };
    let mut learner = Learner::new(&cfg, &data, 2);
    assert_eq!(learner.mlp.sizes(), vec![4, 3, 2]);
    let s = learner.sigprop.as_mut().unwrap();
    assert_eq!(
        s.contexts(),
        &[vec![0.0, 1.0, 1.0, 0.0], vec![0.75, 0.25, 0.25, 0.75]]
    );
    // Layer 1 favours class 0, layer 2 class 1 by less: the last layer alone picks 1,
    // the sum picks 0.
    s.set_responses(vec![
        vec![vec![], vec![0.0, 0.0, 0.0], vec![0.5, 0.5]],
        vec![vec![], vec![1.0, 1.0, 1.0], vec![0.0, 0.0]],
    ]);
    let acts = vec![vec![], vec![0.1, 0.1, 0.1], vec![0.2, 0.2]];
    assert_eq!(s.predict(&acts, sigprop::Readout::Last), 1);
    assert_eq!(s.predict(&acts, sigprop::Readout::Sum), 0);
}

/// With two contexts per class, class-mean contexts are the two k-means centroids of
/// each class (class-major), a sample's target is its nearest own-class context, and a
/// prediction reports the class of the nearest context (or of the larger pooled score).
#[test]
fn sigprop_sub_class_contexts() {
    let mut cfg = FfConfig {
        hidden: vec![2],
        complement_inputs: false,
        ..FfConfig::digits(Rule::Sigprop)
    };
    cfg.sigprop.contexts_per_class = 2;
    let data = Dataset {
        name: "two".into(),
        inputs: vec![
            vec![0.0],
            vec![0.1],
            vec![0.9],
            vec![1.0],
            vec![0.4],
            vec![0.6],
        ],
        labels: vec![0, 0, 0, 0, 1, 1],
        classes: 2,
        shape: [1, 1],
    };
    let mut learner = Learner::new(&cfg, &data, 2);
    let s = learner.sigprop.as_mut().unwrap();
    let mut c0 = s.contexts()[..2].to_vec();
    c0.sort_by(|a, b| a[0].total_cmp(&b[0]));
    assert!(
        (c0[0][0] - 0.05).abs() < 1e-6 && (c0[1][0] - 0.95).abs() < 1e-6,
        "{c0:?}"
    );
    assert_eq!(s.contexts().len(), 4);
    let high = if s.contexts()[0][0] > 0.5 { 0 } else { 1 };
    assert_eq!(s.target(0, &[0.97]), high);
    assert_eq!(s.target(0, &[0.02]), 1 - high);
    assert!((2..4).contains(&s.target(1, &[0.0])));
    // Contexts 0 and 1 are class 0's: the nearest (context 1) reports class 0.
    s.set_responses(vec![
        vec![vec![], vec![0.9, 0.9]],
        vec![vec![], vec![0.2, 0.2]],
        vec![vec![], vec![0.35, 0.35]],
        vec![vec![], vec![0.36, 0.36]],
    ]);
    let acts = vec![vec![], vec![0.25, 0.25]];
    assert_eq!(s.predict(&acts, sigprop::Readout::Last), 0);
    // Pooled: class 1's two close contexts together outweigh class 0's nearest one at
    // a small β.
    s.pooled = true;
    s.beta = 1e-3;
    assert_eq!(s.predict(&acts, sigprop::Readout::Last), 1);
}

/// With a per-epoch augmentation, one epoch of `train_augmented` is one epoch of
/// `train` on that epoch's moved set (the contexts given, so both start alike), and the
/// run differs from the unaugmented one.
#[test]
fn sigprop_learns_each_epoch_from_its_moved_set() {
    use crate::datasets::augment::{random_shifts, Augment};
    let split = small_split(160);
    let mut cfg = FfConfig {
        hidden: vec![12],
        epochs: 1,
        ..FfConfig::digits(Rule::Sigprop)
    };
    cfg.sigprop.contexts = Some(sigprop::contexts(&cfg, &split.train, 10));
    let aug = Augment::RandomShift(1);
    let run = |a: Option<Augment>, s: &Split| {
        let mut curve = Vec::new();
        let r = train_augmented(&cfg, s, a, &mut |e| curve.push(e.test_accuracy)).unwrap();
        (curve, r.confusion)
    };
    let augmented = run(Some(aug), &split);
    let moved = Split {
        train: random_shifts(&split.train, 1, cfg.seed, 0).unwrap(),
        test: split.test.clone(),
    };
    assert_eq!(augmented, run(None, &moved));
    assert_ne!(augmented.1, run(None, &split).1);
    assert_eq!(augmented, run(Some(aug), &split));
}

/// A patch-wired layer equals a dense layer whose absent synapses are zero and stay
/// zero: the same responses, the same `Wᵀ·δ`, and after `descend` and a batch of
/// gradients (`Grads`) the same weights once the dense layer's absent ones are zeroed
/// again. The mask is `dual_ed::patch::mask` (one unit a class), whose layout the
/// dual-ED tests check against hand tables.
#[test]
fn a_patch_layer_equals_a_dense_layer_with_the_mask_applied() {
    use super::net::Dense;
    use crate::dual_ed::patch;
    use rand::SeedableRng;
    // A 5×5 image and a bias (26 sources), 3×3 patches at stride 2 (4 positions), 6 units.
    let (inputs, units) = (26, 6);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let p = Dense::patch(inputs, units, 3, 2, 1.0, &mut rng);
    let mask = patch::mask(inputs, units, 3, 2, 1); // source-major
    assert_eq!(p.fan_in(), 10);
    assert_eq!(mask.iter().filter(|&&m| m).count(), units * 10);
    // The dense layer: unit k's present weights in source order, 0 elsewhere.
    let dense_of = |p: &Dense| {
        let mut w = vec![0.0; inputs * units];
        for k in 0..units {
            let present = (0..inputs).filter(|&i| mask[i * units + k]);
            for (n, i) in present.enumerate() {
                w[k * inputs + i] = p.w[k * 10 + n];
            }
        }
        Dense {
            inputs,
            units,
            w,
            b: p.b.clone(),
            sources: None,
        }
    };
    let masked = |mut d: Dense| {
        for k in 0..units {
            for i in 0..inputs {
                if !mask[i * units + k] {
                    d.w[k * inputs + i] = 0.0;
                }
            }
        }
        d
    };
    let x: Vec<f64> = (0..inputs).map(|i| ((i * 7) % 11) as f64 / 10.0).collect();
    let delta: Vec<f64> = (0..units).map(|k| 0.3 - 0.1 * k as f64).collect();
    let mut d = dense_of(&p);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    p.forward(&x, &mut a);
    d.forward(&x, &mut b);
    assert_eq!(a, b);
    p.transpose_times(&delta, &mut a);
    d.transpose_times(&delta, &mut b);
    assert_eq!(a, b);
    let mut p = p;
    p.descend(&delta, &x, 0.5);
    d.descend(&delta, &x, 0.5);
    assert_eq!(dense_of(&p), masked(d.clone()));
    assert_ne!(masked(d.clone()), d, "the dense step moved absent synapses");
    // A batch through `Grads`, as the sigprop and backprop learners apply it.
    let cfg = FfConfig::digits(Rule::Sigprop);
    let (mut pm, mut dm) = (
        Mlp { layers: vec![p] },
        Mlp {
            layers: vec![masked(d)],
        },
    );
    for (mlp, grads) in [
        (&mut pm, &mut Grads::default()),
        (&mut dm, &mut Grads::default()),
    ] {
        grads.zero(mlp);
        grads.add(0, &delta, &x);
        grads.add(
            0,
            &delta[..].iter().map(|v| -0.5 * v).collect::<Vec<_>>(),
            &a,
        );
        grads.apply(mlp, &cfg, 2);
    }
    let pl = pm.layers.pop().unwrap();
    let dl = dm.layers.pop().unwrap();
    assert_eq!(dense_of(&pl), masked(dl));
}

/// The configuration refuses a patch it cannot wire, naming `patch`.
#[test]
fn a_patch_that_does_not_fit_is_refused() {
    let split = small_split(40);
    for (patch, complement) in [
        (Patch { size: 9, stride: 1 }, false),
        (Patch { size: 3, stride: 4 }, false),
        (Patch { size: 3, stride: 1 }, true),
    ] {
        let cfg = FfConfig {
            hidden: vec![36, 8],
            patch: Some(patch),
            complement_inputs: complement,
            epochs: 1,
            ..FfConfig::digits(Rule::Sigprop)
        };
        let e = train(&cfg, &split, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("patch"), "{e}");
    }
    let cfg = FfConfig {
        hidden: vec![36, 8],
        patch: Some(Patch { size: 3, stride: 1 }),
        complement_inputs: false,
        epochs: 1,
        ..FfConfig::digits(Rule::Sigprop)
    };
    let r = train(&cfg, &split, &mut |_| {}).unwrap();
    assert_eq!(r.sizes, vec![64, 36, 8]);
}

/// `rate_scales` multiplies each layer's step (layer 1's step is that of the plain
/// rate, layer 2's a quarter of it), and a list of the wrong length is refused.
#[test]
fn rate_scales_scale_each_layers_step() {
    use rand::SeedableRng;
    let mlp = Mlp::new(&[4, 3, 2], 1.0, &mut ChaCha8Rng::seed_from_u64(5));
    let step = |cfg: &FfConfig| {
        let mut m = mlp.clone();
        let mut g = Grads::default();
        g.zero(&m);
        g.add(0, &[0.5, -0.25, 1.0], &[1.0, 0.5, 0.0, 0.25]);
        g.add(1, &[0.75, -1.0], &[0.2, 0.4, 0.6]);
        g.apply(&mut m, cfg, 2);
        m.layers
            .iter()
            .zip(&mlp.layers)
            .map(|(a, b)| a.w.iter().zip(&b.w).map(|(x, y)| x - y).collect())
            .collect::<Vec<Vec<f64>>>()
    };
    let plain = FfConfig::digits(Rule::Sigprop);
    let scaled = FfConfig {
        rate_scales: vec![1.0, 0.25],
        ..plain.clone()
    };
    let (a, b) = (step(&plain), step(&scaled));
    assert_eq!(a[0], b[0]);
    // The plain step of layer 2, weight (unit 0, input 1): −rate/batch · 0.75 · 0.4.
    assert!((a[1][1] + plain.rate / 2.0 * 0.75 * 0.4).abs() < 1e-12);
    for (x, y) in a[1].iter().zip(&b[1]) {
        assert!((0.25 * x - y).abs() < 1e-12, "{x} {y}");
    }
    let split = small_split(40);
    for bad in [vec![1.0], vec![1.0, 0.0], vec![1.0, f64::NAN], vec![1.0; 3]] {
        let cfg = FfConfig {
            hidden: vec![8, 4],
            rate_scales: bad,
            epochs: 1,
            ..FfConfig::digits(Rule::Sigprop)
        };
        let e = train(&cfg, &split, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("rate_scales") && e.contains("2 layers"), "{e}");
    }
}

/// The probe's `contexts, summed` and `contexts, last` read-outs are the learner's own
/// `Sum` and `Last` predictions of the same weights (two runs of one seed, which train
/// alike: the read-out does not enter training).
#[test]
fn probed_context_readouts_are_the_learners_predictions() {
    let split = small_split(200);
    let mut cfg = FfConfig {
        hidden: vec![16, 8],
        epochs: 2,
        ..FfConfig::digits(Rule::Sigprop)
    };
    cfg.sigprop.readout = sigprop::Readout::Sum;
    let mut probed = Vec::new();
    train_probing(&cfg, &split, None, true, &mut |e, s| {
        probed.push((e.test_accuracy, s.to_vec()))
    })
    .unwrap();
    cfg.sigprop.readout = sigprop::Readout::Last;
    let mut last = Vec::new();
    train(&cfg, &split, &mut |e| last.push(e.test_accuracy)).unwrap();
    for ((sum, scores), last) in probed.iter().zip(&last) {
        let get = |n: &str| scores.iter().find(|s| s.name == n).unwrap().test_accuracy;
        assert_eq!(get("contexts, summed"), *sum);
        assert_eq!(get("contexts, last"), *last);
        assert_eq!(scores.len(), 12);
    }
    assert_ne!(probed[1].0, last[1], "the two read-outs should differ here");
}

/// The chip form's update with each treatment of the own class's other contexts
/// against central differences of that loss, computed here from the weights (the
/// latched context responses and each layer's input held fixed): negatives `−log p_y`,
/// excluded `−log p_y` over the contexts without the own class's others, pooled
/// `−log Σ_{j∈y} p_j`.
#[test]
fn own_class_treatments_follow_their_losses() {
    use sigprop::OwnClass;
    let x = vec![0.1f32, 0.9, 0.3, 0.0, 0.5, 0.7];
    let data = Dataset {
        name: "one".into(),
        inputs: vec![x.clone()],
        labels: vec![1],
        classes: 2,
        shape: [1, 6],
    };
    // Two classes, two contexts each; the sample's target is context 3 (nearest of 2, 3).
    let contexts: Vec<Vec<f64>> = [
        [0.9, 0.1, 0.4, 0.6, 0.2, 0.3],
        [0.2, 0.2, 0.8, 0.1, 0.9, 0.5],
        [0.7, 0.3, 0.1, 0.9, 0.8, 0.2],
        [0.2, 0.8, 0.4, 0.1, 0.4, 0.6],
    ]
    .iter()
    .map(|r| r.to_vec())
    .collect();
    let xf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(prototypes::subclass(&contexts, 2, 1, &xf), 3);
    let beta = 3.0;
    let lse = |v: &[f64]| {
        let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|a| (a - m).exp()).sum::<f64>().ln()
    };
    for own in [OwnClass::Negatives, OwnClass::Excluded, OwnClass::Pooled] {
        let mut cfg = FfConfig {
            hidden: vec![5, 4],
            rate: 1e-3,
            batch: 1,
            complement_inputs: false,
            ..FfConfig::digits(Rule::Sigprop)
        };
        cfg.sigprop = SigpropConfig {
            beta,
            sample_updates: true,
            target_updates: false,
            contexts: Some(contexts.clone()),
            contexts_per_class: 2,
            own_class: own,
            ..SigpropConfig::default()
        };
        let mut learner = Learner::new(&cfg, &data, 2);
        let before = learner.mlp.clone();
        let (acts, below) = passes(&before, &xf, &contexts);
        let layer_loss = |l: usize, layer: &net::Dense| {
            let mut h = Vec::new();
            layer.forward(&acts[l], &mut h);
            let s: Vec<f64> = below
                .iter()
                .map(|r| -0.5 * beta * prototypes::sq_dist(&h, &r[l + 1]))
                .collect();
            match own {
                OwnClass::Negatives => lse(&s) - s[3],
                OwnClass::Excluded => lse(&[s[0], s[1], s[3]]) - s[3],
                OwnClass::Pooled => lse(&s) - lse(&s[2..]),
            }
        };
        learner.learn(&data, &[0], &mut Grads::default());
        let what = format!("{own:?}");
        assert_steps_follow(&before, &learner.mlp, cfg.rate, layer_loss, &what);
    }
    // Only the chip's form treats the own class apart.
    let mut cfg = FfConfig::digits(Rule::Sigprop);
    cfg.sigprop.own_class = OwnClass::Pooled;
    let e = train(&cfg, &small_split(40), &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("own_class"), "{e}");
}
