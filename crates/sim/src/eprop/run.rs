//! One trial on the fast backend, and the batch's weight update: the general
//! simulator's step ([`crate::Simulator::step`] with the e-prop engine of
//! [`crate::learning_eprop`]) for this one network shape, with no packet objects.
//!
//! A step `t` of a trial, as the general simulator runs it:
//!
//! 0. **εv** (learning on) per source with last step's input `x(t−1)` and spikes
//!    `z(t−1)` — what the neurons integrate now;
//! 1. **neurons** on the weights delivered in the last step → `z(t)`, ψ̂;
//! 2. **delivery** of the host's `x(t)` and of `z(t)`: one packet per row of the
//!    source (axon-in, word reads, synaptic ops, dendritic accumulates, spike-out), the
//!    weights into next step's accumulators, and the analytic timing of one core;
//! 3. **readouts**, 4. **z̄**, 5. the **window** (error units, readout gradient, grid,
//!    injections, signals), 6. the **eligibility unit** (`learning_eprop`'s steps);
//! 7. the step's latency: `max(out_end + Σ work, max(arrival + work))` plus the
//!    engine's cycles, the grid's and one tile's barrier.
//!
//! Units of the accumulated gradients (integers, exact): synapse `g` sums `m·ē` (m in
//! the grid's G fractional bits, ē in F) over the window and the batch, plus the
//! regulariser's `c·Σe`; readout `g_out` sums `err·z̄` (Q.16 each).

use super::bank::GroupOut;
use super::build::EpropCore;
use super::rows::{self, RowKind, RowSlices, RowStep};
use crate::energy::{ChipCounts, Counts};
use crate::learning_eprop::{record, window_errors, EpropTarget, UpdateStats};
use amine_chip::learning::eprop::{decay_by, psi, EpropPost};
use amine_chip::learning::eprop_blocks::{
    injection_bits, rate_coefficient, readout_next, regularised, zbar_next, Q,
};
use amine_chip::learning::hash_random;
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::alif::AlifState;
use amine_chip::neuron::lif::LifState;
use amine_chip::synapse::effective_weight;
use std::ops::Range;

/// What a trial asks of the readout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrialTarget<'a> {
    Class(usize),
    /// One target value per window step.
    Series(&'a [f32]),
}

impl TrialTarget<'_> {
    /// The error units' register: a class, or the series in Q.16.
    pub fn to_engine(&self) -> EpropTarget {
        match *self {
            TrialTarget::Class(c) => EpropTarget::Class(c),
            TrialTarget::Series(v) => EpropTarget::Series(
                v.iter()
                    .map(|&x| (f64::from(x) * f64::from(1u32 << Q)).round() as i32)
                    .collect(),
            ),
        }
    }
}

/// One trial's input: `spikes[spike_start[t]..spike_start[t + 1]]` (ascending) are sent
/// in step `t` (their weights act in step `t + 1`).
#[derive(Debug, Clone)]
pub struct TrialData<'a> {
    pub steps: usize,
    pub spike_start: &'a [u32],
    pub spikes: &'a [u16],
    pub target: TrialTarget<'a>,
}

/// What one trial produced (measurements; the chip's learning state stays in
/// [`EpropState`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialResult {
    /// Window-summed cross-entropy, or ½·err² (computed from the readout's values).
    pub loss: f64,
    pub predicted: usize,
    pub correct: bool,
    /// Regression: Σ err² and Σ (target − mean target)² over the window.
    pub sq_err: f64,
    pub target_ss: f64,
    pub window_steps: usize,
    pub spikes_lif: u64,
    pub spikes_alif: u64,
    pub steps: usize,
    /// This trial's events (the core's and the input port's) and chip counts,
    /// simulated cycles included.
    pub counts: Counts,
    pub chip: ChipCounts,
}

/// Everything a trial changes: neuron and trace state (reset per trial), the gradient
/// accumulators (kept over a batch), and scratch. Plain data: clone it to snapshot.
#[derive(Debug, Clone)]
pub struct EpropState {
    bank: super::bank::Bank,
    fired: Vec<u8>,
    psi_scratch: Vec<i32>,
    spk: Vec<u32>,
    spk_prev: Vec<u32>,
    xs_prev: Vec<u16>,
    cur: Vec<i64>,
    ev: Vec<[i32; 2]>,
    psi: Vec<i32>,
    psi_prev: Vec<i32>,
    post: EpropPost,
    idle: Vec<u32>,
    ea: Vec<i32>,
    ebar: Vec<i32>,
    esum: Vec<i64>,
    /// Synapse gradients, summed over the batch so far.
    pub g: Vec<i64>,
    y: Vec<i32>,
    y_sum: Vec<i64>,
    zbar: Vec<i32>,
    err: Vec<i32>,
    drive: Vec<i64>,
    /// Readout gradients, summed over the batch so far.
    pub g_out: Vec<i64>,
    count: Vec<u32>,
    pub(super) grid: ModGrid,
    /// Steps at which to copy the grid's plane into [`EpropState::snapshots`].
    pub record_at: Vec<usize>,
    /// `(step, cell values)` recorded during the last trial.
    pub snapshots: Vec<(usize, Vec<f64>)>,
    /// Set to `Some` to record the next trials' per-step internals (tests, pictures).
    pub log: Option<StepLog>,
    /// Whether trials run the AVX-512 build of the step (the group neuron step and the
    /// wide row body): detected once, see [`EpropState::set_wide`].
    wide: bool,
}

/// Per-step internals of a trial (recorded only when [`EpropState::log`] is set; a
/// trial clears it first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepLog {
    /// ψ̂ of every neuron after each step's neuron update, and the neurons that fired.
    pub psi: Vec<Vec<i32>>,
    pub spikes: Vec<Vec<u32>>,
    /// Per window step: the error units' outputs (Q.16) and every neuron's signal m.
    pub err: Vec<Vec<i32>>,
    pub m: Vec<Vec<i32>>,
    /// Per window step: the grid's total before its step, after it, and after the
    /// injections; and the sum injected.
    pub grid_total: Vec<[i64; 3]>,
    pub injected: Vec<i64>,
    /// Each step's latency in cycles.
    pub cycles: Vec<u64>,
}

impl EpropState {
    /// A fresh state for `core`, every accumulator zero.
    pub fn new(core: &EpropCore) -> EpropState {
        let (n, syn, o) = (core.n, core.w.len(), core.outputs);
        let mut post = EpropPost::default();
        post.resize(n);
        EpropState {
            bank: super::bank::Bank::new(n),
            fired: vec![0; n],
            psi_scratch: vec![0; n],
            spk: Vec::with_capacity(n),
            spk_prev: Vec::with_capacity(n),
            xs_prev: Vec::new(),
            cur: vec![0; n],
            ev: vec![[0; 2]; core.inputs + n],
            psi: vec![0; n],
            psi_prev: vec![0; n],
            post,
            idle: vec![0; n],
            ea: vec![0; syn],
            ebar: vec![0; syn],
            esum: vec![0; syn],
            g: vec![0; syn],
            y: vec![0; o],
            y_sum: vec![0; o],
            zbar: vec![0; n],
            err: vec![0; o],
            drive: vec![0; o],
            g_out: vec![0; core.w_out.len()],
            count: vec![0; n],
            grid: core.grid.clone(),
            record_at: Vec::new(),
            snapshots: Vec::new(),
            log: None,
            wide: rows::wide_available(),
        }
    }

    /// Turns the AVX-512 build of the step off (`false`: the portable build, with the
    /// same results) or back on where the CPU has it.
    pub fn set_wide(&mut self, on: bool) {
        self.wide = on && rows::wide_available();
    }

    /// Whether trials run the AVX-512 build of the step.
    pub fn wide(&self) -> bool {
        self.wide
    }

    /// Zeroes the batch's gradient accumulators.
    pub fn clear_gradients(&mut self) {
        self.g.fill(0);
        self.g_out.fill(0);
    }

    /// Adds another state's accumulators (a batch split over threads; integer sums, so
    /// the split does not matter).
    pub fn absorb(&mut self, other: &EpropState) {
        for (a, b) in self.g.iter_mut().zip(&other.g) {
            *a = a.wrapping_add(*b);
        }
        for (a, b) in self.g_out.iter_mut().zip(&other.g_out) {
            *a = a.saturating_add(*b);
        }
    }

    /// The trial reset: neurons, traces, readouts and grid to zero.
    fn reset_trial(&mut self) {
        self.bank.clear();
        self.spk.clear();
        self.spk_prev.clear();
        self.xs_prev.clear();
        self.cur.fill(0);
        self.ev.fill([0; 2]);
        self.psi.fill(0);
        self.psi_prev.fill(0);
        self.idle.fill(0);
        self.ea.fill(0);
        self.ebar.fill(0);
        self.esum.fill(0);
        self.y.fill(0);
        self.y_sum.fill(0);
        self.zbar.fill(0);
        self.err.fill(0);
        self.count.fill(0);
        self.grid.clear();
        self.snapshots.clear();
        if let Some(log) = &mut self.log {
            *log = StepLog::default();
        }
    }

    /// The per-synapse traces εa and ē (synapse order of the core's rows).
    pub fn traces(&self) -> (&[i32], &[i32]) {
        (&self.ea, &self.ebar)
    }

    /// Σe per synapse over the last trial.
    pub fn eligibility_sums(&self) -> &[i64] {
        &self.esum
    }

    /// Spikes per neuron in the last trial.
    pub fn spike_counts(&self) -> &[u32] {
        &self.count
    }

    /// The readouts' values after the last step, and their sums over the window.
    pub fn readouts(&self) -> (&[i32], &[i64]) {
        (&self.y, &self.y_sum)
    }
}

/// Per step: packets sent, the work they cause, and the latest finish among them.
#[derive(Default)]
struct Sent {
    packets: u64,
    work: u64,
    last: u64,
}

impl EpropCore {
    /// Simulates one trial from reset. With `learn`, the eligibility unit runs and the
    /// trial's gradient is added to `state.g`/`state.g_out`; without, only the forward
    /// dynamics (inference) run and are counted.
    pub fn run_trial(
        &self,
        state: &mut EpropState,
        trial: &TrialData<'_>,
        learn: bool,
    ) -> TrialResult {
        #[cfg(target_arch = "x86_64")]
        if state.wide {
            // SAFETY: `wide` is private and only ever set from `rows::wide_available`
            // (the CPU has AVX-512 F/DQ/VL/BW).
            return unsafe { self.run_trial_wide(state, trial, learn) };
        }
        self.run_trial_body(state, trial, learn)
    }

    /// [`EpropCore::run_trial`] compiled for AVX-512, so the per-step loops over
    /// sources, neurons and rows are vectorised and the wide blocks inline.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    unsafe fn run_trial_wide(
        &self,
        state: &mut EpropState,
        trial: &TrialData<'_>,
        learn: bool,
    ) -> TrialResult {
        self.run_trial_body(state, trial, learn)
    }

    #[inline(always)]
    fn run_trial_body(
        &self,
        state: &mut EpropState,
        trial: &TrialData<'_>,
        learn: bool,
    ) -> TrialResult {
        let s = state;
        s.reset_trial();
        let (n, ni) = (self.n, self.inputs);
        let mut r = TrialResult {
            steps: trial.steps,
            ..TrialResult::default()
        };
        let e = &self.e;
        let window = e.window.0 as usize..e.window.1 as usize;
        let gate = e.ebar_from as usize;
        let wide = s.wide && rows::sources_in_range(&self.src, s.ev.len());
        let target = trial.target.to_engine();
        let target_mean = match trial.target {
            TrialTarget::Series(v) => {
                v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64
            }
            TrialTarget::Class(_) => 0.0,
        };
        let tm = self.timing;
        for t in 0..trial.steps {
            let lo = trial.spike_start.get(t).copied().unwrap_or(0) as usize;
            let hi = trial.spike_start.get(t + 1).copied().unwrap_or(0) as usize;
            let xs = trial.spikes.get(lo..hi).unwrap_or(&[]);
            let mut eng = Counts::default();
            // 0. εv with what the neurons integrate now: x(t−1), z(t−1).
            if learn {
                let c = &self.lif_c;
                for x in s.ev.iter_mut() {
                    *x = [c.ev_next(x[0], false), x[0]];
                }
                // A source that fired: redo its step from εv(t−1) with the input.
                for &i in &s.xs_prev {
                    let x = &mut s.ev[usize::from(i)];
                    x[0] = c.ev_next(x[1], true);
                }
                for &j in &s.spk_prev {
                    let x = &mut s.ev[ni + j as usize];
                    x[0] = c.ev_next(x[1], true);
                }
                eng.trace_update += self.ev_rows;
            }
            // 1. The neurons, on last step's delivery.
            let active = self.step_neurons(s, learn);
            let emitted = s.spk.len() as u64;
            r.counts.neuron_active += active;
            r.counts.neuron_idle += n as u64 - active;
            r.counts.neuron_spike += emitted;
            if let Some(log) = &mut s.log {
                log.psi.push(s.psi.clone());
                log.spikes.push(s.spk.clone());
            }
            // 2. Delivery of x(t), then z(t), and their timing.
            let neuron_end = self
                .config
                .costs
                .soma_cycles(active, n as u64 - active, emitted);
            let mut port = Sent::default();
            for &i in xs {
                self.deliver(usize::from(i), &mut s.cur, &mut r.counts, &mut port, |k| {
                    k * tm.spike_out + tm.port_extra
                });
            }
            let mut own = Sent::default();
            for &j in &s.spk {
                self.deliver(ni + j as usize, &mut s.cur, &mut r.counts, &mut own, |k| {
                    neuron_end + k * tm.spike_out
                });
            }
            let out_end = neuron_end + own.packets * tm.spike_out;
            let finish = (out_end + port.work + own.work)
                .max(port.last)
                .max(own.last);
            r.chip.packets += port.packets + own.packets;
            // 3. Readout units, 4. z̄.
            self.readout_step(s, &mut eng);
            if learn && t >= gate {
                for &c in &self.readout_sources {
                    let fired = s.fired[c as usize] != 0;
                    s.zbar[c as usize] = zbar_next(s.zbar[c as usize], fired, self.kappa);
                }
                eng.trace_update += self.readout_sources.len() as u64;
            }
            // 5. The window: error units, readout gradient, learning signal.
            let in_window = window.contains(&t);
            let mut grid_cycles = 0;
            if in_window {
                r.window_steps += 1;
                for (acc, &y) in s.y_sum.iter_mut().zip(&s.y) {
                    *acc += i64::from(y);
                }
                let w = t - window.start;
                window_errors(e.error, &self.error_unit, &target, w, &s.y, &mut s.err);
                eng.neuron_active += s.y.len() as u64;
                let tv = match trial.target {
                    TrialTarget::Series(v) => v.get(w).copied().unwrap_or(0.0),
                    TrialTarget::Class(_) => 0.0,
                };
                measure(trial.target, tv, target_mean, &s.y, &s.err, &mut r);
                if learn {
                    grid_cycles = self.signal_step(s, &mut eng, &mut r.chip, t);
                }
            } else if learn && s.record_at.contains(&t) {
                let cells = (s.grid.width() * s.grid.height()) as usize;
                s.snapshots.push((t, vec![0.0; cells]));
            }
            // 6. The eligibility unit, row by row.
            if learn {
                self.eligibility(s, &mut eng, t >= gate, in_window, wide);
            }
            // 7. Latency.
            let engine = eng.serial_cycles(&self.config.costs);
            let cycles = finish + engine + grid_cycles + tm.barrier;
            r.chip.cycles += cycles;
            r.chip.learning_cycles += engine;
            r.chip.barriers += 1;
            r.counts += eng;
            if let Some(log) = &mut s.log {
                log.cycles.push(cycles);
            }
            s.xs_prev.clear();
            s.xs_prev.extend_from_slice(xs);
            std::mem::swap(&mut s.spk, &mut s.spk_prev);
        }
        if learn {
            let n = self.regularise(s);
            r.counts.trace_update += n;
            let cycles = n * self.config.costs.trace_update.cycles;
            r.chip.cycles += cycles;
            r.chip.learning_cycles += cycles;
        }
        let spikes =
            |range: Range<usize>| s.count[range].iter().map(|&c| u64::from(c)).sum::<u64>();
        r.spikes_lif = spikes(0..self.n_lif);
        r.spikes_alif = spikes(self.n_lif..n);
        r.predicted = (0..self.outputs)
            .max_by(|&a, &b| s.y_sum[a].cmp(&s.y_sum[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        r.correct = matches!(trial.target, TrialTarget::Class(l) if l == r.predicted);
        r
    }

    /// Source `src` sends one packet per row it reaches (the `k`-th of this step's
    /// packets of its kind is injected at `inject(k)`), and its weights go into the
    /// accumulators of the next step (wrapping 32-bit adds, as the dendrite's).
    #[inline(always)]
    fn deliver(
        &self,
        src: usize,
        cur: &mut [i64],
        counts: &mut Counts,
        sent: &mut Sent,
        inject: impl Fn(u64) -> u64,
    ) {
        for p in &self.pkt[self.pkt_start[src]..self.pkt_start[src + 1]] {
            sent.packets += 1;
            sent.work += p.work;
            sent.last = sent.last.max(inject(sent.packets) + p.work);
            counts.axon_in += 1;
            counts.spike_out += 1;
            counts.synapse_word_read += p.words;
            counts.synaptic_op += p.len;
            counts.dendrite_accumulate += p.len;
        }
        for q in self.out_start[src]..self.out_start[src + 1] {
            let x = &mut cur[self.out_post[q] as usize];
            *x = i64::from((*x as i32).wrapping_add(self.eff[self.out_syn[q] as usize]));
        }
    }

    /// Step 1: every neuron steps on its summed input (`cur`, left 0), fills `spk`
    /// (neuron order) and the spike counts, and with `learn` moves ψ̂ to `psi_prev` and
    /// the new ψ̂ into `psi`. Returns how many neurons stepped (the rest are gated off:
    /// registers and input all 0).
    fn step_neurons(&self, s: &mut EpropState, learn: bool) -> u64 {
        let n = self.n;
        if learn {
            std::mem::swap(&mut s.psi, &mut s.psi_prev);
        }
        let psi_out = if learn {
            &mut s.psi
        } else {
            &mut s.psi_scratch
        };
        let active = if let Some(fast) = &self.fast {
            let mut active = 0;
            for (alif, range) in [(false, 0..self.n_lif), (true, self.n_lif..n)] {
                let out = GroupOut {
                    psi: &mut psi_out[range.clone()],
                    fired: &mut s.fired[range.clone()],
                };
                let g = fast.group(alif);
                active += s
                    .bank
                    .step_group(range, g, fast.psi(), &mut s.cur, out, s.wide);
            }
            active
        } else {
            let mut active = 0;
            for (j, out) in psi_out.iter_mut().enumerate().take(n) {
                let input = std::mem::take(&mut s.cur[j]);
                let input = input.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                let b = &mut s.bank;
                let busy = (input | b.u[j] | b.v[j] | b.a[j] | b.refr[j]) != 0;
                s.fired[j] = 0;
                *out = 0;
                if !busy {
                    continue;
                }
                active += 1;
                let mut st = AlifState {
                    lif: LifState {
                        u: b.u[j],
                        v: b.v[j],
                        refractory_left: b.refr[j].clamp(0, 255) as u8,
                    },
                    a: b.a[j],
                };
                let p = &self.params[j];
                let was_refractory = st.lif.refractory_left > 0;
                let fired = st.step(p, input);
                (b.u[j], b.v[j], b.a[j]) = (st.lif.u, st.lif.v, st.a);
                b.refr[j] = i32::from(st.lif.refractory_left);
                s.fired[j] = u8::from(fired);
                let thr = i64::from(p.lif.threshold());
                let c = if j < self.n_lif {
                    &self.lif_c
                } else {
                    &self.alif_c
                };
                *out = if fired {
                    psi(st.overshoot_at_spike(p), 0, false, thr, c)
                } else {
                    let thr_eff = thr + i64::from(st.a);
                    psi(i64::from(st.lif.v), thr_eff, was_refractory, thr, c)
                };
            }
            active
        };
        s.spk.clear();
        for (j, &f) in s.fired.iter().enumerate() {
            if f != 0 {
                s.spk.push(j as u32);
                s.count[j] += 1;
            }
        }
        active as u64
    }

    /// Step 3: every compartment that fired reads its readout row; the units step.
    fn readout_step(&self, s: &mut EpropState, eng: &mut Counts) {
        s.drive.fill(0);
        for &j in &s.spk {
            let (lo, hi) = (self.ro_start[j as usize], self.ro_start[j as usize + 1]);
            if lo == hi {
                continue;
            }
            for q in lo..hi {
                s.drive[self.ro_unit[q] as usize] += i64::from(self.w_out[q]);
            }
            eng.synapse_word_read += self.ro_words[j as usize];
            eng.synaptic_op += (hi - lo) as u64;
            eng.dendrite_accumulate += (hi - lo) as u64;
        }
        let shift = self.e.readout.exponent;
        for (y, &d) in s.y.iter_mut().zip(&s.drive) {
            *y = readout_next(*y, d << shift, self.kappa);
        }
        eng.neuron_active += s.y.len() as u64;
    }

    /// The learning part of a window step: the readout's gradient `err_k·z̄_j`, the
    /// grid (step, inject, read) and each neuron's signal into `s.post.m`. Returns the
    /// grid's cycles.
    fn signal_step(
        &self,
        s: &mut EpropState,
        eng: &mut Counts,
        chip: &mut ChipCounts,
        t: usize,
    ) -> u64 {
        let syn = &self.e.readout.synapses;
        for (q, (g, x)) in s.g_out.iter_mut().zip(syn).enumerate() {
            let err = i64::from(s.err[self.ro_unit[q] as usize]);
            *g = g.saturating_add(err * i64::from(s.zbar[x.compartment as usize]));
        }
        eng.trace_update += syn.len() as u64;
        let ch = self.e.feedback.channel as usize;
        let logging = s.log.is_some();
        let before = if logging {
            s.grid.total_bits(ch).unwrap_or(0)
        } else {
            0
        };
        s.grid.step();
        let after = if logging {
            s.grid.total_bits(ch).unwrap_or(0)
        } else {
            0
        };
        let mut injected = 0i64;
        for inj in &self.injectors {
            let bits = injection_bits(&inj.weights, &s.err, self.grid_frac);
            let _ = s.grid.inject_bits(ch, inj.cell.0, inj.cell.1, bits);
            injected += i64::from(bits);
        }
        let updates = s.grid.cell_updates_per_step();
        chip.modulator_cell_update += updates;
        for (j, &(x, y)) in self.cells.iter().enumerate() {
            s.post.m[j] = s.grid.sample_bits(ch, x, y).unwrap_or(0);
        }
        if let Some(log) = &mut s.log {
            let total = s.grid.total_bits(ch).unwrap_or(0);
            log.grid_total.push([before, after, total]);
            log.injected.push(injected);
            log.err.push(s.err.clone());
            log.m.push(s.post.m.clone());
        }
        if s.record_at.contains(&t) {
            if let Ok(plane) = s.grid.plane_bits(ch) {
                let one = f64::from(1u32 << self.grid_frac);
                s.snapshots
                    .push((t, plane.iter().map(|&b| f64::from(b) / one).collect()));
            }
        }
        updates * self.timing.grid_cell
    }

    /// Step 6: every row, the quiet ones skipped (lazily) and caught up later.
    fn eligibility(
        &self,
        s: &mut EpropState,
        eng: &mut Counts,
        ebar_on: bool,
        in_window: bool,
        wide: bool,
    ) {
        let lazy = self.e.lazy_decay;
        let bits = u32::from(self.e.power_bits);
        let f = self.lif_c.frac;
        let (kappa, one_k) = (self.kappa, (1i64 << 16) - self.kappa);
        for j in 0..self.n {
            let (lo, hi) = (self.row_start[j], self.row_start[j + 1]);
            if lo == hi {
                // No synapse onto it: the unit has no row to step.
                continue;
            }
            let alif = j >= self.n_lif;
            let (psi_j, pp) = (s.psi[j], s.psi_prev[j]);
            let m = if in_window { s.post.m[j] } else { 0 };
            let quiet = psi_j == 0 && m == 0 && !(alif && pp != 0);
            if quiet && (lazy || (!alif && !ebar_on)) {
                // Nothing but decay (or nothing at all for a LIF row before the gate).
                if alif || ebar_on {
                    s.idle[j] += 1;
                }
                continue;
            }
            let idle = std::mem::take(&mut s.idle[j]) as usize;
            if idle > 0 {
                let kp = self.kappa_pow[idle.min(self.kappa_pow.len() - 1)];
                let rp = self.rho_pow[idle.min(self.rho_pow.len() - 1)];
                if alif {
                    s.ea[lo..hi]
                        .iter_mut()
                        .for_each(|x| *x = decay_by(*x, rp, bits));
                    eng.trace_update += (hi - lo) as u64;
                }
                if ebar_on {
                    s.ebar[lo..hi]
                        .iter_mut()
                        .for_each(|x| *x = decay_by(*x, kp, bits));
                    eng.trace_update += (hi - lo) as u64;
                }
            }
            let c = if alif { &self.alif_c } else { &self.lif_c };
            c.post_at(&mut s.post, j, psi_j, pp, m);
            let rs = RowStep {
                psi: s.post.psi[j],
                psi_beta: s.post.psi_beta[j],
                c1: s.post.c1[j],
                c2: s.post.c2[j],
                m: i64::from(m),
                f,
                kappa,
                one_k,
            };
            let grad = ebar_on && m != 0;
            let kind = RowKind {
                alif,
                ebar: ebar_on,
                grad,
            };
            let slices = RowSlices {
                src: &self.src[lo..hi],
                ev: &s.ev,
                ea: &mut s.ea[lo..hi],
                ebar: &mut s.ebar[lo..hi],
                esum: &mut s.esum[lo..hi],
                g: &mut s.g[lo..hi],
            };
            rows::sweep(&rs, kind, slices, wide);
            let per = 1 + u64::from(alif) + u64::from(ebar_on) + u64::from(grad);
            eng.trace_update += per * (hi - lo) as u64 + 1;
        }
    }

    /// The rate unit at the end of a trial: `g += c_j·Σe` on every synapse onto
    /// neuron j. Returns the synapses it updated.
    fn regularise(&self, s: &mut EpropState) -> u64 {
        let Some(reg) = &self.e.regulariser else {
            return 0;
        };
        for j in 0..self.n {
            let c = rate_coefficient(reg, s.count[j]);
            for q in self.row_start[j]..self.row_start[j + 1] {
                s.g[q] = regularised(s.g[q], c, s.esum[q]);
            }
        }
        self.w.len() as u64
    }

    /// The update unit at the end of a batch: every plastic and readout weight changes
    /// by its rule (`Δw = −η·g` or Adam), stochastically rounded with counter-based draws
    /// keyed as the general simulator keys them, clamped to its range; the accumulators
    /// are cleared. Returns what it did, the events (one `synaptic_update` per memory
    /// word touched) and their cycles.
    pub fn apply(&mut self, state: &mut EpropState) -> (UpdateStats, Counts, u64) {
        let mut st = UpdateStats::default();
        let epoch = self.updates;
        self.updates += 1;
        let at = self.adam.as_mut().map(|a| a.tick());
        let unit = self.adam.as_ref().zip(at);
        let mut none = amine_chip::learning::update_unit::Moments::default();
        for q in 0..self.w.len() {
            let row = &self.rows[self.syn_row[q] as usize];
            let mo = self.moments.get_mut(q).unwrap_or(&mut none);
            let draw = hash_random(row.seed, epoch, row.id, u64::from(self.syn_idx[q]));
            let d = row
                .rule
                .delta(std::mem::take(&mut state.g[q]), mo, unit, draw);
            record(&mut st, &mut self.w[q], d, row.range);
            self.eff[q] = effective_weight(self.w[q], row.exponent);
        }
        let seed = self.e.update.seed;
        for q in 0..self.w_out.len() {
            let mo = self.readout_moments.get_mut(q).unwrap_or(&mut none);
            let draw = hash_random(seed, epoch, u64::MAX, q as u64);
            let d = self
                .readout_rule
                .delta(std::mem::take(&mut state.g_out[q]), mo, unit, draw);
            record(&mut st, &mut self.w_out[q], d, self.ro_range);
        }
        let counts = Counts {
            synaptic_update: st.updates * self.words_per_update,
            ..Counts::default()
        };
        let cycles = counts.synaptic_update * self.config.costs.synaptic_update.cycles;
        (st, counts, cycles)
    }
}

/// The host's measurement of one window step: loss, and for a regression the squared
/// error and the target's spread (computed from the readout's values, in f64).
fn measure(
    target: TrialTarget<'_>,
    tv: f32,
    target_mean: f64,
    y: &[i32],
    err: &[i32],
    r: &mut TrialResult,
) {
    let yf = |y: i32| f64::from(y) / f64::from(1u32 << Q);
    match target {
        TrialTarget::Class(label) => {
            let mx = y.iter().map(|&y| yf(y)).fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = y.iter().map(|&y| (yf(y) - mx).exp()).sum();
            let yl = y.get(label).map_or(mx, |&y| yf(y));
            r.loss += z.ln() - (yl - mx);
        }
        TrialTarget::Series(_) => {
            let e = f64::from(err.first().copied().unwrap_or(0)) / f64::from(1u32 << Q);
            r.loss += 0.5 * e * e;
            r.sq_err += e * e;
            r.target_ss += (f64::from(tv) - target_mean).powi(2);
        }
    }
}
