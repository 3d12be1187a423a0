//! One trial on the e-prop core, and the batch's weight update.
//!
//! Units of the accumulated gradients (integers, exact):
//! - synapse `g`: Σ over the window of `m·ē` with m in the grid's Q8.24 and ē with F
//!   fractional bits, plus the regulariser's `c·Σe`: `2^(F+24)·|W|·thr` times the float
//!   model's gradient (m carries the un-averaged error, ē is threshold-normalised);
//! - readout `g_out`: Σ over the window of `err·z̄`, both Q.16: `2^32·|W|` times the
//!   float gradient.
//!
//! [`EpropCore`]'s η per group folds those factors, the batch size and the group's
//! weight scale into one 16-bit mantissa and a power of two.

use super::bank::{Bank, GroupOut};
use super::build::{EpropCore, POW_BITS, Q};
use super::rows::{self, RowKind, RowSlices, RowStep};
use crate::energy::{ChipCounts, Counts};
use amine_chip::config::{Boundary, GridFormat, Kernel};
use amine_chip::learning::eprop::{decay_by, psi, rshift, sat32, EpropPost};
use amine_chip::learning::{hash_random, stochastic_round};
use amine_chip::modgrid::ModGrid;
use amine_chip::neuron::alif::AlifState;
use amine_chip::neuron::lif::LifState;
use std::ops::Range;

/// What a trial asks of the readout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrialTarget<'a> {
    Class(usize),
    /// One target value per window step.
    Series(&'a [f32]),
}

/// One trial's input: `spikes[spike_start[t]..spike_start[t + 1]]` fire at step `t`.
#[derive(Debug, Clone)]
pub struct TrialData<'a> {
    pub steps: usize,
    pub spike_start: &'a [u32],
    pub spikes: &'a [u16],
    pub window: Range<usize>,
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
    /// This trial's events and simulated cycles.
    pub counts: Counts,
    pub chip: ChipCounts,
}

/// What [`EpropCore::apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// Weights written (plastic synapses and readout weights).
    pub updates: u64,
    /// Mantissas that hit the range limit.
    pub clamped: u64,
    /// Weights whose mantissa changed.
    pub changed: u64,
}

/// Everything a trial changes: neuron and trace state (reset per trial), the gradient
/// accumulators (kept over a batch), and the event counters. Plain data: clone it to
/// snapshot.
#[derive(Debug, Clone)]
pub struct EpropState {
    bank: Bank,
    fired: Vec<u8>,
    psi_scratch: Vec<i32>,
    spk: Vec<u32>,
    spk_prev: Vec<u32>,
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
}

impl EpropState {
    /// A fresh state for `core`, every accumulator zero.
    pub fn new(core: &EpropCore) -> EpropState {
        let (n, syn, o) = (core.n, core.w.len(), core.outputs);
        let k = core.grid_kernel;
        let grid = ModGrid::with(
            core.side,
            core.side,
            1,
            Kernel {
                edge: 1.0 / 9.0,
                corner: 1.0 / 9.0,
            },
            1.0 - k,
            Boundary::Torus,
            GridFormat::Q8_24,
        )
        .expect("a k/9 kernel with decay 1 − k in [0, 1] is valid");
        let mut post = EpropPost::default();
        post.resize(n);
        EpropState {
            bank: Bank::new(n),
            fired: vec![0; n],
            psi_scratch: vec![0; n],
            spk: Vec::with_capacity(n),
            spk_prev: Vec::with_capacity(n),
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
            g_out: vec![0; o * n],
            count: vec![0; n],
            grid,
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

    /// Adds another state's accumulators (a batch split over threads).
    pub fn absorb(&mut self, other: &EpropState) {
        for (a, b) in self.g.iter_mut().zip(&other.g) {
            *a = a.saturating_add(*b);
        }
        for (a, b) in self.g_out.iter_mut().zip(&other.g_out) {
            *a = a.saturating_add(*b);
        }
    }

    /// The trial-boundary reset: neurons, traces, readouts and grid to zero.
    fn reset_trial(&mut self) {
        self.bank.clear();
        self.spk.clear();
        self.spk_prev.clear();
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

    /// Spikes per neuron in the last trial.
    pub fn spike_counts(&self) -> &[u32] {
        &self.count
    }
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
        let (n, ni, o) = (self.n, self.inputs, self.outputs);
        let f = u32::from(self.opts.frac_bits);
        let (kappa, one_k) = (self.kappa, (1i64 << 16) - self.kappa);
        let mut r = TrialResult {
            steps: trial.steps,
            ..TrialResult::default()
        };
        let window = trial.window.start.min(trial.steps)..trial.window.end.min(trial.steps);
        let gate = self.ebar_from(window.start);
        let lazy = self.opts.lazy_decay;
        let wide = s.wide && rows::sources_in_range(&self.src, s.ev.len());
        let target_mean = match trial.target {
            TrialTarget::Series(v) => {
                v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64
            }
            TrialTarget::Class(_) => 0.0,
        };
        let cells = u64::from(self.side) * u64::from(self.side);
        for t in 0..trial.steps {
            let lo = trial.spike_start.get(t).copied().unwrap_or(0) as usize;
            let hi = trial.spike_start.get(t + 1).copied().unwrap_or(0) as usize;
            let xs = trial.spikes.get(lo..hi).unwrap_or(&[]);
            // 1. εv per source (the eligibility unit's presynaptic half).
            if learn {
                let c = &self.lif_c;
                for e in s.ev.iter_mut() {
                    *e = [c.ev_next(e[0], false), e[0]];
                }
                // A source that fired: redo its step from εv(t−1) with the input.
                for &i in xs {
                    let e = &mut s.ev[usize::from(i)];
                    e[0] = c.ev_next(e[1], true);
                }
                for &j in &s.spk_prev {
                    let e = &mut s.ev[ni + j as usize];
                    e[0] = c.ev_next(e[1], true);
                }
                r.counts.trace_update += (ni + n) as u64;
            }
            // 2. Spike delivery and the neurons.
            let sources = xs
                .iter()
                .map(|&i| usize::from(i))
                .chain(s.spk_prev.iter().map(|&j| ni + j as usize));
            for src in sources {
                let shift = self.groups.exp[usize::from(src >= ni)];
                let (a, b) = (self.out_start[src], self.out_start[src + 1]);
                for q in a..b {
                    let w = i64::from(self.w[self.out_syn[q] as usize]) << shift;
                    s.cur[self.out_post[q] as usize] += w;
                }
                r.counts.synaptic_op += (b - a) as u64;
                r.counts.axon_in += 1;
            }
            let active = self.step_neurons(s, learn);
            r.counts.neuron_active += active;
            r.counts.neuron_idle += n as u64 - active;
            if let Some(log) = &mut s.log {
                log.psi.push(s.psi.clone());
                log.spikes.push(s.spk.clone());
            }
            r.counts.spike_out += s.spk.len() as u64;
            // 3. Readout units (graded, always updated) and z̄.
            self.readout_step(&mut s.y, &s.spk, &mut r.counts);
            if learn && t >= gate {
                for (j, zb) in s.zbar.iter_mut().enumerate() {
                    // `spk` is in neuron order.
                    let z = i64::from(s.spk.binary_search(&(j as u32)).is_ok()) << Q;
                    *zb = sat32(rshift(kappa * i64::from(*zb) + one_k * z, 16));
                }
                r.counts.trace_update += n as u64;
            }
            // 4. Window: error units, readout gradient, learning signal.
            let in_window = window.contains(&t);
            if in_window {
                r.window_steps += 1;
                for (acc, &y) in s.y_sum.iter_mut().zip(&s.y) {
                    *acc += i64::from(y);
                }
                let tv = match trial.target {
                    TrialTarget::Series(v) => v.get(t - window.start).copied().unwrap_or(0.0),
                    TrialTarget::Class(_) => 0.0,
                };
                self.error_step(trial.target, tv, target_mean, &s.y, &mut s.err, &mut r);
                if learn {
                    let m = &mut s.post.m;
                    let mut totals = s.log.is_some().then_some([0i64; 2]);
                    let injected = self.signal_step(
                        &s.err,
                        &s.zbar,
                        &mut s.g_out,
                        &mut s.grid,
                        &mut r,
                        totals.as_mut(),
                        |j, v| m[j] = v,
                    );
                    let [before, after] = totals.unwrap_or_default();
                    if let Some(log) = &mut s.log {
                        let total = s.grid.total_bits(0).unwrap_or(0);
                        log.grid_total.push([before, after, total]);
                        log.injected.push(injected);
                        log.err.push(s.err.clone());
                        log.m.push(s.post.m.clone());
                    }
                    if let Some(plane) = s
                        .record_at
                        .contains(&t)
                        .then(|| s.grid.plane_bits(0).ok())
                        .flatten()
                    {
                        let v = plane
                            .iter()
                            .map(|&b| f64::from(b) / f64::from(1u32 << 24))
                            .collect();
                        s.snapshots.push((t, v));
                    }
                }
            } else if learn && s.record_at.contains(&t) {
                s.snapshots.push((t, vec![0.0; cells as usize]));
            }
            // 5. The eligibility unit, row by row.
            if learn {
                let ebar_on = t >= gate;
                for j in 0..n {
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
                    let (lo, hi) = (self.row_start[j], self.row_start[j + 1]);
                    let idle = std::mem::take(&mut s.idle[j]) as usize;
                    if idle > 0 {
                        let kp = self.kappa_pow[idle.min(self.kappa_pow.len() - 1)];
                        let rp = self.rho_pow[idle.min(self.rho_pow.len() - 1)];
                        if alif {
                            s.ea[lo..hi]
                                .iter_mut()
                                .for_each(|x| *x = decay_by(*x, rp, POW_BITS));
                            r.counts.trace_update += (hi - lo) as u64;
                        }
                        if ebar_on {
                            s.ebar[lo..hi]
                                .iter_mut()
                                .for_each(|x| *x = decay_by(*x, kp, POW_BITS));
                            r.counts.trace_update += (hi - lo) as u64;
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
                    let grad = m != 0;
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
                    r.counts.trace_update += per * (hi - lo) as u64 + 1;
                }
            }
            std::mem::swap(&mut s.spk, &mut s.spk_prev);
        }
        if learn {
            let esum = &s.esum;
            self.regularise(&mut s.g, &s.count, |q| esum[q], trial.steps, window.len());
        }
        let spikes =
            |range: Range<usize>| s.count[range].iter().map(|&c| u64::from(c)).sum::<u64>();
        r.spikes_lif = spikes(0..self.n_lif);
        r.spikes_alif = spikes(self.n_lif..n);
        r.predicted = (0..o)
            .max_by(|&a, &b| s.y_sum[a].cmp(&s.y_sum[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        r.correct = matches!(trial.target, TrialTarget::Class(l) if l == r.predicted);
        r.chip.barriers = trial.steps as u64;
        r
    }

    /// Step 2's second half: every neuron steps on its summed input (`cur`, left 0),
    /// fills `spk` (neuron order) and the spike counts, and with `learn` moves ψ̂ to
    /// `psi_prev` and the new ψ̂ into `psi`. Returns how many neurons stepped (the rest
    /// are gated off: registers and input all 0).
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

    /// `g += c_j·Σe` with `c_j = 2^24·|W|·c_reg·(f_j − f_target)/T` (Q.40 here), the
    /// rate unit's end-of-trial contribution; `count[j]` is neuron j's spike count and
    /// `esum(q)` synapse q's Σe.
    pub(super) fn regularise(
        &self,
        g: &mut [i64],
        count: &[u32],
        esum: impl Fn(usize) -> i64,
        steps: usize,
        window: usize,
    ) {
        if self.opts.c_reg == 0.0 || steps == 0 {
            return;
        }
        let t = steps as f64;
        let ft = self.opts.f_target_hz / 1000.0;
        for (j, &cj) in count.iter().enumerate().take(self.n) {
            let rate = f64::from(cj) / t;
            let c = 2f64.powi(40) * window as f64 * self.opts.c_reg * (rate - ft) / t;
            let c = c.round() as i128;
            let (lo, hi) = (self.row_start[j], self.row_start[j + 1]);
            for (q, g) in g.iter_mut().enumerate().take(hi).skip(lo) {
                let d = (c * i128::from(esum(q)) + (1 << 15)) >> 16;
                *g = g.saturating_add(d.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
            }
        }
    }

    /// The readout units' step: `y ← κ·y + (1−κ)·Σ_j w_out,kj·z_j` for the neurons
    /// `spk` that fired.
    pub(super) fn readout_step(&self, y: &mut [i32], spk: &[u32], counts: &mut Counts) {
        let n = self.n;
        let (kappa, one_k) = (self.kappa, (1i64 << 16) - self.kappa);
        for (k, y) in y.iter_mut().enumerate() {
            let w = &self.w_out[k * n..(k + 1) * n];
            let drive: i64 =
                spk.iter().map(|&j| i64::from(w[j as usize])).sum::<i64>() << self.groups.exp[2];
            *y = sat32(rshift(kappa * i64::from(*y) + one_k * drive, 16));
            counts.synaptic_op += spk
                .iter()
                .filter(|&&j| self.out_mask[k * n + j as usize])
                .count() as u64;
        }
        counts.neuron_active += y.len() as u64;
    }

    /// The error units at a window step: `err` from the readouts `y` and the trial's
    /// target (`tv`: this step's value of a series), and the loss terms.
    pub(super) fn error_step(
        &self,
        target: TrialTarget<'_>,
        tv: f32,
        target_mean: f64,
        y: &[i32],
        err: &mut [i32],
        r: &mut TrialResult,
    ) {
        let yf = |y: i32| f64::from(y) / f64::from(1u32 << Q);
        match target {
            TrialTarget::Class(label) => {
                self.error_unit.softmax_error(y, label, err);
                let mx = y.iter().map(|&y| yf(y)).fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = y.iter().map(|&y| (yf(y) - mx).exp()).sum();
                let yl = y.get(label).map_or(mx, |&y| yf(y));
                r.loss += z.ln() - (yl - mx);
            }
            TrialTarget::Series(_) => {
                let tq = (f64::from(tv) * f64::from(1u32 << Q)).round() as i32;
                err.fill(0);
                if let (Some(e0), Some(&y0)) = (err.first_mut(), y.first()) {
                    *e0 = y0.saturating_sub(tq);
                }
                let e = f64::from(err.first().copied().unwrap_or(0)) / f64::from(1u32 << Q);
                r.loss += 0.5 * e * e;
                r.sq_err += e * e;
                r.target_ss += (f64::from(tv) - target_mean).powi(2);
            }
        }
        r.counts.neuron_active += y.len() as u64;
    }

    /// The learning part of a window step: the readout's gradient `err_k·z̄_j`, the
    /// grid (spread or forget, inject, read) and each neuron's signal, passed to
    /// `set_m(j, m_j)`. Returns the sum injected; `totals` gets the grid's total before
    /// and after its step (only for the log: the sums are not on the hot path).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn signal_step(
        &self,
        err: &[i32],
        zbar: &[i32],
        g_out: &mut [i64],
        grid: &mut ModGrid,
        r: &mut TrialResult,
        totals: Option<&mut [i64; 2]>,
        mut set_m: impl FnMut(usize, i32),
    ) -> i64 {
        let n = self.n;
        for (k, &ek) in err.iter().enumerate() {
            let ek = i64::from(ek);
            let row = &mut g_out[k * n..(k + 1) * n];
            let mask = &self.out_mask[k * n..(k + 1) * n];
            for ((g, &zb), &on) in row.iter_mut().zip(zbar).zip(mask) {
                if on {
                    *g = g.saturating_add(ek * i64::from(zb));
                    r.counts.trace_update += 1;
                }
            }
        }
        let before = totals.is_some().then(|| grid.total_bits(0).unwrap_or(0));
        grid.step();
        if let (Some(t), Some(b)) = (totals, before) {
            *t = [b, grid.total_bits(0).unwrap_or(0)];
        }
        let mut injected = 0i64;
        for &j in &self.injectors {
            let u: i64 = self.feedback[j]
                .iter()
                .map(|&(k, b)| i64::from(b) * i64::from(err[k]))
                .sum();
            // Q.32 → the grid's Q8.24.
            let bits = sat32(rshift(u, 2 * Q - 24));
            let (x, y) = self.cell[j];
            let _ = grid.inject_bits(0, x, y, bits);
            injected += i64::from(bits);
        }
        r.chip.modulator_cell_update += u64::from(self.side) * u64::from(self.side);
        for (j, &(x, y)) in self.cell.iter().enumerate() {
            set_m(j, grid.sample_bits(0, x, y).unwrap_or(0));
        }
        injected
    }

    /// The learning epoch at the end of a batch: `Δmant = −η·g` per weight (plastic
    /// synapses and readout), stochastically rounded with draws keyed by (seed, update
    /// number, weight), clamped to the mantissa range; or, with
    /// [`CoreOptions::adam`](super::CoreOptions::adam), Adam's step on the batch-mean
    /// gradient, converted to mantissa LSBs and rounded the same way. The update unit
    /// computes Adam in IEEE-754 f64 (correctly rounded `+ − × ÷ √`, so bit-identical
    /// on every machine). The accumulators are cleared.
    pub fn apply(&mut self, state: &mut EpropState) -> UpdateStats {
        let mut st = UpdateStats::default();
        let epoch = self.updates;
        self.updates += 1;
        let seed = self.opts.seed;
        let (wmax, groups) = (self.wmax, self.groups);
        let adam = self.opts.adam.map(|lr| {
            let t = (epoch + 1) as i32;
            (lr, 1.0 - 0.9f64.powi(t), 1.0 - 0.999f64.powi(t))
        });
        let (grad_unit, mant_per_real) = (self.grad_unit, self.mant_per_real);
        let (am, av) = (&mut self.adam_m, &mut self.adam_v);
        let mut step = |w: &mut i32, g: i64, group: usize, id: u64, st: &mut UpdateStats| {
            st.updates += 1;
            let draw = hash_random(seed, epoch, id, group as u64);
            let d = if let Some((lr, c1, c2)) = adam {
                let i = id as usize;
                let gf = g as f64 * grad_unit[group];
                am[i] = 0.9 * am[i] + 0.1 * gf;
                av[i] = 0.999 * av[i] + 0.001 * gf * gf;
                let dw = -lr * (am[i] / c1) / ((av[i] / c2).sqrt() + 1e-8);
                let x = dw * mant_per_real[group];
                // floor(x + u), u uniform in [0, 1): an unbiased rounding.
                let u = (draw >> 11) as f64 * 2f64.powi(-53);
                (x + u).floor().clamp(i64::MIN as f64, i64::MAX as f64) as i64
            } else {
                let (m, e) = (groups.eta_m[group], groups.eta_e[group]);
                let x = -(i128::from(m) * i128::from(g));
                if x == 0 {
                    0
                } else if e >= 0 {
                    (x << e.min(60)).clamp(i64::MIN as i128, i64::MAX as i128) as i64
                } else {
                    let bits = (-e) as u32;
                    let (x, bits) = if bits > 63 {
                        (x >> (bits - 63).min(127), 63)
                    } else {
                        (x, bits)
                    };
                    stochastic_round(x, bits, draw)
                }
            };
            if d != 0 {
                let new = (i64::from(*w) + d).clamp(-i64::from(wmax), i64::from(wmax));
                st.clamped += u64::from(new != i64::from(*w) + d);
                st.changed += u64::from(new != i64::from(*w));
                *w = new as i32;
            }
        };
        for (sy, (w, &g)) in self.w.iter_mut().zip(&state.g).enumerate() {
            let group = usize::from(self.src[sy] as usize >= self.inputs);
            step(w, g, group, sy as u64, &mut st);
        }
        let syn = self.src.len() as u64;
        for (q, (w, &g)) in self.w_out.iter_mut().zip(&state.g_out).enumerate() {
            if self.out_mask[q] {
                step(w, g, 2, syn + q as u64, &mut st);
            }
        }
        state.clear_gradients();
        st
    }
}
