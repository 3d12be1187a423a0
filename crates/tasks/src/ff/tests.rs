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
    let learner = Learner::new(&cfg, 6, 3);
    let x = [0.1, 0.9, 0.3, 0.0, 0.5, 0.7];
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
