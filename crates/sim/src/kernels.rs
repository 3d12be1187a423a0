//! The per-core work of a step: the neuron update and the synaptic delivery.
//!
//! These are the hot loops; each runs on one core's tables and state only, so cores
//! run in parallel without sharing anything. Dendritic accumulation is a wrapping
//! 32-bit add: wrapping addition is associative and commutative, so the sum (and every
//! spike after it) does not depend on the order in which packets arrive — which is why
//! both timing modes and any thread count give bit-identical results.

use crate::state::CoreState;
use crate::tables::CoreTable;
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

/// What a core's neuron phase produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct NeuronOut {
    /// In compartment order.
    pub emits: Vec<Emit>,
    pub active: u64,
    pub idle: u64,
}

/// Update every compartment of a core for step `step`, reading and clearing its
/// accumulator slot. A compartment update is *active* if its input is non-zero or it
/// has state to evolve (u, v, adaptation, refractory count or bias non-zero), *idle*
/// otherwise; an idle update provably leaves the compartment unchanged.
pub(crate) fn update_neurons(t: &CoreTable, s: &mut CoreState, slot: usize, out: &mut NeuronOut) {
    out.emits.clear();
    let (mut active, mut idle) = (0u64, 0u64);
    let n = t.n;
    let acc = &mut s.acc[slot * n..(slot + 1) * n];
    for c in 0..n {
        let input = std::mem::take(&mut acc[c]);
        let pi = t.profile_of[c] as usize;
        let busy = input != 0 || s.u[c] != 0 || s.v[c] != 0 || s.a[c] != 0 || s.refractory[c] != 0 || t.profile_biased[pi];
        if !busy {
            idle += 1;
            // A graded unit at rest still sends its resting payload.
            if let NeuronParams::Graded(g) = &t.profiles[pi] {
                let o = g.table.lookup(0);
                s.out[c] = o;
                if o != 0 {
                    out.emits.push(Emit { comp: c as u32, payload: o });
                }
            }
            continue;
        }
        active += 1;
        match &t.profiles[pi] {
            NeuronParams::Lif(p) => {
                let mut st = LifState { u: s.u[c], v: s.v[c], refractory_left: s.refractory[c] };
                let spiked = st.step(p, input);
                s.u[c] = st.u;
                s.v[c] = st.v;
                s.refractory[c] = st.refractory_left;
                if spiked {
                    out.emits.push(Emit { comp: c as u32, payload: 0 });
                }
            }
            NeuronParams::Alif(p) => {
                let mut st = AlifState {
                    lif: LifState { u: s.u[c], v: s.v[c], refractory_left: s.refractory[c] },
                    a: s.a[c],
                };
                let spiked = st.step(p, input);
                s.u[c] = st.lif.u;
                s.v[c] = st.lif.v;
                s.refractory[c] = st.lif.refractory_left;
                s.a[c] = st.a;
                if spiked {
                    out.emits.push(Emit { comp: c as u32, payload: 0 });
                }
            }
            NeuronParams::Graded(p) => {
                let mut st = GradedState { u: s.u[c], out: s.out[c] };
                let o = st.step(p, input);
                s.u[c] = st.u;
                s.out[c] = o;
                if o != 0 {
                    out.emits.push(Emit { comp: c as u32, payload: o });
                }
            }
        }
    }
    s.counts.neuron_active += active;
    s.counts.neuron_idle += idle;
    out.active = active;
    out.idle = idle;
}

/// Deliver arriving packets `(axon, multiplier)` through the core's synapse memory into
/// the accumulator slots of step `step + 1 + delay`. The multiplier is 1 for a spike
/// and the payload for a graded packet (the dendrite adds `weight × payload`).
pub(crate) fn deliver(t: &CoreTable, s: &mut CoreState, step: u32, slots: usize, incoming: &[(u32, i32)]) {
    let n = t.n;
    let mask = slots - 1;
    let (mut words, mut ops) = (0u64, 0u64);
    let next = (step as usize + 1) & mask;
    for &(axon, mult) in incoming {
        let a = axon as usize;
        let (lo, hi) = (t.row_off[a] as usize, t.row_off[a + 1] as usize);
        words += t.row_words[a] as u64;
        ops += (hi - lo) as u64;
        let targets = &t.targets[lo..hi];
        let weights = &t.weights[lo..hi];
        if t.delays.is_empty() {
            let acc = &mut s.acc[next * n..(next + 1) * n];
            if mult == 1 {
                for (&tg, &w) in targets.iter().zip(weights) {
                    let x = &mut acc[tg as usize];
                    *x = x.wrapping_add(w);
                }
            } else {
                for (&tg, &w) in targets.iter().zip(weights) {
                    let x = &mut acc[tg as usize];
                    *x = x.wrapping_add(w.wrapping_mul(mult));
                }
            }
        } else {
            let delays = &t.delays[lo..hi];
            for ((&tg, &w), &d) in targets.iter().zip(weights).zip(delays) {
                let slot = (next + d as usize) & mask;
                let x = &mut s.acc[slot * n + tg as usize];
                *x = x.wrapping_add(w.wrapping_mul(mult));
            }
        }
    }
    let c = &mut s.counts;
    c.axon_in += incoming.len() as u64;
    c.synapse_word_read += words;
    c.synaptic_op += ops;
    c.dendrite_accumulate += ops;
}
