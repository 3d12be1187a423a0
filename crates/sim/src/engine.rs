//! The stepping code: [`Simulator`] holds the chip configuration, the decoded static
//! tables, the options and scratch buffers; [`SimState`] holds what changes.
//!
//! One step `t`, in order:
//! 1. **neuron update** (cores in parallel, each followed by its spike out): every
//!    compartment reads and clears its accumulator slot for `t`, updates, and emits a
//!    spike or graded payload;
//! 2. **spike out** (input ports, then cores in parallel; see `spike_out`): one packet
//!    per output axon used, concatenated in port, core, compartment, fan-out order;
//! 3. **NoC transport** (timing only): analytic or cycle mode gives each packet's
//!    arrival and each core's finishing cycle;
//! 4. **deliver** (cores in parallel): each core adds the weights of the rows its
//!    packets address into the accumulator slots of `t + 1 + delay`;
//! 5. **modulator grid**: step, then inject the sources' outputs (only if the image
//!    has modulator sources);
//! 6. **learning** (cores in parallel, only if the image has learning slots): traces
//!    step, and at the end of a slot's epoch the learning engine updates its plastic
//!    rows (see `learning`); the core is busy for the engine's cycles;
//! 7. **barrier**: the step's latency is the last core's finish, plus the grid's cycles,
//!    plus the barrier over the tiles in use.
//!
//! Delivery comes after the neuron update of the same step, which is the hardware's
//! order: a core processes spikes as they arrive during step `t` (the work is part of
//! step `t`'s latency) and they act in step `t + 1`. Per-core outputs are merged in
//! core order, so nothing depends on the thread count. The parallel phases run on
//! rayon's pool (see `par`): one persistent pool, no threads started per step.

mod rate;

use crate::energy::Counts;
use crate::error::{Error, ErrorKind};
use crate::inputs::ExternalSpikes;
use crate::kernels::{deliver, update_neurons, NeuronOut};
use crate::links::SystemSim;
use crate::options::{SimOptions, Timing};
use crate::par;
use crate::power::Powered;
use crate::ranks::{Exchange, Ranks};
use crate::record::{LatencyStats, Recorder};
use crate::spike_out::{self, CoreOut, Sender};
use crate::state::{CoreState, SimState};
use crate::tables::Tables;
use crate::timing::{analytic, cycle, Geometry, Packet};
use amine_chip::config::ChipConfig;
use amine_chip::image::{ChipImage, InputSource};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::graded::payload_max;
use amine_chip::neuron::NeuronParams;
use amine_chip::synapse::SignMode;
use amine_chip::system_layout::SystemLayout;
use serde::{Deserialize, Serialize};

/// The timing of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTiming {
    /// Latency of the step in cycles (barrier completion).
    pub cycles: u64,
    /// Id of the core that finished last (`None` for an image without cores).
    pub critical_core: Option<u32>,
    /// Cycles the NoC added over an idle network, summed over packets.
    pub stall: u64,
    pub packets: u64,
    /// Learning-engine cycles of the critical core in this step (part of `cycles`).
    pub learning: u64,
}

/// A spike of the raster: `neuron` of population number `population` in `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spike {
    pub step: u32,
    pub population: u32,
    pub neuron: u32,
}

/// What [`Simulator::run`] recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// One entry per step run (empty if latency recording is off).
    pub steps: Vec<StepTiming>,
    /// Every spike of a population neuron (empty if spike recording is off).
    pub raster: Vec<Spike>,
    /// Spikes per population (always counted).
    pub spike_counts: Vec<u64>,
    /// The raster holds the spikes of the steps below this one (it ends early when it
    /// would pass [`crate::record::RASTER_MAX_SPIKES`]).
    pub raster_until: u32,
    /// The step latencies' statistics (always kept, in bounded memory).
    pub latency: LatencyStats,
}

#[derive(Debug, Default)]
struct Scratch {
    neuron: Vec<NeuronOut>,
    packets: Vec<Packet>,
    incoming: Vec<(u32, i32)>,
    incoming_off: Vec<usize>,
    fill: Vec<usize>,
    port_scratch: (Vec<u32>, Vec<u16>),
    core_out: Vec<CoreOut>,
    out_end: Vec<u64>,
    finish: Vec<u64>,
    units: Vec<()>,
    learn_cycles: Vec<u64>,
    analytic: analytic::Scratch,
    cycle: cycle::Scratch,
    /// Per chip-to-chip channel, the queueing cycles of this step.
    link_wait: Vec<u64>,
}

/// Runs one chip image on one chip configuration.
#[derive(Debug)]
pub struct Simulator {
    config: ChipConfig,
    tables: Tables,
    options: SimOptions,
    external: ExternalSpikes,
    program: String,
    geo: Geometry,
    grid: Option<ModGrid>,
    powered: Powered,
    scratch: Scratch,
    /// The multi-chip system the image runs over (`None`: one chip).
    system: Option<SystemSim>,
    /// This process's share of a run split over ranks (`None`: it runs every core).
    ranks: Option<Ranks>,
}

impl Simulator {
    /// Check the configuration, the options and the image (which must have been
    /// compiled for exactly this configuration), and decode the image's static tables.
    pub fn new(
        config: &ChipConfig,
        image: &ChipImage,
        options: SimOptions,
    ) -> Result<Simulator, Error> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(Error::new(ErrorKind::Config { problems }));
        }
        if options.threads == 0 {
            return Err(Error::options("threads must be at least 1"));
        }
        if !(options.dt_s.is_finite() && options.dt_s > 0.0) {
            return Err(Error::options(format!(
                "dt {} s must be positive",
                options.dt_s
            )));
        }
        let problems = image.verify(config);
        if !problems.is_empty() {
            return Err(Error::new(ErrorKind::Image {
                chip: config.name.clone(),
                problems,
            }));
        }
        let tables = Tables::new(config, image);
        if image.eprop.is_some() && tables.eprop.is_none() {
            return Err(Error::options(
                "the image's e-prop engine names a core the image does not have",
            ));
        }
        let grid = if tables.mod_sources.is_empty() && tables.eprop.is_none() {
            None
        } else {
            let grid_config = image.modulator.grid_config(&config.modulator);
            let g = ModGrid::new(&grid_config).map_err(|e| {
                Error::new(ErrorKind::Config {
                    problems: vec![amine_chip::Problem {
                        field: "modulator".into(),
                        message: e.to_string(),
                    }],
                })
            })?;
            Some(g)
        };
        let n = tables.cores.len();
        let geo = Geometry {
            tiles_x: config.mesh.tiles_x,
            tiles_y: config.mesh.tiles_y,
            hop_ew: config.costs.hop_ew.cycles,
            hop_ns: config.costs.hop_ns.cycles,
            flit_cycles: config.router.flit_cycles,
            buffer_flits: config.router.buffer_flits,
            sources: (n + tables.ports.len()) as u32,
            cores: n as u32,
            links: None,
        };
        let scratch = Scratch {
            neuron: vec![NeuronOut::default(); n],
            units: vec![(); n],
            core_out: vec![CoreOut::default(); n],
            learn_cycles: vec![0; n],
            ..Scratch::default()
        };
        let powered = Powered::of(config, &tables, &geo, grid.is_some());
        Ok(Simulator {
            powered,
            config: config.clone(),
            external: ExternalSpikes::none(tables.ports.len()),
            tables,
            options,
            program: image.program.clone(),
            geo,
            grid,
            scratch,
            system: None,
            ranks: None,
        })
    }

    /// Run over the multi-chip system `layout` (whose virtual chip this simulator's
    /// configuration must be): packets that cross chips take its links (see
    /// `timing::links`), and the state counts each link's traffic and each chip's finish.
    /// A one-chip system has no links and runs exactly like its chip.
    pub fn with_system(mut self, layout: SystemLayout) -> Result<Simulator, Error> {
        let sys = SystemSim::new(layout, &self.config, &self.core_ids())?;
        self.geo.links = Some(sys.geo);
        self.scratch.link_wait = vec![0; sys.geo.channels()];
        self.system = Some(sys);
        Ok(self)
    }

    pub(crate) fn system(&self) -> Option<&SystemSim> {
        self.system.as_ref()
    }

    /// Run this process's share of the system over `ex`'s ranks (see `ranks`): it
    /// simulates the cores of its block of chips; rank 0 also runs the input ports, the
    /// NoC timing, the links' accounting and (with [`Simulator::gather_cores`]) holds
    /// the whole state, so its report is the single-process report. Needs a system
    /// ([`Simulator::with_system`]); at most one rank per chip; no e-prop engine.
    pub fn with_ranks(mut self, ex: Box<dyn Exchange>) -> Result<Simulator, Error> {
        let Some(sys) = &self.system else {
            return Err(Error::options("a run over ranks needs a system (--system)"));
        };
        if self.tables.eprop.is_some() {
            return Err(Error::options(
                "an image with an e-prop engine cannot run over ranks: the engine steps the chip-wide modulator grid from one core",
            ));
        }
        let ranks = Ranks::new(ex, &sys.chip_of_core, sys.layout.chips())?;
        if ranks.comm.rank != 0 {
            crate::ranks::drop_others(&mut self.tables.cores, &ranks.owned);
        }
        self.ranks = Some(ranks);
        Ok(self)
    }

    /// Cores simulated by each rank, in rank order (one entry when not split).
    pub fn cores_per_rank(&self) -> Vec<usize> {
        self.ranks.as_ref().map_or_else(
            || vec![self.tables.cores.len()],
            |r| r.comm.cores_per_rank(),
        )
    }

    /// After the last step of a split run, give rank 0 every core's state (collective:
    /// every rank calls it). Without ranks, nothing to do.
    pub fn gather_cores(&mut self, state: &mut SimState) -> Result<(), Error> {
        match &mut self.ranks {
            Some(r) => r.comm.gather_cores(&mut state.cores),
            None => Ok(()),
        }
    }

    /// Feed the image's `External` input ports (see [`crate::inputs::parse_csv`]).
    pub fn with_external(mut self, external: ExternalSpikes) -> Result<Simulator, Error> {
        if external.per_port.len() != self.tables.ports.len() {
            return Err(Error::options(format!(
                "external spikes for {} ports, the image has {}",
                external.per_port.len(),
                self.tables.ports.len()
            )));
        }
        for (p, list) in self.tables.ports.iter().zip(&external.per_port) {
            if let Some(&(s, i)) = list.iter().find(|&&(_, i)| i >= p.size) {
                return Err(Error::options(format!(
                    "external spike at step {s} for input {i} of port `{}` ({} inputs)",
                    p.name, p.size
                )));
            }
            if list.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Error::options(format!(
                    "external spikes of port `{}` must be sorted and unique",
                    p.name
                )));
            }
        }
        self.external = external;
        Ok(self)
    }

    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }
    pub fn config(&self) -> &ChipConfig {
        &self.config
    }
    pub fn options(&self) -> &SimOptions {
        &self.options
    }
    /// Name of the program the image was compiled from.
    pub fn program(&self) -> &str {
        &self.program
    }
    /// Core ids of the image, in state order.
    pub fn core_ids(&self) -> Vec<u32> {
        self.tables.cores.iter().map(|c| c.id).collect()
    }
    pub fn population_names(&self) -> &[String] {
        &self.tables.population_names
    }
    /// Neurons of each population, in image order.
    pub fn population_sizes(&self) -> &[u32] {
        &self.tables.population_sizes
    }
    /// Tiles holding at least one core of the image (the barrier spans them).
    pub fn tiles_in_use(&self) -> u32 {
        self.tables.tiles_in_use
    }
    /// What draws static power in this run (see [`crate::power`]).
    pub fn powered(&self) -> Powered {
        self.powered
    }
    /// Whether the modulator grid runs (the image has modulator sources).
    pub fn grid_runs(&self) -> bool {
        self.grid.is_some()
    }

    /// Index of the input port called `name`.
    pub fn port_index(&self, name: &str) -> Option<usize> {
        self.tables.ports.iter().position(|p| p.name == name)
    }

    /// Queue graded values for port `port` (an `InputSource::Graded` port): one value
    /// per input, each non-zero one sent once, in the next step. Replaces anything
    /// queued and not yet sent (the queue is part of `state`).
    pub fn send_graded(
        &self,
        state: &mut SimState,
        port: usize,
        values: &[u16],
    ) -> Result<(), Error> {
        let p = self
            .tables
            .ports
            .get(port)
            .ok_or_else(|| Error::options(format!("no input port {port}")))?;
        let InputSource::Graded { payload_bits } = p.source else {
            return Err(Error::options(format!(
                "input `{}` is not a graded port",
                p.name
            )));
        };
        if values.len() != p.size as usize {
            return Err(Error::options(format!(
                "{} values for input `{}` of {} inputs",
                values.len(),
                p.name,
                p.size
            )));
        }
        let max = payload_max(payload_bits);
        if let Some(v) = values.iter().find(|&&v| v > max) {
            return Err(Error::options(format!(
                "value {v} for input `{}` exceeds its {payload_bits}-bit payload",
                p.name
            )));
        }
        let q = &mut state.host.pending[port];
        q.clear();
        q.extend(
            values
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0)
                .map(|(i, &v)| (i as u32, v)),
        );
        Ok(())
    }

    /// Whether `q` could have been queued on port `port` by [`Self::send_graded`].
    pub(crate) fn check_queued(&self, port: usize, q: &[(u32, u16)]) -> Result<(), String> {
        let Some(p) = self.tables.ports.get(port) else {
            return Err(format!("no input port {port}"));
        };
        if q.is_empty() {
            return Ok(());
        }
        let (max, payload_bits) = match p.source {
            InputSource::Graded { payload_bits } => (payload_max(payload_bits), payload_bits),
            // Spikes queued by `send_spikes` carry no payload.
            InputSource::External => (0, 0),
            _ => return Err(format!("values queued for `{}`, a generated port", p.name)),
        };
        let external = max == 0;
        match q
            .iter()
            .find(|&&(i, v)| i >= p.size || v > max || (v == 0 && !external))
        {
            Some(&(i, v)) => Err(format!(
                "value {v} queued for input {i} of `{}` ({} inputs, {payload_bits}-bit payloads)",
                p.name, p.size
            )),
            None => Ok(()),
        }
    }

    /// Send spikes to an `External` input port in the next step: each listed input
    /// sends one packet (their weights act in the step after that). Replaces anything
    /// queued and not yet sent.
    /// The queue is part of `state`.
    pub fn send_spikes(
        &self,
        state: &mut SimState,
        port: usize,
        inputs: &[u32],
    ) -> Result<(), Error> {
        let p = self
            .tables
            .ports
            .get(port)
            .ok_or_else(|| Error::options(format!("no input port {port}")))?;
        if !matches!(p.source, InputSource::External) {
            return Err(Error::options(format!(
                "input `{}` is not an External port",
                p.name
            )));
        }
        if let Some(&i) = inputs.iter().find(|&&i| i >= p.size) {
            return Err(Error::options(format!(
                "spike for input {i} of `{}` ({} inputs)",
                p.name, p.size
            )));
        }
        let q = &mut state.host.pending[port];
        q.clear();
        q.extend(inputs.iter().map(|&i| (i, 0)));
        Ok(())
    }

    /// The e-prop engine's rows as `state` holds them, for audits and tests: per e-prop
    /// row of the engine's core, its synapse-memory row, its traces (εv, εa, ē, Σe, g)
    /// and its weight mantissas.
    pub fn eprop_rows<'s>(
        &'s self,
        state: &'s SimState,
    ) -> Vec<(u32, &'s amine_chip::learning::eprop::EpropRow, &'s [i32])> {
        let Some(t) = &self.tables.eprop else {
            return Vec::new();
        };
        let learn = &self.tables.cores[t.core].learn;
        learn
            .rows
            .iter()
            .zip(&state.cores[t.core].plastic)
            .enumerate()
            .filter(|(ri, _)| t.row_consts[*ri].is_some())
            .map(|(_, (p, ps))| (p.row, &ps.eprop, ps.mantissas.as_slice()))
            .collect()
    }

    /// The image's e-prop engine, if it has one.
    pub fn eprop_image(&self) -> Option<&amine_chip::image::eprop::EpropImage> {
        self.tables.eprop.as_ref().map(|t| &t.image)
    }

    /// The host starts an e-prop trial: the engine's trial reset (its core's neurons,
    /// accumulators, traces, readouts and the grid to zero; gradients and weights
    /// stay) and the error units' target.
    pub fn eprop_begin_trial(
        &mut self,
        state: &mut SimState,
        target: crate::learning_eprop::EpropTarget,
    ) -> Result<(), Error> {
        let (Some(t), Some(e)) = (&self.tables.eprop, &mut state.eprop) else {
            return Err(Error::options("the image has no e-prop engine"));
        };
        for q in &mut state.host.pending {
            q.clear();
        }
        crate::learning_eprop::begin_trial(
            &mut state.cores[t.core],
            e,
            state.grid.as_mut(),
            target,
        );
        Ok(())
    }

    /// The host ends an e-prop trial: with learning on, the rate unit adds its
    /// regulariser to the gradients (its cycles join the simulated time).
    pub fn eprop_end_trial(&mut self, state: &mut SimState) -> Result<(), Error> {
        let (Some(t), Some(e)) = (&self.tables.eprop, &state.eprop) else {
            return Err(Error::options("the image has no e-prop engine"));
        };
        let cycles = crate::learning_eprop::end_trial(
            t,
            &mut state.cores[t.core],
            e,
            state.host.learning_on,
            &self.config.costs,
        );
        state.chip.cycles += cycles;
        state.chip.learning_cycles += cycles;
        Ok(())
    }

    /// The host ends a batch: the update unit applies the gradients summed since the
    /// last update to every plastic and readout weight (its cycles join the simulated
    /// time).
    pub fn eprop_update(
        &mut self,
        state: &mut SimState,
    ) -> Result<crate::learning_eprop::UpdateStats, Error> {
        let (Some(t), Some(e)) = (&self.tables.eprop, &mut state.eprop) else {
            return Err(Error::options("the image has no e-prop engine"));
        };
        let (st, cycles) = crate::learning_eprop::update(
            t,
            &self.tables.cores[t.core],
            &mut state.cores[t.core],
            e,
            &self.config.costs,
        );
        state.chip.cycles += cycles;
        state.chip.learning_cycles += cycles;
        Ok(st)
    }

    /// Switch the learning engine on or off (the host's register). Off: no traces, no
    /// updates, no learning cost. Turning it on clears the rows' per-epoch records, so
    /// nothing seen while it was off counts in the next epoch.
    pub fn set_learning(&self, state: &mut SimState, on: bool) {
        if on && !state.host.learning_on {
            for core in &mut state.cores {
                for ps in &mut core.plastic {
                    ps.end_epoch();
                    ps.arrived = false;
                }
            }
        }
        state.host.learning_on = on;
        for core in &mut state.cores {
            core.learning_off = !on;
        }
    }

    /// Index of the population called `name`.
    pub fn population_index(&self, name: &str) -> Option<usize> {
        self.tables.population_names.iter().position(|n| n == name)
    }

    /// `(u, last payload)` of neuron `i` of population `pop` (see [`Self::graded_values`]).
    pub fn graded_value(&self, state: &SimState, pop: usize, i: usize) -> Option<(i32, u16)> {
        let &(k, c) = self.tables.population_sites.get(pop)?.get(i)?;
        Some((state.cores[k].u[c as usize], state.cores[k].out[c as usize]))
    }

    /// `(u, v)` of neuron `i` of population `pop`: its current and voltage registers
    /// (for a graded unit, its integrated input and 0), wherever the image put it.
    pub fn neuron_uv(&self, state: &SimState, pop: usize, i: usize) -> Option<(i32, i32)> {
        let &(k, c) = self.tables.population_sites.get(pop)?.get(i)?;
        Some((state.cores[k].u[c as usize], state.cores[k].v[c as usize]))
    }

    /// `(u, last payload)` of every neuron of population `pop`, in neuron order (for a
    /// graded unit, its integrated input and output; for LIF/ALIF, `u` and 0).
    pub fn graded_values(&self, state: &SimState, pop: usize) -> Vec<(i32, u16)> {
        let n = self.tables.population_sites.get(pop).map_or(0, Vec::len);
        (0..n)
            .filter_map(|i| self.graded_value(state, pop, i))
            .collect()
    }

    /// Every plastic row of the image as it is in `state`, for audits: the row's sign
    /// mode, its weight mantissas and its exponent, core by core in image order.
    pub fn plastic_rows<'s>(
        &'s self,
        state: &'s SimState,
    ) -> impl Iterator<Item = (SignMode, &'s [i32], i8)> + 's {
        self.tables
            .cores
            .iter()
            .zip(&state.cores)
            .flat_map(|(t, c)| {
                t.learn
                    .rows
                    .iter()
                    .zip(&c.plastic)
                    .map(|(r, p)| (r.sign, p.mantissas.as_slice(), p.exponent))
            })
    }

    /// The state before step 0: everything zero.
    pub fn initial_state(&self) -> SimState {
        let cores: Vec<CoreState> = self
            .tables
            .cores
            .iter()
            .map(|c| {
                let mut s = CoreState::new(c.n, self.tables.slots);
                (s.plastic, s.post) = crate::learning::initial(c);
                if c.event_driven {
                    s.touched = vec![false; c.n * self.tables.slots];
                }
                s
            })
            .collect();
        let eprop = self
            .tables
            .eprop
            .as_ref()
            .map(|t| t.initial_state(&cores[t.core].plastic));
        SimState {
            step: 0,
            cores,
            inputs: Counts::default(),
            chip: Default::default(),
            grid: self.grid.clone(),
            host: crate::state::HostRegisters {
                pending: vec![Vec::new(); self.tables.ports.len()],
                learning_on: true,
                rate_scale: None,
            },
            eprop,
            system: self.system.as_ref().map(SystemSim::initial),
            sigprop: self
                .tables
                .sigprop
                .as_ref()
                .map(crate::learning_sigprop::SigpropState::new),
        }
    }

    /// What each core emitted in the last step: `(core index, compartment, payload)`,
    /// payload 0 for a spike.
    pub fn last_emits(&self) -> impl Iterator<Item = (usize, u32, u16)> + '_ {
        self.scratch
            .neuron
            .iter()
            .enumerate()
            .flat_map(|(k, o)| o.emits.iter().map(move |e| (k, e.comp, e.payload)))
    }

    /// Advance `state` by one step. `state` must come from this simulator's
    /// [`Simulator::initial_state`] (or be a clone of one that did).
    pub fn step(&mut self, state: &mut SimState) -> StepTiming {
        let t = state.step;
        let tables = &self.tables;
        let slots = tables.slots;
        let costs = &self.config.costs;
        let sc = &mut self.scratch;
        let threads = self.options.threads;
        // A split run: cores of other ranks are skipped (their outputs arrive in the
        // exchange); rank 0 runs the ports and the timing.
        let (mut comm, owned) = match &mut self.ranks {
            Some(Ranks { comm, owned }) => (Some(comm), Some(owned.as_slice())),
            None => (None, None),
        };
        let mine = |k: usize| owned.is_none_or(|o| o[k]);
        let rank0 = comm.as_ref().is_none_or(|c| c.rank == 0);

        // 1–2. Neuron update, then each core's spike out, cores in parallel; meanwhile
        // the input ports draw and send (their packets come first in the list).
        let slot = t as usize & (slots - 1);
        let sender = Sender {
            geo: self.geo,
            spike_out: costs.spike_out.cycles,
            spike_flits: self.config.router.spike_packet_flits,
            graded_flits: self.config.router.graded_packet_flits,
        };
        let geo = self.geo;
        let cores = tables.cores.len();
        let external = &self.external;
        let (inputs, pending) = (&mut state.inputs, &mut state.host.pending);
        let (packets, port_scratch) = (&mut sc.packets, &mut sc.port_scratch);
        let mut ports = || {
            packets.clear();
            for (pi, port) in tables.ports.iter().enumerate().filter(|_| rank0) {
                spike_out::port(
                    &sender,
                    pi,
                    port,
                    t,
                    external,
                    &mut pending[pi],
                    (cores + pi) as u32,
                    threads,
                    inputs,
                    port_scratch,
                    packets,
                );
            }
        };
        let (core_states, neuron, core_out) = (&mut state.cores, &mut sc.neuron, &mut sc.core_out);
        let mut cores_out = || {
            par::zip3(threads, core_states, neuron, core_out, |k, s, n, out| {
                if !mine(k) {
                    return;
                }
                let tab = &tables.cores[k];
                update_neurons(tab, s, slot, n);
                spike_out::core(&sender, costs, k, tab, n, &mut s.counts, out)
            })
        };
        if threads > 1 {
            rayon::join(ports, cores_out);
        } else {
            ports();
            cores_out();
        }
        if let Some(c) = &mut comm {
            c.exchange(&mut sc.packets, &mut sc.neuron, &mut sc.core_out);
        }
        sc.out_end.clear();
        for out in &sc.core_out {
            sc.packets.extend_from_slice(&out.packets);
            sc.out_end.push(out.out_end);
        }

        // 3. NoC transport and per-core finishing times.
        sc.finish.clear();
        sc.finish.extend_from_slice(&sc.out_end);
        let stall = match self.options.timing {
            _ if !rank0 => 0,
            Timing::Analytic => analytic::run(
                &geo,
                &sc.packets,
                &sc.out_end,
                &mut sc.finish,
                &mut sc.analytic,
                threads,
                &mut sc.link_wait,
            ),
            Timing::Cycle => cycle::run(
                &geo,
                &sc.packets,
                &mut sc.finish,
                &mut sc.cycle,
                &mut sc.link_wait,
            ),
        };

        // 4. Deliver: bucket packets by destination (stable), then cores in parallel.
        sc.incoming_off.clear();
        sc.incoming_off.resize(cores + 1, 0);
        for p in &sc.packets {
            sc.incoming_off[p.dst as usize + 1] += 1;
        }
        for k in 0..cores {
            sc.incoming_off[k + 1] += sc.incoming_off[k];
        }
        sc.fill.clear();
        sc.fill.extend_from_slice(&sc.incoming_off[..cores]);
        sc.incoming.clear();
        sc.incoming.resize(sc.packets.len(), (0, 0));
        for p in &sc.packets {
            let f = &mut sc.fill[p.dst as usize];
            sc.incoming[*f] = (p.axon, p.mult);
            *f += 1;
        }
        let (incoming, off) = (&sc.incoming, &sc.incoming_off);
        par::zip2(threads, &mut state.cores, &mut sc.units, |k, s, _| {
            if mine(k) {
                deliver(&tables.cores[k], s, t, slots, &incoming[off[k]..off[k + 1]])
            }
        });

        // 5. Modulator grid (the e-prop engine steps its own, in its window).
        let mut grid_cycles = 0;
        if let Some(grid) = state.grid.as_mut().filter(|_| tables.eprop.is_none()) {
            grid.step();
            for src in &tables.mod_sources {
                let emits = &sc.neuron[src.core].emits;
                if let Ok(i) = emits.binary_search_by_key(&src.compartment, |e| e.comp) {
                    let payload = emits[i].payload;
                    let amount = if payload == 0 {
                        1.0
                    } else {
                        let tab = &tables.cores[src.core];
                        let bits = match &tab.profiles
                            [tab.profile_of[src.compartment as usize] as usize]
                        {
                            NeuronParams::Graded(g) => g.table.payload_bits,
                            _ => 16,
                        };
                        payload as f64 / payload_max(bits) as f64
                    };
                    // The verifier checked channel, cell and region; a NaN gain product
                    // cannot occur (gains are finite), so an error here would only mean
                    // a skipped injection.
                    let (w, h) = src.region;
                    for y in src.cell.1..src.cell.1 + h {
                        for x in src.cell.0..src.cell.0 + w {
                            let _ = grid.inject(src.channel, x, y, src.gain * amount);
                        }
                    }
                }
            }
            let updates = grid.cell_updates_per_step();
            state.chip.modulator_cell_update += updates;
            grid_cycles = updates * costs.modulator_cell_update.cycles;
        }

        // 5e. The e-prop engine (before the learning phase, which consumes the rows'
        // arrivals): its core is busy for the engine's cycles.
        let mut eprop_cycles = None;
        if let (Some(et), Some(es)) = (&tables.eprop, &mut state.eprop) {
            let k = et.core;
            let (cycles, grid) = crate::learning_eprop::step(
                et,
                &tables.cores[k],
                &mut state.cores[k],
                es,
                &sc.neuron[k],
                state.grid.as_mut(),
                state.host.learning_on,
                costs,
                &mut state.chip,
            );
            grid_cycles += grid;
            eprop_cycles = Some((k, cycles));
        }

        // 6. Learning: traces, and the engine at epoch ends, on each core's own state;
        // the core is busy for the engine's cycles.
        let learning_on = state.host.learning_on;
        let learning_ran = !tables.learning.is_empty() && learning_on;
        if !learning_ran {
            sc.learn_cycles.fill(0);
        }
        if learning_ran {
            let grid = state.grid.as_ref();
            let neuron = &sc.neuron;
            let mod_frac = tables.modulator_frac;
            par::zip2(
                threads,
                &mut state.cores,
                &mut sc.learn_cycles,
                |k, s, cycles| {
                    if !mine(k) {
                        *cycles = 0;
                        return;
                    }
                    *cycles = crate::learning::learn(
                        &tables.cores[k],
                        &tables.learning,
                        s,
                        &neuron[k],
                        grid,
                        mod_frac,
                        t,
                        costs,
                    )
                },
            );
        }
        if let (true, Some(c)) = (learning_ran, &mut comm) {
            c.gather_cycles(&mut sc.learn_cycles);
        }
        if let Some((k, c)) = eprop_cycles {
            sc.learn_cycles[k] += c;
        }
        for (f, c) in sc.finish.iter_mut().zip(&sc.learn_cycles) {
            *f += c;
        }

        // 7. Barrier.
        let barrier = costs.barrier.for_tiles(tables.tiles_in_use).cycles;
        let (critical, last) =
            sc.finish
                .iter()
                .enumerate()
                .fold((None, 0u64), |(bk, bv), (k, &f)| {
                    if bk.is_none() || f > bv {
                        (Some(k), f)
                    } else {
                        (bk, bv)
                    }
                });
        let cycles = last + grid_cycles + barrier;
        if let (Some(sys), Some(c), true) = (&mut self.system, &mut state.system, rank0) {
            sys.account(&geo, &sc.packets, &mut sc.link_wait, &sc.finish, c);
        }
        let learning = critical.map_or(0, |k| sc.learn_cycles[k]);
        state.chip.learning_cycles += learning;
        state.chip.barriers += 1;
        state.chip.cycles += cycles;
        state.chip.stall_cycles += stall;
        state.chip.packets += sc.packets.len() as u64;
        state.step += 1;
        StepTiming {
            cycles,
            critical_core: critical.map(|k| tables.cores[k].id),
            stall,
            packets: sc.packets.len() as u64,
            learning,
        }
    }

    /// Run `options.steps` steps from `state`, recording what `options.record` asks for.
    /// `progress(done, total)` is called after every step.
    pub fn run(&mut self, state: &mut SimState, progress: impl FnMut(u32, u32)) -> RunOutcome {
        self.run_observed(state, progress, |_, _| {})
    }

    /// [`Simulator::run`], calling `observe(self, state)` after every step (monitors
    /// read the state and [`Simulator::last_emits`] there).
    pub fn run_observed(
        &mut self,
        state: &mut SimState,
        mut progress: impl FnMut(u32, u32),
        mut observe: impl FnMut(&Simulator, &SimState),
    ) -> RunOutcome {
        let total = self.options.steps;
        let record = self.options.record;
        let mut rec = Recorder::new(
            state.step,
            self.tables.population_names.len(),
            if record.spikes { u32::MAX } else { 0 },
            record.latency,
        );
        for done in 0..total {
            self.step_recorded(state, &mut rec);
            observe(self, state);
            progress(done + 1, total);
        }
        RunOutcome::from(rec)
    }

    /// One step, its timing and its population spikes given to `rec`.
    pub fn step_recorded(&mut self, state: &mut SimState, rec: &mut Recorder) -> StepTiming {
        let step = state.step;
        let timing = self.step(state);
        rec.timing(step, &timing);
        for (k, out) in self.scratch.neuron.iter().enumerate() {
            let tab = &self.tables.cores[k];
            for e in out.emits.iter().filter(|e| e.payload == 0) {
                let (population, neuron) = tab.neuron_of[e.comp as usize];
                if population != u32::MAX {
                    rec.spike(step, population, neuron);
                }
            }
        }
        rec.end_step(step);
        timing
    }
}

impl From<Recorder> for RunOutcome {
    fn from(r: Recorder) -> RunOutcome {
        RunOutcome {
            steps: r.steps,
            raster: r.raster,
            spike_counts: r.spike_counts,
            raster_until: r.raster_until,
            latency: r.latency,
        }
    }
}
