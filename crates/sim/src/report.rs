//! The run report: energy by component and core, latency per step, NoC and spike
//! statistics — as a serialisable [`RunReport`] (`report.json`), a terminal table
//! ([`RunReport::summary`]) and a report directory ([`RunReport::write_dir`]: JSON,
//! CSV, pictures, the monitors' recordings and one self-contained `report.html`).
//!
//! Energy is computed here, once, from the event counts in the [`SimState`]:
//! `count × cost` per kind (see [`crate::energy`]), the barrier (`for_tiles(tiles in
//! use)` per step, in the NoC component), the modulator grid, and static power of the
//! powered blocks ([`crate::power`]) over the simulated time (the sum of the step
//! latencies, converted with the clock).
//!
//! **Per synaptic event** is an energy divided by the run's synaptic events (synapses
//! processed for arriving spikes, `events.synaptic_op`): `per_synaptic_event_dynamic_pj`
//! divides the dynamic energy (everything but static power), `per_synaptic_event_pj`
//! the total.

use crate::energy::{Components, Counts};
use crate::engine::{RunOutcome, Simulator, Spike};
use crate::error::Error;
use crate::monitor::Recording;
use crate::options::Timing;
use crate::power::Powered;
use crate::state::SimState;
use amine_chip::identity::ChipIdentity;
use amine_chip::units::Cycles;
use amine_chip::ChipConfig;
use amine_report::File;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Everything a run measured. Energies in picojoules, times in cycles and nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub program: String,
    pub chip: String,
    /// Which configuration priced the run: name, file, fingerprints, overrides.
    pub chip_config: ChipIdentity,
    pub steps: u32,
    pub timing: Timing,
    pub threads: usize,
    /// Model seconds per step (for firing rates).
    pub dt_s: f64,
    pub clock_hz: u64,
    pub mesh: MeshShape,
    /// Sum of the step latencies.
    pub simulated_cycles: u64,
    pub simulated_time_s: f64,
    pub energy: EnergyReport,
    pub latency: LatencyReport,
    pub noc: NocReport,
    pub spikes: SpikeReport,
    /// Synaptic events (synapses processed for arriving spikes): `events.synaptic_op`.
    pub synaptic_events: u64,
    /// Every event kind, summed over cores and input ports.
    pub events: Counts,
    /// Per chip and per link, for a run over a multi-chip system (absent on one chip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<crate::system_report::SystemRun>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshShape {
    pub tiles_x: u32,
    pub tiles_y: u32,
    pub cores_per_tile: u32,
    pub tiles_in_use: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyReport {
    pub total_pj: f64,
    pub components: Components,
    /// Dynamic energy of each core of the image (synapse, dendrite, neuron, NoC of the
    /// packets it sent, learning), with its event counts.
    pub per_core: Vec<CoreEnergy>,
    /// NoC energy of the input ports' packets (not attributed to any core).
    pub input_ports_pj: f64,
    /// Barrier energy (part of the NoC component).
    pub barrier_pj: f64,
    /// Static power of the powered blocks, drawn over the simulated time.
    pub static_power_mw: f64,
    /// What drew static power (all of the chip unless it gates unused blocks).
    pub powered: Powered,
    /// Everything but static energy.
    pub dynamic_pj: f64,
    /// Dynamic energy per synaptic event (0 when there were none).
    pub per_synaptic_event_dynamic_pj: f64,
    /// Total energy per synaptic event (0 when there were none).
    pub per_synaptic_event_pj: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoreEnergy {
    pub core: u32,
    /// Tile (x, y) on the mesh.
    pub tile: (u32, u32),
    pub total_pj: f64,
    pub components: Components,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    pub mean_cycles: f64,
    /// The nearest-rank 99th percentile: exact when `p99_exact`, else from a histogram
    /// with 3 significant digits (within 0.1 %; a run with more than 65,536 distinct
    /// step latencies).
    pub p99_cycles: u64,
    pub max_cycles: u64,
    pub mean_ns: f64,
    pub p99_ns: f64,
    pub max_ns: f64,
    #[serde(default = "yes")]
    pub p99_exact: bool,
    /// The step with the largest latency and the core that finished last in it.
    pub max_step: Option<u32>,
    pub critical_core: Option<u32>,
    /// How often each core was the critical one, as (core, steps), most first.
    pub critical_cores: Vec<(u32, u32)>,
    /// The latency of every step, or for a run of more than 131,072 steps the largest
    /// latency of each run of `per_step_bucket` consecutive steps (at most 131,072
    /// entries: memory and output do not grow with the run).
    pub per_step_cycles: Vec<u64>,
    #[serde(default = "one")]
    pub per_step_bucket: u64,
    /// Mean learning-engine cycles per step on the critical core (0 without learning).
    #[serde(default)]
    pub learning_mean_cycles: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NocReport {
    pub packets: u64,
    pub hops_ew: u64,
    pub hops_ns: u64,
    /// Cycles the NoC added over an idle network, summed over packets.
    pub stall_cycles: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeReport {
    pub total: u64,
    /// The raster (`raster.csv`, `raster.svg`) holds the spikes of the steps below this
    /// one: all of them, or fewer when the raster would pass
    /// [`crate::record::RASTER_MAX_SPIKES`] spikes (`None`: no raster recorded).
    #[serde(default)]
    pub raster_steps: Option<u32>,
    pub populations: Vec<PopulationSpikes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSpikes {
    pub name: String,
    pub size: u32,
    pub spikes: u64,
    /// Mean firing rate in Hz: spikes / (size × steps × dt).
    pub rate_hz: f64,
}

impl RunReport {
    /// Build the report of a run from the simulator, the final state and what was recorded.
    pub fn new(sim: &Simulator, state: &SimState, outcome: &RunOutcome) -> RunReport {
        let config = sim.config();
        let clock = config.clock();
        let steps = state.step;
        let per_core = per_core_energy(sim, state);
        let system = crate::system_report::build(
            sim,
            state.system.as_ref(),
            &per_core,
            state.chip.cycles,
            outcome.latency.steps,
        );
        let dt = sim.options().dt_s;
        let events = state.total_counts();
        RunReport {
            program: sim.program().to_string(),
            chip: config.name.clone(),
            chip_config: ChipIdentity::of(config, "(given in memory)", &[]),
            steps,
            timing: sim.options().timing,
            threads: sim.options().threads,
            dt_s: dt,
            clock_hz: clock.0,
            mesh: MeshShape {
                tiles_x: config.mesh.tiles_x,
                tiles_y: config.mesh.tiles_y,
                cores_per_tile: config.mesh.cores_per_tile,
                tiles_in_use: sim.tiles_in_use(),
            },
            simulated_cycles: state.chip.cycles,
            simulated_time_s: Cycles(state.chip.cycles).seconds(clock),
            energy: energy_report(sim, state, per_core),
            latency: latency_report(state, outcome, clock.0),
            noc: NocReport {
                packets: state.chip.packets,
                hops_ew: events.hop_ew,
                hops_ns: events.hop_ns,
                stall_cycles: state.chip.stall_cycles,
            },
            spikes: SpikeReport {
                total: outcome.spike_counts.iter().sum(),
                raster_steps: (sim.options().record.spikes)
                    .then(|| outcome.raster_until.min(state.step)),
                populations: population_spikes(sim, outcome, dt),
            },
            synaptic_events: events.synaptic_op,
            events,
            system,
        }
    }

    /// Pretty JSON of the report.
    pub fn to_json(&self) -> String {
        // Plain data with finite floats: serialisation cannot fail.
        serde_json::to_string_pretty(self).expect("a report serialises") + "\n"
    }

    /// The terminal summary table.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "program `{}` on chip `{}`: {} steps, {} timing, {} thread{}",
            self.program,
            self.chip,
            group(self.steps as u64),
            self.timing,
            self.threads,
            amine_chip::units::plural_s(self.threads as u64)
        );
        let _ = writeln!(w, "chip config: {}", self.chip_config.describe());
        let _ = writeln!(w, "{:-<64}", "");
        self.energy_summary(w);
        self.latency_summary(w);
        self.noc_summary(w);
        if let Some(sys) = &self.system {
            sys.text(w);
        }
        self.spike_summary(w);
        s
    }

    /// The summary's energy section: components and their shares, totals, static
    /// power, per synaptic event.
    fn energy_summary(&self, w: &mut String) {
        let _ = writeln!(w, "{:<22}{:>16}{:>10}", "energy", "", "share");
        for (name, pj) in self.energy.components.named() {
            let share = if self.energy.total_pj > 0.0 {
                100.0 * pj / self.energy.total_pj
            } else {
                0.0
            };
            let _ = writeln!(w, "  {:<20}{:>16}{:>9.1}%", name, energy(pj), share);
        }
        let _ = writeln!(w, "  {:<20}{:>16}", "total", energy(self.energy.total_pj));
        let _ = writeln!(
            w,
            "  {:<20}{:>16}",
            "dynamic",
            energy(self.energy.dynamic_pj)
        );
        let p = &self.energy.powered;
        let _ = writeln!(
            w,
            "  {:<20}{:>16}  {} core{}, {} router{}{}{}",
            "static power",
            format!("{:.2} mW", self.energy.static_power_mw),
            group(p.cores as u64),
            plural_s(p.cores as u64),
            group(p.routers as u64),
            plural_s(p.routers as u64),
            if p.grid { ", grid" } else { "" },
            if p.gating {
                " (power-gated)"
            } else {
                " (whole chip)"
            }
        );
        let _ = writeln!(
            w,
            "  {:<20}{:>16}{:>16}",
            "per synaptic event",
            format!("{} dyn", energy(self.energy.per_synaptic_event_dynamic_pj)),
            format!("{} total", energy(self.energy.per_synaptic_event_pj))
        );
    }

    /// The summary's latency section: mean, p99 and max per step, learning, where the
    /// max was, simulated time and average power.
    fn latency_summary(&self, w: &mut String) {
        let l = &self.latency;
        let _ = writeln!(
            w,
            "{:<22}{:>16}{:>16}",
            "latency per step", "cycles", "time"
        );
        let _ = writeln!(
            w,
            "  {:<20}{:>16}{:>16}",
            "mean",
            {
                let tenths = (l.mean_cycles * 10.0).round() as u64;
                format!("{}.{}", group(tenths / 10), tenths % 10)
            },
            nanos(l.mean_ns)
        );
        let _ = writeln!(
            w,
            "  {:<20}{:>16}{:>16}",
            "p99",
            group(l.p99_cycles),
            nanos(l.p99_ns)
        );
        let _ = writeln!(
            w,
            "  {:<20}{:>16}{:>16}",
            "max",
            group(l.max_cycles),
            nanos(l.max_ns)
        );
        if l.learning_mean_cycles > 0.0 {
            let tenths = (l.learning_mean_cycles * 10.0).round() as u64;
            let _ = writeln!(
                w,
                "  {:<20}{:>16}{:>16}",
                "learning (mean)",
                format!("{}.{}", group(tenths / 10), tenths % 10),
                nanos(l.learning_mean_cycles * 1e9 / self.clock_hz as f64)
            );
        }
        if let (Some(step), Some(core)) = (l.max_step, l.critical_core) {
            let _ = writeln!(
                w,
                "  {:<20}{:>16}",
                "max at",
                format!("step {step}, core {core}")
            );
        }
        let _ = writeln!(
            w,
            "  {:<20}{:>16}",
            "simulated time",
            nanos(self.simulated_time_s * 1e9)
        );
        if self.simulated_time_s > 0.0 {
            // pJ / s = 1e-12 W = 1e-9 mW.
            let mw = self.energy.total_pj / self.simulated_time_s * 1e-9;
            let _ = writeln!(w, "  {:<20}{:>16}", "average power", format!("{mw:.2} mW"));
        }
    }

    /// The summary's NoC section: packets, hops, stalls.
    fn noc_summary(&self, w: &mut String) {
        let n = &self.noc;
        let _ = writeln!(w, "NoC");
        let _ = writeln!(w, "  {:<20}{:>16}", "packets", group(n.packets));
        let _ = writeln!(
            w,
            "  {:<20}{:>16}",
            "hops E-W / N-S",
            format!("{} / {}", group(n.hops_ew), group(n.hops_ns))
        );
        let _ = writeln!(w, "  {:<20}{:>16}", "stall cycles", group(n.stall_cycles));
    }

    /// The summary's spike section (per population and in all) and synaptic events.
    fn spike_summary(&self, w: &mut String) {
        let _ = writeln!(w, "{:<22}{:>16}{:>16}", "spikes", "count", "rate");
        for p in &self.spikes.populations {
            let _ = writeln!(
                w,
                "  {:<20}{:>16}{:>13.2} Hz",
                p.name,
                group(p.spikes),
                p.rate_hz
            );
        }
        let _ = writeln!(w, "  {:<20}{:>16}", "total", group(self.spikes.total));
        let _ = writeln!(
            w,
            "{:<22}{:>16}",
            "synaptic events",
            group(self.synaptic_events)
        );
    }

    /// The raster as CSV: `step,population,neuron`, one spike a line.
    pub fn raster_csv(&self, raster: &[Spike]) -> String {
        let mut s = String::with_capacity(raster.len() * 16 + 32);
        s.push_str("step,population,neuron\n");
        for sp in raster {
            let name = self
                .spikes
                .populations
                .get(sp.population as usize)
                .map_or("?", |p| p.name.as_str());
            let _ = writeln!(s, "{},{},{}", sp.step, name, sp.neuron);
        }
        s
    }

    /// Every file of the report directory: `report.json`, `raster.csv`, the pictures
    /// (`energy_heatmap.svg`, `raster.svg`, `latency.svg`), the monitors' recordings
    /// and pictures under `monitors/`, and `report.html` with all of it; `config` is the
    /// chip configuration the run used (shown in the page).
    pub fn files(&self, raster: &[Spike], recording: &Recording, config: &ChipConfig) -> Vec<File> {
        let mut pictures = crate::pictures::pictures(self, raster);
        pictures.extend(crate::monitor::monitor_pictures(recording));
        let mut files = vec![
            File::new("report.json", self.to_json()),
            File::new("raster.csv", self.raster_csv(raster)),
        ];
        files.extend(crate::monitor::monitor_files(recording));
        files.push(File::new(
            "report.html",
            crate::page::run_page(self, &pictures, recording, config),
        ));
        files.extend(
            pictures
                .into_iter()
                .map(|(name, svg, _)| File::new(name, svg)),
        );
        files
    }

    /// Write [`RunReport::files`] into `dir`, whole or not at all (see
    /// [`amine_report::dir`]).
    pub fn write_dir(
        &self,
        dir: &Path,
        raster: &[Spike],
        recording: &Recording,
        config: &ChipConfig,
    ) -> Result<(), Error> {
        amine_report::write_dir(dir, &self.files(raster, recording, config)).map_err(Error::report)
    }
}

/// Each core's energy by component, with its event counts and tile.
fn per_core_energy(sim: &Simulator, state: &SimState) -> Vec<CoreEnergy> {
    let config = sim.config();
    sim.core_ids()
        .into_iter()
        .zip(&state.cores)
        .map(|(id, c)| {
            let components = c.counts.energy(&config.costs);
            let tile = id / config.mesh.cores_per_tile;
            CoreEnergy {
                core: id,
                tile: (tile % config.mesh.tiles_x, tile / config.mesh.tiles_x),
                total_pj: components.total(),
                components,
                counts: c.counts,
            }
        })
        .collect()
}

/// The run's energy: components, per core, input ports, barriers, static power and
/// per synaptic event.
fn energy_report(sim: &Simulator, state: &SimState, per_core: Vec<CoreEnergy>) -> EnergyReport {
    let costs = &sim.config().costs;
    let components = energy_so_far(sim, state);
    let inputs = state.inputs.energy(costs);
    let barrier_pj =
        state.chip.barriers as f64 * costs.barrier.for_tiles(sim.tiles_in_use()).energy_pj;
    let powered = sim.powered();
    let events = state.total_counts();
    let total_pj = components.total();
    let dynamic_pj = total_pj - components.static_;
    let per_event = |pj: f64| {
        if events.synaptic_op == 0 {
            0.0
        } else {
            pj / events.synaptic_op as f64
        }
    };
    EnergyReport {
        total_pj,
        components,
        per_core,
        input_ports_pj: inputs.total(),
        barrier_pj,
        static_power_mw: powered.static_mw,
        powered,
        dynamic_pj,
        per_synaptic_event_dynamic_pj: per_event(dynamic_pj),
        per_synaptic_event_pj: per_event(total_pj),
    }
}

/// The run's latency per step, in cycles and (at `clock_hz`) nanoseconds.
fn latency_report(state: &SimState, outcome: &RunOutcome, clock_hz: u64) -> LatencyReport {
    let lat = &outcome.latency;
    let ns = |c: f64| c / clock_hz as f64 * 1e9;
    let (mean, p99, max) = (lat.mean(), lat.p99(), lat.max_cycles);
    let critical_cores: Vec<(u32, u32)> = lat
        .critical_cores()
        .into_iter()
        .map(|(k, n)| (k, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect();
    LatencyReport {
        mean_cycles: mean,
        p99_cycles: p99,
        max_cycles: max,
        mean_ns: ns(mean),
        p99_ns: ns(p99 as f64),
        max_ns: ns(max as f64),
        p99_exact: lat.percentiles_exact(),
        max_step: lat.max_step,
        critical_core: lat.max_core,
        critical_cores,
        per_step_cycles: lat.series.clone(),
        per_step_bucket: lat.bucket,
        learning_mean_cycles: if state.chip.barriers == 0 {
            0.0
        } else {
            state.chip.learning_cycles as f64 / state.chip.barriers as f64
        },
    }
}

/// Each population's spike count and mean rate over the latency's steps of `dt_s`.
fn population_spikes(sim: &Simulator, outcome: &RunOutcome, dt_s: f64) -> Vec<PopulationSpikes> {
    let steps = outcome.latency.steps;
    sim.population_names()
        .iter()
        .zip(sim.population_sizes())
        .zip(&outcome.spike_counts)
        .map(|((name, &size), &spikes)| PopulationSpikes {
            name: name.clone(),
            size,
            spikes,
            rate_hz: if size == 0 || steps == 0 {
                0.0
            } else {
                spikes as f64 / (size as f64 * steps as f64 * dt_s)
            },
        })
        .collect()
}

fn one() -> u64 {
    1
}

fn yes() -> bool {
    true
}

/// 131072 → "131,072".
pub use amine_chip::units::group_digits as group;
use amine_chip::units::plural_s;

/// The energy by component that `state` has cost since its step 0: every core's and
/// the input ports' events, the barriers, the grid's cell updates, static power over
/// the simulated time and, over a multi-chip system, the chip-to-chip links (in the NoC
/// component). (Differences of two calls price a stretch of a run.)
pub fn energy_so_far(sim: &Simulator, state: &SimState) -> Components {
    let mut c = crate::energy::price(
        &state.total_counts(),
        &state.chip,
        sim.config(),
        sim.tiles_in_use(),
        &sim.powered(),
    );
    if let (Some(sys), Some(counts)) = (sim.system(), &state.system) {
        c.noc += sys.energy_pj(counts);
    }
    // The sigprop unit's events (`learning.sigprop.costs`).
    if let (Some(s), Some(u)) = (&state.sigprop, &sim.config().learning.sigprop) {
        c.learning += u.price(&s.events()).0 .0;
    }
    c
}

/// Picojoules with a readable unit.
pub fn energy(pj: f64) -> String {
    amine_chip::units::Picojoules(pj).to_string()
}

/// Nanoseconds with a readable unit.
pub fn nanos(ns: f64) -> String {
    let (factor, unit) = amine_chip::units::Prefix::Time.pick(ns);
    if unit == "ns" {
        format!("{ns:.1} ns")
    } else {
        format!("{:.3} {unit}", ns * factor)
    }
}
