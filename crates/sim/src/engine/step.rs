//! [`Simulator::step`]: one step as its phases, in the order the `engine` module
//! documents. Each phase is a method that borrows only what it needs.

use super::deliver::{deliver_cores, AnalyticFinish, Buckets};
use super::phases::{
    lap, PHASE_BARRIER, PHASE_BUCKET, PHASE_DELIVER, PHASE_LEARNING, PHASE_MERGE, PHASE_NEURONS,
    PHASE_PORTS, PHASE_TRANSPORT,
};
use super::{Simulator, StepTiming};
use crate::kernels::{population_spikes, update_neurons};
use crate::options::Timing;
use crate::par::{self, KeepAwake};
use crate::ranks::{Comm, Ranks};
use crate::spike_out::{self, Sender};
use crate::state::{CoreState, SimState};
use crate::timing::{analytic, cycle};
use amine_chip::neuron::graded::payload_max;
use amine_chip::neuron::NeuronParams;

/// A split run's transport and the cores this process runs (`None`: one process, it
/// runs every core).
fn split(ranks: &mut Option<Ranks>) -> (Option<&mut Comm>, Option<&[bool]>) {
    match ranks {
        Some(Ranks { comm, owned }) => (Some(comm), Some(owned.as_slice())),
        None => (None, None),
    }
}

/// Whether this process runs the ports and the timing (rank 0, or the only process).
fn is_rank0(ranks: &Option<Ranks>) -> bool {
    ranks.as_ref().is_none_or(|r| r.comm.rank == 0)
}

impl Simulator {
    /// Advance `state` by one step. `state` must come from this simulator's
    /// [`Simulator::initial_state`] (or be a clone of one that did).
    pub fn step(&mut self, state: &mut SimState) -> StepTiming {
        let timing = self.step_held(state);
        self.awake = KeepAwake::default();
        timing
    }

    /// [`Simulator::step`], leaving a worker kept awake for the caller's serial work
    /// (the recorder's and the monitors', in `Simulator::step_recorded` and
    /// `Simulator::step_observed`), which releases it.
    pub(super) fn step_held(&mut self, state: &mut SimState) -> StepTiming {
        self.lap_start();
        self.neurons_and_spike_out(state);
        let awake = KeepAwake::new(self.options.threads);
        self.merge_out();
        self.lap(PHASE_MERGE);
        drop(awake);
        let stall = self.transport_and_deliver(state);
        let mut grid_cycles = self.modulator_grid(state);
        let eprop = self.eprop_engine(state, &mut grid_cycles);
        self.learning(state, eprop);
        self.lap(PHASE_LEARNING);
        // Kept through the barrier (and the caller's recorder and monitors): they run
        // serially.
        self.awake = KeepAwake::new(self.options.threads);
        let timing = self.barrier(state, grid_cycles, stall);
        self.lap(PHASE_BARRIER);
        timing
    }

    /// Phases 1–2: neuron update, then each core's spike out, cores in parallel; meanwhile the
    /// input ports draw and send (their packets come first in the list).
    fn neurons_and_spike_out(&mut self, state: &mut SimState) {
        let t = state.step;
        let tables = &self.tables;
        let costs = &self.config.costs;
        let sc = &mut self.scratch;
        let threads = self.options.threads;
        let raster = self.options.record.spikes;
        let rank0 = is_rank0(&self.ranks);
        let (_, owned) = split(&mut self.ranks);
        let mine = |k: usize| owned.is_none_or(|o| o[k]);
        let slot = t as usize & (tables.slots - 1);
        let sender = Sender {
            geo: self.geo,
            spike_out: costs.spike_out.cycles,
            spike_flits: self.config.router.spike_packet_flits,
            graded_flits: self.config.router.graded_packet_flits,
        };
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
                population_spikes(tab, n, raster);
                spike_out::core(&sender, costs, k, tab, n, &mut s.counts, out)
            })
        };
        let clock = &mut self.clock;
        if threads > 1 {
            rayon::join(ports, cores_out);
        } else {
            ports();
            lap(clock, PHASE_PORTS);
            cores_out();
        }
        lap(clock, PHASE_NEURONS);
    }

    /// Phase 2's end: a split run exchanges every core's outputs, so each rank holds
    /// them all; then the cores' packets follow the ports', in core order.
    fn merge_out(&mut self) {
        let sc = &mut self.scratch;
        let (comm, owned) = split(&mut self.ranks);
        if let (Some(c), Some(owned)) = (comm, owned) {
            c.exchange(&mut sc.packets, &mut sc.neuron, &mut sc.core_out);
            // The other ranks' cores' spikes arrived without their counts.
            let raster = self.options.record.spikes;
            for (k, n) in sc.neuron.iter_mut().enumerate().filter(|(k, _)| !owned[*k]) {
                population_spikes(&self.tables.cores[k], n, raster);
            }
        }
        sc.out_end.clear();
        for out in &sc.core_out {
            sc.packets.extend_from_slice(&out.packets);
            sc.out_end.push(out.out_end);
        }
    }

    /// Phases 3–4: NoC transport (rank 0 only), the packets bucketed by destination,
    /// then delivery (cores in parallel). Returns the stall cycles.
    ///
    /// The analytic mode sums the links' loads here (beside the bucketing on more than
    /// one thread, which keeps the second worker awake for delivery; the bucketing's
    /// time then counts in `transport`) and each core finishes its timing in its
    /// delivery task. The cycle mode's NoC model gives every core's finishing time; no
    /// delivery reads it, so on more than one thread it runs on one thread
    /// while the others bucket and deliver (its phase time then counts in `deliver`).
    /// Each side writes only its own buffers, so nothing depends on the thread count.
    fn transport_and_deliver(&mut self, state: &mut SimState) -> u64 {
        let Simulator {
            tables,
            options,
            geo,
            scratch: sc,
            ranks,
            clock,
            ..
        } = self;
        let (threads, timing, rank0) = (options.threads, options.timing, is_rank0(ranks));
        let (_, owned) = split(ranks);
        let cores = tables.cores.len();
        let step = state.step;
        sc.finish.clear();
        sc.finish.extend_from_slice(&sc.out_end);
        let (packets, buckets) = (&sc.packets, &mut sc.buckets);
        let (links, link_wait) = (&mut sc.analytic, &mut sc.link_wait);
        let deliver = |cores: &mut [CoreState], buckets: &Buckets, finish| {
            deliver_cores(threads, tables, owned, step, cores, buckets, finish)
        };
        match timing {
            Timing::Analytic if rank0 => {
                if threads > 1 {
                    rayon::join(
                        || analytic::links(geo, packets, links, link_wait),
                        || buckets.fill(packets, cores),
                    );
                    lap(clock, PHASE_TRANSPORT);
                } else {
                    analytic::links(geo, packets, links, link_wait);
                    lap(clock, PHASE_TRANSPORT);
                    buckets.fill(packets, cores);
                    lap(clock, PHASE_BUCKET);
                }
                let finish = AnalyticFinish {
                    geo,
                    packets,
                    out_end: &sc.out_end,
                    links,
                    finish: &mut sc.finish,
                    stall: &mut sc.core_stall,
                };
                let stall = deliver(&mut state.cores, buckets, Some(finish));
                lap(clock, PHASE_DELIVER);
                stall
            }
            Timing::Cycle if rank0 && threads > 1 => {
                let (finish, noc) = (&mut sc.finish, &mut sc.cycle);
                let (stall, ()) = rayon::join(
                    || cycle::run(geo, packets, finish, noc, link_wait),
                    || {
                        buckets.fill(packets, cores);
                        deliver(&mut state.cores, buckets, None);
                    },
                );
                lap(clock, PHASE_DELIVER);
                stall
            }
            _ => {
                let stall = if rank0 {
                    cycle::run(geo, packets, &mut sc.finish, &mut sc.cycle, link_wait)
                } else {
                    0
                };
                lap(clock, PHASE_TRANSPORT);
                buckets.fill(packets, cores);
                lap(clock, PHASE_BUCKET);
                deliver(&mut state.cores, buckets, None);
                lap(clock, PHASE_DELIVER);
                stall
            }
        }
    }

    /// Phase 5, the modulator grid: step, then inject the sources' outputs (the e-prop engine
    /// steps its own, in its window). Returns the grid's cycles.
    fn modulator_grid(&mut self, state: &mut SimState) -> u64 {
        let (tables, sc) = (&self.tables, &self.scratch);
        let Some(grid) = state.grid.as_mut().filter(|_| tables.eprop.is_none()) else {
            return 0;
        };
        grid.step();
        for src in &tables.mod_sources {
            let emits = &sc.neuron[src.core].emits;
            let Ok(i) = emits.binary_search_by_key(&src.compartment, |e| e.comp) else {
                continue;
            };
            let payload = emits[i].payload;
            let amount = if payload == 0 {
                1.0
            } else {
                let tab = &tables.cores[src.core];
                let bits = match &tab.profiles[tab.profile_of[src.compartment as usize] as usize] {
                    NeuronParams::Graded(g) => g.table.payload_bits,
                    _ => 16,
                };
                payload as f64 / payload_max(bits) as f64
            };
            // The verifier checked channel, cell and region; a NaN gain product cannot
            // occur (gains are finite), so an error here would only mean a skipped
            // injection.
            let (w, h) = src.region;
            for y in src.cell.1..src.cell.1 + h {
                for x in src.cell.0..src.cell.0 + w {
                    let _ = grid.inject(src.channel, x, y, src.gain * amount);
                }
            }
        }
        let updates = grid.cell_updates_per_step();
        state.chip.modulator_cell_update += updates;
        updates * self.config.costs.modulator_cell_update.cycles
    }

    /// Phase 5e: the e-prop engine (before the learning phase, which consumes the rows'
    /// arrivals): returns its core and cycles, and adds the grid's to `grid_cycles`.
    fn eprop_engine(
        &mut self,
        state: &mut SimState,
        grid_cycles: &mut u64,
    ) -> Option<(usize, u64)> {
        let tables = &self.tables;
        let (Some(et), Some(es)) = (&tables.eprop, &mut state.eprop) else {
            return None;
        };
        let k = et.core;
        let (cycles, grid) = crate::learning_eprop::step(
            et,
            &tables.cores[k],
            &mut state.cores[k],
            es,
            &self.scratch.neuron[k],
            state.grid.as_mut(),
            state.host.learning_on,
            &self.config.costs,
            &mut state.chip,
        );
        *grid_cycles += grid;
        Some((k, cycles))
    }

    /// Phase 6, learning: traces, and the engine at epoch ends, on each core's own state; the
    /// core is busy for the engine's cycles (and the e-prop engine's core for its own).
    fn learning(&mut self, state: &mut SimState, eprop: Option<(usize, u64)>) {
        let (t, tables, sc) = (state.step, &self.tables, &mut self.scratch);
        let costs = &self.config.costs;
        let (comm, owned) = split(&mut self.ranks);
        let mine = |k: usize| owned.is_none_or(|o| o[k]);
        let learning_ran = !tables.learning.is_empty() && state.host.learning_on;
        if learning_ran {
            let grid = state.grid.as_ref();
            let neuron = &sc.neuron;
            let mod_frac = tables.modulator_frac;
            par::zip2(
                self.options.threads,
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
            if let Some(c) = comm {
                c.gather_cycles(&mut sc.learn_cycles);
            }
        } else {
            sc.learn_cycles.fill(0);
        }
        if let Some((k, c)) = eprop {
            sc.learn_cycles[k] += c;
        }
        for (f, c) in sc.finish.iter_mut().zip(&sc.learn_cycles) {
            *f += c;
        }
    }

    /// Phase 7, the barrier: the step's latency is the last core's finish, plus the grid's
    /// cycles, plus the barrier over the tiles in use; then the links' accounting and
    /// the chip's counters.
    fn barrier(&mut self, state: &mut SimState, grid_cycles: u64, stall: u64) -> StepTiming {
        let (tables, sc) = (&self.tables, &mut self.scratch);
        let barrier = self
            .config
            .costs
            .barrier
            .for_tiles(tables.tiles_in_use)
            .cycles;
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
        let rank0 = is_rank0(&self.ranks);
        if let (Some(sys), Some(c), true) = (&mut self.system, &mut state.system, rank0) {
            sys.account(&self.geo, &sc.packets, &mut sc.link_wait, &sc.finish, c);
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
}
