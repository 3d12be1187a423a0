//! Runs over multi-chip systems: a one-chip system runs exactly like its chip, and a
//! two-chip case whose link traffic, energy and queueing are counted by hand.

mod common;
use amine_chip::config::{ChipConfig, NeuronModelKind};
use amine_chip::image::ChipImage;
use amine_chip::system_layout::SystemLayout;
use amine_sim::{RunReport, SimOptions, SimState, Simulator, Timing};

fn run(
    chip: &ChipConfig,
    image: &ChipImage,
    system: Option<&SystemLayout>,
    timing: Timing,
    steps: u32,
) -> (SimState, RunReport) {
    let opts = SimOptions {
        timing,
        steps,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(chip, image, opts).unwrap();
    if let Some(l) = system {
        sim = sim.with_system(l.clone()).unwrap();
    }
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    let report = RunReport::new(&sim, &state, &outcome);
    (state, report)
}

#[test]
fn a_one_chip_system_runs_exactly_like_its_chip() {
    let (chip, layout) = common::chain(1);
    assert_eq!(chip, common::tiny());
    for seed in [1, 2] {
        let image = common::random_network(seed, true, seed == 2);
        for timing in [Timing::Analytic, Timing::Cycle] {
            let (s1, r1) = run(&common::tiny(), &image, None, timing, 120);
            let (s2, mut r2) = run(&chip, &image, Some(&layout), timing, 120);
            let sys = r2.system.take().expect("a system run reports its system");
            assert_eq!(sys.per_chip.len(), 1);
            assert!(sys.per_link.is_empty());
            assert_eq!(sys.links_pj, 0.0);
            assert!(r1.spikes.total > 50, "too quiet");
            // Everything else, to the bit: energy, latency, spikes, NoC, events.
            assert_eq!(r1, r2, "seed {seed}, {timing}");
            assert_eq!(r1.to_json(), r2.to_json());
            assert_eq!(s1.cores, s2.cores);
            assert_eq!(s1.chip, s2.chip);
            // The chip's finish is the cores' last finish: at most the step latency.
            let f = &s2.system.unwrap();
            assert!(f.finish_max[0] <= r1.latency.max_cycles && f.finish_max[0] > 0);
        }
    }
}

/// Two tiny chips side by side (4 × 2 tiles, 2 cores a tile: chip 0 has cores 0–3 and
/// 8–11, chip 1 cores 4–7 and 12–15). Neuron A on core 0 spikes every step and sends to
/// three rows of core 4 (three packets east over the link); neuron B on core 4 spikes
/// every step and sends one packet west to core 0.
fn two_chip_image(chip: &ChipConfig) -> ChipImage {
    let mut b = common::Builder::new(chip.clone());
    let fire = common::lif(4095, 4095, 1, 100);
    let quiet = common::lif(4095, 4095, 1000, 0);
    let a = b.neurons(0, 1, fire.clone());
    let c = b.neurons(0, 1, quiet.clone());
    let bb = b.neurons(4, 1, fire);
    let d = b.neurons(4, 1, quiet);
    let rows: Vec<u32> = (0..3).map(|_| b.row(4, &[(d, 1)])).collect();
    for r in rows {
        b.connect(0, a, 4, r);
    }
    let back = b.row(0, &[(c, 1)]);
    b.connect(4, bb, 0, back);
    b.population("a", NeuronModelKind::Lif, &[(0, a, 1)]);
    b.population("b", NeuronModelKind::Lif, &[(4, bb, 1)]);
    b.build()
}

#[test]
fn two_chips_count_link_traffic_energy_and_queueing_exactly() {
    let (chip, layout) = common::chain(2);
    assert_eq!((chip.mesh.tiles_x, chip.mesh.tiles_y), (4, 2));
    let image = two_chip_image(&chip);
    let steps = 50u64;
    for (timing, east_wait) in [(Timing::Cycle, 18), (Timing::Analytic, 24)] {
        let (state, r) = run(&chip, &image, Some(&layout), timing, steps as u32);
        assert_eq!(r.spikes.populations[0].spikes, steps, "A spikes every step");
        assert_eq!(r.spikes.populations[1].spikes, steps, "B spikes every step");
        let sys = r.system.as_ref().unwrap();
        assert_eq!(
            (sys.link_latency_cycles, sys.spike_serialisation_cycles),
            (20, 8)
        );
        // One link, both directions: 0 → 1 (east) and 1 → 0 (west).
        let ends: Vec<(u32, u32)> = sys.per_link.iter().map(|l| (l.from, l.to)).collect();
        assert_eq!(ends, vec![(0, 1), (1, 0)]);
        let (east, west) = (&sys.per_link[0], &sys.per_link[1]);
        assert_eq!(
            (east.packets, east.flits, east.busy_cycles),
            (3 * steps, 3 * steps, 24 * steps)
        );
        assert_eq!(
            (west.packets, west.flits, west.busy_cycles),
            (steps, steps, 8 * steps)
        );
        // 50 pJ a packet plus 10 pJ a flit.
        assert_eq!(east.energy_pj, 180.0 * steps as f64);
        assert_eq!(west.energy_pj, 60.0 * steps as f64);
        assert_eq!(sys.links_pj, 240.0 * steps as f64);
        assert_eq!(sys.per_chip[0].links_out_pj, east.energy_pj);
        // Cycle mode: A's packets reach the link 2 cycles apart (spike-out) and each holds
        // it 8 cycles: they wait 0, 6 and 12. Analytic: each waits half the other
        // packets' service, (24 − 8) / 2 = 8.
        assert_eq!(east.wait_cycles, east_wait * steps, "{timing}");
        assert_eq!(west.wait_cycles, 0);
        assert_eq!((sys.per_chip[0].cores, sys.per_chip[1].cores), (1, 1));
        let counts = state.system.as_ref().unwrap();
        assert_eq!(counts.links.len(), 8);

        // The same image on the virtual chip without links: the same spikes and core
        // events, and the NoC component short of exactly the links' energy.
        let (plain_state, p) = run(&chip, &image, None, timing, steps as u32);
        assert!(p.system.is_none());
        assert_eq!(plain_state.cores, state.cores);
        assert_eq!(p.events, r.events);
        let extra = r.energy.components.noc - p.energy.components.noc;
        assert!((extra - sys.links_pj).abs() < 1e-9, "{extra}");
        // Cycle mode: A's first packet does not wait; the crossing replaces a 4-cycle hop
        // by 20 + 8 cycles, and core 4 then works back to back (12 cycles a packet, more
        // than the link's 8): every step ends exactly 24 cycles later. Analytic mode
        // takes the link's estimated waits as well, within its own finish formula.
        if timing == Timing::Cycle {
            assert_eq!(r.latency.mean_cycles, p.latency.mean_cycles + 24.0);
        } else {
            assert!(r.latency.mean_cycles > p.latency.mean_cycles);
        }
    }
}

#[test]
fn a_system_that_does_not_lay_out_the_chip_is_refused() {
    let (chip, _) = common::chain(2);
    let (_, three) = common::chain(3);
    let image = two_chip_image(&chip);
    let sim = Simulator::new(&chip, &image, SimOptions::default()).unwrap();
    let e = sim.with_system(three).unwrap_err().to_string();
    assert!(e.contains("does not lay out"), "{e}");
}
