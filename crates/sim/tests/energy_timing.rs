//! Hand-counted energy and latency on the tiny chip, and the cycle-mode NoC cases:
//! two packets contending for one link, and a network without traffic.

mod common;
use amine_chip::config::NeuronModelKind;
use amine_chip::image::InputSource;
use amine_sim::{Components, Counts, RunReport, SimOptions, Simulator, Timing};
use common::{lif, tiny, Builder};

fn run(
    image: &amine_chip::image::ChipImage,
    timing: Timing,
    steps: u32,
) -> (amine_sim::SimState, amine_sim::RunOutcome, RunReport) {
    run_on(&tiny(), image, timing, steps)
}

fn run_on(
    chip: &amine_chip::ChipConfig,
    image: &amine_chip::image::ChipImage,
    timing: Timing,
    steps: u32,
) -> (amine_sim::SimState, amine_sim::RunOutcome, RunReport) {
    let mut sim = Simulator::new(
        chip,
        image,
        SimOptions {
            timing,
            steps,
            ..SimOptions::default()
        },
    )
    .unwrap();
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    let report = RunReport::new(&sim, &state, &outcome);
    (state, outcome, report)
}

/// Input → core 0 (a, b) at tile (0,0); a → core 6 (c) at tile (1,1).
/// u = input (du = 4095), v ≈ u (dv = 4095), threshold 64: one weight of 2 (128) spikes.
fn hand_network() -> amine_chip::image::ChipImage {
    hand_network_on(tiny())
}

fn hand_network_on(chip: amine_chip::ChipConfig) -> amine_chip::image::ChipImage {
    let mut b = Builder::new(chip);
    let p = lif(4095, 4095, 1, 0);
    b.neurons(0, 2, p.clone());
    b.neurons(6, 1, p);
    let ax = b.row(0, &[(0, 2), (1, 2)]);
    let cx = b.row(6, &[(0, 2)]);
    b.connect(0, 0, 6, cx);
    let port = b.input(
        "in",
        1,
        InputSource::Explicit {
            spikes: vec![(0, 0)],
        },
        (0, 0),
    );
    b.connect_input(port, 0, 0, ax);
    b.population("ab", NeuronModelKind::Lif, &[(0, 0, 2)]);
    b.population("c", NeuronModelKind::Lif, &[(6, 0, 1)]);
    b.build()
}

#[test]
fn energy_of_a_hand_counted_network_is_exact() {
    for timing in [Timing::Analytic, Timing::Cycle] {
        let (state, outcome, report) = run(&hand_network(), timing, 4);
        // Step 0: all idle; the input packet is delivered to core 0 (2 synapses, 1 word).
        // Step 1: a, b active and spike; a's packet goes 1 E-W + 1 N-S hop to core 6.
        // Step 2: a, b active (u decays to 0); c active, spikes (no fan-out).
        // Step 3: a, b idle; c active (u decays to 0).
        let core0 = Counts {
            axon_in: 1,
            synapse_word_read: 1,
            synaptic_op: 2,
            dendrite_accumulate: 2,
            neuron_active: 4,
            neuron_idle: 4,
            neuron_spike: 2,
            spike_out: 1,
            hop_ew: 1,
            hop_ns: 1,
            ..Counts::default()
        };
        let core6 = Counts {
            axon_in: 1,
            synapse_word_read: 1,
            synaptic_op: 1,
            dendrite_accumulate: 1,
            neuron_active: 2,
            neuron_idle: 2,
            neuron_spike: 1,
            ..Counts::default()
        };
        assert_eq!(state.cores[0].counts, core0, "{timing}");
        assert_eq!(state.cores[1].counts, core6, "{timing}");
        assert_eq!(
            state.inputs,
            Counts {
                spike_out: 1,
                ..Counts::default()
            }
        );
        assert_eq!(outcome.spike_counts, vec![2, 1]);

        // Latency (tiny: 1 GHz; barrier over 2 tiles = 20 + (50 − 20)/3 = 30 cycles):
        // step 0: core 0 idle 2×5 = 10, then the input packet's work 2 + 4 + 2×(5+1) = 18 → 28
        // step 1: core 6 idle 5; a's packet leaves core 0 at 2×8 + 2 = 18, arrives after
        //         4 + 6 = 10 cycles at 28, work 2 + 4 + 6 = 12 → 40
        // step 2: core 0 active 2×8 = 16; step 3: core 0 idle 10 (core 6: 8).
        let cycles: Vec<u64> = outcome.steps.iter().map(|s| s.cycles).collect();
        assert_eq!(cycles, vec![58, 70, 46, 40], "{timing}");
        assert_eq!(outcome.steps[1].critical_core, Some(6));
        assert_eq!(state.chip.cycles, 214);

        // Each component is exactly the counted events × the configured cost.
        let c = &tiny().costs;
        let e = &report.energy.components;
        assert_eq!(
            e.synapse,
            2.0 * c.axon_in.energy_pj
                + 2.0 * c.synapse_word_read.energy_pj
                + 3.0 * c.synaptic_op.energy_pj
        );
        assert_eq!(e.synapse, 15.0);
        assert_eq!(e.dendrite, 3.0 * c.dendrite_accumulate.energy_pj);
        assert_eq!(
            e.neuron,
            6.0 * c.neuron_active.energy_pj + 6.0 * c.neuron_idle.energy_pj
        );
        assert_eq!(e.neuron, 78.0);
        let barrier = c.barrier.for_tiles(2).energy_pj;
        assert_eq!(barrier, 20.0);
        assert_eq!(
            e.noc,
            2.0 * c.spike_out.energy_pj + c.hop_ew.energy_pj + c.hop_ns.energy_pj + 4.0 * barrier
        );
        assert_eq!(e.modulator, 0.0);
        assert_eq!(e.learning, 0.0);
        // Static: (8 cores × 0.1 + 4 routers × 0.05 + grid 0.02) mW × 214 ns = 218.28 pJ.
        assert!((e.static_ - 218.28).abs() < 1e-9, "{}", e.static_);
        assert_eq!(report.energy.total_pj, e.total());
        // Per-core energies plus the input ports, barrier and static add up to the total.
        let per_core: f64 = report.energy.per_core.iter().map(|c| c.total_pj).sum();
        let sum = per_core + report.energy.input_ports_pj + report.energy.barrier_pj + e.static_;
        assert!((sum - report.energy.total_pj).abs() < 1e-9);
        assert_eq!(
            report.energy.per_core[0].components,
            Components {
                synapse: 1.0 + 2.0 + 6.0,
                dendrite: 1.0,
                neuron: 52.0,
                noc: 1.0 + 2.0 + 3.0,
                ..Components::default()
            }
        );
    }
}

/// The hand-counted network on a chip that prices its soma the three-part way (an access
/// per compartment, an update per active one, a cost per spike) and charges nothing for
/// the two-rate events: energy and step latencies by hand.
#[test]
fn three_part_soma_costs_are_exact() {
    let mut chip = tiny();
    let cost = |energy_pj: f64, cycles: u64| amine_chip::config::Cost { energy_pj, cycles };
    chip.costs.neuron_active = cost(0.0, 0);
    chip.costs.neuron_idle = cost(0.0, 0);
    chip.costs.neuron_access = cost(2.0, 3);
    chip.costs.neuron_update = cost(5.0, 7);
    chip.costs.neuron_spike = cost(11.0, 13);
    let image = hand_network_on(chip.clone());
    for timing in [Timing::Analytic, Timing::Cycle] {
        let (state, outcome, report) = run_on(&chip, &image, timing, 4);
        // 12 compartment updates, 6 of them active; a, b (step 1) and c (step 2) spike.
        let t = state.total_counts();
        assert_eq!((t.neuron_active, t.neuron_idle, t.neuron_spike), (6, 6, 3));
        assert_eq!(
            report.energy.components.neuron,
            12.0 * 2.0 + 6.0 * 5.0 + 3.0 * 11.0
        );
        // Barrier over 2 tiles: 30 cycles.
        // step 0: core 0 accesses 2 × 3 = 6, then the input packet's work 18 → 24;
        // step 1: core 0 updates a, b (2 × (3 + 7)) and both spike (2 × 13) → 46; a's
        //         packet leaves at 46 + 2, arrives 10 later at 58, work 12 → core 6 at 70;
        // step 2: core 0 2 × 10 = 20, core 6 c updates and spikes 3 + 7 + 13 = 23;
        // step 3: core 0 accesses 6, core 6 updates c: 10.
        let cycles: Vec<u64> = outcome.steps.iter().map(|s| s.cycles).collect();
        assert_eq!(cycles, vec![24 + 30, 70 + 30, 23 + 30, 10 + 30], "{timing}");
    }
}

/// Cores 0 and 1 (tile (0,0)) spike at the same cycle of step 1; their packets both
/// take the east link to tile (1,0), to cores 2 and 3.
fn contention_network(both: bool) -> amine_chip::image::ChipImage {
    let mut b = Builder::new(tiny());
    let p = lif(4095, 4095, 1, 0);
    for core in 0..4 {
        b.neurons(core, 1, p.clone());
    }
    let r0 = b.row(0, &[(0, 2)]);
    let r1 = b.row(1, &[(0, 2)]);
    let r2 = b.row(2, &[(0, 1)]);
    let r3 = b.row(3, &[(0, 1)]);
    b.connect(0, 0, 2, r2);
    b.connect(1, 0, 3, r3);
    let port = b.input(
        "in",
        2,
        InputSource::Explicit {
            spikes: if both {
                vec![(0, 0), (0, 1)]
            } else {
                vec![(0, 0)]
            },
        },
        (0, 0),
    );
    b.connect_input(port, 0, 0, r0);
    b.connect_input(port, 1, 1, r1);
    b.build()
}

#[test]
fn two_packets_on_one_link_arrive_one_packet_time_apart() {
    let chip = tiny();
    let c = &chip.costs;
    let serialise = chip.router.spike_packet_flits as u64 * chip.router.flit_cycles;
    let barrier = c.barrier.for_tiles(2).cycles;
    // Both leave their cores at neuron_active + spike_out; one east hop to tile (1,0),
    // whose cores did an idle update (5 cycles) and then process the packet.
    let leave = c.neuron_active.cycles + c.spike_out.cycles;
    let arrive = leave + c.hop_ew.cycles;
    let work = c.axon_in.cycles
        + c.synapse_word_read.cycles
        + c.synaptic_op.cycles
        + c.dendrite_accumulate.cycles;

    let (_, alone, _) = run(&contention_network(false), Timing::Cycle, 2);
    assert_eq!(alone.steps[1].stall, 0);
    assert_eq!(alone.steps[1].cycles, arrive + work + barrier);

    let (_, both, report) = run(&contention_network(true), Timing::Cycle, 2);
    // The second packet waits for the first to clear the link: one packet's flits.
    assert_eq!(both.steps[1].stall, serialise);
    assert_eq!(both.steps[1].cycles, arrive + serialise + work + barrier);
    assert_eq!(both.steps[1].critical_core, Some(3));
    assert_eq!(report.noc.stall_cycles, serialise);

    // Analytic mode estimates the same wait as half a packet time, rounded up.
    let (_, est, _) = run(&contention_network(true), Timing::Analytic, 2);
    assert_eq!(est.steps[1].stall, 2 * serialise.div_ceil(2));
}

#[test]
fn without_traffic_a_step_is_neuron_time_plus_barrier() {
    let chip = tiny();
    let c = &chip.costs;
    let mut b = Builder::new(chip.clone());
    // Biased neurons that spike but have no fan-out, and idle ones, on three tiles.
    b.neurons(0, 5, lif(4095, 0, 20, 100));
    b.neurons(0, 3, lif(4095, 0, 20, 0));
    b.neurons(3, 2, lif(4095, 0, 20, 0));
    b.neurons(7, 4, lif(200, 100, 50, 40));
    let image = b.build();
    for timing in [Timing::Analytic, Timing::Cycle] {
        let (state, outcome, report) = run(&image, timing, 50);
        let barrier = c.barrier.for_tiles(3).cycles;
        let core0 = 5 * c.neuron_active.cycles + 3 * c.neuron_idle.cycles;
        let core7 = 4 * c.neuron_active.cycles;
        for s in &outcome.steps {
            assert_eq!(s.cycles, core0.max(core7) + barrier, "{timing}");
            assert_eq!(s.stall, 0);
            assert_eq!(s.packets, 0);
        }
        assert_eq!(report.noc.hops_ew + report.noc.hops_ns, 0);
        assert_eq!(state.total_counts().synaptic_op, 0);
    }
}

/// Six cores on three tiles fire every step into the two cores of tile (1,1): more
/// packets than its ejection ports take per cycle, so the 4-flit buffers fill and
/// back-pressure reaches the sources. Every packet still arrives, later than through an
/// idle network, and both modes agree on everything but latency.
#[test]
fn back_pressure_delays_but_never_loses_packets() {
    let chip = tiny();
    let mut b = Builder::new(chip.clone());
    b.neurons(6, 4, lif(4095, 4095, 131_071, 0));
    b.neurons(7, 4, lif(4095, 4095, 131_071, 0));
    let r6 = b.row(6, &[(0, 1), (1, 1)]);
    let r7 = b.row(7, &[(2, 1), (3, 1)]);
    for core in 0..6 {
        // Bias-driven neurons spiking every step, each with many output axons.
        let first = b.neurons(core, 8, lif(4095, 0, 1, 200));
        for c in first..first + 8 {
            for k in 0..6 {
                b.connect(
                    core,
                    c,
                    if k % 2 == 0 { 6 } else { 7 },
                    if k % 2 == 0 { r6 } else { r7 },
                );
            }
        }
    }
    let image = b.build();
    let (sa, oa, ra) = run(&image, Timing::Analytic, 5);
    let (sc, oc, rc) = run(&image, Timing::Cycle, 5);
    assert_eq!(sa.cores, sc.cores);
    assert_eq!(ra.events, rc.events);
    let packets_per_step = 6 * 8 * 6;
    assert_eq!(oc.steps[2].packets, packets_per_step);
    assert!(rc.noc.stall_cycles > 0 && ra.noc.stall_cycles > 0);
    // Tile (1,1) ejects at most one flit per cycle into each of its two cores.
    let per_core = packets_per_step / 2;
    for s in &oc.steps[1..] {
        assert!(s.cycles >= per_core * chip.router.flit_cycles, "{s:?}");
    }
    assert!(oc.steps[2].cycles >= oa.steps[2].cycles / 2);
}
