//! The per-core work of a step: the neuron update and the synaptic delivery.
//!
//! These are the hot loops; each runs on one core's tables and state only, so cores
//! run in parallel without sharing anything. Dendritic accumulation is a wrapping
//! 32-bit add: wrapping addition is associative and commutative, so the sum (and every
//! spike after it) does not depend on the order in which packets arrive — which is why
//! both timing modes and any thread count give bit-identical results.

use crate::state::CoreState;
use crate::synapses::{Entry, Synapses};
use crate::tables::{CoreTable, LifFast};
use amine_chip::neuron::alif::AlifState;
use amine_chip::neuron::graded::GradedState;
use amine_chip::neuron::lif::LifState;
use amine_chip::neuron::NeuronParams;

/// Something a compartment sends this step: a spike, or a graded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Emit {
    pub comp: u32,
    /// 0 for a spike; the payload (non-zero) of a graded unit.
    pub payload: u16,
}

impl Emit {
    fn spike(comp: usize) -> Emit {
        Emit {
            comp: comp as u32,
            payload: 0,
        }
    }
    fn graded(comp: usize, payload: u16) -> Emit {
        Emit {
            comp: comp as u32,
            payload,
        }
    }
}

impl CoreState {
    /// Compartment `c`'s LIF state, gathered from the structure-of-arrays.
    fn lif(&self, c: usize) -> LifState {
        LifState {
            u: self.u[c],
            v: self.v[c],
            refractory_left: self.refractory[c],
        }
    }

    fn set_lif(&mut self, c: usize, st: &LifState) {
        self.u[c] = st.u;
        self.v[c] = st.v;
        self.refractory[c] = st.refractory_left;
    }
}

/// What a core's neuron phase produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct NeuronOut {
    /// In compartment order.
    pub emits: Vec<Emit>,
    /// Spike flags of the vectorised LIF loop (scratch).
    pub flags: Vec<u8>,
    pub active: u64,
    pub idle: u64,
    /// The spikes of population neurons, as `(population, count)` runs in compartment
    /// order (see [`population_spikes`]).
    pub pop_spikes: Vec<(u32, u64)>,
    /// With a raster, every spike of a population neuron as `(population, neuron)`, in
    /// compartment order (see [`population_spikes`]).
    pub raster: Vec<(u32, u32)>,
}

/// The `(population, neuron)` of what core `t` emitted in `e`, if it is a spike (not a
/// graded payload) of a population neuron.
pub(crate) fn spike_site(t: &CoreTable, e: &Emit) -> Option<(u32, u32)> {
    let site = t.neuron_of[e.comp as usize];
    (e.payload == 0 && site.0 != u32::MAX).then_some(site)
}

/// Count `out`'s spikes (not graded payloads) of population neurons into
/// `out.pop_spikes`, one entry per run of compartments of one population (a core's
/// populations come in blocks, so the list is short), and with `raster` list each one
/// in `out.raster`. Runs with its core, so the recorder only adds a few sums per core
/// (and copies the raster's entries).
pub(crate) fn population_spikes(t: &CoreTable, out: &mut NeuronOut, raster: bool) {
    out.pop_spikes.clear();
    out.raster.clear();
    for (p, neuron) in out.emits.iter().filter_map(|e| spike_site(t, e)) {
        if raster {
            out.raster.push((p, neuron));
        }
        match out.pop_spikes.last_mut() {
            Some((q, n)) if *q == p => *n += 1,
            _ => out.pop_spikes.push((p, 1)),
        }
    }
}

/// Update every compartment of a core for step `step`, reading and clearing its
/// accumulator slot. A compartment update is *active* if its input is non-zero or it
/// has state to evolve (u, v, adaptation, refractory count or bias non-zero), *idle*
/// otherwise; an idle update provably leaves the compartment unchanged.
pub(crate) fn update_neurons(t: &CoreTable, s: &mut CoreState, slot: usize, out: &mut NeuronOut) {
    out.emits.clear();
    if t.all_lif {
        return update_lif_core(t, s, slot, out);
    }
    let (mut active, mut idle) = (0u64, 0u64);
    let n = t.n;
    for c in 0..n {
        let input = std::mem::take(&mut s.acc[slot * n + c]);
        let pi = t.profile_of[c] as usize;
        if t.event_driven {
            let reached = std::mem::take(&mut s.touched[slot * n + c]);
            if let NeuronParams::Graded(p) = &t.profiles[pi] {
                if p.event_driven && !reached {
                    // No packet this step: the unit holds u and its output, sends nothing.
                    idle += 1;
                    continue;
                }
            }
        }
        let busy = input != 0
            || s.u[c] != 0
            || s.v[c] != 0
            || s.a[c] != 0
            || s.refractory[c] != 0
            || t.profile_biased[pi];
        if !busy {
            idle += 1;
            // A graded unit at rest still sends its resting payload.
            if let NeuronParams::Graded(g) = &t.profiles[pi] {
                let o = g.table.lookup(0);
                s.out[c] = o;
                if o != 0 {
                    out.emits.push(Emit::graded(c, o));
                }
            }
            continue;
        }
        active += 1;
        match &t.profiles[pi] {
            NeuronParams::Lif(p) => {
                let mut st = s.lif(c);
                let spiked = st.step(p, input);
                s.set_lif(c, &st);
                if spiked {
                    out.emits.push(Emit::spike(c));
                }
            }
            NeuronParams::Alif(p) => {
                let mut st = AlifState {
                    lif: s.lif(c),
                    a: s.a[c],
                };
                let spiked = st.step(p, input);
                s.set_lif(c, &st.lif);
                s.a[c] = st.a;
                if spiked {
                    out.emits.push(Emit::spike(c));
                }
            }
            NeuronParams::Graded(p) => {
                // A centring register is kept in the compartment's `a` (unused by graded
                // units otherwise); it moves only while the learning engine is on.
                let mut st = GradedState {
                    u: s.u[c],
                    out: s.out[c],
                    mean: s.a[c],
                };
                let centring_on = !s.learning_off;
                let o = st.step_centring(p, input, centring_on);
                if p.centring.is_some() && centring_on {
                    s.counts.centring_update += 1;
                }
                s.u[c] = st.u;
                s.a[c] = st.mean;
                s.out[c] = o;
                if o != 0 {
                    out.emits.push(Emit::graded(c, o));
                }
            }
        }
    }
    s.counts.neuron_active += active;
    s.counts.neuron_idle += idle;
    out.active = active;
    out.idle = idle;
}

/// [`update_neurons`] for a core whose profiles are all LIF: one pass over zipped
/// structure-of-arrays slices, with the precomputed [`LifFast`](crate::tables::LifFast)
/// constants (no bounds checks or model dispatch in the loop).
fn update_lif_core(t: &CoreTable, s: &mut CoreState, slot: usize, out: &mut NeuronOut) {
    if let Some(f) = t.lif_dense.first() {
        if f.plain() && t.lif_dense.iter().all(|g| g == f) {
            return update_uniform_lif_core(f, t.n, s, slot, out);
        }
    }
    let n = t.n;
    let (mut active, mut idle) = (0u64, 0u64);
    let acc = &mut s.acc[slot * n..(slot + 1) * n];
    let lanes = acc
        .iter_mut()
        .zip(&mut s.u)
        .zip(&mut s.v)
        .zip(&mut s.refractory)
        .zip(&t.profile_of);
    for (c, ((((x, u), v), r), &pi)) in lanes.enumerate() {
        let input = std::mem::take(x);
        let f = &t.lif_dense[pi as usize];
        if input == 0 && *u == 0 && *v == 0 && *r == 0 && !f.biased() {
            idle += 1;
            continue;
        }
        active += 1;
        let (nu, nv, nr, spiked) = f.step(*u, *v, *r, input);
        *u = nu;
        *v = nv;
        *r = nr;
        if spiked {
            out.emits.push(Emit::spike(c));
        }
    }
    s.counts.neuron_active += active;
    s.counts.neuron_idle += idle;
    out.active = active;
    out.idle = idle;
}

/// The common case of a core whose compartments share one LIF profile without a
/// refractory period: a branch-free pass the compiler can vectorise (every compartment
/// is computed, since an idle one provably stays at zero), then a scan for spikes.
fn update_uniform_lif_core(
    f: &LifFast,
    n: usize,
    s: &mut CoreState,
    slot: usize,
    out: &mut NeuronOut,
) {
    let acc = &mut s.acc[slot * n..(slot + 1) * n];
    out.flags.clear();
    out.flags.resize(n, 0);
    let (acc, us, vs, flags) = (
        &mut acc[..n],
        &mut s.u[..n],
        &mut s.v[..n],
        &mut out.flags[..n],
    );
    let active = lif_lanes_dispatch(f, acc, us, vs, flags) as u64;
    // Spikes are rare: skip eight compartments at a time while no flag is set.
    let flags = &out.flags;
    let mut c = 0;
    while c < n {
        if c + 8 <= n && u64::from_ne_bytes(flags[c..c + 8].try_into().unwrap_or([0; 8])) == 0 {
            c += 8;
            continue;
        }
        if flags[c] != 0 {
            out.emits.push(Emit::spike(c));
        }
        c += 1;
    }
    s.counts.neuron_active += active;
    s.counts.neuron_idle += n as u64 - active;
    out.active = active;
    out.idle = n as u64 - active;
}

/// The uniform LIF loop over equal-length slices (no bounds checks, vectorisable).
/// Returns the number of active compartments.
#[inline(always)]
fn lif_lanes(
    f: &LifFast,
    acc: &mut [i32],
    us: &mut [i32],
    vs: &mut [i32],
    flags: &mut [u8],
) -> u32 {
    let n = acc.len().min(us.len()).min(vs.len()).min(flags.len());
    let (acc, us, vs, flags) = (&mut acc[..n], &mut us[..n], &mut vs[..n], &mut flags[..n]);
    let biased = f.biased() as u32;
    let mut active = 0u32;
    for i in 0..n {
        let (input, u, v) = (acc[i], us[i], vs[i]);
        acc[i] = 0;
        active += ((input | u | v) != 0) as u32 | biased;
        let (nu, nv, spiked) = f.step_plain(u, v, input);
        us[i] = nu;
        vs[i] = nv;
        flags[i] = spiked as u8;
    }
    active
}

/// [`lif_lanes`] compiled for AVX2 (8 lanes), chosen at run time when the CPU has it.
/// Integer arithmetic only, so both versions give identical results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lif_lanes_avx2(
    f: &LifFast,
    acc: &mut [i32],
    us: &mut [i32],
    vs: &mut [i32],
    flags: &mut [u8],
) -> u32 {
    lif_lanes(f, acc, us, vs, flags)
}

fn lif_lanes_dispatch(
    f: &LifFast,
    acc: &mut [i32],
    us: &mut [i32],
    vs: &mut [i32],
    flags: &mut [u8],
) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
        // calling a `target_feature(enable = "avx2")` function.
        return unsafe { lif_lanes_avx2(f, acc, us, vs, flags) };
    }
    lif_lanes(f, acc, us, vs, flags)
}

/// Deliver arriving packets `(axon, multiplier)` through the core's synapse memory into
/// the accumulator slots of step `step + 1 + delay`. The multiplier is 1 for a spike
/// and the payload for a graded packet (the dendrite adds `weight × payload`).
pub(crate) fn deliver(
    t: &CoreTable,
    s: &mut CoreState,
    step: u32,
    slots: usize,
    incoming: &[(u32, i32)],
) {
    match &t.synapses {
        Synapses::Wide(syn) => deliver_rows(t, syn, 0, s, step, slots, incoming),
        Synapses::Narrow(syn, shift) => deliver_rows(t, syn, *shift, s, step, slots, incoming),
    }
}

/// [`deliver`] for the synapses `syn` (the core's, in layout `E`, with its `shift`).
fn deliver_rows<E: Entry>(
    t: &CoreTable,
    syn: &[E],
    shift: u32,
    s: &mut CoreState,
    step: u32,
    slots: usize,
    incoming: &[(u32, i32)],
) {
    let n = t.n;
    let mask = slots - 1;
    let (mut words, mut ops) = (0u64, 0u64);
    let next = (step as usize + 1) & mask;
    for (i, &(axon, mult)) in incoming.iter().enumerate() {
        // Rows live all over a large memory: fetch the next packet's whole row, and the
        // row record a few packets ahead, now, so the misses overlap this row's adds.
        // (Hints only; they change no result.)
        if let Some(&(ahead, _)) = incoming.get(i + 4) {
            prefetch(t.rows.as_ptr().wrapping_add(ahead as usize));
        }
        if let Some(&(next_axon, _)) = incoming.get(i + 1) {
            prefetch_row(t, s, next_axon);
        }
        let a = axon as usize;
        let r = t.rows[a];
        let (lo, hi) = (r.start as usize, (r.start + r.len) as usize);
        words += r.words as u64;
        ops += (hi - lo) as u64;
        let row = &syn[lo..hi];
        // A plastic row adds its learned weights (the targets do not change).
        let learned = match t.plastic_of.get(a) {
            Some(&p) if p != u32::MAX => {
                let ps = &mut s.plastic[p as usize];
                ps.arrived = true;
                ps.payload = mult.clamp(0, u16::MAX as i32) as u16;
                Some(p as usize)
            }
            _ => None,
        };
        if let Some(p) = learned {
            let weights = &s.plastic[p].weights;
            if t.delays.is_empty() {
                let acc = &mut s.acc[next * n..(next + 1) * n];
                let targets = &t.learn.rows[p].targets;
                // The learning tables hold the row's targets densely (4 bytes each).
                for (&tg, &w) in targets.iter().zip(weights) {
                    let x = &mut acc[tg as usize];
                    *x = x.wrapping_add(w.wrapping_mul(mult));
                }
                if t.event_driven {
                    let touched = &mut s.touched[next * n..(next + 1) * n];
                    targets.iter().for_each(|&tg| touched[tg as usize] = true);
                }
            } else {
                let delays = &t.delays[lo..hi];
                for ((&e, &w), &d) in row.iter().zip(weights).zip(delays) {
                    let slot = (next + d as usize) & mask;
                    let x = &mut s.acc[slot * n + e.target()];
                    *x = x.wrapping_add(w.wrapping_mul(mult));
                }
            }
        } else if t.delays.is_empty() {
            if t.event_driven {
                let touched = &mut s.touched[next * n..(next + 1) * n];
                row.iter().for_each(|e| touched[e.target()] = true);
            }
            let acc = &mut s.acc[next * n..(next + 1) * n];
            if mult == 1 {
                for &e in row {
                    let x = &mut acc[e.target()];
                    *x = x.wrapping_add(e.weight(shift));
                }
            } else {
                for &e in row {
                    let x = &mut acc[e.target()];
                    *x = x.wrapping_add(e.weight(shift).wrapping_mul(mult));
                }
            }
        } else {
            let delays = &t.delays[lo..hi];
            for (&e, &d) in row.iter().zip(delays) {
                let slot = (next + d as usize) & mask;
                let x = &mut s.acc[slot * n + e.target()];
                *x = x.wrapping_add(e.weight(shift).wrapping_mul(mult));
            }
        }
    }
    if t.event_driven && !t.delays.is_empty() {
        mark_touched(t, syn, s, next, mask, incoming);
    }
    let c = &mut s.counts;
    c.axon_in += incoming.len() as u64;
    c.synapse_word_read += words;
    c.synaptic_op += ops;
    c.dendrite_accumulate += ops;
}

/// Prefetch the row packet `axon` reads: a plastic row's own targets and learned
/// weights, else its entries in the core's synapses (hints only).
fn prefetch_row(t: &CoreTable, s: &CoreState, axon: u32) {
    match t.plastic_of.get(axon as usize) {
        Some(&p) if p != u32::MAX => {
            let (tg, w) = (
                t.learn.rows[p as usize].targets.as_ptr(),
                s.plastic[p as usize].weights.as_ptr(),
            );
            let len = t.learn.rows[p as usize].targets.len().min(256);
            // 16 four-byte entries per 64-byte line.
            for line in (0..len).step_by(16) {
                prefetch(tg.wrapping_add(line));
                prefetch(w.wrapping_add(line));
            }
        }
        _ => {
            if let Some(nr) = t.rows.get(axon as usize) {
                let base = t.synapses.entry_ptr(nr.start as usize);
                // At most 16 lines of 64 bytes ahead.
                let bytes = (nr.len as usize * t.synapses.entry_bytes()).min(1024);
                for line in (0..bytes).step_by(64) {
                    prefetch(base.wrapping_add(line));
                }
            }
        }
    }
}

/// Record which compartments the packets reach, per accumulator slot, for the
/// event-driven graded units of a core with delays (without, delivery marks them).
fn mark_touched<E: Entry>(
    t: &CoreTable,
    syn: &[E],
    s: &mut CoreState,
    next: usize,
    mask: usize,
    incoming: &[(u32, i32)],
) {
    let n = t.n;
    for &(axon, _) in incoming {
        let r = t.rows[axon as usize];
        let (lo, hi) = (r.start as usize, (r.start + r.len) as usize);
        for (e, &d) in syn[lo..hi].iter().zip(&t.delays[lo..hi]) {
            s.touched[((next + d as usize) & mask) * n + e.target()] = true;
        }
    }
}

/// A cache prefetch hint for the line holding `p` (no-op off x86-64).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint that never faults, even for an invalid address;
    // SSE is part of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
