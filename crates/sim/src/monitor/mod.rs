//! Monitors: what a run looks like inside.
//!
//! A [`Monitor`] records, while [`Simulator::run_observed`] steps, every probe the image
//! declares — spikes, membrane voltage `v`, synaptic current `u` and graded output
//! payloads — plus snapshots of the weights of every learning projection and of the
//! modulator grid's concentrations. Traces are sampled every `every` steps, snapshots
//! every `snapshot_every` steps (and before the first step). Values are the chip's own
//! fixed-point integers (a LIF `v` crosses its threshold at `vth · 2^6`); the field is
//! in concentration units. [`Recording`] holds it all; `files` turns it into CSV or NPY
//! files and pictures.
//!
//! **Invariant:** every probe of the image is recorded (none is dropped), and recording
//! never changes the run (the monitor only reads the state).

mod files;
mod weights;

pub use files::{monitor_files, monitor_pictures};

use crate::engine::Simulator;
use crate::error::Error;
use crate::state::SimState;
use amine_chip::image::{ChipImage, ProbeKind};
use amine_chip::neuron::NeuronParams;
use serde::{Deserialize, Serialize};
use weights::WeightIndex;

/// Sampling of a monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorOptions {
    /// Sample voltage, current and graded probes every this many steps (≥ 1).
    pub every: u32,
    /// Snapshot weights and the modulator field every this many steps (≥ 1).
    pub snapshot_every: u32,
}

/// Values a monitor may hold in all; more is refused up front (sample less often).
pub const MAX_VALUES: u64 = 64 << 20;

/// A sampled probe: `values[sample · neurons.len() + i]` is neuron `neurons[i]` after
/// step `steps[sample]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub probe: String,
    pub population: String,
    pub kind: ProbeKind,
    pub neurons: Vec<u32>,
    pub steps: Vec<u32>,
    pub values: Vec<i32>,
    /// The firing threshold on `v` (`vth · 2^6`) when every neuron shares one
    /// (Voltage probes of LIF populations).
    pub threshold: Option<i32>,
}

/// A Spikes probe: every spike of its neurons, `(step, neuron)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeTrace {
    pub probe: String,
    pub population: String,
    pub neurons: Option<Vec<u32>>,
    pub spikes: Vec<(u32, u32)>,
}

/// Weights of one learning projection: `values[snapshot · synapses + s]` is the
/// effective weight of synapse `s` (`pre[s]` → `post[s]`) at step `steps[snapshot]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightSnapshots {
    pub projection: String,
    /// `(population or input port, neuron)` of each synapse's source and target.
    pub pre: Vec<(String, u32)>,
    pub post: Vec<(String, u32)>,
    pub steps: Vec<u32>,
    pub values: Vec<i32>,
}

/// The modulator grid: `values[((snapshot · channels + c) · height + y) · width + x]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSnapshots {
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    pub steps: Vec<u32>,
    pub values: Vec<f64>,
}

/// Everything a monitor recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    pub options: Option<MonitorOptions>,
    pub traces: Vec<Trace>,
    pub spikes: Vec<SpikeTrace>,
    pub weights: Vec<WeightSnapshots>,
    pub field: Option<FieldSnapshots>,
}

/// What one Spikes probe keeps of a step's emits.
#[derive(Debug, Clone)]
struct SpikeFilter {
    /// The probe's population.
    pop: usize,
    /// The neurons it names (sorted), or `None` for all of them.
    neurons: Option<Vec<u32>>,
    /// The cores (in increasing order) holding a neuron it keeps: only their emits are
    /// read, so a probe of a few neurons costs a few cores' emits, not the chip's.
    cores: Vec<usize>,
}

/// Records a run (see the module docs).
#[derive(Debug, Clone)]
pub struct Monitor {
    options: MonitorOptions,
    rec: Recording,
    /// Per trace, `(core index, compartment)` of each recorded neuron.
    trace_sites: Vec<Vec<(usize, u32)>>,
    /// Per Spikes probe: which spikes it keeps.
    spike_filters: Vec<SpikeFilter>,
    weights: WeightIndex,
}

impl Monitor {
    /// A monitor of every probe of `image` (which `sim` runs), for a run of `steps`
    /// steps from `state` (whose weights and field are the first snapshot); refused
    /// when `options` are zero or the recording would exceed [`MAX_VALUES`].
    pub fn new(
        sim: &Simulator,
        image: &ChipImage,
        state: &SimState,
        options: MonitorOptions,
        steps: u32,
    ) -> Result<Monitor, Error> {
        if options.every == 0 || options.snapshot_every == 0 {
            return Err(Error::options("monitor intervals must be at least 1 step"));
        }
        let tables = sim.tables();
        let mut rec = Recording {
            options: Some(options),
            ..Recording::default()
        };
        let (mut trace_sites, mut spike_filters) = (Vec::new(), Vec::new());
        let samples = (steps / options.every) as u64;
        let snapshots = (steps / options.snapshot_every) as u64 + 1;
        let mut values = 0u64;
        for p in &image.probes {
            // The image verifier checked that the population and neurons exist.
            let pop = sim.population_index(&p.population).ok_or_else(|| {
                Error::options(format!(
                    "probe `{}`: no population `{}`",
                    p.name, p.population
                ))
            })?;
            let all = &tables.population_sites[pop];
            let neurons: Vec<u32> = match &p.neurons {
                Some(n) => n.clone(),
                None => (0..all.len() as u32).collect(),
            };
            if p.kind == ProbeKind::Spikes {
                let mut filter = p.neurons.clone();
                if let Some(f) = &mut filter {
                    f.sort_unstable();
                }
                let mut cores: Vec<usize> = neurons
                    .iter()
                    .filter_map(|&n| all.get(n as usize).map(|&(k, _)| k))
                    .collect();
                cores.sort_unstable();
                cores.dedup();
                spike_filters.push(SpikeFilter {
                    pop,
                    neurons: filter,
                    cores,
                });
                rec.spikes.push(SpikeTrace {
                    probe: p.name.clone(),
                    population: p.population.clone(),
                    neurons: p.neurons.clone(),
                    spikes: Vec::new(),
                });
                continue;
            }
            let sites: Vec<(usize, u32)> = neurons
                .iter()
                .filter_map(|&n| all.get(n as usize).copied())
                .collect();
            values += samples * sites.len() as u64;
            let threshold = if p.kind == ProbeKind::Voltage {
                common_threshold(sim, &sites)
            } else {
                None
            };
            trace_sites.push(sites);
            rec.traces.push(Trace {
                probe: p.name.clone(),
                population: p.population.clone(),
                kind: p.kind,
                neurons,
                steps: Vec::new(),
                values: Vec::new(),
                threshold,
            });
        }
        let weights = WeightIndex::new(sim, image);
        values += snapshots * weights.synapses() as u64;
        if let Some(g) = &state.grid {
            values += snapshots * g.width() as u64 * g.height() as u64 * g.channels() as u64;
        }
        if values > MAX_VALUES {
            return Err(Error::options(format!(
                "the monitors would hold {values} values over {steps} steps (at most {MAX_VALUES}): \
                 sample less often (--monitor-every, --snapshot-every)"
            )));
        }
        let mut m = Monitor {
            options,
            rec,
            trace_sites,
            spike_filters,
            weights,
        };
        m.snapshot(sim, state);
        Ok(m)
    }

    /// Record what step `state.step - 1` left (call after every step).
    pub fn observe(&mut self, sim: &Simulator, state: &SimState) {
        let step = state.step.saturating_sub(1);
        let tables = sim.tables();
        for (f, trace) in self.spike_filters.iter().zip(&mut self.rec.spikes) {
            for &k in &f.cores {
                for (comp, payload) in sim.core_emits(k) {
                    let (p, n) = tables.cores[k].neuron_of[comp as usize];
                    let wanted = p as usize == f.pop
                        && payload == 0
                        && f.neurons
                            .as_ref()
                            .is_none_or(|s| s.binary_search(&n).is_ok());
                    if wanted {
                        trace.spikes.push((step, n));
                    }
                }
            }
        }
        if state.step.is_multiple_of(self.options.every) {
            for (sites, trace) in self.trace_sites.iter().zip(&mut self.rec.traces) {
                trace.steps.push(step);
                trace.values.extend(sites.iter().map(|&(k, c)| {
                    let core = &state.cores[k];
                    match trace.kind {
                        ProbeKind::Voltage => core.v[c as usize],
                        ProbeKind::Current => core.u[c as usize],
                        _ => core.out[c as usize] as i32,
                    }
                }));
            }
        }
        if state.step.is_multiple_of(self.options.snapshot_every) {
            self.snapshot(sim, state);
        }
    }

    /// Weights and field as they are in `state` (after `state.step` steps).
    fn snapshot(&mut self, sim: &Simulator, state: &SimState) {
        self.weights
            .snapshot(sim, state, state.step, &mut self.rec.weights);
        if let Some(grid) = &state.grid {
            let (w, h, channels) = (grid.width(), grid.height(), grid.channels() as u32);
            let f = self.rec.field.get_or_insert_with(|| FieldSnapshots {
                width: w,
                height: h,
                channels,
                steps: Vec::new(),
                values: Vec::new(),
            });
            f.steps.push(state.step);
            for c in 0..channels as usize {
                if let Ok(plane) = grid.plane_bits(c) {
                    f.values.extend(plane.iter().map(|&b| grid.to_f64(b)));
                }
            }
        }
    }

    /// What has been recorded so far (a checkpoint carries it).
    pub fn recording(&self) -> &Recording {
        &self.rec
    }

    /// Continue the recording `rec` of a checkpointed run (read from `origin`) instead
    /// of starting afresh: it must hold this monitor's probes, projections and field
    /// with these options.
    pub fn resume(&mut self, rec: Recording, origin: &str) -> Result<(), Error> {
        let fits =
            rec.options == self.rec.options
                && rec.traces.len() == self.rec.traces.len()
                && rec.spikes.len() == self.rec.spikes.len()
                && rec.weights.len() == self.rec.weights.len()
                && rec.field.is_some() == self.rec.field.is_some()
                && rec
                    .traces
                    .iter()
                    .zip(&self.rec.traces)
                    .all(|(a, b)| a.probe == b.probe && a.kind == b.kind && a.neurons == b.neurons)
                && rec
                    .spikes
                    .iter()
                    .zip(&self.rec.spikes)
                    .all(|(a, b)| a.probe == b.probe)
                && rec.weights.iter().zip(&self.rec.weights).all(|(a, b)| {
                    a.projection == b.projection && a.pre == b.pre && a.post == b.post
                });
        if !fits {
            return Err(Error::checkpoint(
                origin,
                "the monitors' recording does not fit this image's probes and projections",
            ));
        }
        self.rec = rec;
        Ok(())
    }

    /// What was recorded.
    pub fn finish(self) -> Recording {
        self.rec
    }
}

/// The threshold on `v` shared by every site, if they are all LIF with one `vth`.
fn common_threshold(sim: &Simulator, sites: &[(usize, u32)]) -> Option<i32> {
    let tables = sim.tables();
    let mut th = None;
    for &(k, c) in sites {
        let t = &tables.cores[k];
        let vth = match &t.profiles[t.profile_of[c as usize] as usize] {
            NeuronParams::Lif(p) => p.vth,
            _ => return None,
        };
        match th {
            None => th = Some(vth),
            Some(v) if v != vth => return None,
            _ => {}
        }
    }
    th.map(|v| (v << 6) as i32)
}
