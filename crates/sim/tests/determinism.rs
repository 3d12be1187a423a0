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

/// A compiled network of modules spread over 10 `loihi` cores, fed by an 8,192-input
/// Bernoulli port (large enough that the port's draws are split over the pool too).
fn compiled_modules() -> (amine_chip::ChipConfig, amine_chip::image::ChipImage) {
    let text = r#"Program(name: "modules", seed: 7, dt_ms: 1.0,
        populations: [
            (name: "exc", size: 6560, sign: Excitatory, model: LifRaw((du: 511, dv: 256, vth: 1000, bias_mant: 0, bias_exp: 0, refractory: 0))),
            (name: "inh", size: 1632, sign: Inhibitory, model: LifRaw((du: 511, dv: 256, vth: 1000, bias_mant: 0, bias_exp: 0, refractory: 0))),
        ],
        inputs: [(name: "in", size: 8192, source: Bernoulli(p: 0.04))],
        projections: [
            (from: "in", to: "exc", connect: Random(p: 0.1, modules: Some(16)), weight: Some(Const(16.0))),
            (from: "in", to: "inh", connect: Random(p: 0.1, modules: Some(16)), weight: Some(Const(16.0))),
            (from: "exc", to: "exc", connect: Random(p: 0.1, allow_self: false, modules: Some(16)), weight: Some(Const(4.0))),
            (from: "exc", to: "inh", connect: Random(p: 0.1, modules: Some(16)), weight: Some(Const(4.0))),
            (from: "inh", to: "exc", connect: Random(p: 0.1, modules: Some(16)), weight: Some(Const(-20.0))),
        ],
        mapping: (colocate: [["exc", "inh"]]),
    )"#;
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let image = amine_compiler::compile_str(text, "modules.ron", std::path::Path::new("."), &chip)
        .unwrap()
        .image
        .into_image();
    (chip, image)
}

/// A compiled network spread over 10 cores with an 8,192-input Bernoulli port (large
/// enough that the port's draws are split over the pool too), run in pools of 1, 2 and 3
/// worker threads: every state, spike, latency and report is the one-thread run's.
#[test]
fn identical_in_pools_of_any_size_on_a_compiled_multi_core_network() {
    let (chip, image) = compiled_modules();
    assert!(image.cores.len() >= 8, "{} cores", image.cores.len());
    let go = |timing: Timing, threads: usize| {
        let opts = SimOptions {
            threads,
            timing,
            steps: 40,
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(&chip, &image, opts).unwrap();
        let mut state = sim.initial_state();
        let outcome = sim.run(&mut state, |_, _| {});
        let mut report = RunReport::new(&sim, &state, &outcome);
        report.threads = 0;
        (state, outcome, report)
    };
    for timing in [Timing::Analytic, Timing::Cycle] {
        let (s1, o1, r1) = go(timing, 1);
        assert!(o1.raster.len() > 1000, "{} spikes", o1.raster.len());
        assert!(o1.steps.iter().map(|s| s.packets).sum::<u64>() > 10_000);
        for workers in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .unwrap();
            let (s, o, r) = pool.install(|| go(timing, workers.max(2)));
            assert!(s == s1, "state, {workers} workers, {timing}");
            assert_eq!(o, o1, "spikes and latencies, {workers} workers, {timing}");
            assert_eq!(r.to_json(), r1.to_json(), "{workers} workers, {timing}");
        }
    }
}

/// A congested step: an input port whose 1,000 spikes per step fan out to 16 cores
/// from one entry tile (thousands of packets per step, waits on the links), so the
/// analytic model's per-packet waits are computed on the pool too.
#[test]
fn congested_analytic_timing_is_identical_on_the_pool() {
    let text = r#"Program(name: "burst", seed: 3, dt_ms: 1.0,
        populations: [(name: "n", size: 4096, sign: Excitatory, model: LifRaw((du: 511, dv: 256, vth: 1000, bias_mant: 0, bias_exp: 0, refractory: 0)))],
        inputs: [(name: "in", size: 2000, source: Bernoulli(p: 0.5))],
        projections: [(from: "in", to: "n", connect: Random(p: 0.02), weight: Some(Const(2.0)))],
        mapping: (max_per_core: {"n": 256}),
    )"#;
    let chip = amine_chip::presets::preset("loihi").unwrap();
    let image = amine_compiler::compile_str(text, "burst.ron", std::path::Path::new("."), &chip)
        .unwrap()
        .image
        .into_image();
    let go = |threads: usize| {
        let opts = SimOptions {
            threads,
            timing: Timing::Analytic,
            steps: 5,
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(&chip, &image, opts).unwrap();
        let mut state = sim.initial_state();
        let outcome = sim.run(&mut state, |_, _| {});
        (state.chip, outcome.steps)
    };
    let (c1, s1) = go(1);
    assert!(s1.iter().all(|s| s.packets > 2000), "{s1:?}");
    assert!(c1.stall_cycles > 0, "no contention: {c1:?}");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (c2, s2) = pool.install(|| go(2));
    assert_eq!(c2, c1);
    assert_eq!(s2, s1);
}

/// A random network over two tiny chips joined by a link (`Links` chain, laid out
/// 4 × 2 tiles): states, spikes, latencies, link counters and reports are bit-identical
/// for 1, 2 and 3 threads in both timing modes.
#[test]
fn a_two_chip_system_is_identical_for_1_2_and_3_threads() {
    let sys = amine_chip::system::SystemConfig::from_ron(
        "System(name: \"two\", chip: \"tiny\", topology: Links(chips: 2, links: [(0, 1)]), \
         link: (latency_ns: 20.0, energy_pj_per_packet: 50.0, energy_pj_per_flit: 10.0, \
         flit_bits: 32, bandwidth_gbit_s: 4.0))",
        "two.ron",
    )
    .unwrap();
    let (chip, layout) = sys.virtual_chip(&common::tiny()).unwrap();
    let image = common::random_network_on(chip.clone(), 5, true, true);
    for timing in [Timing::Analytic, Timing::Cycle] {
        let run = |threads: usize| {
            let opts = SimOptions {
                threads,
                timing,
                steps: 120,
                ..SimOptions::default()
            };
            let mut sim = Simulator::new(&chip, &image, opts)
                .unwrap()
                .with_system(layout.clone())
                .unwrap();
            let mut state = sim.initial_state();
            let outcome = sim.run(&mut state, |_, _| {});
            let mut report = RunReport::new(&sim, &state, &outcome);
            report.threads = 0;
            (state, outcome, report)
        };
        let (s1, o1, r1) = run(1);
        let links = &r1.system.as_ref().unwrap().per_link;
        assert!(
            links.iter().all(|l| l.packets > 100),
            "both directions carry traffic: {links:?}"
        );
        assert!(o1.raster.len() > 50, "network too quiet");
        for threads in [2, 3] {
            let (s, o, r) = run(threads);
            assert_eq!(s, s1, "state, {threads} threads, {timing}");
            assert_eq!(o, o1, "spikes and latencies, {threads} threads, {timing}");
            assert_eq!(r.to_json(), r1.to_json(), "{threads} threads, {timing}");
        }
    }
}

/// The cores count their spikes per population as they run, and list them for a raster:
/// without a raster the counts are the raster's, and timing the phases changes no result.
#[test]
fn spike_counts_without_a_raster_and_phase_timing_change_nothing() {
    let (chip, image) = compiled_modules();
    let go = |spikes: bool, timed: bool| {
        let opts = SimOptions {
            threads: 1,
            steps: 60,
            record: amine_sim::Record {
                spikes,
                latency: true,
            },
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(&chip, &image, opts).unwrap();
        if timed {
            sim.time_phases();
        }
        let mut state = sim.initial_state();
        let outcome = sim.run(&mut state, |_, _| {});
        let report = RunReport::new(&sim, &state, &outcome);
        (state, outcome, report, sim.phase_times().cloned())
    };
    let (s1, o1, r1, p1) = go(true, false);
    assert!(o1.raster.len() > 1000, "{} spikes", o1.raster.len());
    assert!(p1.is_none());
    let mut from_raster = vec![0u64; 2];
    for s in &o1.raster {
        from_raster[s.population as usize] += 1;
    }
    assert!(from_raster.iter().all(|&n| n > 100), "{from_raster:?}");
    assert_eq!(o1.spike_counts, from_raster);
    let (s2, o2, r2, _) = go(false, false);
    assert!(o2.raster.is_empty());
    assert_eq!(o2.spike_counts, from_raster, "counted by the cores");
    assert_eq!(s2, s1);
    assert_eq!(r2.spikes.total, r1.spikes.total);
    let (s3, o3, r3, p3) = go(false, true);
    assert_eq!((s3, o3), (s2, o2));
    assert_eq!(r3.to_json(), r2.to_json());
    // A recorder keeping a raster the options did not ask the cores for looks the spikes
    // up itself: the same raster as the cores' lists.
    let opts = SimOptions {
        threads: 1,
        steps: 60,
        record: amine_sim::Record {
            spikes: false,
            latency: true,
        },
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(&chip, &image, opts).unwrap();
    let mut state = sim.initial_state();
    let mut rec = amine_sim::Recorder::new(0, 2, u32::MAX, false);
    for _ in 0..60 {
        sim.step_recorded(&mut state, &mut rec);
    }
    assert_eq!(rec.raster, o1.raster);
    let p = p3.expect("phase times");
    assert_eq!(p.steps, 60);
    assert!(p.secs.iter().all(|s| *s >= 0.0) && p.secs.iter().sum::<f64>() > 0.0);
    assert!((0.0..=1.0).contains(&p.serial_share()));
}
