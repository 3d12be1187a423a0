//! Run options: threads, timing mode, what to record.

use serde::{Deserialize, Serialize};

/// How step latencies are computed. Both modes share one functional model: the
/// spikes, states and energy are identical; only cycles differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Timing {
    /// Per-core busy sums, Manhattan hop latencies and a link-load contention estimate.
    #[default]
    Analytic,
    /// Event-driven flit-level routers: input buffers with credit back-pressure, link
    /// contention, arrival-ordered processing at the receiving core.
    Cycle,
}

impl std::str::FromStr for Timing {
    type Err = String;
    fn from_str(s: &str) -> Result<Timing, String> {
        match s {
            "analytic" => Ok(Timing::Analytic),
            "cycle" => Ok(Timing::Cycle),
            _ => Err(format!("`{s}` is not a timing mode (analytic, cycle)")),
        }
    }
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Timing::Analytic => "analytic",
            Timing::Cycle => "cycle",
        })
    }
}

/// What a run keeps beyond the counters (which are always kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Every spike as (step, population, neuron): the raster.
    pub spikes: bool,
    /// Every step's timing in [`RunOutcome::steps`](crate::RunOutcome::steps) (memory
    /// grows with the steps; the report's latency statistics and series are kept in
    /// bounded memory either way).
    pub latency: bool,
}

impl Default for Record {
    fn default() -> Record {
        Record {
            spikes: true,
            latency: true,
        }
    }
}

/// Options of a simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimOptions {
    /// Threads for the per-core phases (≥ 1): 1 runs every phase inline; more splits
    /// them over the rayon pool the caller runs in (the CLI's pool of `--threads`
    /// workers, or rayon's global pool). Results do not depend on it.
    pub threads: usize,
    pub timing: Timing,
    /// Steps [`Simulator::run`](crate::Simulator::run) simulates.
    pub steps: u32,
    pub record: Record,
    /// Seconds of model time per step, for firing rates in Hz (the program's `dt`).
    pub dt_s: f64,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            threads: 1,
            timing: Timing::Analytic,
            steps: 100,
            record: Record::default(),
            dt_s: 1e-3,
        }
    }
}
