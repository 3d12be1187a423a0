//! Results are bit-identical for 1, 2 and 8 threads and across repeated runs:
//! states (every u, v, accumulator, counter), spikes, latencies and reports.

mod common;
use amine_sim::{RunReport, SimOptions, SimState, Simulator, Timing};

fn run(
    image: &amine_chip::image::ChipImage,
    timing: Timing,
    threads: usize,
) -> (SimState, amine_sim::RunOutcome, RunReport) {
    let opts = SimOptions {
        threads,
        timing,
        steps: 150,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(&common::tiny(), image, opts).unwrap();
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    let mut report = RunReport::new(&sim, &state, &outcome);
    report.threads = 0; // the only field allowed to differ
    (state, outcome, report)
}

#[test]
fn identical_for_1_2_and_8_threads_and_repeated_runs() {
    for (seed, delays, graded) in [(1, false, false), (2, true, false), (3, true, true)] {
        let image = common::random_network(seed, delays, graded);
        for timing in [Timing::Analytic, Timing::Cycle] {
            let (s1, o1, r1) = run(&image, timing, 1);
            assert!(
                o1.raster.len() > 50,
                "seed {seed}: network too quiet ({} spikes)",
                o1.raster.len()
            );
            for threads in [1, 2, 8] {
                let (s, o, r) = run(&image, timing, threads);
                assert_eq!(s, s1, "state, {threads} threads, {timing}, seed {seed}");
                assert_eq!(o, o1, "spikes and latencies, {threads} threads, {timing}");
                assert_eq!(r, r1, "report, {threads} threads, {timing}");
                assert_eq!(r.to_json(), r1.to_json());
            }
        }
    }
}

#[test]
fn both_timing_modes_give_the_same_spikes_and_energy() {
    let image = common::random_network(9, true, true);
    let (sa, oa, ra) = run(&image, Timing::Analytic, 1);
    let (sc, oc, rc) = run(&image, Timing::Cycle, 2);
    assert_eq!(sa.cores, sc.cores);
    assert_eq!(oa.raster, oc.raster);
    assert_eq!(ra.events, rc.events);
    let dynamic = |r: &RunReport| r.energy.total_pj - r.energy.components.static_;
    assert_eq!(dynamic(&ra), dynamic(&rc));
}

#[test]
fn a_snapshot_resumes_to_the_same_result() {
    let image = common::random_network(4, true, false);
    let opts = SimOptions {
        steps: 40,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(&common::tiny(), &image, opts).unwrap();
    let mut state = sim.initial_state();
    for _ in 0..20 {
        sim.step(&mut state);
    }
    let snapshot = state.clone();
    for _ in 0..20 {
        sim.step(&mut state);
    }
    let mut again = snapshot;
    for _ in 0..20 {
        sim.step(&mut again);
    }
    assert_eq!(state, again);
}
