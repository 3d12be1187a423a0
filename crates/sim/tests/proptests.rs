//! Invariants over random small networks: both timing modes give identical spikes and
//! states, the energy total is the sum of its components, and nothing panics.

mod common;
use amine_sim::{RunReport, SimOptions, Simulator, Timing};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn modes_agree_and_energy_adds_up(seed in 0u64..1_000_000, delays: bool, graded: bool, threads in 1usize..4) {
        let image = common::random_network(seed, delays, graded);
        let chip = common::tiny();
        let mut results = vec![];
        for timing in [Timing::Analytic, Timing::Cycle] {
            let opts = SimOptions { threads, timing, steps: 60, ..SimOptions::default() };
            let mut sim = Simulator::new(&chip, &image, opts).unwrap();
            let mut state = sim.initial_state();
            let outcome = sim.run(&mut state, |_, _| {});
            let report = RunReport::new(&sim, &state, &outcome);
            let c = &report.energy.components;
            let sum = c.synapse + c.dendrite + c.neuron + c.noc + c.modulator + c.learning + c.static_;
            prop_assert!((sum - report.energy.total_pj).abs() <= 1e-9 * sum.max(1.0));
            for s in &outcome.steps {
                prop_assert!(s.cycles >= chip.costs.barrier.for_tiles(report.mesh.tiles_in_use).cycles);
            }
            results.push((state, outcome, report));
        }
        let (a, c) = (&results[0], &results[1]);
        prop_assert_eq!(&a.0.cores, &c.0.cores);
        prop_assert_eq!(&a.1.raster, &c.1.raster);
        prop_assert_eq!(a.2.events, c.2.events);
    }
}
