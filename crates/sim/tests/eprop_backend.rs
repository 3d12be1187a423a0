//! One engine family: the fast e-prop backend, built from a compiled image, is
//! bit-identical to the general simulator running the same image — spikes every step,
//! every trace after every trial, the gradients, the weights after every update, every
//! event count, the simulated cycles, energy and latency — on random small e-prop
//! programs (sizes, conditions, widths, the plain update and Adam, lazy and per-step
//! decay, classification and regression) and on a chip whose every cost is non-zero.

use amine_chip::config::{ChipConfig, GridFormat};
use amine_chip::image::ChipImage;
use amine_compiler::program::{Connect, Weight};
use amine_compiler::templates::{eprop, EpropNetwork, Feedback, Update};
use amine_sim::eprop::{core_cost, EpropCore, EpropState, TrialData, TrialTarget};
use amine_sim::{energy_so_far, ChipCounts, Counts, SimOptions, Simulator};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// `loihi-eprop` with the tiny chip's costs and the three-part soma's (every kind
/// non-zero, all different), the grid in `format` and power gating.
fn chip(format: GridFormat) -> ChipConfig {
    let mut c = amine_chip::presets::preset("loihi-eprop").unwrap();
    c.costs = amine_chip::presets::preset("tiny").unwrap().costs;
    let cost = |energy_pj, cycles| amine_chip::config::Cost { energy_pj, cycles };
    c.costs.neuron_access = cost(0.3, 3);
    c.costs.neuron_update = cost(0.7, 7);
    c.costs.neuron_spike = cost(1.1, 11);
    c.modulator.format = format;
    // Power gating on, so both engines must agree on what the image powers.
    c.static_power.gating = true;
    c
}

#[derive(Debug, Clone)]
struct Case {
    net: EpropNetwork,
    input_gain: f64,
    format: GridFormat,
    rate_permille: u64,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (4u32..9, 1u32..6, 0u32..6, 1u32..4, any::<bool>(), 0u8..3),
        (
            any::<bool>(),
            any::<bool>(),
            8u8..=20,
            6u8..=16,
            any::<bool>(),
        ),
        (
            1.0f64..4.0,
            any::<bool>(),
            100u64..300,
            0u64..1000,
            30u32..60,
            5u32..15,
        ),
    )
        .prop_map(
            |((inputs, lif, alif, outputs, regression, cond), (adam, lazy, frac, wb, reg), x)| {
                let (input_gain, q16, rate_permille, seed, steps, win) = x;
                let n = lif + alif;
                let side = (f64::from(n).sqrt().ceil() as u32).max(2);
                let outputs = if regression { 1 } else { outputs.max(2) };
                let net = EpropNetwork {
                    name: "case".into(),
                    seed,
                    inputs,
                    outputs,
                    classification: !regression,
                    trial_steps: steps,
                    window: (steps - win, steps),
                    lif,
                    alif,
                    side,
                    sigma: 0.05,
                    input_p: 0.5,
                    readout_p: 0.6,
                    condition: match cond {
                        0 => Feedback::Diffusion { k: 0.75 },
                        1 => Feedback::Sparse,
                        _ => Feedback::Full,
                    },
                    frac_bits: frac,
                    weight_bits: wb,
                    lazy_decay: lazy,
                    update: if adam {
                        Update::Adam { step: 0.05 }
                    } else {
                        Update::Sgd {
                            lr: [300.0, 900.0, 80.0],
                        }
                    },
                    batch: 2,
                    regulariser: reg.then_some((0.5, 10.0)),
                    tau_a_ms: 200.0,
                    ..EpropNetwork::cue_accumulation()
                };
                Case {
                    net,
                    input_gain,
                    format: if q16 {
                        GridFormat::Q16_16
                    } else {
                        GridFormat::Q8_24
                    },
                    rate_permille,
                    seed,
                }
            },
        )
}

fn compile(c: &Case) -> (ChipConfig, ChipImage) {
    let mut program = eprop(&c.net);
    for p in &mut program.projections {
        if p.from == "x" {
            if let Some(Weight::TruncatedNormal { std }) = &mut p.weight {
                *std *= c.input_gain;
            }
        }
        // Denser recurrence than the cue network, so small networks have some.
        if let Connect::Distance { sigma, .. } = &mut p.connect {
            *sigma = 0.2;
        }
    }
    let chip = chip(c.format);
    let out = amine_compiler::compile_program(program, Path::new("."), &chip)
        .unwrap_or_else(|e| panic!("{e}"));
    (chip, out.image.into_image())
}

/// Random spikes of one trial, CSR by step, and a target.
struct Trial {
    start: Vec<u32>,
    spikes: Vec<u16>,
    class: usize,
    series: Vec<f32>,
}

fn trials(c: &Case, count: usize) -> Vec<Trial> {
    let mut x = c.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..count)
        .map(|_| {
            let mut start = vec![0];
            let mut spikes = Vec::new();
            for _ in 0..c.net.trial_steps {
                for i in 0..c.net.inputs {
                    if next() % 1000 < c.rate_permille {
                        spikes.push(i as u16);
                    }
                }
                start.push(spikes.len() as u32);
            }
            let w = (c.net.window.1 - c.net.window.0) as usize;
            Trial {
                start,
                spikes,
                class: (next() % u64::from(c.net.outputs)) as usize,
                series: (0..w)
                    .map(|_| (next() % 2000) as f32 / 1000.0 - 1.0)
                    .collect(),
            }
        })
        .collect()
}

fn target<'a>(c: &Case, t: &'a Trial) -> TrialTarget<'a> {
    if c.net.classification {
        TrialTarget::Class(t.class)
    } else {
        TrialTarget::Series(&t.series)
    }
}

/// Per synapse `(row, index)`: εa, ē, Σe, g — the general simulator's view.
type Traces = BTreeMap<(u32, u32), (i32, i32, i64, i64)>;

fn general_traces(
    sim: &Simulator,
    st: &amine_sim::SimState,
) -> (Traces, BTreeMap<(u32, u32), i32>) {
    let (mut t, mut w) = (BTreeMap::new(), BTreeMap::new());
    for (row, r, m) in sim.eprop_rows(st) {
        for (i, &mant) in m.iter().enumerate() {
            t.insert((row, i as u32), (r.eps_a[i], r.ebar[i], r.esum[i], r.g[i]));
            w.insert((row, i as u32), mant);
        }
    }
    (t, w)
}

fn fast_traces(core: &EpropCore, st: &EpropState) -> (Traces, BTreeMap<(u32, u32), i32>) {
    let (ea, eb) = st.traces();
    let (es, g) = (st.eligibility_sums(), &st.g);
    let (mut t, mut w) = (BTreeMap::new(), BTreeMap::new());
    for (q, (key, &m)) in core.synapse_rows().zip(core.weights()).enumerate() {
        t.insert(key, (ea[q], eb[q], es[q], g[q]));
        w.insert(key, m);
    }
    (t, w)
}

/// A fixed case of the property test's family spikes, learns and changes weights, so
/// the comparison is not between two silent runs.
#[test]
fn cases_have_activity() {
    let c = Case {
        net: EpropNetwork {
            inputs: 6,
            lif: 3,
            alif: 3,
            side: 3,
            outputs: 2,
            trial_steps: 50,
            window: (40, 50),
            sigma: 0.05,
            input_p: 0.5,
            readout_p: 0.6,
            batch: 2,
            update: Update::Adam { step: 0.05 },
            ..EpropNetwork::cue_accumulation()
        },
        input_gain: 3.0,
        format: GridFormat::Q8_24,
        rate_permille: 250,
        seed: 7,
    };
    let (chip, image) = compile(&c);
    let mut core = EpropCore::from_image(&image, &chip).unwrap();
    let mut s = EpropState::new(&core);
    let before = core.weights().to_vec();
    let mut spikes = 0;
    for t in &trials(&c, 2) {
        let data = TrialData {
            steps: 50,
            spike_start: &t.start,
            spikes: &t.spikes,
            target: target(&c, t),
        };
        let r = core.run_trial(&mut s, &data, true);
        spikes += r.spikes_lif + r.spikes_alif;
    }
    let (u, _, _) = core.apply(&mut s);
    assert!(spikes > 10, "{spikes} spikes");
    assert!(u.changed > 0 && core.weights() != &before[..], "{u:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn fast_backend_equals_the_general_simulator(c in case()) {
        let (chip, image) = compile(&c);
        let mut sim = Simulator::new(&chip, &image, SimOptions::default()).unwrap();
        let mut gs = sim.initial_state();
        let mut core = EpropCore::from_image(&image, &chip).unwrap();
        let mut fs = EpropState::new(&core);
        let (mut counts, mut cc) = (Counts::default(), ChipCounts::default());
        let list = trials(&c, 6);
        // Two batches of two training trials, then two inference trials.
        for (k, t) in list.iter().enumerate() {
            let learn = k < 4;
            sim.set_learning(&mut gs, learn);
            let tgt = target(&c, t);
            sim.eprop_begin_trial(&mut gs, tgt.to_engine()).unwrap();
            let mut spikes = Vec::new();
            for step in 0..c.net.trial_steps as usize {
                let xs: Vec<u32> = t.spikes[t.start[step] as usize..t.start[step + 1] as usize]
                    .iter().map(|&i| u32::from(i)).collect();
                sim.send_spikes(&mut gs, 0, &xs).unwrap();
                sim.step(&mut gs);
                spikes.push(sim.last_emits().map(|e| e.1).collect::<Vec<u32>>());
            }
            sim.eprop_end_trial(&mut gs).unwrap();
            fs.log = Some(Default::default());
            let data = TrialData { steps: c.net.trial_steps as usize, spike_start: &t.start, spikes: &t.spikes, target: tgt };
            let r = core.run_trial(&mut fs, &data, learn);
            counts += r.counts;
            cc += r.chip;
            let log = fs.log.take().unwrap();
            prop_assert_eq!(&log.spikes, &spikes, "trial {} spikes", k);
            let e = gs.eprop.as_ref().unwrap();
            prop_assert_eq!(fs.readouts().1, &e.y_sum[..], "trial {} readouts", k);
            prop_assert_eq!(fs.spike_counts(), &e.count[..]);
            if learn {
                prop_assert_eq!(&fs.g_out, &e.g_out, "trial {} readout gradients", k);
                let (gt, _) = general_traces(&sim, &gs);
                let (ft, _) = fast_traces(&core, &fs);
                prop_assert_eq!(ft, gt, "trial {} traces and gradients", k);
            }
            if learn && k % 2 == 1 {
                let gu = sim.eprop_update(&mut gs).unwrap();
                let (fu, uc, cycles) = core.apply(&mut fs);
                prop_assert_eq!(fu, gu);
                counts += uc;
                cc.cycles += cycles;
                cc.learning_cycles += cycles;
                let (_, gw) = general_traces(&sim, &gs);
                let (_, fw) = fast_traces(&core, &fs);
                prop_assert_eq!(fw, gw, "weights after update {}", k / 2);
                prop_assert_eq!(core.readout_weights(), &gs.eprop.as_ref().unwrap().w_out[..]);
            }
        }
        prop_assert_eq!(counts, gs.total_counts(), "every event count");
        prop_assert_eq!(cc, gs.chip, "barriers, grid updates, packets, cycles");
        let e_fast = core_cost(&counts, &cc, &chip);
        let e_general = energy_so_far(&sim, &gs);
        prop_assert_eq!(e_fast.energy_pj, e_general, "energy");
    }
}

#[test]
fn images_the_backend_cannot_run_are_refused_with_every_reason() {
    let c = Case {
        net: EpropNetwork {
            lif: 4,
            alif: 4,
            side: 3,
            ..EpropNetwork::cue_accumulation()
        },
        input_gain: 1.0,
        format: GridFormat::Q8_24,
        rate_permille: 200,
        seed: 1,
    };
    let (chip, mut image) = compile(&c);
    assert!(EpropCore::from_image(&image, &chip).is_ok());
    // A Zero-reset neuron and a second input port.
    if let amine_chip::neuron::NeuronParams::Alif(p) = &mut image.cores[0].profiles[0] {
        p.reset = amine_chip::neuron::alif::Reset::Zero;
    }
    let mut port = image.inputs[0].clone();
    port.name = "y".into();
    image.inputs.push(port);
    let e = EpropCore::from_image(&image, &chip)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("SubtractBase") && e.contains("exactly one input port"),
        "{e}"
    );
    // An image without an e-prop section.
    image.eprop = None;
    let e = EpropCore::from_image(&image, &chip)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no e-prop section"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// The AVX-512 build of a trial (group neuron step, wide row body) equals the
    /// portable one: results, counts, traces, gradients and weights after an update.
    /// Skipped, saying so, on a CPU without AVX-512 F/DQ/VL/BW.
    #[test]
    fn wide_and_portable_builds_agree(c in case()) {
        let (chip, image) = compile(&c);
        let mut wide = EpropCore::from_image(&image, &chip).unwrap();
        let mut ws = EpropState::new(&wide);
        if !ws.wide() {
            eprintln!("wide_and_portable_builds_agree: skipped, no AVX-512 on this CPU");
            return Ok(());
        }
        let mut port = wide.clone();
        let mut ps = EpropState::new(&port);
        ps.set_wide(false);
        for (k, t) in trials(&c, 4).iter().enumerate() {
            let learn = k < 3;
            let data = TrialData { steps: c.net.trial_steps as usize, spike_start: &t.start, spikes: &t.spikes, target: target(&c, t) };
            let a = wide.run_trial(&mut ws, &data, learn);
            let b = port.run_trial(&mut ps, &data, learn);
            prop_assert_eq!(a, b);
            prop_assert_eq!(ws.traces(), ps.traces());
            prop_assert_eq!(&ws.g, &ps.g);
            if k == 1 {
                prop_assert_eq!(wide.apply(&mut ws), port.apply(&mut ps));
                prop_assert_eq!(wide.weights(), port.weights());
            }
        }
    }
}
