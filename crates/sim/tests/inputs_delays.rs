//! Inputs (Bernoulli statistics, Poisson, explicit trains, CSV files), synaptic delays,
//! graded packets, the modulator grid, and bad images.

mod common;
use amine_chip::config::NeuronModelKind;
use amine_chip::image::{InputSource, ModSource};
use amine_chip::neuron::graded::{GradedParams, SigmoidTable};
use amine_chip::neuron::NeuronParams;
use amine_sim::{parse_csv, ErrorKind, SimOptions, Simulator};
use common::{lif, tiny, Builder};

/// `size` inputs, each with one synapse onto one compartment of core 0.
fn port_image(size: u32, source: InputSource) -> amine_chip::image::ChipImage {
    let mut b = Builder::new(tiny());
    b.neurons(0, 1, lif(4095, 4095, 131_071, 0));
    let r = b.row(0, &[(0, 1)]);
    let port = b.input("in", size, source, (0, 0));
    for i in 0..size {
        b.connect_input(port, i, 0, r);
    }
    b.build()
}

fn input_spikes(image: &amine_chip::image::ChipImage, steps: u32) -> u64 {
    let mut sim = Simulator::new(
        &tiny(),
        image,
        SimOptions {
            steps,
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut state = sim.initial_state();
    sim.run(&mut state, |_, _| {});
    state.inputs.spike_out
}

#[test]
fn bernoulli_inputs_spike_at_their_probability() {
    // 100 inputs × 1,000 steps at p = 0.1: mean 10,000, σ ≈ 95; allow 5σ.
    let n = input_spikes(
        &port_image(100, InputSource::Bernoulli { p: 0.1, seed: 11 }),
        1000,
    );
    assert!((n as f64 - 10_000.0).abs() < 475.0, "{n}");
    // Another seed gives another train with the same statistics.
    let m = input_spikes(
        &port_image(100, InputSource::Bernoulli { p: 0.1, seed: 12 }),
        1000,
    );
    assert_ne!(n, m);
    assert!((m as f64 - 10_000.0).abs() < 475.0, "{m}");
    assert_eq!(
        input_spikes(
            &port_image(10, InputSource::Bernoulli { p: 0.0, seed: 1 }),
            100
        ),
        0
    );
    assert_eq!(
        input_spikes(
            &port_image(10, InputSource::Bernoulli { p: 1.0, seed: 1 }),
            100
        ),
        1000
    );
}

#[test]
fn poisson_inputs_use_one_minus_exp_rate_dt() {
    // 50 Hz at 2 ms: p = 1 − e^(−0.1) ≈ 0.0952; 100 × 1,000 draws: mean 9,516, σ ≈ 93.
    let n = input_spikes(
        &port_image(
            100,
            InputSource::Poisson {
                rate_hz: 50.0,
                dt_s: 0.002,
                seed: 3,
            },
        ),
        1000,
    );
    assert!((n as f64 - 9_516.0).abs() < 465.0, "{n}");
}

#[test]
fn explicit_spikes_act_in_the_next_step() {
    let image = port_image(
        3,
        InputSource::Explicit {
            spikes: vec![(2, 0), (2, 2), (5, 1)],
        },
    );
    let mut sim = Simulator::new(&tiny(), &image, SimOptions::default()).unwrap();
    let mut state = sim.initial_state();
    let mut u = vec![];
    for _ in 0..8 {
        sim.step(&mut state);
        u.push(state.cores[0].u[0]);
    }
    // du = 4095: u is exactly this step's input, a weight of 1 is 64 per spike.
    assert_eq!(u, vec![0, 0, 0, 128, 0, 0, 64, 0]);
}

#[test]
fn delayed_synapses_act_after_their_delay() {
    let mut b = Builder::new(tiny());
    b.neurons(0, 5, lif(4095, 4095, 131_071, 0));
    let delays = [0u8, 1, 2, 3, 15];
    let syn: Vec<(u32, i32, u8)> = delays
        .iter()
        .enumerate()
        .map(|(i, &d)| (i as u32, 1 + i as i32, d))
        .collect();
    let r = b.row_exp(0, 0, &syn);
    let port = b.input(
        "in",
        1,
        InputSource::Explicit {
            spikes: vec![(3, 0), (30, 0)],
        },
        (1, 1),
    );
    b.connect_input(port, 0, 0, r);
    let image = b.build();
    let mut sim = Simulator::new(&tiny(), &image, SimOptions::default()).unwrap();
    let mut state = sim.initial_state();
    let mut seen = vec![vec![]; 5];
    for step in 0..60u32 {
        sim.step(&mut state);
        for (c, s) in seen.iter_mut().enumerate() {
            if state.cores[0].u[c] != 0 {
                assert_eq!(state.cores[0].u[c], (1 + c as i32) << 6);
                s.push(step);
            }
        }
    }
    for (c, &d) in delays.iter().enumerate() {
        assert_eq!(seen[c], vec![4 + d as u32, 31 + d as u32], "delay {d}");
    }
}

#[test]
fn graded_units_send_their_payload_every_step() {
    let chip = tiny();
    let mut b = Builder::new(chip.clone());
    // A graded unit with a constant bias: a constant non-zero payload.
    let table = SigmoidTable::logistic(1000.0, 4.0, 64, 8);
    let g = GradedParams {
        du: 4095,
        bias: 700,
        table: table.clone(),
        event_driven: false,
        centring: None,
    };
    b.neurons(2, 1, NeuronParams::Graded(g));
    b.neurons(5, 1, lif(4095, 4095, 131_071, 0));
    let r = b.row_exp(5, -3, &[(0, 3, 0)]);
    b.connect(2, 0, 5, r);
    b.population("g", NeuronModelKind::Graded, &[(2, 0, 1)]);
    let image = b.build();
    let payload = table.lookup(700) as i32;
    assert!(payload > 0);
    let mut sim = Simulator::new(
        &chip,
        &image,
        SimOptions {
            steps: 10,
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    // Effective weight 3 << 3 = 24, times the payload, from step 1 on.
    assert_eq!(state.cores[1].u[0], 24 * payload);
    assert_eq!(state.cores[0].counts.spike_out, 10);
    assert_eq!(state.chip.packets, 10);
    assert_eq!(
        outcome.spike_counts,
        vec![0],
        "graded payloads are not spikes"
    );
}

#[test]
fn modulator_sources_inject_into_the_grid() {
    let chip = tiny();
    let mut b = Builder::new(chip.clone());
    b.neurons(0, 1, lif(4095, 0, 20, 300)); // spikes every few steps
    b.modulator.sources.push(ModSource {
        core: 0,
        compartment: 0,
        channel: 1,
        gain: 0.5,
        cell: (3, 4),
        region: None,
    });
    let image = b.build();
    let steps = 30;
    let mut sim = Simulator::new(
        &chip,
        &image,
        SimOptions {
            steps,
            ..SimOptions::default()
        },
    )
    .unwrap();
    assert!(sim.grid_runs());
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    let spikes = state.cores[0].counts.neuron_active; // all active (bias)
    assert_eq!(spikes, steps as u64);
    let grid = state.grid.as_ref().unwrap();
    let cells = grid.cell_updates_per_step();
    assert_eq!(state.chip.modulator_cell_update, cells * steps as u64);
    // Decay 0 and a reflecting boundary conserve mass: 0.5 per spike in channel 1.
    let report = amine_sim::RunReport::new(&sim, &state, &outcome);
    assert_eq!(
        report.energy.per_core[0].counts.spike_out, 0,
        "no fan-out, no packets"
    );
    let mass = grid.to_f64(grid.total_bits(1).unwrap() as i32);
    assert!(
        mass > 0.0 && (mass * 2.0).fract().abs() < 1e-6,
        "mass {mass}"
    );
    assert_eq!(
        report.energy.components.modulator,
        (cells * steps as u64) as f64 * chip.costs.modulator_cell_update.energy_pj
    );
    // Every step pays the grid's cycles.
    for s in &outcome.steps {
        assert!(s.cycles >= cells * chip.costs.modulator_cell_update.cycles);
    }
}

#[test]
fn foreign_and_corrupt_images_are_errors() {
    let image = port_image(2, InputSource::Bernoulli { p: 0.5, seed: 1 });
    let loihi = amine_chip::presets::preset("loihi").unwrap();
    let err = Simulator::new(&loihi, &image, SimOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Image { .. }));
    assert!(err.to_string().contains("the image's chip `tiny`"), "{err}");

    let mut bad = image.clone();
    bad.inputs[0].fanout[0].axon = 99;
    let err = Simulator::new(&tiny(), &bad, SimOptions::default()).unwrap_err();
    assert!(err.to_string().contains("axon 99"), "{err}");

    let mut bad = image;
    bad.cores[0].compartments[0] = 7;
    assert!(Simulator::new(&tiny(), &bad, SimOptions::default()).is_err());
}

#[test]
fn input_csv_is_parsed_and_checked() {
    let image = port_image(4, InputSource::External);
    let ok = parse_csv(
        "step,index\n0,1\n# comment\n\n3, 2\n0,1\n",
        "in.csv",
        &image,
        10,
    )
    .unwrap();
    assert_eq!(ok.per_port[0], vec![(0, 1), (3, 2)]);
    let mut sim = Simulator::new(
        &tiny(),
        &image,
        SimOptions {
            steps: 10,
            ..SimOptions::default()
        },
    )
    .unwrap()
    .with_external(ok)
    .unwrap();
    let mut state = sim.initial_state();
    sim.run(&mut state, |_, _| {});
    assert_eq!(state.inputs.spike_out, 2);

    let err = |text: &str| {
        parse_csv(text, "in.csv", &image, 10)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("0,1\n2,4\n"),
        "in.csv:2:3: index 4 is out of range: input port `in` has 4 inputs (0..4)"
    );
    assert_eq!(
        err("0,1\n10,0\n"),
        "in.csv:2:1: step 10 is not below --steps 10"
    );
    assert_eq!(
        err("0,x\n"),
        "in.csv:1:3: index `x` is not a non-negative integer"
    );
    assert!(err("1\n").starts_with("in.csv:1:1: expected `step,index`"));
    let generated = port_image(4, InputSource::Bernoulli { p: 0.1, seed: 1 });
    assert!(parse_csv("0,1\n", "in.csv", &generated, 10).is_err());
}
