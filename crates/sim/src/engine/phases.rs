//! Wall-clock time per phase of the step, for `--timings` (see
//! [`Simulator::time_phases`]). It is read only by whoever asked for it: no result
//! depends on it, and a run that does not ask pays nothing but one branch per phase.

use super::Simulator;
use std::time::Instant;

/// The phases [`PhaseTimes`] measures, in step order. `ports` is the input ports'
/// draws and sends, measured apart only on one thread (on more, they overlap the
/// cores' neuron update and count in `neurons`); likewise the cycle mode's `transport`
/// and `bucket` overlap delivery on more than one thread and count in `deliver`, and
/// the analytic mode's `bucket` overlaps its `transport` and counts there. `record`
/// holds the recorder's and the monitors' work after the step.
pub const PHASE_NAMES: [&str; 9] = [
    "ports",
    "neurons",
    "merge",
    "transport",
    "bucket",
    "deliver",
    "learning",
    "barrier",
    "record",
];

// Indices of `PHASE_NAMES`, in the same order.
pub(super) const PHASE_PORTS: usize = 0;
pub(super) const PHASE_NEURONS: usize = 1;
pub(super) const PHASE_MERGE: usize = 2;
pub(super) const PHASE_TRANSPORT: usize = 3;
pub(super) const PHASE_BUCKET: usize = 4;
pub(super) const PHASE_DELIVER: usize = 5;
pub(super) const PHASE_LEARNING: usize = 6;
pub(super) const PHASE_BARRIER: usize = 7;
pub(super) const PHASE_RECORD: usize = 8;

/// Which of [`PHASE_NAMES`] run split over the pool when the run has more than one
/// thread (the others run on one thread whatever the thread count).
pub const PHASE_PARALLEL: [bool; 9] = [false, true, false, false, false, true, true, false, false];

/// Seconds spent in each phase of [`PHASE_NAMES`], summed over the steps timed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhaseTimes {
    pub secs: [f64; 9],
    pub steps: u64,
}

impl PhaseTimes {
    /// The share of the timed seconds spent in phases that do not run in parallel
    /// (Amdahl's serial fraction, on the thread count it was measured with).
    pub fn serial_share(&self) -> f64 {
        let total: f64 = self.secs.iter().sum();
        let serial: f64 = self
            .secs
            .iter()
            .zip(PHASE_PARALLEL)
            .filter(|(_, p)| !p)
            .map(|(s, _)| s)
            .sum();
        if total > 0.0 {
            serial / total
        } else {
            0.0
        }
    }
}

/// A running clock: the times so far and the end of the last phase.
#[derive(Debug)]
pub(super) struct PhaseClock {
    times: PhaseTimes,
    last: Instant,
}

impl Simulator {
    /// Measure the wall-clock time of every phase of every later step (for `--timings`;
    /// results do not change). [`Simulator::phase_times`] reads them.
    pub fn time_phases(&mut self) {
        self.clock = Some(PhaseClock {
            times: PhaseTimes::default(),
            last: Instant::now(),
        });
    }

    /// The phase times measured since [`Simulator::time_phases`] (`None` if it was not
    /// called).
    pub fn phase_times(&self) -> Option<&PhaseTimes> {
        self.clock.as_ref().map(|c| &c.times)
    }

    /// Start timing a step.
    pub(super) fn lap_start(&mut self) {
        if let Some(c) = &mut self.clock {
            c.last = Instant::now();
            c.times.steps += 1;
        }
    }

    /// The phase `phase` (an index of [`PHASE_NAMES`]) ended now.
    pub(super) fn lap(&mut self, phase: usize) {
        lap(&mut self.clock, phase);
    }
}

/// The phase `phase` (an index of [`PHASE_NAMES`]) ended now (for a method that holds
/// other fields of the simulator borrowed).
pub(super) fn lap(clock: &mut Option<PhaseClock>, phase: usize) {
    if let Some(c) = clock {
        let now = Instant::now();
        c.times.secs[phase] += (now - c.last).as_secs_f64();
        c.last = now;
    }
}
