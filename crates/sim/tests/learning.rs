//! On-chip learning: the simulator runs the learning engine on plastic rows, in the
//! chip's fixed-point arithmetic: STDP window shape, R-STDP without reward, Dale's
//! principle, learning energy and latency, and determinism across thread counts.

mod common;
use amine_chip::config::ChipConfig;
use amine_chip::image::{ChipImage, InputSource, LearningSlot, PlasticRow};
use amine_chip::learning::traces::{default_traces, step as trace_step};
use amine_chip::learning::{assemble, named_rule, Limits};
use amine_chip::synapse::{SignMode, Synapse, SynapseMemory};
use amine_sim::{RunReport, SimOptions, SimState, Simulator};
use common::{lif, tiny, Builder};

fn slot(chip: &ChipConfig, text: &str, epoch: u32) -> LearningSlot {
    let microcode = assemble(text, &Limits::of(chip)).expect("rule assembles");
    let [x1, x2, y1, y2, y3] = default_traces(None, None);
    LearningSlot {
        projection: "pre->post".into(),
        rule: text.into(),
        params: vec![],
        epoch,
        microcode,
        x1,
        x2,
        y1,
        y2,
        y3,
        seed: 7,
        renormalise: false,
        eprop: None,
    }
}

/// Rebuild core `k`'s synapse memory with row `row` given `sign`, `tag_bits` and
/// `mantissas` (same targets).
fn reformat(
    image: &mut ChipImage,
    k: usize,
    row: u32,
    sign: SignMode,
    tag_bits: u8,
    mantissas: &[i32],
) {
    let old = &image.cores[k].synapses;
    let mut mem = SynapseMemory::new(old.word_bits(), old.capacity_bits());
    for (r, info) in old.rows().iter().enumerate() {
        let mut format = info.format;
        let mut syn: Vec<Synapse> = old.row_synapses(r as u32).collect();
        if r as u32 == row {
            format.sign = sign;
            format.tag_bits = tag_bits;
            for (s, &m) in syn.iter_mut().zip(mantissas) {
                s.weight = m;
            }
        }
        mem.push_row(format, info.exponent, &syn).unwrap();
    }
    image.cores[k].synapses = mem;
}

/// One post LIF on core 0 (compartment 0, threshold 64,000). Row 0 (plastic, mantissa
/// 100, exponent 0) carries input `pre`; row 1 (weight 255 << 13) carries input
/// `drive`, which makes the post neuron spike one step after each drive spike.
fn pair_image(pre: &[u32], drive: &[u32], rule: &str, epoch: u32) -> ChipImage {
    let chip = tiny();
    let mut b = Builder::new(chip.clone());
    b.neurons(0, 1, lif(4095, 4095, 1000, 0));
    let r_pre = b.row_exp(0, 0, &[(0, 100, 0)]);
    let r_drive = b.row_exp(0, 7, &[(0, 255, 0)]);
    let explicit = |steps: &[u32]| InputSource::Explicit {
        spikes: steps.iter().map(|&s| (s, 0)).collect(),
    };
    let p = b.input("pre", 1, explicit(pre), (0, 0));
    b.connect_input(p, 0, 0, r_pre);
    let d = b.input("drive", 1, explicit(drive), (0, 0));
    b.connect_input(d, 0, 0, r_drive);
    let mut image = b.build();
    image.cores[0].plastic_rows = vec![PlasticRow {
        row: r_pre,
        slot: 0,
    }];
    image.learning = vec![slot(&chip, rule, epoch)];
    assert!(image.verify(&chip).is_empty());
    image
}

fn run(
    image: &ChipImage,
    steps: u32,
    threads: usize,
) -> (Simulator, SimState, amine_sim::RunOutcome) {
    let mut sim = Simulator::new(
        &tiny(),
        image,
        SimOptions {
            steps,
            threads,
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    (sim, state, outcome)
}

/// Δw of the pre row after one pre spike at step 30 and one post spike at 30 + dt.
/// A one-thread simulator of `image`, stepped by hand, and its initial state.
fn stepper(chip: &ChipConfig, image: &ChipImage) -> (Simulator, amine_sim::SimState) {
    let options = SimOptions {
        steps: 1,
        ..SimOptions::default()
    };
    let sim = Simulator::new(chip, image, options).unwrap();
    let state = sim.initial_state();
    (sim, state)
}

fn pair_dw(dt: i32) -> i32 {
    let post = (30 + dt) as u32;
    let image = pair_image(&[30], &[post - 1], "dw = x1*y0 - y1*x0", 1);
    let (_, state, _) = run(&image, 60, 1);
    state.cores[0].plastic[0].mantissas[0] - 100
}

#[test]
fn stdp_pair_window_has_the_right_sign_and_shape() {
    // A trace `after` steps after its spike, in the chip's fixed point.
    let [x1, _, y1, _, _] = default_traces(None, None);
    let trace = |p, after: i32| {
        let mut x = trace_step(0, true, p, 7);
        for _ in 0..after {
            x = trace_step(x, false, p, 7);
        }
        x as i32
    };
    let mut last = (i32::MAX, i32::MAX);
    for dt in 1..=20 {
        let (ltp, ltd) = (pair_dw(dt), pair_dw(-dt));
        // Exactly the trace read by the rule: potentiation by x1, depression by y1.
        assert_eq!(ltp, trace(x1, dt), "Δt = +{dt}");
        assert_eq!(ltd, -trace(y1, dt), "Δt = -{dt}");
        assert!(ltp > 0 && ltd < 0, "Δt = ±{dt}: {ltp} {ltd}");
        assert!(ltp <= last.0 && -ltd <= last.1, "decays with |Δt|");
        last = (ltp, -ltd);
    }
    assert!(pair_dw(1) > pair_dw(20) && pair_dw(-1) < pair_dw(-20));
    // Far apart, nothing changes.
    assert_eq!(pair_dw(200 - 30), 0);
}

#[test]
fn stdp_named_rule_rounds_stochastically_but_keeps_the_sign() {
    let text = named_rule("stdp", &Default::default()).unwrap().unwrap();
    for dt in [1, 3, 8] {
        let post = 30 + dt;
        let ltp = pair_image(&[30], &[post - 1], &text, 1);
        let ltd = pair_image(&[post], &[29], &text, 1);
        let w = |im: &ChipImage| run(im, 60, 1).1.cores[0].plastic[0].mantissas[0] - 100;
        // 2^-4 · trace ≤ 2: rounds to 1 or 2 (up or down), never the wrong sign.
        assert!((1..=2).contains(&w(&ltp)), "{}", w(&ltp));
        assert!((-2..=-1).contains(&w(&ltd)), "{}", w(&ltd));
    }
}

#[test]
fn r_stdp_without_reward_changes_tags_not_weights() {
    let params = [("a_plus".to_string(), 1.0), ("a_minus".to_string(), 1.0)].into();
    let text = named_rule("r_stdp", &params).unwrap().unwrap();
    let mut image = pair_image(&[30, 50], &[33, 45], &text, 1);
    reformat(&mut image, 0, 0, SignMode::Signed, 8, &[100]);
    let (_, state, _) = run(&image, 40, 1);
    let row = &state.cores[0].plastic[0];
    assert_eq!(row.mantissas, vec![100], "no modulator, no weight change");
    assert_ne!(row.tags, vec![0], "the tag saw the pairing");
    assert!(row.tags[0] > 0, "pre before post: positive eligibility");
    assert!(state.total_counts().synaptic_update > 0);
}

#[test]
fn dale_rows_never_change_sign() {
    let chip = tiny();
    let mut b = Builder::new(chip.clone());
    b.neurons(0, 2, lif(4095, 4095, 1000, 0));
    let exc = b.row_exp(0, 0, &[(0, 0, 0), (1, 0, 0)]);
    let inh = b.row_exp(0, 0, &[(0, 0, 0), (1, 0, 0)]);
    let p = b.input("pre", 2, InputSource::Bernoulli { p: 0.5, seed: 3 }, (0, 0));
    b.connect_input(p, 0, 0, exc);
    b.connect_input(p, 1, 0, inh);
    let mut image = b.build();
    reformat(&mut image, 0, exc, SignMode::Excitatory, 0, &[20, 3]);
    reformat(&mut image, 0, inh, SignMode::Inhibitory, 0, &[-20, -3]);
    image.cores[0].plastic_rows = vec![
        PlasticRow { row: exc, slot: 0 },
        PlasticRow { row: inh, slot: 0 },
    ];
    // Pushes every weight toward (and past) zero by 5 units per epoch.
    image.learning = vec![slot(&chip, "dw = -5*sgn", 2)];
    let (mut sim, mut state) = stepper(&chip, &image);
    let mut seen_exc = vec![];
    for _ in 0..20 {
        sim.step(&mut state);
        let (e, i) = (&state.cores[0].plastic[0], &state.cores[0].plastic[1]);
        assert!(e.mantissas.iter().all(|&m| m >= 0), "{:?}", e.mantissas);
        assert!(i.mantissas.iter().all(|&m| m <= 0), "{:?}", i.mantissas);
        seen_exc.push(e.mantissas[0]);
    }
    assert_eq!(
        seen_exc[..4],
        [20, 15, 15, 10],
        "one update per 2-step epoch"
    );
    assert_eq!(state.cores[0].plastic[0].mantissas, vec![0, 0]);
    assert_eq!(state.cores[0].plastic[1].mantissas, vec![0, 0]);
    assert_eq!(state.cores[0].plastic[1].weights, vec![0, 0]);
}

#[test]
fn learning_energy_and_latency_are_counted_updates_times_cost() {
    let image = pair_image(&[5, 30, 31, 60], &[10, 29, 70], "dw = x1*y0 - y1*x0", 1);
    let steps = 100;
    let (sim, state, outcome) = run(&image, steps, 1);
    let c = state.total_counts();
    // The rule reads x1 and y1 only, so the engine keeps those two: one plastic row's
    // x1 and one target compartment's y1, every step.
    assert_eq!(c.trace_update, 2 * steps as u64);
    assert!(c.synaptic_update > 0);
    let costs = &tiny().costs;
    let report = RunReport::new(&sim, &state, &outcome);
    assert_eq!(
        report.energy.components.learning,
        c.synaptic_update as f64 * costs.synaptic_update.energy_pj
            + c.trace_update as f64 * costs.trace_update.energy_pj
    );
    // The same image without learning: the only core is busy for exactly the engine's
    // cycles less.
    let mut frozen = image.clone();
    frozen.cores[0].plastic_rows.clear();
    frozen.learning.clear();
    let (_, still, _) = run(&frozen, steps, 1);
    assert_eq!(still.total_counts().synaptic_update, 0);
    assert_eq!(still.total_counts().trace_update, 0);
    let engine = c.synaptic_update * costs.synaptic_update.cycles
        + c.trace_update * costs.trace_update.cycles;
    assert_eq!(state.chip.cycles - still.chip.cycles, engine);
    // Latency reports it as its own part: per step on the critical core, and its mean.
    assert_eq!(state.chip.learning_cycles, engine);
    assert_eq!(
        outcome.steps.iter().map(|s| s.learning).sum::<u64>(),
        engine
    );
    assert_eq!(
        report.latency.learning_mean_cycles,
        engine as f64 / steps as f64
    );
    assert!(report.summary().contains("learning (mean)"));
    assert_eq!(still.chip.learning_cycles, 0);
}

#[test]
fn learning_is_identical_for_1_2_and_8_threads() {
    let chip = tiny();
    for (seed, delays, graded) in [(1, false, false), (3, true, true)] {
        let mut image = common::random_network(seed, delays, graded);
        for core in &mut image.cores {
            let rows = core.synapses.rows().len() as u32;
            core.plastic_rows = (0..rows)
                .map(|row| PlasticRow {
                    row,
                    slot: (row % 2) as u16,
                })
                .collect();
        }
        let stdp = named_rule("stdp", &Default::default()).unwrap().unwrap();
        image.learning = vec![
            slot(&chip, &stdp, 1),
            slot(&chip, "dw = 2^-3*x1*y0 - 2^-3*y1*x0 - 2^-6*w*y2", 4),
        ];
        let (_, s1, o1) = run(&image, 150, 1);
        let changed = s1
            .cores
            .iter()
            .flat_map(|c| c.plastic.iter())
            .filter(|p| p.weights.iter().any(|&w| w != 0))
            .count();
        assert!(changed > 0);
        let initial = Simulator::new(&chip, &image, SimOptions::default())
            .unwrap()
            .initial_state();
        assert_ne!(s1, initial);
        assert!(s1.total_counts().synaptic_update > 0);
        let moved = s1.cores.iter().zip(&initial.cores).any(|(a, b)| {
            a.plastic
                .iter()
                .zip(&b.plastic)
                .any(|(x, y)| x.mantissas != y.mantissas)
        });
        assert!(moved, "seed {seed}: no weight moved");
        for threads in [2, 8] {
            let (_, s, o) = run(&image, 150, threads);
            assert_eq!(s, s1, "seed {seed}, {threads} threads");
            assert_eq!(o, o1);
        }
    }
}

#[test]
fn delivery_adds_the_learned_weight() {
    // Pair at Δt = +3 (potentiation by x1), then a lone pre spike at 55: the post
    // compartment's current in step 56 is the learned weight (u = input, du = 4095).
    let [x1, _, _, _, _] = default_traces(None, None);
    let mut x = trace_step(0, true, x1, 7);
    for _ in 0..3 {
        x = trace_step(x, false, x1, 7);
    }
    let image = pair_image(&[30, 55], &[32], "dw = x1*y0 - y1*x0", 1);
    let (_, state, _) = run(&image, 57, 1);
    let learned = 100 + x as i32;
    assert_eq!(
        state.cores[0].u[0],
        amine_chip::synapse::effective_weight(learned, 0)
    );
    // The lone pre spike then depressed the row by the (decayed) post trace.
    let row = &state.cores[0].plastic[0];
    assert!(row.mantissas[0] < learned);
    assert_eq!(row.weights[0], row.mantissas[0] << 6);
}

#[test]
fn r_stdp_with_reward_moves_weights_by_the_sign_of_the_tag() {
    // A bias-driven compartment on core 0 injects reward into channel 0 at the cell
    // under core 0's tile, which the post compartment reads.
    let params = [("a_plus".to_string(), 1.0), ("a_minus".to_string(), 1.0)].into();
    let text = named_rule("r_stdp", &params).unwrap().unwrap();
    let chip = tiny();
    let cell = (
        (0.25 * chip.modulator.width as f64) as u32,
        (0.25 * chip.modulator.height as f64) as u32,
    );
    let build = |pre: &[u32], drive: &[u32]| {
        let mut b = Builder::new(chip.clone());
        b.neurons(0, 1, lif(4095, 4095, 1000, 0));
        b.neurons(0, 1, lif(4095, 0, 10, 100));
        let r_pre = b.row_exp(0, 0, &[(0, 100, 0)]);
        let r_drive = b.row_exp(0, 7, &[(0, 255, 0)]);
        let explicit = |steps: &[u32]| InputSource::Explicit {
            spikes: steps.iter().map(|&s| (s, 0)).collect(),
        };
        let p = b.input("pre", 1, explicit(pre), (0, 0));
        b.connect_input(p, 0, 0, r_pre);
        let d = b.input("drive", 1, explicit(drive), (0, 0));
        b.connect_input(d, 0, 0, r_drive);
        b.modulator.sources.push(amine_chip::image::ModSource {
            core: 0,
            compartment: 1,
            channel: 0,
            gain: 1.0,
            cell,
            region: None,
        });
        let mut image = b.build();
        reformat(&mut image, 0, r_pre, SignMode::Signed, 8, &[100]);
        image.cores[0].plastic_rows = vec![PlasticRow {
            row: r_pre,
            slot: 0,
        }];
        image.learning = vec![slot(&chip, &text, 1)];
        image
    };
    // Pre before post: positive tag, reward potentiates.
    let (_, s, _) = run(&build(&[30], &[33]), 45, 1);
    let row = &s.cores[0].plastic[0];
    assert!(
        row.mantissas[0] > 100,
        "{:?} tags {:?}",
        row.mantissas,
        row.tags
    );
    // Post before pre: negative tag, reward depresses.
    let (_, s, _) = run(&build(&[34], &[29]), 45, 1);
    let row = &s.cores[0].plastic[0];
    assert!(
        row.mantissas[0] < 100,
        "{:?} tags {:?}",
        row.mantissas,
        row.tags
    );
}

#[test]
fn pre_is_the_payload_of_the_current_epoch_only() {
    // A graded unit (compartment 1, no memory, 0 at rest: a zero value sends nothing)
    // sends its full payload the step after each drive spike, through the plastic row
    // (mantissa 100, target compartment 0); the rule adds 8·pre per 10-step epoch.
    use amine_chip::neuron::graded::{GradedParams, SigmoidTable};
    use amine_chip::neuron::NeuronParams;
    let chip = tiny();
    let build = |drive: &[u32]| {
        let mut b = Builder::new(chip.clone());
        b.neurons(0, 1, lif(4095, 4095, 1000, 0));
        let graded = b.neurons(
            0,
            1,
            NeuronParams::Graded(GradedParams {
                du: 4095,
                bias: 0,
                table: SigmoidTable::logistic(0.0, 4.0, 64, 8),
                event_driven: false,
                centring: None,
            }),
        );
        let r_pre = b.row_exp(0, 0, &[(0, 100, 0)]);
        let r_drive = b.row_exp(0, 0, &[(graded, 1, 0)]);
        b.connect(0, graded, 0, r_pre);
        let d = b.input(
            "drive",
            1,
            InputSource::Explicit {
                spikes: drive.iter().map(|&s| (s, 0)).collect(),
            },
            (0, 0),
        );
        b.connect_input(d, 0, 0, r_drive);
        let mut image = b.build();
        image.cores[0].plastic_rows = vec![PlasticRow {
            row: r_pre,
            slot: 0,
        }];
        image.learning = vec![slot(&chip, "dw = 8*pre", 10)];
        assert!(image.verify(&chip).is_empty());
        image
    };
    // The mantissa at the end of epochs 1 and 2 (steps 9 and 19).
    let epochs = |drive: &[u32]| {
        let image = build(drive);
        let (mut sim, mut state) = stepper(&chip, &image);
        let mut ends = vec![];
        for step in 0..20 {
            sim.step(&mut state);
            let row = &state.cores[0].plastic[0];
            if step % 10 == 9 {
                ends.push(row.mantissas[0]);
                assert_eq!(row.payload, 0, "cleared at the end of the epoch");
            }
        }
        ends
    };
    // Payload 255/256 in epoch 1: Δw = 8·255/256 → +7 or +8. Nothing in epoch 2: the
    // payload of epoch 1 is not read again.
    let once = epochs(&[3]);
    assert!((107..=108).contains(&once[0]), "{once:?}");
    assert_eq!(once[1], once[0], "no packet in epoch 2, no update");
    // A source that sends in both epochs learns in both.
    let twice = epochs(&[3, 13]);
    assert_eq!(twice[0], once[0]);
    assert!((7..=8).contains(&(twice[1] - twice[0])), "{twice:?}");
}
