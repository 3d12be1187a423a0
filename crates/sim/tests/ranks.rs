//! A system run split over ranks (here threads standing in for MPI processes, through
//! the same `Exchange` the command line's MPI backend implements) gives rank 0 exactly
//! the single-process state, spikes, latencies and report, for any number of ranks.

mod common;
use amine_chip::config::ChipConfig;
use amine_chip::image::ChipImage;
use amine_chip::system_layout::SystemLayout;
use amine_sim::{Exchange, RunOutcome, RunReport, SimOptions, SimState, Simulator, Timing};
use std::sync::{Arc, Barrier, Mutex};

/// `size` ranks in one process: a barrier and a slot per rank.
struct Threads {
    rank: usize,
    size: usize,
    slots: Arc<Mutex<Vec<Vec<u8>>>>,
    barrier: Arc<Barrier>,
}

impl Threads {
    fn world(size: usize) -> Vec<Threads> {
        let slots = Arc::new(Mutex::new(vec![Vec::new(); size]));
        let barrier = Arc::new(Barrier::new(size));
        (0..size)
            .map(|rank| Threads {
                rank,
                size,
                slots: slots.clone(),
                barrier: barrier.clone(),
            })
            .collect()
    }
}

impl Exchange for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn all_gather(&mut self, mine: &[u8]) -> Vec<Vec<u8>> {
        self.slots.lock().unwrap()[self.rank] = mine.to_vec();
        self.barrier.wait();
        let all = self.slots.lock().unwrap().clone();
        self.barrier.wait();
        all
    }
    fn gather(&mut self, mine: &[u8]) -> Vec<Vec<u8>> {
        let all = self.all_gather(mine);
        if self.rank == 0 {
            all
        } else {
            Vec::new()
        }
    }
}

fn options(timing: Timing, threads: usize) -> SimOptions {
    SimOptions {
        threads,
        timing,
        steps: 80,
        ..SimOptions::default()
    }
}

/// The single-process run.
fn whole(
    chip: &ChipConfig,
    image: &ChipImage,
    layout: &SystemLayout,
    timing: Timing,
) -> (SimState, RunOutcome, String) {
    let mut sim = Simulator::new(chip, image, options(timing, 1))
        .unwrap()
        .with_system(layout.clone())
        .unwrap();
    let mut state = sim.initial_state();
    let outcome = sim.run(&mut state, |_, _| {});
    let json = RunReport::new(&sim, &state, &outcome).to_json();
    (state, outcome, json)
}

/// The run over `ranks` ranks (2 threads each for the odd ranks): rank 0's state,
/// outcome and report.
fn split(
    chip: &ChipConfig,
    image: &ChipImage,
    layout: &SystemLayout,
    timing: Timing,
    ranks: usize,
) -> (SimState, RunOutcome, String) {
    let handles: Vec<_> = Threads::world(ranks)
        .into_iter()
        .map(|ex| {
            let (chip, image, layout) = (chip.clone(), image.clone(), layout.clone());
            std::thread::spawn(move || {
                let rank = ex.rank;
                let mut sim = Simulator::new(&chip, &image, options(timing, 1 + rank % 2))
                    .unwrap()
                    .with_system(layout)
                    .unwrap()
                    .with_ranks(Box::new(ex))
                    .unwrap();
                let mut state = sim.initial_state();
                let outcome = sim.run(&mut state, |_, _| {});
                sim.gather_cores(&mut state).unwrap();
                let mut report = RunReport::new(&sim, &state, &outcome);
                report.threads = 1;
                (state, outcome, report.to_json())
            })
        })
        .collect();
    let mut results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    results.swap_remove(0)
}

#[test]
fn rank_zero_holds_the_single_process_run_for_1_to_4_ranks() {
    let (chip, layout) = common::chain(4);
    let image = common::random_network_on(chip.clone(), 7, true, true);
    for timing in [Timing::Analytic, Timing::Cycle] {
        let (s1, o1, r1) = whole(&chip, &image, &layout, timing);
        assert!(o1.raster.len() > 50, "network too quiet");
        assert!(r1.contains("\"per_link\""));
        for ranks in 1..=4 {
            let (s, o, r) = split(&chip, &image, &layout, timing, ranks);
            assert_eq!(s, s1, "state, {ranks} ranks, {timing}");
            assert_eq!(o, o1, "spikes and latencies, {ranks} ranks, {timing}");
            assert_eq!(r, r1, "report, {ranks} ranks, {timing}");
        }
    }
}

#[test]
fn more_ranks_than_chips_and_a_run_without_a_system_are_refused() {
    let (chip, layout) = common::chain(2);
    let image = common::random_network_on(chip.clone(), 3, false, false);
    let mut world = Threads::world(3);
    let ex = world.swap_remove(0);
    let err = Simulator::new(&chip, &image, options(Timing::Analytic, 1))
        .unwrap()
        .with_system(layout)
        .unwrap()
        .with_ranks(Box::new(ex))
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 ranks for a system of 2 chip(s)"), "{err}");
    let ex = Threads::world(1).swap_remove(0);
    let err = Simulator::new(&chip, &image, options(Timing::Analytic, 1))
        .unwrap()
        .with_ranks(Box::new(ex))
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a system"), "{err}");
}
