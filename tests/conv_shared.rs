//! Shared-weight convolutions: on random convolutions (shapes, strides, padding,
//! dilation, groups, delays, zero taps), the image that stores them as shared synapse
//! lists behind population axons and the image that expands them into per-synapse rows
//! hold the same synapses and, run on the chip model, give the same spikes and the same
//! neuron states, step for step.

use amine_chip::image::{ChipImage, Sign};
use amine_chip::neuron::lif::LifParams;
use amine_compiler::audit::image_synapses;
use amine_compiler::program::{Connect, Input, Model, Population, Program, Projection, Source};
use amine_compiler::ErrorKind;
use amine_sim::{SimOptions, Simulator};
use proptest::prelude::*;
use std::path::Path;

/// A convolution's shape: (input (c, h, w), out channels, kernel, stride, padding,
/// dilation, groups).
type Shape = ((u32, u32, u32), u32, u32, u32, u32, u32, u32);

fn lif(size: u32, name: &str) -> Population {
    Population {
        name: name.into(),
        size,
        model: Model::LifRaw(LifParams {
            du: 1024,
            dv: 512,
            vth: 3,
            bias_mant: 0,
            bias_exp: 0,
            refractory: 0,
        }),
        sign: Sign::Mixed,
        positions: None,
    }
}

fn conv(s: Shape, weights: &[i8], shared: bool) -> Connect {
    let (input, channels, k, stride, padding, dilation, groups) = s;
    let n = (channels * (input.0 / groups) * k * k) as usize;
    Connect::Conv {
        input,
        channels,
        kernel: (k, k),
        stride: (stride, stride),
        padding: (padding, padding),
        dilation: (dilation, dilation),
        groups,
        weights: Some(weights.iter().cycle().take(n).map(|&w| w as f64).collect()),
        shared: if shared { None } else { Some(false) },
    }
}

fn output(s: Shape) -> Option<(u32, u32, u32)> {
    conv(s, &[1], true).conv_spec()?.output().ok()
}

/// input → conv → `a` → conv → `b`, the second convolution's input shape being the
/// first one's output.
fn network(s1: Shape, s2: Shape, weights: &[i8], delays: (u8, u8), shared: bool) -> Program {
    let (o1, o2) = (output(s1).unwrap(), output(s2).unwrap());
    let size = |o: (u32, u32, u32)| o.0 * o.1 * o.2;
    Program {
        name: "conv".into(),
        seed: 7,
        dt_ms: 1.0,
        populations: vec![lif(size(o1), "a"), lif(size(o2), "b")],
        inputs: vec![Input {
            name: "in".into(),
            size: s1.0 .0 * s1.0 .1 * s1.0 .2,
            source: Source::Bernoulli {
                p: 0.3,
                seed: Some(11),
            },
            sign: Sign::Mixed,
            entry_tile: None,
        }],
        projections: vec![
            projection("in", "a", conv(s1, weights, shared), delays.0),
            projection("a", "b", conv(s2, &weights[3..], shared), delays.1),
        ],
        probes: vec![],
        modulators: vec![],
        mapping: Default::default(),
        grid: None,
        eprop: None,
        sigprop: None,
    }
}

fn projection(from: &str, to: &str, connect: Connect, delay: u8) -> Projection {
    Projection {
        name: None,
        from: from.into(),
        to: to.into(),
        connect,
        weight: None,
        delay,
        weight_bits: None,
        seed: None,
        learning: None,
        sign: None,
    }
}

/// One step: its spikes, and `(u, v)` of every neuron of both populations after it.
type Step = (Vec<amine_sim::Spike>, Vec<(i32, i32)>);

/// Every step of a run.
fn run(chip: &amine_chip::ChipConfig, image: &ChipImage, steps: u32) -> Vec<Step> {
    let options = SimOptions {
        steps: 1,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(chip, image, options).unwrap();
    let mut state = sim.initial_state();
    let sizes = sim.population_sizes().to_vec();
    (0..steps)
        .map(|_| {
            let mut out = sim.run(&mut state, |_, _| {});
            // In core order in the raster; the two images place neurons differently.
            out.raster.sort_by_key(|s| (s.population, s.neuron));
            let uv = sizes
                .iter()
                .enumerate()
                .flat_map(|(p, &n)| (0..n as usize).map(move |i| (p, i)))
                .map(|(p, i)| sim.neuron_uv(&state, p, i).unwrap())
                .collect();
            (out.raster, uv)
        })
        .collect()
}

prop_compose! {
    fn shape(c: u32)(h in 3u32..9, w in 3u32..9, k in 1u32..4, stride in 1u32..3,
                     padding in 0u32..2, dilation in 1u32..3, g in 0usize..3, out in 1u32..4)
                     -> Shape {
        // Groups dividing the input channels; output channels a multiple of them.
        let divisors: Vec<u32> = (1..=c).filter(|d| c.is_multiple_of(*d)).collect();
        let groups = divisors[g % divisors.len()];
        ((c, h, w), out * groups, k, stride, padding, dilation, groups)
    }
}

fn case() -> impl Strategy<Value = (Shape, Shape, Vec<i8>, (u8, u8))> {
    (1u32..4)
        .prop_flat_map(|c| {
            (
                shape(c),
                (1u32..4, 0u32..2, 1u32..3, 1u32..3, 0usize..3, 1u32..4),
                proptest::collection::vec(-4i8..5, 8..40),
                (0u8..3, 0u8..3),
            )
        })
        .prop_filter_map(
            "convolutions that chain",
            |(s1, (k, padding, dilation, stride, g, out), w, d)| {
                // The second convolution reads the first one's output.
                let o1 = output(s1)?;
                let divisors: Vec<u32> = (1..=o1.0).filter(|x| o1.0.is_multiple_of(*x)).collect();
                let groups = divisors[g % divisors.len()];
                let s2 = (o1, out * groups, k, stride, padding, dilation, groups);
                output(s2)?;
                Some((s1, s2, w, d))
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn shared_lists_give_the_spikes_and_states_of_expanded_rows((s1, s2, w, delays) in case()) {
        let chip = amine_chip::presets::preset("tiny").unwrap();
        let compile = |shared: bool| {
            amine_compiler::compile_program(network(s1, s2, &w, delays, shared), Path::new("."), &chip)
        };
        let (a, b) = match (compile(true), compile(false)) {
            (Ok(a), Ok(b)) => (a, b),
            (x, y) => {
                // Only "too big for the tiny chip" (in one form or the other) may fail.
                for e in [x.err(), y.err()].into_iter().flatten() {
                    prop_assert!(matches!(e.kind(), ErrorKind::HardwareLimit(_)), "{}", e);
                }
                return Ok(());
            }
        };
        let uses = |i: &ChipImage| i.cores.iter().any(|c| c.population.as_ref().is_some_and(|p| !p.axons.is_empty()));
        prop_assume!(uses(&a.image));
        prop_assert!(!uses(&b.image));
        prop_assert_eq!(a.image.synapse_count(), b.image.synapse_count());
        prop_assert_eq!(image_synapses(&a.image).unwrap(), image_synapses(&b.image).unwrap());
        let (ra, rb) = (run(&chip, &a.image, 20), run(&chip, &b.image, 20));
        for (t, (x, y)) in ra.iter().zip(&rb).enumerate() {
            prop_assert_eq!(&x.0, &y.0, "spikes of step {}", t);
            prop_assert_eq!(&x.1, &y.1, "states after step {}", t);
        }
    }
}
