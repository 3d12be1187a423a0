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
//!    arrival and each core's finishing cycle (the analytic mode sums the links' loads
//!    here and finishes each core in phase 4, cores in parallel);
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

mod deliver;
mod eprop_host;
mod phases;
mod rate;
mod step;

pub use phases::{PhaseTimes, PHASE_NAMES, PHASE_PARALLEL};

use crate::energy::Counts;
use crate::error::{Error, ErrorKind};
use crate::inputs::ExternalSpikes;
use crate::kernels::{spike_site, NeuronOut};
use crate::links::SystemSim;
use crate::options::SimOptions;
use crate::power::Powered;
use crate::ranks::{Exchange, Ranks};
use crate::record::{LatencyStats, Recorder};
use crate::spike_out::CoreOut;
use crate::state::{CoreState, SimState};
use crate::tables::Tables;
use crate::timing::{analytic, cycle, Geometry, Packet};
use amine_chip::config::ChipConfig;
use amine_chip::image::{ChipImage, InputSource, VerifiedImage};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::graded::payload_max;
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
    buckets: deliver::Buckets,
    port_scratch: (Vec<u32>, Vec<u16>),
    core_out: Vec<CoreOut>,
    out_end: Vec<u64>,
    finish: Vec<u64>,
    /// Per core, the stall cycles of its incoming packets (analytic mode).
    core_stall: Vec<u64>,
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
    /// Wall-clock time per phase, when asked for (see `phases`).
    clock: Option<phases::PhaseClock>,
    /// A worker kept spinning through a step's serial tail (see
    /// [`crate::par::KeepAwake`]); released when the step (with its recorder and
    /// monitors) returns.
    awake: crate::par::KeepAwake,
}

impl Simulator {
    /// Check the configuration, the options and the image (which must have been
    /// compiled for exactly this configuration), and decode the image's static tables.
    pub fn new(
        config: &ChipConfig,
        image: &ChipImage,
        options: SimOptions,
    ) -> Result<Simulator, Error> {
        Simulator::build(config, image, options, false)
    }

    /// [`Simulator::new`] for an image already checked: when `image` was verified for
    /// exactly `config`, its load check is not repeated (every other check is);
    /// for another configuration it is checked in full.
    pub fn from_verified(
        config: &ChipConfig,
        image: &VerifiedImage,
        options: SimOptions,
    ) -> Result<Simulator, Error> {
        Simulator::build(config, image, options, image.verified_for(config))
    }

    fn build(
        config: &ChipConfig,
        image: &ChipImage,
        options: SimOptions,
        verified: bool,
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
        let problems = if verified {
            Vec::new()
        } else {
            image.verify(config)
        };
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
            core_stall: vec![0; n],
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
            clock: None,
            awake: crate::par::KeepAwake::default(),
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

    /// Plastic synapses of each learning slot of the image (`slots` of them), summed
    /// over the cores its rows sit on.
    pub fn plastic_synapses_per_slot(&self, slots: usize) -> Vec<usize> {
        let mut n = vec![0; slots];
        for core in &self.tables.cores {
            for s in &core.learn.slots {
                if let Some(c) = n.get_mut(s.slot) {
                    *c += s
                        .rows
                        .iter()
                        .map(|&r| core.learn.rows[r].targets.len())
                        .sum::<usize>();
                }
            }
        }
        n
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

    /// What core `k` emitted in the last step: `(compartment, payload)` in compartment
    /// order, payload 0 for a spike (nothing for a core index past the chip's).
    pub fn core_emits(&self, k: usize) -> impl Iterator<Item = (u32, u16)> + '_ {
        self.scratch
            .neuron
            .get(k)
            .into_iter()
            .flat_map(|o| o.emits.iter().map(|e| (e.comp, e.payload)))
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
            self.step_observed(state, &mut rec, &mut observe);
            progress(done + 1, total);
        }
        RunOutcome::from(rec)
    }

    /// [`Simulator::step_recorded`], then `observe(self, state)` (a monitor), whose time
    /// counts in the `record` phase of `--timings`.
    pub fn step_observed(
        &mut self,
        state: &mut SimState,
        rec: &mut Recorder,
        observe: impl FnOnce(&Simulator, &SimState),
    ) -> StepTiming {
        let timing = self.step_recorded_held(state, rec);
        observe(self, state);
        self.awake = crate::par::KeepAwake::default();
        self.lap(phases::PHASE_RECORD);
        timing
    }

    /// One step, its timing and its population spikes given to `rec`.
    pub fn step_recorded(&mut self, state: &mut SimState, rec: &mut Recorder) -> StepTiming {
        let timing = self.step_recorded_held(state, rec);
        self.awake = crate::par::KeepAwake::default();
        timing
    }

    /// [`Simulator::step_recorded`], a worker still kept awake (see `step_held`).
    fn step_recorded_held(&mut self, state: &mut SimState, rec: &mut Recorder) -> StepTiming {
        let step = state.step;
        let timing = self.step_held(state);
        rec.timing(step, &timing);
        let neuron = &self.scratch.neuron;
        match (rec.wants_raster(step), self.options.record.spikes) {
            // The cores listed their spikes (see `kernels::population_spikes`).
            (true, true) => {
                for o in neuron {
                    for &(population, n) in &o.pop_spikes {
                        rec.count_spikes(population, n);
                    }
                    rec.raster_spikes(step, &o.raster);
                }
            }
            // A recorder that keeps a raster the options did not ask the cores for.
            (true, false) => {
                for (tab, out) in self.tables.cores.iter().zip(neuron) {
                    for (population, n) in out.emits.iter().filter_map(|e| spike_site(tab, e)) {
                        rec.spike(step, population, n);
                    }
                }
            }
            // The cores counted their spikes per population as they ran.
            (false, _) => {
                for &(population, n) in neuron.iter().flat_map(|o| &o.pop_spikes) {
                    rec.count_spikes(population, n);
                }
            }
        }
        rec.end_step(step);
        self.lap(phases::PHASE_RECORD);
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
